// The inference-only modules modify::specialize builds: Linear as addmm into a planned buffer,
// convolutions, affine maps, attention with a cached causal mask, in-place activations, folds valid
// for one input rank, in-place residuals.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <modify/detail/functional.hpp>
#include <modify/detail/invoke.hpp>
#include <modify/errors.hpp>
#include <modify/holder.hpp>
#include <modify/leaf.hpp>
#include <modify/ops/attention.hpp>
#include <modify/specialize/report.hpp>
#include <modify/traits.hpp>
#include <modify/transform/freeze.hpp>  // detail::share_tensors

namespace modify::inference {

// Plan: the intermediate buffers one module keeps between calls. A buffer is made for the shape
// it is first asked for and remade when a later call asks for another shape, dtype or device.
class Plan {
 public:
  // slots(n): makes room for n buffers first, so that references to them stay valid.
  void slots(std::size_t n) {
    if (buffers_.size() < n) buffers_.resize(n);
  }
  at::Tensor& get(std::size_t slot, at::IntArrayRef shape, const at::TensorOptions& options) {
    at::Tensor& b = buffers_.at(slot);
    if (!b.defined() || b.sizes() != shape || b.scalar_type() != options.dtype().toScalarType() ||
        b.device() != options.device())
      b = at::empty(shape, options);
    return b;
  }
  void clear() { buffers_.clear(); }
  void add_to(SpecializeReport& report) const {
    for (const at::Tensor& b : buffers_)
      if (b.defined()) {
        ++report.buffers;
        report.buffer_bytes += b.numel() * b.element_size();
      }
  }

 private:
  std::vector<at::Tensor> buffers_;
};

// ---- LinearOp ------------------------------------------------------------------------------------

// LinearStage: y = x W^T + b. weight_t is W^T made contiguous once, when the stage is built: a
// GEMM on it runs 7-8 % faster than on the transposed view (OpenBLAS, 32x512x512 and 64x128x384;
// frozen TorchScript does the same). It is a copy: the parameter `weight` stays the original
// tensor, but a later change to it is not seen by this stage (specialise again after training).
struct LinearStage {
  at::Tensor weight, bias;  // [out, in], [out] or undefined
  at::Tensor weight_t;      // weight.t().contiguous(), [in, out]
  LinearStage() = default;
  LinearStage(at::Tensor w, at::Tensor b) : weight(std::move(w)), bias(std::move(b)) {
    at::NoGradGuard no_grad;
    weight_t = weight.detach().t().contiguous();
  }
};

// LinearOpImpl: one Linear (or a chain of them that was not worth multiplying out), run as
// addmm_out / mm_out into planned buffers. Inputs of any rank >= 1 are read as [-1, in].
// Unary, Param, Linear, Vector (as torch::nn::Linear).
class LinearOpImpl : public Leaf<LinearOpImpl> {
 public:
  static constexpr Traits traits{Arity::unary, Params::some, Linearity::linear, Kind::vector};

  explicit LinearOpImpl(std::vector<LinearStage> stages) : stages(std::move(stages)) { reset(); }

  void reset() override {
    plan.clear();
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const std::string suffix = i == 0 ? "" : "_" + std::to_string(i);
      register_parameter("weight" + suffix, stages[i].weight, stages[i].weight.requires_grad());
      if (stages[i].bias.defined()) register_parameter("bias" + suffix, stages[i].bias, stages[i].bias.requires_grad());
    }
  }

  // forward_activated(x, relu): as forward, with ReLU applied in the same ATen call when relu is set.
  at::Tensor forward_activated(const at::Tensor& x, bool relu) {
    if (x.dim() == 2) return run(x, relu);
    if (x.dim() == 0)
      throw std::invalid_argument("modify: Linear expects an input with at least one dim, got a 0-dim tensor");
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = stages.back().weight.size(0);
    return run(x.reshape({-1, x.size(-1)}), relu).view(shape);
  }
  at::Tensor forward(const at::Tensor& x) { return forward_activated(x, false); }

