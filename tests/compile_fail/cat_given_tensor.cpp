// A tuple op (modify::Cat, TupleArg) receives a single tensor.
// expect: modify: a module that takes a tuple (Binary, Ternary or TupleArg) receives a single tensor
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({2, 4});
  modify::Sequential(torch::nn::Linear(4, 4), modify::Chunk<2>(1), modify::Cat(1))(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(torch::nn::Linear(4, 4), modify::Cat(1))(x);
#endif
}
