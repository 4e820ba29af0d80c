// A Parallel receives a single tensor instead of a tuple with one value per branch.
// expect: modify: a Parallel receives a single tensor; it takes a tuple with one value per branch
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto branches = modify::Parallel(modify::Identity(), torch::nn::Linear(4, 4));
  auto x = torch::randn({2, 4});
  branches(std::make_tuple(x, x));
#ifdef MODIFY_SHOULD_FAIL
  branches(x);
#endif
}
