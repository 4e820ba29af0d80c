// Asking for an adapter the model does not have.
// expect: modify: with_adapters: an adapted module has no adapter of a requested name
#include <modify/modify.hpp>
#include <modify/transform/lora.hpp>
#include <torch/torch.h>

void misuse() {
  auto adapted = modify::lora<"task_a">(modify::Sequential(torch::nn::Linear(4, 8)), {}, modify::select::leaf);
  modify::with_adapters<"task_a">(adapted);
#ifdef MODIFY_SHOULD_FAIL
  modify::with_adapters<"task_b">(adapted);
#endif
}
