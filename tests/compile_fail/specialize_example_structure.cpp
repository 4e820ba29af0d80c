// An example input whose structure the model cannot take (a pair for a model taking one tensor)
// is reported by specialize before the model's forward is instantiated.
// expect: modify: specialize: the model takes a single tensor, but the example input is a tuple
#include <modify/modify.hpp>
#include <torch/torch.h>

#include <tuple>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::ReLU());
  model->eval();
  modify::specialize(model, torch::randn({1, 4}));
#ifdef MODIFY_SHOULD_FAIL
  modify::specialize(model, std::tuple{torch::randn({1, 4}), torch::randn({1, 4})});
#endif
}
