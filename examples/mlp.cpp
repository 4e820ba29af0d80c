// A multilayer perceptron as a type: checked at compile time, trained with a LibTorch optimizer.
//
//   build/examples/mlp [--steps N]
#include <modify/modify.hpp>

#include <torch/torch.h>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  int steps = 300;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--steps" && i + 1 < argc) steps = std::stoi(argv[++i]);
  torch::manual_seed(0);

  auto model = modify::Sequential(modify::named<"fc1">(torch::nn::Linear(8, 64)), torch::nn::ReLU(),
                                  modify::named<"fc2">(torch::nn::Linear(64, 64)), torch::nn::ReLU(),
                                  modify::named<"out">(torch::nn::Linear(64, 1)));

  // The architecture is a type: its traits are known to the compiler.
  using Model = decltype(model);
  static_assert(modify::trait::Unary<Model> && modify::trait::Param<Model> && modify::trait::NonLinear<Model>);
  std::cout << model << "\ntraits: " << modify::traits_of<Model> << "\n";
  for (const auto& p : model->named_parameters()) std::cout << "  " << p.key() << " " << p.value().sizes() << "\n";

  // Regression onto a fixed smooth function of the inputs.
  auto x = torch::randn({512, 8});
  auto y = torch::sin(x.matmul(torch::randn({8, 1}))) + 0.1 * x.pow(2).sum(1, true);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3));
  double first = 0, last = 0;
  for (int step = 0; step <= steps; ++step) {
    optimizer.zero_grad();
    auto loss = torch::mse_loss(model(x), y);
    loss.backward();
    optimizer.step();
    last = loss.item<double>();
    if (step == 0) first = last;
    if (step % 100 == 0) std::cout << "step " << step << "  loss " << last << "\n";
  }
  std::cout << "loss fell from " << first << " to " << last << "\n";
  return last < 0.5 * first ? EXIT_SUCCESS : EXIT_FAILURE;
}
