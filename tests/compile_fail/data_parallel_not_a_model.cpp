// DataParallel of a module modify knows no traits for (here LibTorch's type-erased Sequential).
// expect: modify: DataParallel<M>: M must be a modify model
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse(const modify::distributed::ProcessGroup& group) {
  modify::distributed::DataParallel ddp(modify::Sequential(torch::nn::Linear(4, 8)), group);
#ifdef MODIFY_SHOULD_FAIL
  modify::distributed::DataParallel wrong(torch::nn::Sequential(torch::nn::Linear(4, 8)), group);
#endif
}
