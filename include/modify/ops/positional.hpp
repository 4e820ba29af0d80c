// Position information for sequence models: a learned absolute position embedding added to the
// token embeddings (GPT-2's `wpe`) and rotary position embeddings applied to queries and keys
// (RoPE, as Llama uses it).
//
// GPT-2's input stage, token ids [B, T] -> [B, T, C]:
//   modify::Sequential(modify::named<"wte">(torch::nn::Embedding(vocab, C)),
//                      modify::named<"wpe">(modify::PositionEmbedding(positions, C)));
// Llama's queries, [B, T, C] -> [B, H, T, D], rotated by position:
//   modify::Sequential(modify::named<"q_proj">(torch::nn::Linear(torch::nn::LinearOptions(C, H * D).bias(false))),
//                      modify::ViewUnMerge(2, H, D), modify::Transpose(1, 2),
//                      modify::RotaryEmbedding(modify::RotaryEmbeddingOptions(D).base(500000)));
#pragma once

#include <cstdint>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <modify/holder.hpp>  // Holder
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail {
inline std::string sizes_string(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}
}  // namespace detail

// ---- PositionEmbedding --------------------------------------------------------------------------

// PositionEmbeddingImpl(num_positions, dim): x[..., T, dim] -> x + weight[0:T], with a learned
// `weight` [num_positions, dim] initialised N(0, 1) as torch::nn::Embedding. It is GPT-2's
// `x = wte(idx) + wpe(arange(T))` as a module after the token embedding, so its parameter is named
// `weight` like the embedding PyTorch code uses. Unary, Param, Linear (affine), of no kind (not
// Elementwise: what is added to an element depends on its position, so it does not commute with a
// permutation of the elements).
class PositionEmbeddingImpl : public Leaf<PositionEmbeddingImpl> {
 public:
  static constexpr Traits traits{Arity::unary, Params::some, Linearity::linear, Kind::none};

  PositionEmbeddingImpl(int64_t num_positions, int64_t dim) : num_positions(num_positions), dim(dim) {
    if (num_positions <= 0 || dim <= 0)
      throw std::invalid_argument("modify: PositionEmbedding needs positive num_positions and dim, got " +
                                  std::to_string(num_positions) + " and " + std::to_string(dim));
    reset();
  }

  void reset() override { weight = register_parameter("weight", at::randn({num_positions, dim})); }

  at::Tensor forward(const at::Tensor& x) const { return forward_with(x, weight, {}); }

  // forward_with(x, weight, no_bias): this module's function with another weight (freeze, LoRA).
  at::Tensor forward_with(const at::Tensor& x, const at::Tensor& w, const at::Tensor& /*no_bias*/) const {
    if (x.dim() < 2 || x.size(-1) != dim || x.size(-2) > num_positions)
      throw std::invalid_argument("modify: PositionEmbedding(" + std::to_string(num_positions) + ", " +
                                  std::to_string(dim) + ") expects an input [..., T, " + std::to_string(dim) +
                                  "] with T <= " + std::to_string(num_positions) + ", got " + detail::sizes_string(x));
    return x + w.slice(0, 0, x.size(-2));
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::PositionEmbedding(" << num_positions << ", " << dim << ")";
  }

  int64_t num_positions, dim;
  at::Tensor weight;
};
using PositionEmbedding = Holder<PositionEmbeddingImpl>;

// ---- RotaryEmbedding ----------------------------------------------------------------------------

// RotaryEmbeddingOptions(head_dim): the size of the rotated last dim (even) and the base of the
// frequencies (10000 in Llama 1/2, 500000 in Llama 3).
struct RotaryEmbeddingOptions {
  /* implicit */ RotaryEmbeddingOptions(int64_t head_dim) : head_dim_(head_dim) {}
  TORCH_ARG(int64_t, head_dim);
  TORCH_ARG(double, base) = 10000.0;
};

// RotaryEmbeddingImpl: x[..., T, D] -> x * cos + rotate_half(x) * sin, where position t (0..T-1,
// along dim -2) rotates the pairs (x[i], x[i + D/2]) by the angle t * base^(-2i/D): Hugging Face's
// LlamaRotaryEmbedding and apply_rotary_pos_emb (the "rotate_half" pairing; Meta's original
// checkpoints pair neighbours instead, and HF's conversion permutes q_proj/k_proj rows to match).
// The angles are computed in float, as HF does, then cast to the input's dtype. Nothing is stored
// (HF's inv_freq is a non-persistent buffer, absent from state dicts). Unary, ParamFree, Linear (a
// rotation of each vector along the last dim), Vector.
class RotaryEmbeddingImpl : public Leaf<RotaryEmbeddingImpl> {
 public:
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::linear, Kind::vector};

  explicit RotaryEmbeddingImpl(RotaryEmbeddingOptions options) : options(std::move(options)) {
    if (this->options.head_dim() <= 0 || this->options.head_dim() % 2 != 0)
      throw std::invalid_argument("modify: RotaryEmbedding needs a positive, even head_dim, got " +
                                  std::to_string(this->options.head_dim()));
    if (!(this->options.base() > 0))
      throw std::invalid_argument("modify: RotaryEmbedding needs a positive base, got " +
                                  std::to_string(this->options.base()));
  }

  at::Tensor forward(const at::Tensor& x) const {
    const int64_t D = options.head_dim();
    if (x.dim() < 2 || x.size(-1) != D || !x.is_floating_point())
      throw std::invalid_argument("modify: RotaryEmbedding(head_dim=" + std::to_string(D) +
                                  ") expects a floating-point input [..., T, " + std::to_string(D) + "], got " +
                                  detail::sizes_string(x) + " " + std::string(at::toString(x.scalar_type())));
    const auto [cos, sin] = angles(x.size(-2), x);
    const at::Tensor first = x.narrow(-1, 0, D / 2), second = x.narrow(-1, D / 2, D / 2);
    return x * cos + at::cat({-second, first}, -1) * sin;
  }

  // cos and sin of the angles, [T, D], on x's device and in x's dtype.
  std::pair<at::Tensor, at::Tensor> angles(int64_t length, const at::Tensor& x) const {
    const int64_t D = options.head_dim();
    const auto as_float = x.options().dtype(at::kFloat);
    const at::Tensor inv_freq =
        at::pow(options.base(), at::arange(0, D, 2, x.options().dtype(at::kLong)).to(at::kFloat) / D).reciprocal();
    const at::Tensor freqs = at::outer(at::arange(length, as_float), inv_freq);  // [T, D/2]
    const at::Tensor emb = at::cat({freqs, freqs}, -1);                         // [T, D]
    return {emb.cos().to(x.scalar_type()), emb.sin().to(x.scalar_type())};
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::RotaryEmbedding(head_dim=" << options.head_dim() << ", base=" << options.base() << ")";
  }

  RotaryEmbeddingOptions options;
};
using RotaryEmbedding = Holder<RotaryEmbeddingImpl>;

}  // namespace modify
