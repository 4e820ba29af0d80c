// Merging a model that has no adapters (e.g. merging twice): impossible by construction.
// expect: modify: merge: the model has no LoRA adapters to merge
#include <modify/modify.hpp>
#include <modify/transform/lora.hpp>
#include <torch/torch.h>

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 8));
  auto merged = modify::merge(modify::lora(model, {}, modify::select::leaf));
#ifdef MODIFY_SHOULD_FAIL
  modify::merge(merged);
#endif
}
