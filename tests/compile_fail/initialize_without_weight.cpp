// initialize() on a module without a weight (an activation).
// expect: modify: initialize: the selection picks a module without a `weight` tensor to initialise
#include <modify/init.hpp>
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 8), torch::nn::GELU());
  modify::initialize(model, modify::select::type<torch::nn::Linear>, modify::init::Zeros{});
#ifdef MODIFY_SHOULD_FAIL
  modify::initialize(model, modify::select::type<torch::nn::GELU>, modify::init::Zeros{});
#endif
}
