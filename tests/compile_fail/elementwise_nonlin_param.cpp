// ElementwiseNonlin wrapping a module with parameters (a leaf cannot hold them).
// expect: modify: ElementwiseNonlin wraps an activation: a Unary, ParamFree, Elementwise module
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto gelu = modify::ElementwiseNonlin(torch::nn::GELU(), 16);
  (void)gelu;
#ifdef MODIFY_SHOULD_FAIL
  auto prelu = modify::ElementwiseNonlin(torch::nn::PReLU(), 16);
#endif
}
