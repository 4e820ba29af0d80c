// Not a misuse: valid code in both modes, registered with should_fail, proving the harness reports a case that does not fail.
// expect: modify: this message is never produced, because the code below compiles
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4));
#ifdef MODIFY_SHOULD_FAIL
  auto same = model;  // valid: the "offending" line is not an error
#endif
}
