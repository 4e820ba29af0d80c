// GPT-2 written with modify: Hugging Face's GPT2LMHeadModel (and nanoGPT's GPT) as a type, its
// parameters named as theirs up to the positions that residual connections and split norms add,
// and the KeyMap that loads a Hugging Face GPT-2 checkpoint into it (docs/interop.md).
//
//   auto model = models::gpt2<12>(models::GPT2Config{});   // GPT-2 small: 12 blocks, 768 wide
//   modify::load(model, "model.safetensors", {.keys = models::hf_gpt2_keys()});  // HF's own file
//   auto logits = model(token_ids);                         // [B, T] int64 -> [B, T, vocab]
//
// The number of blocks is a template argument: the whole architecture is the model's type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <modify/modify.hpp>
#include <modify/ops/positional.hpp>

#include "common.hpp"

namespace models {

struct GPT2Config {
  int64_t vocab_size = 50257;
  int64_t n_positions = 1024;
  int64_t n_embd = 768;
  int64_t n_head = 12;
  double layer_norm_epsilon = 1e-5;
  double dropout = 0.0;  // HF's resid_pdrop, embd_pdrop and attn_pdrop, all the same here
};

namespace detail {
// PyTorch's nn.LayerNorm as modify's split: the parameter-free norm (0), then its affine part (1),
// so PyTorch's `ln_1.weight` is `ln_1.1.weight` here.
inline auto layer_norm(const GPT2Config& c) {
  return modify::Sequential(modify::LayerNorm(modify::LayerNormOptions({c.n_embd}).eps(c.layer_norm_epsilon)),
                            modify::ElementwiseAffine({c.n_embd}));
}
}  // namespace detail

// gpt2_attention(config): causal self-attention, [B, T, C] -> [B, T, C] (c_attn, c_proj as nn.Linear:
// GPT-2's Conv1D weights are the transposes).
inline auto gpt2_attention(const GPT2Config& c) {
  const int64_t C = c.n_embd, H = c.n_head;
  return modify::Sequential(
      modify::named<"c_attn">(torch::nn::Linear(C, 3 * C)),     // [B, T, 3C]
      modify::ViewUnMerge(2, 3, C), modify::ViewUnMerge(3, H, C / H),  // [B, T, 3, H, D]
      modify::Transpose(1, 2), modify::Transpose(2, 3),         // [B, 3, H, T, D]
      modify::UnBind<3>(1),                                     // (q, k, v), each [B, H, T, D]
      modify::SDPA(modify::SDPAOptions().causal(true).dropout(c.dropout)),
      modify::Transpose(1, 2), modify::ViewMerge(2, 3),         // [B, T, C]
      modify::named<"c_proj">(torch::nn::Linear(C, C)),
      torch::nn::Dropout(c.dropout));
}

// gpt2_mlp(config): [B, T, C] -> [B, T, C] through 4C, GELU with the tanh approximation (GPT-2's gelu_new).
inline auto gpt2_mlp(const GPT2Config& c) {
  return modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(c.n_embd, 4 * c.n_embd)),
                            torch::nn::GELU(torch::nn::GELUOptions().approximate("tanh")),
                            modify::named<"c_proj">(torch::nn::Linear(4 * c.n_embd, c.n_embd)),
                            torch::nn::Dropout(c.dropout));
}

// gpt2_block(config): x + attn(ln_1(x)), then x + mlp(ln_2(x)). Parameters: 0.1.1.ln_1.1.weight,
// 0.1.1.attn.c_attn.weight, ..., 1.1.1.ln_2.1.weight, 1.1.1.mlp.c_fc.weight, ...
inline auto gpt2_block(const GPT2Config& c) {
  return modify::Sequential(
      detail::residual(modify::Sequential(modify::named<"ln_1">(detail::layer_norm(c)), modify::named<"attn">(gpt2_attention(c)))),
      detail::residual(modify::Sequential(modify::named<"ln_2">(detail::layer_norm(c)), modify::named<"mlp">(gpt2_mlp(c)))));
}

// tie_lm_head(model): model's lm_head.weight becomes transformer.wte.weight itself (registered
// under both names, as PyTorch's GPT2LMHeadModel ties them). gpt2() ties; modify::clone() copies
// each module's tensors on its own, so call it again on a clone to tie the copy.
template <class M>
void tie_lm_head(M& model) {
  auto head = modify::get<"lm_head">(model);
  const at::Tensor& embedding = modify::get<"transformer.wte">(model)->weight;
  detail::share_parameter(*head, "weight", embedding);
  head->weight = embedding;
}

