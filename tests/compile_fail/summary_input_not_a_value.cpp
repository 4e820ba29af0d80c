// modify::summary given an example input that is not a value (a std::vector of tensors).
// expect: modify: summary(model, example_input): the example input is not a value
#include <modify/modify.hpp>
#include <torch/torch.h>

#include <vector>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::ReLU());
  (void)modify::summary(model, torch::randn({2, 4}));
#ifdef MODIFY_SHOULD_FAIL
  (void)modify::summary(model, std::vector<torch::Tensor>{torch::randn({2, 4})});
#endif
}
