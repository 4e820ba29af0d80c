// Copy<0>: a copy module that makes no copies.
// expect: modify: Copy<0> makes no copies; Copy<N> needs N >= 1
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  modify::Copy<1> one;
#ifdef MODIFY_SHOULD_FAIL
  modify::Copy<0> none;
#endif
}
