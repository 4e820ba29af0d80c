// A tuple op (modify::Cat) receives a tuple with a tuple in it: ((x, x), x).
// expect: modify: a tuple op (Cat, Stack, ...) receives a tuple with a nested tuple in it
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({2, 4});
  modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Chunk<2>(1), modify::Identity()),
                     modify::Parallel(modify::Cat(1), modify::Identity()), modify::Cat(0))(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Chunk<2>(1), modify::Identity()), modify::Cat(0))(x);
#endif
}
