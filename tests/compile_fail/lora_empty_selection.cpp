// LoRA with a selection that picks no module: an error, never a silent no-op.
// expect: modify: lora: the selection matches no module of the model
#include <modify/modify.hpp>
#include <modify/transform/lora.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(4, 8)), torch::nn::ReLU());
  modify::lora(model, {}, modify::select::name<"c_fc">);
#ifdef MODIFY_SHOULD_FAIL
  modify::lora(model, {}, modify::select::name<"c_attn">);
#endif
}
