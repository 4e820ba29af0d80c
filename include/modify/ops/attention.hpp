// Scaled dot-product attention as a Ternary module on a (q, k, v) tuple, so that attention blocks
// are plain Sequential/Parallel compositions of restructure modules around it.
//
// nanoGPT's CausalSelfAttention (n_embd C, n_head H, head size D = C / H), on [B, T, C]:
//   modify::Sequential(
//       modify::named<"c_attn">(torch::nn::Linear(C, 3 * C)),  // [B, T, 3C]
//       modify::ViewUnMerge(2, 3, C),                           // [B, T, 3, C]
//       modify::ViewUnMerge(3, H, D),                           // [B, T, 3, H, D]
//       modify::Permute({2, 0, 3, 1, 4}),                       // [3, B, H, T, D]
//       modify::UnBind<3>(0),                                   // (q, k, v), each [B, H, T, D]
//       modify::ScaledDotProductAttention(modify::ScaledDotProductAttentionOptions().causal(true)),
//       modify::Transpose(1, 2),                                // [B, T, H, D]
//       modify::ViewMerge(2, 3),                                // [B, T, C]
//       modify::named<"c_proj">(torch::nn::Linear(C, C)));
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include <ATen/ATen.h>
#include <c10/util/Optional.h>
#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <modify/holder.hpp>  // Holder
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

// ScaledDotProductAttentionOptions: the mask (none by default, as PyTorch 2's
// F.scaled_dot_product_attention), dropout on the attention weights (training mode only) and the
// scale (1 / sqrt(head_dim) by default).
struct ScaledDotProductAttentionOptions {
  // Query i attends to keys 0..i only (top-left aligned when there are fewer queries than keys,
  // as PyTorch's is_causal).
  TORCH_ARG(bool, causal) = false;
  // An explicit mask broadcasting to [..., L, S]: boolean (true: attend) or additive (added to the
  // scores, e.g. -inf to mask). A copy is registered as the buffer "attn_mask" (it follows to(device)).
  TORCH_ARG(at::Tensor, mask) = {};
  // The probability of zeroing an attention weight (the rest scaled by 1 / (1 - p)), in training only.
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(c10::optional<double>, scale) = c10::nullopt;
  // Grouped-query attention, as PyTorch 2.5's enable_gqa: k and v may have fewer heads (dim -3)
  // than q, a divisor of q's; each is repeated for its group of query heads (Llama's repeat_kv).
  TORCH_ARG(bool, enable_gqa) = false;
};

// ScaledDotProductAttentionImpl: (q, k, v) -> softmax(q k^T * scale + mask) v, on tensors
// [..., L, E], [..., S, E], [..., S, Ev] (usually [batch, heads, seq, head_dim]), giving
// [..., L, Ev]. What PyTorch 2's F.scaled_dot_product_attention computes (LibTorch 1.13 has none),
// written with matmul and softmax, and scaling the scores as nanoGPT does. Rows whose every key is
// masked give NaN, as in PyTorch. Ternary, ParamFree, NonLinear.
class ScaledDotProductAttentionImpl : public Leaf<ScaledDotProductAttentionImpl> {
 public:
  static constexpr Traits traits{Arity::ternary, Params::none, Linearity::nonlinear, Kind::none};

  explicit ScaledDotProductAttentionImpl(ScaledDotProductAttentionOptions options = {}) : options(std::move(options)) {
    const auto& o = this->options;
    if (o.causal() && o.mask().defined())
      throw std::invalid_argument("modify: ScaledDotProductAttention: give either causal or an explicit mask, not both");
    if (!(o.dropout() >= 0 && o.dropout() < 1))
      throw std::invalid_argument("modify: ScaledDotProductAttention: dropout must be in [0, 1), not " +
                                  std::to_string(o.dropout()));
    if (o.scale() && !(*o.scale() > 0))
      throw std::invalid_argument("modify: ScaledDotProductAttention: the scale must be positive");
    if (o.mask().defined() && (o.mask().dim() < 2 || !(o.mask().scalar_type() == at::kBool || o.mask().is_floating_point())))
      throw std::invalid_argument("modify: ScaledDotProductAttention: the mask must be a boolean or floating-point "
                                  "tensor broadcasting to [..., L, S]");
    reset();
  }