// gpt2<Layers>(config): token ids [B, T] (T <= n_positions) -> logits [B, T, vocab_size]. Parameters:
// transformer.wte.weight, transformer.wpe.weight, transformer.h.{n}.<block>, transformer.ln_f.1.*, and
// lm_head.weight, which is wte's tensor (tied, as in GPT-2: one gradient, the sum of both uses).
// LibTorch's parameters() lists a tied tensor under both names (PyTorch's removes the repeat): give
// an optimizer modify::trainable_parameters(model), which lists each tensor once.
template <std::size_t Layers>
auto gpt2(const GPT2Config& c) {
  // Both embeddings ~ N(0, 0.02^2), as GPT-2 initialises them: as the head's weight, wte at
  // LibTorch's N(0, 1) would start with logits ~sqrt(n_embd) too large, and wpe stays on its scale.
  auto wte = modify::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.n_embd), modify::init::Normal{0.0, 0.02});
  auto wpe = modify::PositionEmbedding(c.n_positions, c.n_embd);
  torch::nn::init::normal_(wpe->weight, 0.0, 0.02);
  auto transformer = modify::Sequential(modify::named<"wte">(std::move(wte)), modify::named<"wpe">(std::move(wpe)),
                                        modify::named<"drop">(torch::nn::Dropout(c.dropout)),
                                        modify::named<"h">(detail::repeated<Layers>([&] { return gpt2_block(c); })),
                                        modify::named<"ln_f">(detail::layer_norm(c)));
  auto model = modify::Sequential(
      modify::named<"transformer">(std::move(transformer)),
      modify::named<"lm_head">(torch::nn::Linear(torch::nn::LinearOptions(c.n_embd, c.vocab_size).bias(false))));
  tie_lm_head(model);
  return model;
}

// hf_gpt2_keys(): Hugging Face's GPT2LMHeadModel keys -> gpt2()'s. In a block, the attention
// residual's branch is `0.1.1.` and the MLP's `1.1.1.`; a LayerNorm `ln` has its affine part at
// `ln.1.`; the Conv1D weights (c_attn, c_proj, c_fc: [in, out]) are transposed for nn.Linear. The
// causal-mask buffers older checkpoints carry (attn.bias, attn.masked_bias) are ignored.
inline modify::KeyMap hf_gpt2_keys() {
  return modify::KeyMap()
      .ignore("transformer.h.{n}.attn.bias")
      .ignore("transformer.h.{n}.attn.masked_bias")
      .rename("transformer.h.{n}.ln_1.{p}", "transformer.h.{n}.0.1.1.ln_1.1.{p}")
      .rename("transformer.h.{n}.attn.*", "transformer.h.{n}.0.1.1.attn.*")
      .rename("transformer.h.{n}.ln_2.{p}", "transformer.h.{n}.1.1.1.ln_2.1.{p}")
      .rename("transformer.h.{n}.mlp.*", "transformer.h.{n}.1.1.1.mlp.*")
      .rename("transformer.ln_f.{p}", "transformer.ln_f.1.{p}")
      .transform("*.c_attn.weight", modify::KeyMap::transposed)
      .transform("*.c_proj.weight", modify::KeyMap::transposed)
      .transform("*.c_fc.weight", modify::KeyMap::transposed);
}

// hf_gpt2_state_dict(model): the inverse of hf_gpt2_keys(): gpt2()'s tensors under Hugging Face's
// GPT2LMHeadModel names, the Conv1D weights transposed back to [in, out] (new contiguous tensors;
// the rest are the model's own). As Hugging Face's files, it leaves out lm_head.weight, wte's
// tensor under a second name. Saved as safetensors, it loads through hf_gpt2_keys().
template <class M>
modify::NamedTensors hf_gpt2_state_dict(M& model) {
  // Our block-internal prefixes -> HF's, the inverse of the renames above.
  constexpr std::pair<std::string_view, std::string_view> renames[] = {
      {".0.1.1.ln_1.1.", ".ln_1."}, {".0.1.1.attn.", ".attn."},     {".1.1.1.ln_2.1.", ".ln_2."},
      {".1.1.1.mlp.", ".mlp."},     {"transformer.ln_f.1.", "transformer.ln_f."}};
  modify::NamedTensors out;
  for (auto [key, tensor] : modify::state_dict(model)) {
    if (key == "lm_head.weight") continue;  // tied to transformer.wte.weight
    for (const auto& [ours, theirs] : renames)
      if (const auto at = key.find(ours); at != std::string::npos) key.replace(at, ours.size(), theirs);
    for (std::string_view conv1d : {".c_attn.weight", ".c_proj.weight", ".c_fc.weight"})
      if (key.ends_with(conv1d)) tensor = modify::KeyMap::transposed(tensor).contiguous();
    out.emplace_back(std::move(key), std::move(tensor));
  }
  return out;
}

}  // namespace models
