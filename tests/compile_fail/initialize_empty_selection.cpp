// initialize() with a selection that picks no module of the model.
// expect: modify: initialize: the selection matches no module of the model
#include <modify/init.hpp>
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 8), torch::nn::GELU());
  modify::initialize(model, modify::select::type<torch::nn::Linear>, modify::init::Zeros{});
#ifdef MODIFY_SHOULD_FAIL
  modify::initialize(model, modify::select::type<torch::nn::Conv2d>, modify::init::Zeros{});
#endif
}
