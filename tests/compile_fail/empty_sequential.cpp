// An empty Sequential, with no children.
// expect: modify: an empty Sequential has no children
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(modify::Identity());
#ifdef MODIFY_SHOULD_FAIL
  auto empty = modify::Sequential<>();
#endif
}