  void reset() override {
    // A copy, so that clones (which re-register in reset) never share it.
    if (options.mask().defined()) mask = register_buffer("attn_mask", options.mask().clone());
  }

  at::Tensor forward(const std::tuple<at::Tensor, at::Tensor, at::Tensor>& qkv) {
    const auto& [q, k_in, v_in] = qkv;
    check(q, k_in, v_in);
    const auto [k, v] = grouped(q, k_in, v_in);
    const int64_t L = q.size(-2), S = k.size(-2);
    const double scale = options.scale() ? *options.scale() : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
    if (options.causal()) {
      scores = scores.masked_fill(at::ones({L, S}, q.options().dtype(at::kBool)).triu(1),
                                  -std::numeric_limits<double>::infinity());
    } else if (mask.defined()) {
      scores = mask.scalar_type() == at::kBool
                   ? scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity())
                   : scores + mask;
    }
    at::Tensor weights = at::softmax(scores, -1);
    if (options.dropout() > 0 && is_training()) weights = at::dropout(weights, options.dropout(), /*train=*/true);
    return at::matmul(weights, v);
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::ScaledDotProductAttention(causal=" << std::boolalpha << options.causal()
        << ", mask=" << (mask.defined() ? "given" : "none") << ", dropout=" << options.dropout() << ", scale=";
    if (options.scale()) out << *options.scale();
    else out << "1/sqrt(head_dim)";
    if (options.enable_gqa()) out << ", enable_gqa=true";
    out << ")";
  }

  ScaledDotProductAttentionOptions options;
  at::Tensor mask;  // the explicit mask (buffer "attn_mask"), undefined if none

 private:
  static std::string sizes(const at::Tensor& t) {
    std::ostringstream out;
    out << t.sizes();
    return out.str();
  }
  static void check(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    std::string problem;
    if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2) problem = "q, k and v need at least 2 dims ([..., seq, dim])";
    else if (q.size(-1) != k.size(-1)) problem = "q and k differ in their last dim (head_dim)";
    else if (k.size(-2) != v.size(-2)) problem = "k and v differ in their sequence length (dim -2)";
    if (!problem.empty()) fail(problem, q, k, v);
  }
  [[noreturn]] static void fail(const std::string& problem, const at::Tensor& q, const at::Tensor& k,
                                const at::Tensor& v) {
    throw std::invalid_argument("modify: ScaledDotProductAttention: " + problem + "; got q " + sizes(q) + ", k " +
                                sizes(k) + ", v " + sizes(v));
  }
  // With enable_gqa, k and v repeated to q's number of heads (dim -3); otherwise as given.
  std::pair<at::Tensor, at::Tensor> grouped(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const {
    if (!options.enable_gqa()) return {k, v};
    if (q.dim() < 3 || k.dim() < 3 || v.dim() < 3 || k.size(-3) != v.size(-3) || k.size(-3) == 0 ||
        q.size(-3) % k.size(-3) != 0)
      fail("with enable_gqa, q, k and v need a heads dim (-3), k and v the same number of heads, dividing q's", q, k, v);
    const int64_t group = q.size(-3) / k.size(-3);
    if (group == 1) return {k, v};
    return {k.repeat_interleave(group, -3), v.repeat_interleave(group, -3)};
  }
};
using ScaledDotProductAttention = Holder<ScaledDotProductAttentionImpl>;

// SDPA: a short name for ScaledDotProductAttention.
using SDPA = ScaledDotProductAttention;
using SDPAOptions = ScaledDotProductAttentionOptions;

}  // namespace modify
