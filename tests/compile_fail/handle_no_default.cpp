// A modify handle default-constructed when its module needs arguments (Transpose takes two dims).
// expect: modify: this module has no default constructor
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  modify::Transpose given(0, 1);
  modify::Transpose empty(nullptr);
#ifdef MODIFY_SHOULD_FAIL
  modify::Transpose missing;
#endif
}