  void pretty_print(std::ostream& out) const override {
    out << "modify::specialize::Linear(";
    for (std::size_t i = 0; i < stages.size(); ++i)
      out << (i ? " -> " : "") << stages[i].weight.size(1) << " -> " << stages[i].weight.size(0);
    out << ", bias=" << std::boolalpha << stages.back().bias.defined() << ")";
  }

  std::vector<LinearStage> stages;
  Plan plan;

 private:
  at::Tensor run(const at::Tensor& x2d, bool relu) {
    plan.slots(stages.size());
    const at::Tensor* h = &x2d;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const LinearStage& s = stages[i];
      if (h->size(1) != s.weight.size(1)) {
        std::ostringstream message;
        message << "Linear expects " << s.weight.size(1) << " input features, got an input of shape " << h->sizes();
        throw std::invalid_argument(message.str());
      }
      at::Tensor& out = plan.get(i, {h->size(0), s.weight.size(0)}, s.weight.options());
      const bool last = i + 1 == stages.size();
      if (!s.bias.defined()) at::mm_out(out, *h, s.weight_t);
      else if (last && relu) at::_addmm_activation_out(out, s.bias, *h, s.weight_t);  // bias + ReLU fused
      else at::addmm_out(out, s.bias, *h, s.weight_t);
      if (last && relu && !s.bias.defined()) out.relu_();
      h = &out;
    }
    return *h;
  }
};
using LinearOp = Holder<LinearOpImpl>;

// ---- ConvOp --------------------------------------------------------------------------------------

template <std::size_t D>
using conv_options_t = torch::nn::detail::ConvNdOptions<D>;

// ConvOpImpl<D>: a ConvNd with its options and (possibly folded) weight and bias.
// Unary, Param, Linear (as torch::nn::ConvNd).
template <std::size_t D>
class ConvOpImpl : public Leaf<ConvOpImpl<D>> {
 public:
  static constexpr Traits traits{Arity::unary, Params::some, Linearity::linear, Kind::none};

  ConvOpImpl(conv_options_t<D> options, at::Tensor weight, at::Tensor bias)
      : options(std::move(options)), weight(std::move(weight)), bias(std::move(bias)) {
    reset();
  }
  void reset() override {
    this->register_parameter("weight", weight, weight.requires_grad());
    if (bias.defined()) this->register_parameter("bias", bias, bias.requires_grad());
  }
  at::Tensor forward(const at::Tensor& x) { return detail::conv_with<D>(options, x, weight, bias); }

  void pretty_print(std::ostream& out) const override {
    out << "modify::specialize::Conv" << D << "d(" << weight.size(1) * options.groups() << ", " << weight.size(0)
        << ", bias=" << std::boolalpha << bias.defined() << ")";
  }

  conv_options_t<D> options;
  at::Tensor weight, bias;
};
template <std::size_t D>
class ConvOp : public Holder<ConvOpImpl<D>> {
 public:
  using Holder<ConvOpImpl<D>>::Holder;
};

// ---- AffineMapOp and ScalarAffineOp ------------------------------------------------------------

// AffineMapOpImpl: x * scale + shift elementwise, with scale and shift of one shape placed as
// ElementwiseAffine places its parameters: on the trailing dims (dim == nullopt) or on dims dim,
// dim+1, ... (BatchNorm's channels: dim 1). What eval-mode BatchNorm and ElementwiseAffine become.
// Unary, Param, Linear, Elementwise.
class AffineMapOpImpl : public Leaf<AffineMapOpImpl> {
 public:
  static constexpr Traits traits{Arity::unary, Params::some, Linearity::linear, Kind::elementwise};

  AffineMapOpImpl(at::Tensor scale, at::Tensor shift, c10::optional<int64_t> dim, std::string what)
      : scale(std::move(scale)), shift(std::move(shift)), dim(dim), what(std::move(what)) {
    reset();
  }
  void reset() override {
    register_parameter("weight", scale, scale.requires_grad());
    if (shift.defined()) register_parameter("bias", shift, shift.requires_grad());
  }

  // The first dim the parameters cover in an input of rank `rank` (may be out of range).
  int64_t start(int64_t rank) const {
    if (!dim) return rank - scale.dim();
    return *dim < 0 ? *dim + rank : *dim;
  }

