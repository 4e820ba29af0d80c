// get<I> with I past the last child of the container.
// expect: modify: get<I>: I is past the last child of the container
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 8), torch::nn::ReLU());
  modify::get<1>(model);
#ifdef MODIFY_SHOULD_FAIL
  modify::get<2>(model);
#endif
}
