// A modify LayerNorm asked for an elementwise affine part (LibTorch's option name).
// expect: modify: a modify norm has no affine part; follow it with modify::ElementwiseAffine
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto norm = modify::Sequential(modify::LayerNorm(modify::LayerNormOptions({8}).eps(1e-6)), modify::ElementwiseAffine({8}));
  (void)norm;
#ifdef MODIFY_SHOULD_FAIL
  auto affine = modify::LayerNorm(modify::LayerNormOptions({8}).elementwise_affine(true));
#endif
}
