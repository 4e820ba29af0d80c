// modify::specialize against the obvious baselines, in one process on the same weights:
//   specialized    modify::specialize(model, x), called as fast(x)
//   modify         the same modify model, unspecialised, in eval mode
//   aten           the forward written by hand with ATen calls the obvious way (at::linear,
//                  at::relu, at::conv2d, at::batch_norm, at::layer_norm, ...) on the model's tensors
//   nn_sequential  torch::nn::Sequential of the same modules (the MLPs only: the other models have
//                  residual connections, which need a custom module)
//   torchscript    the equivalent PyTorch model with the same weights, scripted, frozen and passed
//                  through torch.jit.optimize_for_inference by bench/specialize_torchscript.py
//                  (Debian's /usr/bin/python3 with python3-torch) at start-up, loaded with torch::jit::load
// Every variant runs under c10::InferenceMode. Workloads:
//   mlp64_b1    8 x (Linear 64->64 + ReLU), batch 1
//   mlp512_b32  8 x (Linear 512->512 + ReLU), batch 32
//   cnn_b1      a ResNet-style CNN (conv + BatchNorm stem, two residual blocks, a strided conv,
//               global average pooling, Linear) on 1x1x28x28
//   gpt_b1      a GPT-style model: 4 pre-norm blocks (causal attention, 4 heads; GELU MLP), 128
//               wide, on 64 tokens (input embeddings [1, 64, 128]), final LayerNorm, lm_head 128->512
// The program checks at start-up that every variant matches the modify model's eval() output
// (1e-4 relative) and aborts if not; then prints the table of median times and ratios to `aten`.
// Flags: see bench/common.hpp (--torch_threads, --profile=<workload>/<variant> for callgrind).
#include <modify/modify.hpp>
#include <torch/script.h>

#include "common.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#ifndef MODIFY_BENCH_TORCHSCRIPT_SCRIPT
#error "MODIFY_BENCH_TORCHSCRIPT_SCRIPT must name bench/specialize_torchscript.py (bench/meson.build sets it)"
#endif

namespace {
namespace nn = torch::nn;

[[noreturn]] void fail(const std::string& what) { bench::fail("specialize_bench", what); }

// ---- The models -----------------------------------------------------------------------------

template <std::size_t I>
auto mlp_layer(int64_t width) {
  if constexpr (I % 2 == 0) return nn::Linear(width, width);
  else return nn::ReLU();
}
template <std::size_t... I>
auto make_mlp(int64_t width, std::index_sequence<I...>) {
  return modify::Sequential(mlp_layer<I>(width)...);
}
auto make_mlp(int64_t width) { return make_mlp(width, std::make_index_sequence<16>{}); }

auto residual(auto block) {
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), block), modify::Add());
}

// A convolution, then BatchNorm2d split as modify keeps norms: the norm and its affine part.
auto conv_bn(int64_t in, int64_t out, int64_t stride, bool bias) {
  return modify::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(bias)),
                            modify::BatchNorm2d(out), modify::ElementwiseAffine::channels(out));
}
auto res_block(int64_t c) {
  return modify::Sequential(residual(modify::Sequential(conv_bn(c, c, 1, false), nn::ReLU(), conv_bn(c, c, 1, false))),
                            nn::ReLU());
}
auto make_cnn() {
  return modify::Sequential(conv_bn(1, 16, 1, true), nn::ReLU(), res_block(16), conv_bn(16, 32, 2, true), nn::ReLU(),
                            res_block(32), nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(32, 10));
}