  at::Tensor forward(const at::Tensor& x) {
    const int64_t k = scale.dim(), first = start(x.dim());
    bool ok = first >= 0 && first + k <= x.dim();
    for (int64_t i = 0; ok && i < k; ++i) ok = x.size(first + i) == scale.size(i);
    if (!ok) {
      std::ostringstream message;
      message << what << " with parameters of shape " << scale.sizes() << " on "
              << (dim ? "dims " + std::to_string(*dim) + ".." : std::string("the trailing dims"))
              << " cannot take an input of shape " << x.sizes();
      throw std::invalid_argument(message.str());
    }
    std::vector<int64_t> view = scale.sizes().vec();
    view.resize(static_cast<std::size_t>(x.dim() - first), 1);
    const at::Tensor s = scale.view(view);
    return shift.defined() ? at::addcmul(shift.view(view), x, s) : x * s;
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::specialize::AffineMap(" << what << ", " << scale.sizes();
    if (dim) out << ", dim=" << *dim;
    out << ")";
  }

  at::Tensor scale, shift;
  c10::optional<int64_t> dim;
  std::string what;  // what it came from, for messages ("BatchNorm2d", "ElementwiseAffine")
};
using AffineMapOp = Holder<AffineMapOpImpl>;

// ScalarAffineOpImpl: x * scale + shift with two numbers (Scale, Shift, Negative and their products).
// Unary, ParamFree, Linear, Elementwise.
struct ScalarAffineOpImpl : Leaf<ScalarAffineOpImpl> {
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::linear, Kind::elementwise};
  ScalarAffineOpImpl(double scale, double shift) : scale(scale), shift(shift) {}
  at::Tensor forward(const at::Tensor& x) {
    if (shift == 0) return x * scale;
    return scale == 1 ? x + shift : at::add(x * scale, shift);
  }
  void pretty_print(std::ostream& out) const override {
    out << "modify::specialize::ScalarAffine(scale=" << scale << ", shift=" << shift << ")";
  }
  double scale, shift;
};
using ScalarAffineOp = Holder<ScalarAffineOpImpl>;

// AttentionOpImpl: a causal ScaledDotProductAttention for inference. The causal mask is made once
// per (L, S, dtype, device) as an additive -inf bias, and scale and mask are applied in place on
// the scores, where the training-time module builds the mask and allocates three times per call
// (frozen TorchScript keeps nanoGPT's mask as a constant too). The same numbers: x + (-inf) and
// masked_fill give the same scores. Non-causal or grouped-query attention runs the module as it
// is. Its buffer is the module's explicit mask, if any (the same tensor). Ternary, ParamFree,
// NonLinear.
class AttentionOpImpl : public Leaf<AttentionOpImpl> {
 public:
  static constexpr Traits traits{Arity::ternary, Params::none, Linearity::nonlinear, Kind::none};

  explicit AttentionOpImpl(ScaledDotProductAttention attention) : attention(std::move(attention)) { reset(); }

  void reset() override {
    if (attention->mask.defined()) register_buffer("attn_mask", attention->mask);
  }

