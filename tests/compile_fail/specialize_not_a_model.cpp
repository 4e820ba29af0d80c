// Specialising something that is not a modify model (here a tensor) names the mistake.
// expect: modify: specialize: the model is not a modify model
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::ReLU());
  model->eval();
  modify::specialize(model, torch::randn({1, 4}));
#ifdef MODIFY_SHOULD_FAIL
  const at::Tensor weights = torch::randn({4, 4});
  modify::specialize(weights, torch::randn({1, 4}));
#endif
}