constexpr int64_t C = 128, H = 4, T = 64, Vocab = 512;
auto attention() {
  return modify::Sequential(modify::named<"c_attn">(nn::Linear(C, 3 * C)), modify::ViewUnMerge(2, 3, C),
                            modify::ViewUnMerge(3, H, C / H), modify::Transpose(1, 2), modify::Transpose(2, 3),
                            modify::UnBind<3>(1), modify::SDPA(modify::SDPAOptions().causal(true)),
                            modify::Transpose(1, 2), modify::ViewMerge(2, 3), modify::named<"c_proj">(nn::Linear(C, C)));
}
auto gpt_block() {
  auto attn = residual(modify::Sequential(modify::named<"ln_1_norm">(modify::LayerNorm({C})),
                                          modify::named<"ln_1">(modify::ElementwiseAffine({C})), modify::named<"attn">(attention())));
  auto mlp = residual(modify::Sequential(modify::named<"ln_2_norm">(modify::LayerNorm({C})),
                                         modify::named<"ln_2">(modify::ElementwiseAffine({C})),
                                         modify::named<"c_fc">(nn::Linear(C, 4 * C)), nn::GELU(),
                                         modify::named<"c_proj">(nn::Linear(4 * C, C))));
  return modify::Sequential(attn, mlp);
}
auto make_gpt() {
  return modify::Sequential(gpt_block(), gpt_block(), gpt_block(), gpt_block(), modify::LayerNorm({C}),
                            modify::ElementwiseAffine({C}), nn::Linear(nn::LinearOptions(C, Vocab).bias(false)));
}

// Gives every parameter and BatchNorm statistic a value that a wrong fold would show.
template <class M>
void randomise(M& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    const auto& key = p.key();
    if (p.value().dim() == 1 && key.find("weight") != std::string::npos) p.value().uniform_(0.5, 1.5);
    else if (p.value().dim() == 1) p.value().normal_(0, 0.1);
  }
  for (auto& b : model->named_buffers()) {
    if (b.key().ends_with("running_mean")) b.value().normal_(0, 0.1);
    else if (b.key().ends_with("running_var")) b.value().uniform_(0.5, 1.5);
  }
}

// ---- The hand-written forwards ------------------------------------------------------------------

// Cursor: the model's tensors in the order of parameters() (and buffers()), read one at a time.
struct Cursor {
  const std::vector<at::Tensor>& tensors;
  std::size_t at = 0;
  const at::Tensor& next() { return tensors[at++]; }
};

at::Tensor aten_mlp(const at::Tensor& x, const std::vector<at::Tensor>& p, const std::vector<at::Tensor>&) {
  at::Tensor h = x;
  for (std::size_t i = 0; i < p.size(); i += 2) h = at::relu(at::linear(h, p[i], p[i + 1]));
  return h;
}

at::Tensor aten_conv_bn(const at::Tensor& x, Cursor& p, Cursor& b, int64_t stride, bool bias) {
  const at::Tensor& w = p.next();
  const at::Tensor conv_bias = bias ? p.next() : at::Tensor();
  const at::Tensor& gamma = p.next();
  const at::Tensor& beta = p.next();
  const at::Tensor& mean = b.next();
  const at::Tensor& var = b.next();
  b.next();  // num_batches_tracked
  return at::batch_norm(at::conv2d(x, w, conv_bias, stride, 1), gamma, beta, mean, var, false, 0.1, 1e-5, false);
}
at::Tensor aten_res_block(const at::Tensor& x, Cursor& p, Cursor& b) {
  at::Tensor h = at::relu(aten_conv_bn(x, p, b, 1, false));
  return at::relu(x + aten_conv_bn(h, p, b, 1, false));
}
at::Tensor aten_cnn(const at::Tensor& x, const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& buffers) {
  Cursor p{params}, b{buffers};
  at::Tensor h = at::relu(aten_conv_bn(x, p, b, 1, true));
  h = aten_res_block(h, p, b);
  h = at::relu(aten_conv_bn(h, p, b, 2, true));
  h = aten_res_block(h, p, b);
  h = at::flatten(at::adaptive_avg_pool2d(h, {1, 1}), 1);
  const at::Tensor& w = p.next();
  return at::linear(h, w, p.next());
}

