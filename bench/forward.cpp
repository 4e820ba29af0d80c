// Forward-pass overhead of modify::Sequential against the same computation written by hand with
// ATen calls and against torch::nn::Sequential, all in one process on the same weight tensors.
//
// Workloads: an MLP of 8 x (Linear W->W + ReLU), inference only (torch::NoGradGuard):
//   mlp64_b1   W = 64,  batch 1   (dispatch-bound: the per-call overhead of the model shows most)
//   mlp512_b32 W = 512, batch 32  (GEMM-bound)
// Variants, each benchmark named <workload>/<variant>:
//   modify         modify::Sequential(Linear, ReLU, ... 16 children), called as model(x)
//   aten           a loop of at::relu(at::linear(x, w, b)) over the modify model's own weights
//   nn_sequential  torch::nn::Sequential holding the same Linear and ReLU modules (shared handles)
//
// The program checks once at start-up that the three variants return identical tensors and aborts
// if not. After the benchmarks it prints a table of median real times and the ratios
// modify/aten and nn_sequential/aten.
//
// Flags (--torch_threads, --profile=<workload>/<variant> for callgrind, Google Benchmark's) and
// their defaults: see bench/common.hpp. One thread by default, for LibTorch and OpenBLAS alike.
#include <modify/modify.hpp>

#include "common.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t kLayers = 8;

// layer<I>(width): the I-th child of the MLP; Linear and ReLU alternate.
template <std::size_t I>
auto layer(int64_t width) {
  if constexpr (I % 2 == 0) return torch::nn::Linear(width, width);
  else return torch::nn::ReLU();
}

template <std::size_t... I>
auto make_modify_mlp(int64_t width, std::index_sequence<I...>) {
  return modify::Sequential(layer<I>(width)...);
}

using ModifyMlp = decltype(make_modify_mlp(0, std::make_index_sequence<2 * kLayers>{}));

// The hand-written forward: what the model computes, as plain ATen calls.
at::Tensor aten_forward(const at::Tensor& x, const std::vector<at::Tensor>& weights,
                        const std::vector<at::Tensor>& biases) {
  at::Tensor h = at::relu(at::linear(x, weights[0], biases[0]));
  for (std::size_t i = 1; i < weights.size(); ++i) h = at::relu(at::linear(h, weights[i], biases[i]));
  return h;
}

[[noreturn]] void fail(const std::string& what) { bench::fail("forward_bench", what); }

// One workload: the three variants of one MLP on one input.
struct Workload {
  std::string name;
  ModifyMlp modify_model{nullptr};
  std::vector<at::Tensor> weights, biases;  // the modify model's own parameter tensors
  torch::nn::Sequential nn_model;
  at::Tensor x;

  Workload(std::string workload_name, int64_t width, int64_t batch) : name(std::move(workload_name)) {
    torch::NoGradGuard no_grad;
    modify_model = make_modify_mlp(width, std::make_index_sequence<2 * kLayers>{});
    modify_model->eval();
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((weights.push_back(modify::get<2 * K>(modify_model)->weight),
        biases.push_back(modify::get<2 * K>(modify_model)->bias),
        nn_model->push_back(modify::get<2 * K>(modify_model)),
        nn_model->push_back(modify::get<2 * K + 1>(modify_model))),
       ...);
    }(std::make_index_sequence<kLayers>{});
    nn_model->eval();
    x = torch::randn({batch, width});

    // The hand-written variant must use the very tensors the model holds, in order.
    const auto params = modify_model->parameters();
    if (params.size() != 2 * kLayers) fail(name + ": the modify model has an unexpected number of parameters");
    for (std::size_t k = 0; k < kLayers; ++k)
      if (!params[2 * k].is_same(weights[k]) || !params[2 * k + 1].is_same(biases[k]))
        fail(name + ": the hand-written variant's weights are not the modify model's parameters");
    if (nn_model->parameters().size() != 2 * kLayers)
      fail(name + ": the nn::Sequential does not share the modify model's modules");

    const at::Tensor expected = aten_forward(x, weights, biases);
    if (!torch::equal(modify_model(x), expected))
      fail(name + ": the modify model's output differs from the hand-written ATen forward");
    if (!torch::equal(nn_model->forward(x), expected))
      fail(name + ": the nn::Sequential's output differs from the hand-written ATen forward");
    if (expected.abs().sum().item<float>() == 0.0f)
      fail(name + ": the output is all zeros; the comparison would prove nothing");
  }
};

void bench_modify(benchmark::State& state, Workload* w) {
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto y = w->modify_model(w->x);
    benchmark::DoNotOptimize(y);
  }
}

void bench_aten(benchmark::State& state, Workload* w) {
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto y = aten_forward(w->x, w->weights, w->biases);
    benchmark::DoNotOptimize(y);
  }
}

void bench_nn_sequential(benchmark::State& state, Workload* w) {
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto y = w->nn_model->forward(w->x);
    benchmark::DoNotOptimize(y);
  }
}

void profile(Workload* w, const std::string& variant, int64_t iterations) {
  torch::NoGradGuard no_grad;
  if (variant == "modify") bench::profile_loop([&] { return w->modify_model(w->x); }, iterations);
  else if (variant == "aten") bench::profile_loop([&] { return aten_forward(w->x, w->weights, w->biases); }, iterations);
  else if (variant == "nn_sequential") bench::profile_loop([&] { return w->nn_model->forward(w->x); }, iterations);
  else fail("--profile: unknown variant '" + variant + "' (modify, aten or nn_sequential)");
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options options = bench::parse(argc, argv);
  if (!bench::initialise(options)) return 1;

  torch::manual_seed(0);
  // Workloads live until the end of main; the registered benchmarks point into them.
  std::vector<std::unique_ptr<Workload>> workloads;
  workloads.push_back(std::make_unique<Workload>("mlp64_b1", 64, 1));
  workloads.push_back(std::make_unique<Workload>("mlp512_b32", 512, 32));

  if (const std::string& profile_target = options.profile; !profile_target.empty()) {
    const auto slash = profile_target.find('/');
    for (auto& w : workloads)
      if (w->name == profile_target.substr(0, slash)) {
        profile(w.get(), slash == std::string::npos ? "" : profile_target.substr(slash + 1), options.profile_iterations);
        return 0;
      }
    fail("--profile: unknown workload in '" + profile_target + "' (mlp64_b1 or mlp512_b32)");
  }

  std::vector<std::string> names;
  for (auto& w : workloads) {
    names.push_back(w->name);
    benchmark::RegisterBenchmark((w->name + "/modify").c_str(), bench_modify, w.get())
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((w->name + "/aten").c_str(), bench_aten, w.get())->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((w->name + "/nn_sequential").c_str(), bench_nn_sequential, w.get())
        ->Unit(benchmark::kMicrosecond);
  }

  bench::RatioReporter reporter(options.color);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios(names, "aten", {"aten", "modify", "nn_sequential"});
  benchmark::Shutdown();
  return 0;
}