  at::Tensor forward(const std::tuple<at::Tensor, at::Tensor, at::Tensor>& qkv) {
    const auto& o = attention->options;
    const auto& [q, k, v] = qkv;
    const bool well_formed = q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2 && q.size(-1) == k.size(-1) &&
                             k.size(-2) == v.size(-2);
    if (!o.causal() || o.enable_gqa() || !well_formed) return attention->forward(qkv);  // its errors, its paths
    const double scale = o.scale() ? *o.scale() : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    at::Tensor scores = at::matmul(q, k.transpose(-2, -1));
    scores.mul_(scale).add_(causal_bias(q.size(-2), k.size(-2), scores.options()));
    return at::matmul(at::softmax(scores, -1), v);
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::specialize::Attention(";
    attention->pretty_print(out);
    out << ")";
  }

  ScaledDotProductAttention attention;  // shared with the model specialize was given

 private:
  const at::Tensor& causal_bias(int64_t L, int64_t S, const at::TensorOptions& options) {
    if (!bias_.defined() || bias_.size(0) != L || bias_.size(1) != S || bias_.scalar_type() != options.dtype() ||
        bias_.device() != options.device())
      bias_ = at::full({L, S}, -std::numeric_limits<double>::infinity(), options).triu_(1);
    return bias_;
  }
  at::Tensor bias_;  // [L, S]: 0 on and below the diagonal, -inf above
};
using AttentionOp = Holder<AttentionOpImpl>;

// ---- What a module's output is, as the types tell -------------------------------------------

// output_of<H>: `owned` when the module's output is a tensor nobody else holds (fresh, or one of
// its planned buffers), so the next module may write it in place; `buffered` when that tensor may be
// a planned buffer, overwritten by the next call. Unknown modules: neither (their output may be
// their input, or a view of it).
struct OutputFacts {
  bool owned = false;
  bool buffered = false;
};

template <class H>
struct output_of {
  static constexpr OutputFacts value{};
};
template <class H>
inline constexpr OutputFacts output_facts = output_of<detail::impl_t<H>>::value;

template <>
struct output_of<LinearOpImpl> {
  static constexpr OutputFacts value{true, true};
};
template <std::size_t D>
struct output_of<ConvOpImpl<D>> {
  static constexpr OutputFacts value{true, false};
};
template <>
struct output_of<AffineMapOpImpl> {
  static constexpr OutputFacts value{true, false};
};
template <>
struct output_of<ScalarAffineOpImpl> {
  static constexpr OutputFacts value{true, false};
};
template <>
struct output_of<AttentionOpImpl> {
  static constexpr OutputFacts value{true, false};
};

// ---- InPlace: an activation run in place on its producer's output -------------------------------

// inplace_activation<Act>: the activations with an in-place ATen form.
template <class Act>
inline constexpr bool inplace_activation =
    std::is_same_v<Act, torch::nn::ReLUImpl> || std::is_same_v<Act, torch::nn::GELUImpl> ||
    std::is_same_v<Act, torch::nn::SiLUImpl> || std::is_same_v<Act, torch::nn::SigmoidImpl> ||
    std::is_same_v<Act, torch::nn::TanhImpl> || std::is_same_v<Act, torch::nn::LeakyReLUImpl>;

template <class Act>
void activate_in_place(const Act& act, at::Tensor& y) {
  if constexpr (std::is_same_v<Act, torch::nn::ReLUImpl>) y.relu_();
  else if constexpr (std::is_same_v<Act, torch::nn::GELUImpl>) at::gelu_(y, act.options.approximate());
  else if constexpr (std::is_same_v<Act, torch::nn::SiLUImpl>) at::silu_(y);
  else if constexpr (std::is_same_v<Act, torch::nn::SigmoidImpl>) y.sigmoid_();
  else if constexpr (std::is_same_v<Act, torch::nn::TanhImpl>) y.tanh_();
  else at::leaky_relu_(y, act.options.negative_slope());
}

// ThenImpl<P, Act>: P, then the activation Act in place on P's output, which P owns. A LinearOp
// followed by ReLU makes one ATen call. Its parameters are P's (the same tensors, same names).
// Traits: P's arity and parameters, NonLinear.
template <class P, class Act>
class ThenImpl : public torch::nn::Module {
 public:
  static constexpr Traits traits{traits_of<P>.arity, traits_of<P>.params, Linearity::nonlinear, Kind::none};

  ThenImpl(P producer, Act activation)
      : torch::nn::Module("modify::specialize::Then"), producer(std::move(producer)), activation(std::move(activation)) {
    detail::share_tensors(*this, *this->producer);
  }

  template <class X>
  at::Tensor forward(const X& x) {
    if constexpr (std::is_same_v<detail::impl_t<P>, LinearOpImpl> && std::is_same_v<detail::impl_t<Act>, torch::nn::ReLUImpl>) {
      return producer->forward_activated(x, true);
    } else {
      at::Tensor y = producer->forward(x);
      activate_in_place(*activation, y);
      return y;
    }
  }
  void pretty_print(std::ostream& out) const override {
    producer->pretty_print(out);
    out << " then ";
    activation->pretty_print(out);
    out << " in place";
  }

