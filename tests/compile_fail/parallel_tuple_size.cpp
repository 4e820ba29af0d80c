// A Parallel of 3 branches receives a tuple of 2 values.
// expect: modify: a Parallel receives a tuple whose size differs from its number of branches
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto branches = modify::Parallel(torch::nn::Linear(4, 4), torch::nn::ReLU(), modify::Identity());
  auto x = torch::randn({2, 4});
  branches(std::make_tuple(x, x, x));
#ifdef MODIFY_SHOULD_FAIL
  branches(std::make_tuple(x, x));
#endif
}
