// LoRA on a module without weights (an activation).
// expect: modify: lora: the selection includes a module LoRA cannot adapt
#include <modify/modify.hpp>
#include <modify/transform/lora.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 8), torch::nn::GELU());
  modify::lora(model, {}, modify::select::type<torch::nn::Linear>);
#ifdef MODIFY_SHOULD_FAIL
  modify::lora(model, {}, modify::select::type<torch::nn::GELU>);
#endif
}
