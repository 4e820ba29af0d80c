// An empty Parallel, with no branches.
// expect: modify: an empty Parallel has no branches
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Parallel(modify::Identity());
#ifdef MODIFY_SHOULD_FAIL
  auto empty = modify::Parallel<>();
#endif
}
