// unfreeze on a model with no Frozen module: there is nothing to unfreeze, which is a mistake
// (never a silent no-op).
// expect: modify: unfreeze: the model has no Frozen module
#include <modify/modify.hpp>
#include <modify/transform/freeze.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::GELU());
  modify::unfreeze(modify::freeze(model));
#ifdef MODIFY_SHOULD_FAIL
  modify::unfreeze(model);
#endif
}
