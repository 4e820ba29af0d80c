// A modify norm given LibTorch's options, which carry an affine flag (on by default).
// expect: modify: a modify norm takes modify's options, which have no affine flag
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto converted = modify::split_affine(torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(8)));
  (void)converted;
#ifdef MODIFY_SHOULD_FAIL
  auto norm = modify::BatchNorm2d(torch::nn::BatchNormOptions(8));
#endif
}
