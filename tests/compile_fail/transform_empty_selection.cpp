// A transform whose selector picks nothing (here: a typo in a path).
// expect: modify: transform: the selector matches no module of the model
#include <modify/modify.hpp>
#include <modify/transform/transform.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(modify::named<"act">(torch::nn::GELU()), torch::nn::Linear(4, 4));
  modify::transform(model, modify::select::path<"act">, [](const auto&) { return torch::nn::ReLU(); });
#ifdef MODIFY_SHOULD_FAIL
  modify::transform(model, modify::select::path<"acts">, [](const auto&) { return torch::nn::ReLU(); });
#endif
}
