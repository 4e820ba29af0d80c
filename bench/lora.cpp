// LoRA forward cost: the base model, its adapted (unmerged) version, the merged model, and the
// adapted math written by hand with ATen on the same tensors, in one process.
//
// Workloads (inference, torch::NoGradGuard, rank-8 adapters on every Linear):
//   mlp512_b32   4 x (Linear 512->512 + ReLU), batch 32
//   gptmlp_t256  a GPT-style residual MLP block, x + c_proj(GELU(c_fc(x))), C = 384, hidden 1536,
//                256 tokens (batch 4 x sequence 64)
// Variants, each benchmark named <workload>/<variant>:
//   base, merged (modify::merge of the adapted model), adapted (modify::lora's model),
//   aten_adapted (y = linear(x, W, b) + s * linear(linear(x, A), B) per layer, by hand).
// Targets (issue 4): merged/base = 1.00 +- 0.02; adapted no slower than aten_adapted.
// Flags: see bench/common.hpp (--torch_threads, --profile=<workload>/<variant>, Google Benchmark's).
#include <modify/modify.hpp>

#include "common.hpp"

#include <functional>
#include <memory>

namespace {

constexpr int64_t kRank = 8;
const std::string kProgram = "lora_bench";

template <std::size_t I>
auto mlp_layer() {
  if constexpr (I % 2 == 0) return torch::nn::Linear(512, 512);
  else return torch::nn::ReLU();
}

auto make_mlp() {
  return []<std::size_t... I>(std::index_sequence<I...>) { return modify::Sequential(mlp_layer<I>()...); }(std::make_index_sequence<8>{});
}

auto make_gpt_mlp() {
  auto mlp = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(384, 1536)), torch::nn::GELU(),
                                modify::named<"c_proj">(torch::nn::Linear(1536, 384)));
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(mlp)), modify::Add());
}

// One adapted Linear, by hand: W x + b + s B A x.
at::Tensor adapted_linear(const at::Tensor& x, const modify::Lora<torch::nn::Linear, "default">& layer) {
  const auto& a = layer->adapters[0];
  return at::add(at::linear(x, layer->base->weight, layer->base->bias), at::linear(at::linear(x, a.A), a.B), a.scaling);
}

// A workload: its four variants as callables on one input.
struct Workload {
  std::string name;
  at::Tensor x;
  std::map<std::string, std::function<at::Tensor()>> variants;
};

template <class Model, class Aten>
std::unique_ptr<Workload> workload(std::string name, Model base, at::Tensor x, Aten aten_adapted_of) {
  auto w = std::make_unique<Workload>();
  w->name = std::move(name);
  w->x = x;
  torch::NoGradGuard no_grad;
  auto adapted = modify::lora(base, {.rank = kRank, .alpha = 16}, modify::select::type<torch::nn::Linear>);
  for (auto& t : modify::trainable_parameters(adapted)) t.normal_(0, 0.02);  // as if trained: B is no longer 0
  auto merged = modify::merge(adapted);
  base->eval(), adapted->eval(), merged->eval();
  auto aten_adapted = aten_adapted_of(adapted);
  w->variants["base"] = [base, x]() mutable { return base(x); };
  w->variants["adapted"] = [adapted, x]() mutable { return adapted(x); };
  w->variants["merged"] = [merged, x]() mutable { return merged(x); };
  w->variants["aten_adapted"] = [aten_adapted, x] { return aten_adapted(x); };
  const at::Tensor reference = adapted(x);
  if (!torch::equal(aten_adapted(x), reference)) bench::fail(kProgram, w->name + ": hand-written adapted math differs from the adapted model");
  if (!torch::allclose(merged(x), reference, 1e-4, 1e-4)) bench::fail(kProgram, w->name + ": merged model differs from the adapted model");
  if (torch::allclose(base(x), reference)) bench::fail(kProgram, w->name + ": adapters change nothing; the comparison would prove nothing");
  return w;
}

void run(benchmark::State& state, const std::function<at::Tensor()>* forward) {
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto y = (*forward)();
    benchmark::DoNotOptimize(y);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options options = bench::parse(argc, argv);
  if (!bench::initialise(options)) return 1;
  torch::manual_seed(0);
  std::vector<std::unique_ptr<Workload>> workloads;
  workloads.push_back(workload("mlp512_b32", make_mlp(), torch::randn({32, 512}), [](auto adapted) {
    return [adapted](const at::Tensor& x) {
      at::Tensor h = x;
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        ((h = at::relu(adapted_linear(h, modify::get<2 * K>(adapted)))), ...);
      }(std::make_index_sequence<4>{});
      return h;
    };
  }));
  workloads.push_back(workload("gptmlp_t256", make_gpt_mlp(), torch::randn({256, 384}), [](auto adapted) {
    return [adapted](const at::Tensor& x) {
      at::Tensor h = at::gelu(adapted_linear(x, modify::get<"1.mlp.c_fc">(adapted)));
      return at::add(x, adapted_linear(h, modify::get<"1.mlp.c_proj">(adapted)));
    };
  }));

  if (!options.profile.empty()) {
    for (auto& w : workloads)
      for (auto& [variant, forward] : w->variants)
        if (options.profile == w->name + "/" + variant) {
          torch::NoGradGuard no_grad;
          bench::profile_loop(forward, options.profile_iterations);
          return 0;
        }
    bench::fail(kProgram, "--profile: no benchmark named " + options.profile);
  }
  const std::vector<std::string> variants{"base", "merged", "adapted", "aten_adapted"};
  std::vector<std::string> names;
  for (auto& w : workloads) {
    names.push_back(w->name);
    for (const auto& v : variants)
      benchmark::RegisterBenchmark((w->name + "/" + v).c_str(), run, &w->variants.at(v))->Unit(benchmark::kMicrosecond);
  }
  bench::RatioReporter reporter(options.color);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios(names, "base", {"base", "merged", "adapted"});
  reporter.print_ratios(names, "aten_adapted", {"aten_adapted", "adapted"});
  benchmark::Shutdown();
}
