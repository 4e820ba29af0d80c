// A module object (torch::nn::LinearImpl) given to Sequential where a module handle (torch::nn::Linear) belongs.
// expect: modify: a child is a module object, not a handle
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(2, 2), torch::nn::ReLU());
#ifdef MODIFY_SHOULD_FAIL
  auto bad = modify::Sequential(torch::nn::LinearImpl(2, 2), torch::nn::ReLU());
#endif
}
