// A reduction (modify::Sum, Unary) receives the 2-tuple made by Chunk<2>.
// expect: modify: a Unary module receives a tuple; it takes a single tensor
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({2, 4});
  modify::Sequential(modify::Chunk<2>(1), modify::Cat(1), modify::Sum(1))(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(modify::Chunk<2>(1), modify::Sum(1))(x);
#endif
}
