// Two children of one container given the same name with modify::named.
// expect: modify: two children of one container have the same name
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(modify::named<"fc">(torch::nn::Linear(4, 4)),
                                  modify::named<"act">(torch::nn::ReLU()));
#ifdef MODIFY_SHOULD_FAIL
  auto bad = modify::Sequential(modify::named<"fc">(torch::nn::Linear(4, 4)),
                                modify::named<"fc">(torch::nn::ReLU()));
#endif
}
