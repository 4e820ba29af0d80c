// split_affine given a module that is not one of LibTorch's norms.
// expect: modify: split_affine takes a LibTorch norm module handle
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto pair = modify::split_affine(torch::nn::GroupNorm(2, 8));
  (void)pair;
#ifdef MODIFY_SHOULD_FAIL
  auto linear = modify::split_affine(torch::nn::Linear(8, 8));
#endif
}
