// Llama written with modify: Hugging Face's LlamaForCausalLM as a type (RMSNorm, rotary position
// embeddings, grouped-query attention, SwiGLU MLP, no biases), its parameters named as theirs up
// to the positions that residual connections, split norms and parallel branches add, and the
// KeyMap that loads a Hugging Face Llama checkpoint into it (docs/interop.md).
//
//   models::LlamaConfig config{.vocab_size = 128256, .hidden_size = 2048, .intermediate_size = 8192,
//                              .num_attention_heads = 32, .num_key_value_heads = 8};   // Llama 3.2 1B
//   auto model = models::llama<16>(config);
//   modify::load(model, "model.safetensors", {.keys = models::hf_llama_keys()});
//   auto logits = model(token_ids);                  // [B, T] int64 -> [B, T, vocab]
#pragma once

#include <cstdint>
#include <utility>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <modify/modify.hpp>
#include <modify/ops/positional.hpp>

#include "common.hpp"

namespace models {

struct LlamaConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;  // fewer than num_attention_heads: grouped-query attention
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;  // 500000 in Llama 3
};

namespace detail {
inline torch::nn::Linear no_bias(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}
// Llama's RMSNorm as modify's split: the parameter-free norm (0), then its weight (1), so HF's
// `input_layernorm.weight` is `input_layernorm.1.weight` here.
inline auto rms_norm(const LlamaConfig& c) {
  return modify::Sequential(modify::RMSNorm(modify::RMSNormOptions({c.hidden_size}).eps(c.rms_norm_eps)),
                            modify::ElementwiseAffine({c.hidden_size}, /*bias=*/false));
}
// heads(n, D): [B, T, n * D] -> [B, n, T, D].
inline auto heads(int64_t n, int64_t D) { return modify::Sequential(modify::ViewUnMerge(2, n, D), modify::Transpose(1, 2)); }
}  // namespace detail

// llama_attention(config): [B, T, C] -> [B, T, C]. q and k rotated by position, k and v with
// num_key_value_heads heads, shared by groups of query heads. Parameters: 1.0.q_proj.weight,
// 1.1.k_proj.weight, 1.2.v_proj.weight, o_proj.weight.
inline auto llama_attention(const LlamaConfig& c) {
  const int64_t C = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, D = C / H;
  const auto rope = [&] { return modify::RotaryEmbedding(modify::RotaryEmbeddingOptions(D).base(c.rope_theta)); };
  return modify::Sequential(
      modify::Copy<3>(),
      modify::Parallel(
          modify::Sequential(modify::named<"q_proj">(detail::no_bias(C, H * D)), detail::heads(H, D), rope()),
          modify::Sequential(modify::named<"k_proj">(detail::no_bias(C, KV * D)), detail::heads(KV, D), rope()),
          modify::Sequential(modify::named<"v_proj">(detail::no_bias(C, KV * D)), detail::heads(KV, D))),
      modify::SDPA(modify::SDPAOptions().causal(true).enable_gqa(true)),  // [B, H, T, D]
      modify::Transpose(1, 2), modify::ViewMerge(2, 3),                   // [B, T, C]
      modify::named<"o_proj">(detail::no_bias(H * D, C)));
}

// llama_mlp(config): down_proj(silu(gate_proj(x)) * up_proj(x)). Parameters: 1.0.gate_proj.weight,
// 1.up_proj.weight, down_proj.weight.
inline auto llama_mlp(const LlamaConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size;
  return modify::Sequential(
      modify::Copy<2>(),
      modify::Parallel(modify::Sequential(modify::named<"gate_proj">(detail::no_bias(C, F)), torch::nn::SiLU()),
                       modify::named<"up_proj">(detail::no_bias(C, F))),
      modify::Mul(), modify::named<"down_proj">(detail::no_bias(F, C)));
}

// llama_layer(config): x + self_attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)).
// Parameters: 0.1.1.input_layernorm.1.weight, 0.1.1.self_attn.<attention>,
// 1.1.1.post_attention_layernorm.1.weight, 1.1.1.mlp.<mlp>.
inline auto llama_layer(const LlamaConfig& c) {
  return modify::Sequential(
      detail::residual(modify::Sequential(modify::named<"input_layernorm">(detail::rms_norm(c)),
                                          modify::named<"self_attn">(llama_attention(c)))),
      detail::residual(modify::Sequential(modify::named<"post_attention_layernorm">(detail::rms_norm(c)),
                                          modify::named<"mlp">(llama_mlp(c)))));
}

// llama<Layers>(config): token ids [B, T] -> logits [B, T, vocab_size]. Parameters:
// model.embed_tokens.weight, model.layers.{n}.<layer>, model.norm.1.weight, lm_head.weight.
template <std::size_t Layers>
auto llama(const LlamaConfig& c) {
  auto body = modify::Sequential(modify::named<"embed_tokens">(torch::nn::Embedding(c.vocab_size, c.hidden_size)),
                                 modify::named<"layers">(detail::repeated<Layers>([&] { return llama_layer(c); })),
                                 modify::named<"norm">(detail::rms_norm(c)));
  return modify::Sequential(modify::named<"model">(std::move(body)),
                            modify::named<"lm_head">(detail::no_bias(c.hidden_size, c.vocab_size)));
}

// hf_llama_keys(): Hugging Face's LlamaForCausalLM keys -> llama()'s. In a layer, the attention
// residual's branch is `0.1.1.` and the MLP's `1.1.1.`; an RMSNorm has its weight at `.1.`; q, k, v
// are the attention's parallel branches `1.0`, `1.1`, `1.2`, and gate_proj the MLP's `1.0`.
inline modify::KeyMap hf_llama_keys() {
  return modify::KeyMap()
      .rename("model.layers.{n}.input_layernorm.weight", "model.layers.{n}.0.1.1.input_layernorm.1.weight")
      .rename("model.layers.{n}.self_attn.q_proj.weight", "model.layers.{n}.0.1.1.self_attn.1.0.q_proj.weight")
      .rename("model.layers.{n}.self_attn.k_proj.weight", "model.layers.{n}.0.1.1.self_attn.1.1.k_proj.weight")
      .rename("model.layers.{n}.self_attn.v_proj.weight", "model.layers.{n}.0.1.1.self_attn.1.2.v_proj.weight")
      .rename("model.layers.{n}.self_attn.o_proj.weight", "model.layers.{n}.0.1.1.self_attn.o_proj.weight")
      .rename("model.layers.{n}.post_attention_layernorm.weight",
              "model.layers.{n}.1.1.1.post_attention_layernorm.1.weight")
      .rename("model.layers.{n}.mlp.gate_proj.weight", "model.layers.{n}.1.1.1.mlp.1.0.gate_proj.weight")
      .rename("model.layers.{n}.mlp.up_proj.weight", "model.layers.{n}.1.1.1.mlp.1.up_proj.weight")
      .rename("model.layers.{n}.mlp.down_proj.weight", "model.layers.{n}.1.1.1.mlp.down_proj.weight")
      .rename("model.norm.weight", "model.norm.1.weight");
}

}  // namespace models
