// A modify norm asked for an affine part: its options have no affine flag; ElementwiseAffine is the affine part.
// expect: modify: a modify norm has no affine part; follow it with modify::ElementwiseAffine
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto norm = modify::Sequential(modify::BatchNorm2d(modify::BatchNormOptions(8).momentum(0.2)),
                                 modify::ElementwiseAffine::channels(8));
  (void)norm;
#ifdef MODIFY_SHOULD_FAIL
  auto affine = modify::BatchNorm2d(modify::BatchNormOptions(8).affine(true));
#endif
}
