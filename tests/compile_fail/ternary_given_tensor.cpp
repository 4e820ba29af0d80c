// A Ternary module (torch::nn::MultiheadAttention) receives a single tensor instead of (query, key, value).
// expect: modify: a module that takes a tuple (Binary, Ternary or TupleArg) receives a single tensor
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({5, 2, 8});
  modify::Sequential(modify::Copy<3>(), torch::nn::MultiheadAttention(8, 2))(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(torch::nn::Linear(8, 8), torch::nn::MultiheadAttention(8, 2))(x);
#endif
}