at::Tensor aten_gpt(const at::Tensor& x, const std::vector<at::Tensor>& params, const std::vector<at::Tensor>&) {
  Cursor p{params};
  const at::Tensor mask = at::ones({T, T}, x.options().dtype(at::kBool)).triu(1);
  const double scale = 1.0 / std::sqrt(double(C / H));
  at::Tensor h = x;
  for (int layer = 0; layer < 4; ++layer) {
    const at::Tensor &ln1_w = p.next(), &ln1_b = p.next(), &attn_w = p.next(), &attn_b = p.next(),
                     &proj_w = p.next(), &proj_b = p.next();
    const at::Tensor qkv = at::linear(at::layer_norm(h, {C}, ln1_w, ln1_b), attn_w, attn_b);
    auto parts = qkv.split(C, 2);
    auto heads = [&](const at::Tensor& t) { return t.view({1, T, H, C / H}).transpose(1, 2); };
    const at::Tensor att = at::softmax(at::matmul(heads(parts[0]), heads(parts[1]).transpose(-2, -1)).mul(scale)
                                           .masked_fill(mask, -INFINITY), -1);
    const at::Tensor y = at::matmul(att, heads(parts[2])).transpose(1, 2).reshape({1, T, C});
    h = h + at::linear(y, proj_w, proj_b);
    const at::Tensor &ln2_w = p.next(), &ln2_b = p.next(), &fc_w = p.next(), &fc_b = p.next(), &out_w = p.next(),
                     &out_b = p.next();
    h = h + at::linear(at::gelu(at::linear(at::layer_norm(h, {C}, ln2_w, ln2_b), fc_w, fc_b)), out_w, out_b);
  }
  const at::Tensor &lnf_w = p.next(), &lnf_b = p.next();
  return at::linear(at::layer_norm(h, {C}, lnf_w, lnf_b), p.next());
}

// ---- Workloads ----------------------------------------------------------------------------------

struct Variant {
  std::string name;
  std::function<at::Tensor()> run;
};

struct Workload {
  std::string name;
  at::Tensor x;
  std::vector<Variant> variants;
  // Keeps the models alive (the variants' closures refer to them).
  std::vector<std::shared_ptr<void>> keep;
};

using Aten = at::Tensor (*)(const at::Tensor&, const std::vector<at::Tensor>&, const std::vector<at::Tensor>&);

template <class M>
std::unique_ptr<Workload> make_workload(std::string name, M model, at::Tensor x, Aten aten, const std::string& dir) {
  auto w = std::make_unique<Workload>();
  w->name = std::move(name);
  w->x = x;
  randomise(model);
  model->eval();
  auto params = std::make_shared<std::vector<at::Tensor>>(model->parameters());
  auto buffers = std::make_shared<std::vector<at::Tensor>>(model->buffers());
  w->keep.push_back(params);
  w->keep.push_back(buffers);

  // The TorchScript side reads the same tensors, in order.
  std::vector<at::Tensor> all;
  for (const auto& t : *params) all.push_back(t.detach());
  for (const auto& t : *buffers) all.push_back(t.detach());
  std::vector<char> bytes = torch::pickle_save(c10::IValue(c10::List<at::Tensor>(all)));
  std::ofstream(dir + "/" + w->name + ".weights.pt", std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));

  auto fast = modify::specialize(model, x);
  std::printf("%s:\n%s", w->name.c_str(), fast->report.to_string().c_str());
  w->variants.push_back({"specialized", [fast, x]() mutable { return fast(x); }});
  w->variants.push_back({"modify", [model, x]() mutable { return model(x); }});
  w->variants.push_back({"aten", [aten, x, params, buffers] { return aten(x, *params, *buffers); }});
  return w;
}

// The MLPs as torch::nn::Sequential holding the very same Linear and ReLU modules.
template <class M>
void add_nn_sequential(Workload& w, M& mlp) {
  nn::Sequential seq;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (seq->push_back(modify::get<I>(mlp)), ...);
  }(std::make_index_sequence<16>{});
  seq->eval();
  w.variants.push_back({"nn_sequential", [seq, x = w.x]() mutable { return seq->forward(x); }});
}

