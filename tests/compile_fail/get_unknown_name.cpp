// get<"name"> with a name that no child of the container has.
// expect: modify: get<"path">: a container on the path has no child of that name
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(4, 8)), torch::nn::ReLU());
  modify::get<"c_fc">(model);
#ifdef MODIFY_SHOULD_FAIL
  modify::get<"c_proj">(model);
#endif
}
