// LoRA side by side: a base model and its adapted version share every base weight; fine-tuning
// the adapter leaves the base bitwise intact; merging gives a plain model of the base's type.
//
//   build/examples/lora_side_by_side [--steps N]
#include <modify/modify.hpp>
#include <modify/transform/lora.hpp>

#include <torch/torch.h>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <string>

namespace {
auto residual_mlp() {
  auto block = [] {
    auto mlp = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(16, 64)), torch::nn::GELU(),
                                  modify::named<"c_proj">(torch::nn::Linear(64, 16)));
    return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(mlp)),
                              modify::Add());
  };
  return modify::Sequential(modify::named<"embed">(torch::nn::Linear(8, 16)), block(), block(),
                            modify::named<"head">(torch::nn::Linear(16, 1)));
}

double loss(auto& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return torch::mse_loss(model(x), y).template item<double>();
}
}  // namespace

int main(int argc, char** argv) {
  int steps = 300;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--steps" && i + 1 < argc) steps = std::stoi(argv[++i]);
  torch::manual_seed(0);
  std::cout << std::fixed << std::setprecision(5);

  // 1. A base model, trained on task A.
  auto base = residual_mlp();
  auto x = torch::randn({512, 8});
  auto task_a = torch::sin(x.sum(1, true));
  auto task_b = torch::sin(x.sum(1, true)) + 0.5 * torch::cos(2 * x.select(1, 0)).unsqueeze(1);
  {
    torch::optim::Adam optimizer(base->parameters(), torch::optim::AdamOptions(3e-3));
    for (int step = 0; step < steps; ++step) {
      optimizer.zero_grad();
      torch::mse_loss(base(x), task_a).backward();
      optimizer.step();
    }
  }
  std::cout << "base:    task A loss " << loss(base, x, task_a) << ", task B loss " << loss(base, x, task_b) << "\n";

  // 2. Adapt every c_fc/c_proj with rank-4 LoRA; the adapted model is a new type sharing the base.
  auto adapted = modify::lora(base, {.rank = 4, .alpha = 8}, modify::select::glob<"*.mlp.c_*">);
  std::cout << adapted << "\n";
  const auto base_weight = modify::get<"1.1.mlp.c_fc">(base)->weight.clone();
  auto trainable = modify::trainable_parameters(adapted);
  int64_t adapter_size = 0, base_size = 0;
  for (const auto& t : trainable) adapter_size += t.numel();
  for (const auto& t : base->parameters()) base_size += t.numel();
  std::cout << "training " << adapter_size << " adapter parameters (the base has " << base_size << ")\n";

  // 3. Fine-tune the adapter on task B.
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(3e-3));
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    torch::mse_loss(adapted(x), task_b).backward();
    optimizer.step();
  }

  // 4. Both models, side by side, on the same input.
  std::cout << "base:    task A loss " << loss(base, x, task_a) << ", task B loss " << loss(base, x, task_b) << "\n";
  std::cout << "adapted: task A loss " << loss(adapted, x, task_a) << ", task B loss " << loss(adapted, x, task_b) << "\n";
  const bool base_intact = torch::equal(base_weight, modify::get<"1.1.mlp.c_fc">(base)->weight);
  std::cout << "base weights bitwise unchanged: " << std::boolalpha << base_intact << "\n";

  // 5. Merge: a plain model of the base's type, computing what the adapted model computes.
  auto merged = modify::merge(adapted);
  static_assert(std::is_same_v<decltype(merged), decltype(base)>);
  torch::NoGradGuard no_grad;
  const double difference = (merged(x) - adapted(x)).abs().max().item<double>();
  std::cout << "merged:  task B loss " << loss(merged, x, task_b) << " (max |merged - adapted| = " << std::scientific
            << difference << ")\n";
  return base_intact && difference < 1e-4 && loss(adapted, x, task_b) < loss(base, x, task_b) ? EXIT_SUCCESS : EXIT_FAILURE;
}
