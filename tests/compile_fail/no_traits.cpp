// A LibTorch module whose traits the library does not declare (torch::nn::LSTM) used as a child of Sequential.
// expect: modify: a child's module type declares no traits
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::Tanh());
#ifdef MODIFY_SHOULD_FAIL
  auto bad = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::LSTM(4, 4));
#endif
}
