// A Binary module (modify::Add) receives a single tensor instead of a pair.
// expect: modify: a module that takes a tuple (Binary, Ternary or TupleArg) receives a single tensor
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({2, 4});
  modify::Sequential(torch::nn::Linear(4, 4), modify::Copy<2>(), modify::Add())(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(torch::nn::Linear(4, 4), modify::Add())(x);
#endif
}
