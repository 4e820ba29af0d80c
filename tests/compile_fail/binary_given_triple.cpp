// A Binary module (modify::Add) receives the 3-tuple made by Copy<3>.
// expect: modify: a Binary module receives a tuple whose size is not 2
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({2, 4});
  modify::Sequential(modify::Copy<2>(), modify::Add())(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(modify::Copy<3>(), modify::Add())(x);
#endif
}