  P producer;
  Act activation;
};
template <class P, class Act>
class Then : public Holder<ThenImpl<P, Act>> {
 public:
  using Holder<ThenImpl<P, Act>>::Holder;
};
template <class P, class Act>
struct output_of<ThenImpl<P, Act>> {
  static constexpr OutputFacts value = output_facts<P>;
};

// ---- Folded: an affine map folded into the layer beside it, for the inputs where that is valid ----

// FoldedImpl<First, Second, Layer>: Second(First(x)), one of them an affine map and the other a
// Linear or convolution of type Layer, computed as the single layer `folded` (new tensors) when the
// input has rank `fold_rank` (any rank when it is -1; never when it is 0: the map acts on an axis
// other than the layer's feature axis), else with the two originals. Why the rank: BatchNorm1d
// normalises dim 1, a Linear's output axis for [N, C] inputs only; ConvNd's channel axis is dim 1
// of a batched input only. Its parameters are the folded layer's.
template <class First, class Second, class Layer>
class FoldedImpl : public torch::nn::Module {
 public:
  static constexpr Traits traits{Arity::unary, Params::some, Linearity::linear, traits_of<Layer>.kind};

  FoldedImpl(Layer folded, First first, Second second, int64_t fold_rank)
      : torch::nn::Module("modify::specialize::Folded"), folded(std::move(folded)), first(std::move(first)),
        second(std::move(second)), fold_rank(fold_rank) {
    if (fold_rank != 0) detail::share_tensors(*this, *this->folded);
  }

  at::Tensor forward(const at::Tensor& x) {
    if (fold_rank < 0 || x.dim() == fold_rank) return folded->forward(x);
    return second->forward(first->forward(x));
  }
  void pretty_print(std::ostream& out) const override {
    first->pretty_print(out);
    out << " then ";
    second->pretty_print(out);
    out << (fold_rank < 0 ? " folded" : fold_rank == 0 ? " not folded" : " folded for rank " + std::to_string(fold_rank));
  }

  Layer folded;
  First first;
  Second second;
  int64_t fold_rank;
};
template <class First, class Second, class Layer>
class Folded : public Holder<FoldedImpl<First, Second, Layer>> {
 public:
  using Holder<FoldedImpl<First, Second, Layer>>::Holder;
};
template <class First, class Second, class Layer>
struct output_of<FoldedImpl<First, Second, Layer>> {
  static constexpr OutputFacts value{output_facts<Layer>.owned && output_facts<Second>.owned,
                                     output_facts<Layer>.buffered || output_facts<Second>.buffered};
};

// ---- Residual: Copy<2> -> Parallel(Identity, f) -> Add, with the addition in f's output ---------

// ResidualImpl<F>: x + f(x). When f owns its output the sum is written into it (no new tensor);
// otherwise, or if f(x) would have to broadcast, a new tensor. f is registered as "1", where the
// Parallel had it. Traits: Unary; F's parameters and linearity.
template <class F>
class ResidualImpl : public torch::nn::Module {
 public:
  static constexpr Traits traits{Arity::unary, traits_of<F>.params, traits_of<F>.linearity, Kind::none};
  static constexpr bool in_place = output_facts<F>.owned;

  using branch_type = F;

  explicit ResidualImpl(F branch) : torch::nn::Module("modify::specialize::Residual"), branch(std::move(branch)) {
    register_module("1", this->branch.ptr());
  }

  at::Tensor forward(const at::Tensor& x) {
    at::Tensor y;
    try {
      y = branch->forward(x);
    } catch (...) {
      detail::rethrow_in("1", branch->name(), x);
    }
    if (in_place && y.sizes() == x.sizes() && y.scalar_type() == x.scalar_type()) return y.add_(x);
    return at::add(x, y);
  }
  void pretty_print(std::ostream& out) const override {
    out << "modify::specialize::Residual(in_place=" << std::boolalpha << in_place << ")";
  }

  F branch;
};
template <class F>
class Residual : public Holder<ResidualImpl<F>> {
 public:
  using Holder<ResidualImpl<F>>::Holder;
};
template <class F>
struct output_of<ResidualImpl<F>> {
  // The output is f's own (owned) tensor after an in-place add, or a fresh sum.
  static constexpr OutputFacts value{true, output_facts<F>.owned && output_facts<F>.buffered};
};

}  // namespace modify::inference
