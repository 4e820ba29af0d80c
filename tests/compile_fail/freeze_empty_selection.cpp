// freeze with a selector that picks nothing: a parameter-free model has nothing to freeze; the
// message names freeze, not the transform it is built on.
// expect: modify: freeze: the selection matches no module of the model
#include <modify/modify.hpp>
#include <modify/transform/freeze.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::GELU());
  modify::freeze(model);
#ifdef MODIFY_SHOULD_FAIL
  modify::freeze(modify::Sequential(torch::nn::GELU(), torch::nn::ReLU()));
#endif
}