void add_torchscript(Workload& w, const std::string& dir) {
  auto module = std::make_shared<torch::jit::Module>(torch::jit::load(dir + "/" + w.name + ".ts.pt"));
  module->eval();
  w.keep.push_back(module);
  w.variants.push_back({"torchscript", [module, x = w.x] { return module->forward({x}).toTensor(); }});
}

void check(const Workload& w) {
  c10::InferenceMode guard;
  at::Tensor expected;
  for (const auto& v : w.variants)
    if (v.name == "modify") expected = v.run();
  if (expected.abs().sum().item<double>() == 0) fail(w.name + ": the output is all zeros; the comparison would prove nothing");
  for (const auto& v : w.variants) {
    const at::Tensor y = v.run();
    if (!torch::allclose(y, expected, 1e-4, 1e-5))
      fail(w.name + "/" + v.name + " differs from the modify model's eval() output by " +
           std::to_string((y - expected).abs().max().item<double>()));
  }
}

void run_variant(benchmark::State& state, const Variant* v) {
  c10::InferenceMode guard;
  for (auto _ : state) {
    auto y = v->run();
    benchmark::DoNotOptimize(y);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options options = bench::parse(argc, argv);
  if (!bench::initialise(options)) return 1;

  const std::string dir = (std::filesystem::temp_directory_path() / ("modify_specialize_bench_" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  torch::manual_seed(0);
  std::vector<std::unique_ptr<Workload>> workloads;
  // With --profile=<workload>/<variant>, only that workload is built (callgrind runs it 50x slower).
  const std::string& target = options.profile;
  auto wanted = [&](const std::string& name) { return target.empty() || target.starts_with(name + "/"); };
  std::string names_for_script;
  auto add = [&](std::unique_ptr<Workload> w) {
    names_for_script += " " + w->name;
    workloads.push_back(std::move(w));
  };
  auto mlp64 = make_mlp(64), mlp512 = make_mlp(512);
  if (wanted("mlp64_b1")) {
    add(make_workload("mlp64_b1", mlp64, torch::randn({1, 64}), aten_mlp, dir));
    add_nn_sequential(*workloads.back(), mlp64);
  }
  if (wanted("mlp512_b32")) {
    add(make_workload("mlp512_b32", mlp512, torch::randn({32, 512}), aten_mlp, dir));
    add_nn_sequential(*workloads.back(), mlp512);
  }
  if (wanted("cnn_b1")) add(make_workload("cnn_b1", make_cnn(), torch::randn({1, 1, 28, 28}), aten_cnn, dir));
  if (wanted("gpt_b1")) add(make_workload("gpt_b1", make_gpt(), torch::randn({1, T, C}), aten_gpt, dir));
  if (workloads.empty()) fail("--profile: unknown workload in '" + target + "' (mlp64_b1, mlp512_b32, cnn_b1, gpt_b1)");

  const std::string script = std::string("/usr/bin/python3 ") + MODIFY_BENCH_TORCHSCRIPT_SCRIPT + " " + dir + names_for_script;
  if (std::system(script.c_str()) != 0) fail("'" + script + "' failed");
  for (auto& w : workloads) {
    add_torchscript(*w, dir);
    check(*w);
  }
  std::filesystem::remove_all(dir);

  if (!target.empty()) {
    for (auto& w : workloads)
      for (auto& v : w->variants)
        if (w->name + "/" + v.name == target) {
          c10::InferenceMode guard;
          bench::profile_loop(v.run, options.profile_iterations);
          return 0;
        }
    fail("--profile: unknown variant in '" + target + "' (specialized, modify, aten, nn_sequential, torchscript)");
  }

  std::vector<std::string> names;
  for (auto& w : workloads) {
    names.push_back(w->name);
    for (auto& v : w->variants)
      benchmark::RegisterBenchmark((w->name + "/" + v.name).c_str(), run_variant, &v)->Unit(benchmark::kMicrosecond);
  }
  bench::RatioReporter reporter(options.color);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios(names, "aten", {"aten", "specialized", "modify", "nn_sequential", "torchscript"});
  benchmark::Shutdown();
  return 0;
}
