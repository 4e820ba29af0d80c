// get<...> on a leaf module, which has no children to get.
// expect: modify: get<...> on a leaf module, which has no children
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 8), torch::nn::ReLU());
  auto linear = modify::get<0>(model);
#ifdef MODIFY_SHOULD_FAIL
  modify::get<0>(linear);
#endif
}
