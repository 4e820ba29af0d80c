// A child name containing '.', which separates the components of a path.
// expect: modify: a child's name must be non-empty and contain no '.'
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(4, 4)));
#ifdef MODIFY_SHOULD_FAIL
  auto bad = modify::Sequential(modify::named<"c.fc">(torch::nn::Linear(4, 4)));
#endif
}
