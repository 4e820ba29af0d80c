// A child of Sequential that is not a module at all (an int).
// expect: modify: a child of Sequential or Parallel is not a module
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), torch::nn::ReLU());
#ifdef MODIFY_SHOULD_FAIL
  auto bad = modify::Sequential(torch::nn::Linear(4, 4), 3);
#endif
}
