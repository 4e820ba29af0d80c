// A Unary module (torch::nn::Linear) receives the 2-tuple made by Copy<2>.
// expect: modify: a Unary module receives a tuple; it takes a single tensor
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({2, 4});
  modify::Sequential(torch::nn::Linear(4, 4), modify::Copy<2>())(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(modify::Copy<2>(), torch::nn::Linear(4, 4))(x);
#endif
}
