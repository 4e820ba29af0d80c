// The normalisation split: parameter-free norms (BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d,
// GroupNorm, LayerNorm, RMSNorm), ElementwiseAffine, and split_affine for LibTorch's affine norms.
//
// A PyTorch norm layer with an affine part is a fixed nonlinear normalisation followed by a
// learned elementwise scale and shift. modify keeps the two apart: its norms have no affine part
// (asking for one does not compile) and ElementwiseAffine is the learned part, so transforms see
// a ParamFree NonLinear module followed by a Param Linear one.
//
//   modify::Sequential(modify::BatchNorm2d(64), modify::ElementwiseAffine::channels(64))
//       ~ torch::nn::BatchNorm2d(64)                   (same state dict, once "0."/"1." are dropped)
//   modify::Sequential(modify::LayerNorm({768}), modify::ElementwiseAffine({768}))
//       ~ torch::nn::LayerNorm(torch::nn::LayerNormOptions({768}))
//   modify::split_affine(torch::nn::BatchNorm2d(64))  // that pair, sharing the LibTorch module's tensors
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/arg.h>
#include <torch/nn/functional/batchnorm.h>
#include <torch/nn/functional/instancenorm.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <modify/detail/invoke.hpp>  // detail::Invalid
#include <modify/holder.hpp>
#include <modify/leaf.hpp>
#include <modify/sequential.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail {
// The traits every modify norm has: a fixed nonlinear map with no parameters. (Their kind is
// none: which dims a norm mixes depends on its options and on the input, not on its type.)
inline constexpr Traits norm_traits{Arity::unary, Params::none, Linearity::nonlinear, Kind::none};

// no_affine<Options>(): the body of every `affine(...)` / `elementwise_affine(...)` setter of
// modify's norm options. It exists only to turn the request into this sentence: a modify norm has
// no affine part, and ElementwiseAffine is the learned scale and shift.
template <class T>
constexpr void no_affine() {
  static_assert(dependent_false<T>,
                "modify: a modify norm has no affine part; follow it with modify::ElementwiseAffine (or convert a "
                "LibTorch norm with modify::split_affine)");
}
// The same request made by passing LibTorch's options (which carry an affine flag) to a modify norm.
template <class T>
constexpr void torch_norm_options() {
  static_assert(dependent_false<T>,
                "modify: a modify norm takes modify's options, which have no affine flag; follow the norm with "
                "modify::ElementwiseAffine, or convert a LibTorch norm module with modify::split_affine");
}

inline std::string shape_string(at::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

// RunningStats: the tensors a BatchNorm (or InstanceNorm tracking its statistics) keeps.
struct RunningStats {
  at::Tensor running_mean, running_var, num_batches_tracked;
};

// Registers the running statistics as buffers under PyTorch's names: new tensors, or `shared`
// (the very tensor objects of another module) when given.
inline RunningStats register_running_stats(torch::nn::Module& module, int64_t num_features,
                                           const RunningStats* shared = nullptr) {
  RunningStats stats = shared ? *shared
                              : RunningStats{at::zeros({num_features}), at::ones({num_features}),
                                             at::zeros({}, at::TensorOptions().dtype(at::kLong))};
  return {module.register_buffer("running_mean", stats.running_mean),
          module.register_buffer("running_var", stats.running_var),
          module.register_buffer("num_batches_tracked", stats.num_batches_tracked)};
}

inline void print_momentum(std::ostream& out, const c10::optional<double>& momentum) {
  out << ", momentum=";
  if (momentum) out << *momentum;
  else out << "None";
}
}  // namespace detail

// ---- BatchNorm1d / 2d / 3d ----------------------------------------------------------------------

// BatchNormOptions(num_features): LibTorch's BatchNormOptions without `affine` (calling
// .affine(...) does not compile and names ElementwiseAffine instead).
struct BatchNormOptions {
  /* implicit */ BatchNormOptions(int64_t num_features) : num_features_(num_features) {}
  TORCH_ARG(int64_t, num_features);
  TORCH_ARG(double, eps) = 1e-5;
  // The running statistics' update factor; nullopt: a cumulative average (1 / batches seen).
  TORCH_ARG(c10::optional<double>, momentum) = 0.1;
  // Keep running_mean / running_var / num_batches_tracked and use them in eval mode.
  TORCH_ARG(bool, track_running_stats) = true;

 public:
  template <class T = void>
  BatchNormOptions& affine(bool) {
    detail::no_affine<T>();
    return *this;
  }
};

// BatchNormImpl<D>: PyTorch's BatchNorm{D}d(affine=False). Normalises each channel (dim 1) over
// the batch and spatial dims with the batch statistics in training mode, updating running_mean,
// running_var (unbiased) and num_batches_tracked; in eval mode it uses the running statistics
// (or, without track_running_stats, the batch's). Buffers, momentum and train/eval behave exactly
// like PyTorch's, so state dicts line up. Unary, ParamFree, NonLinear.
template <std::size_t D>
class BatchNormImpl : public Leaf<BatchNormImpl<D>> {
 public:
  static_assert(D >= 1 && D <= 3, "modify: BatchNorm is 1d, 2d or 3d");
  static constexpr Traits traits = detail::norm_traits;

  explicit BatchNormImpl(const BatchNormOptions& options) : options(options) { reset(); }
  // A norm sharing existing running statistics (the same tensor objects), as split_affine builds.
  BatchNormImpl(const BatchNormOptions& options, const detail::RunningStats& shared) : options(options) {
    if (options.track_running_stats()) set_stats(detail::register_running_stats(*this, options.num_features(), &shared));
  }
  // LibTorch's options carry an affine flag: rejected at compile time.
  template <class T>
    requires std::same_as<T, torch::nn::BatchNormOptions>
  explicit BatchNormImpl(const T&) : options(0) {
    detail::torch_norm_options<T>();
  }

  void reset() override {
    if (options.track_running_stats()) set_stats(detail::register_running_stats(*this, options.num_features()));
  }
  // Back to zero mean, unit variance, no batches seen (as PyTorch's reset_running_stats).
  void reset_running_stats() {
    if (!options.track_running_stats()) return;
    at::NoGradGuard no_grad;
    running_mean.zero_();
    running_var.fill_(1);
    num_batches_tracked.zero_();
  }

  at::Tensor forward(const at::Tensor& input) {
    const bool ok = D == 1 ? (input.dim() == 2 || input.dim() == 3) : input.dim() == int64_t(D) + 2;
    if (!ok) {
      throw std::invalid_argument("modify: BatchNorm" + std::to_string(D) + "d expects a " +
                                  (D == 1 ? std::string("2D or 3D") : std::to_string(D + 2) + "D") + " input, got " +
                                  std::to_string(input.dim()) + "D input " + detail::shape_string(input.sizes()));
    }
    // As torch.nn.modules.batchnorm._BatchNorm.forward.
    double factor = options.momentum() ? *options.momentum() : 0.0;
    if (this->is_training() && options.track_running_stats()) {
      num_batches_tracked.add_(1);
      factor = options.momentum() ? *options.momentum() : 1.0 / num_batches_tracked.template item<double>();
    }
    const bool use_batch_stats = this->is_training() || !options.track_running_stats();
    return torch::nn::functional::detail::batch_norm(input, running_mean, running_var, {}, {}, use_batch_stats,
                                                     factor, options.eps());
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::BatchNorm" << D << "d(" << options.num_features() << ", eps=" << options.eps();
    detail::print_momentum(out, options.momentum());
    out << ", track_running_stats=" << std::boolalpha << options.track_running_stats() << ")";
  }

  BatchNormOptions options;
  at::Tensor running_mean, running_var, num_batches_tracked;  // undefined without track_running_stats

 private:
  void set_stats(const detail::RunningStats& s) {
    running_mean = s.running_mean;
    running_var = s.running_var;
    num_batches_tracked = s.num_batches_tracked;
  }
};

using BatchNorm1dImpl = BatchNormImpl<1>;
using BatchNorm2dImpl = BatchNormImpl<2>;
using BatchNorm3dImpl = BatchNormImpl<3>;
using BatchNorm1d = Holder<BatchNorm1dImpl>;
using BatchNorm2d = Holder<BatchNorm2dImpl>;
using BatchNorm3d = Holder<BatchNorm3dImpl>;

// ---- InstanceNorm1d / 2d / 3d -------------------------------------------------------------------

// InstanceNormOptions(num_features): LibTorch's InstanceNormOptions without `affine`.
struct InstanceNormOptions {
  /* implicit */ InstanceNormOptions(int64_t num_features) : num_features_(num_features) {}
  TORCH_ARG(int64_t, num_features);
  TORCH_ARG(double, eps) = 1e-5;
  TORCH_ARG(double, momentum) = 0.1;
  // Keep running statistics (averaged over the instances of each batch) and use them in eval mode.
  TORCH_ARG(bool, track_running_stats) = false;

 public:
  template <class T = void>
  InstanceNormOptions& affine(bool) {
    detail::no_affine<T>();
    return *this;
  }
};

// InstanceNormImpl<D>: PyTorch's InstanceNorm{D}d(affine=False): normalises each channel of each
// sample over its spatial dims. Takes batched ((D + 2)-dim) or unbatched ((D + 1)-dim) input.
// With track_running_stats, keeps PyTorch's buffers and uses them in eval mode. Unary, ParamFree,
// NonLinear.
template <std::size_t D>
class InstanceNormImpl : public Leaf<InstanceNormImpl<D>> {
 public:
  static_assert(D >= 1 && D <= 3, "modify: InstanceNorm is 1d, 2d or 3d");
  static constexpr Traits traits = detail::norm_traits;

  explicit InstanceNormImpl(const InstanceNormOptions& options) : options(options) { reset(); }
  InstanceNormImpl(const InstanceNormOptions& options, const detail::RunningStats& shared) : options(options) {
    if (options.track_running_stats()) set_stats(detail::register_running_stats(*this, options.num_features(), &shared));
  }
  template <class T>
    requires std::same_as<T, torch::nn::InstanceNormOptions>
  explicit InstanceNormImpl(const T&) : options(0) {
    detail::torch_norm_options<T>();
  }

  void reset() override {
    if (options.track_running_stats()) set_stats(detail::register_running_stats(*this, options.num_features()));
  }
  void reset_running_stats() {
    if (!options.track_running_stats()) return;
    at::NoGradGuard no_grad;
    running_mean.zero_();
    running_var.fill_(1);
    num_batches_tracked.zero_();
  }

  at::Tensor forward(const at::Tensor& input) {
    if (input.dim() != int64_t(D) + 1 && input.dim() != int64_t(D) + 2) {
      throw std::invalid_argument("modify: InstanceNorm" + std::to_string(D) + "d expects a " + std::to_string(D + 1) +
                                  "D (unbatched) or " + std::to_string(D + 2) + "D (batched) input, got " +
                                  std::to_string(input.dim()) + "D input " + detail::shape_string(input.sizes()));
    }
    if (input.dim() == int64_t(D) + 1) return apply(input.unsqueeze(0)).squeeze(0);
    return apply(input);
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::InstanceNorm" << D << "d(" << options.num_features() << ", eps=" << options.eps()
        << ", momentum=" << options.momentum() << ", track_running_stats=" << std::boolalpha
        << options.track_running_stats() << ")";
  }

  InstanceNormOptions options;
  at::Tensor running_mean, running_var, num_batches_tracked;  // undefined without track_running_stats

 private:
  // As torch.nn.modules.instancenorm._InstanceNorm._apply_instance_norm and F.instance_norm.
  at::Tensor apply(const at::Tensor& input) {
    const bool use_input_stats = this->is_training() || !options.track_running_stats();
    if (use_input_stats) {
      int64_t spatial = 1;
      for (int64_t i = 2; i < input.dim(); ++i) spatial *= input.size(i);
      if (spatial == 1)
        throw std::invalid_argument("modify: InstanceNorm" + std::to_string(D) +
                                    "d: expected more than 1 spatial element when training, got input size " +
                                    detail::shape_string(input.sizes()));
    }
    return torch::nn::functional::detail::instance_norm(input, running_mean, running_var, {}, {}, use_input_stats,
                                                        options.momentum(), options.eps());
  }
  void set_stats(const detail::RunningStats& s) {
    running_mean = s.running_mean;
    running_var = s.running_var;
    num_batches_tracked = s.num_batches_tracked;
  }
};

using InstanceNorm1dImpl = InstanceNormImpl<1>;
using InstanceNorm2dImpl = InstanceNormImpl<2>;
using InstanceNorm3dImpl = InstanceNormImpl<3>;
using InstanceNorm1d = Holder<InstanceNorm1dImpl>;
using InstanceNorm2d = Holder<InstanceNorm2dImpl>;
using InstanceNorm3d = Holder<InstanceNorm3dImpl>;

// ---- GroupNorm ----------------------------------------------------------------------------------

// GroupNormOptions(num_groups, num_channels): LibTorch's GroupNormOptions without `affine`.
struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels) : num_groups_(num_groups), num_channels_(num_channels) {}
  TORCH_ARG(int64_t, num_groups);
  TORCH_ARG(int64_t, num_channels);
  TORCH_ARG(double, eps) = 1e-5;

 public:
  template <class T = void>
  GroupNormOptions& affine(bool) {
    detail::no_affine<T>();
    return *this;
  }
};

// GroupNormImpl: PyTorch's GroupNorm(affine=False): splits the channels (dim 1) into num_groups
// groups and normalises each group of each sample. The input must have num_channels channels.
// Unary, ParamFree, NonLinear.
class GroupNormImpl : public Leaf<GroupNormImpl> {
 public:
  static constexpr Traits traits = detail::norm_traits;

  explicit GroupNormImpl(const GroupNormOptions& options) : options(options) {
    if (options.num_groups() <= 0 || options.num_channels() % options.num_groups() != 0)
      throw std::invalid_argument("modify: GroupNorm: num_channels (" + std::to_string(options.num_channels()) +
                                  ") must be divisible by a positive num_groups (" +
                                  std::to_string(options.num_groups()) + ")");
  }
  GroupNormImpl(int64_t num_groups, int64_t num_channels) : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  template <class T>
    requires std::same_as<T, torch::nn::GroupNormOptions>
  explicit GroupNormImpl(const T&) : options(1, 1) {
    detail::torch_norm_options<T>();
  }

  at::Tensor forward(const at::Tensor& input) {
    if (input.dim() < 2 || input.size(1) != options.num_channels())
      throw std::invalid_argument("modify: GroupNorm expects an input [N, " + std::to_string(options.num_channels()) +
                                  ", *], got " + detail::shape_string(input.sizes()));
    return at::group_norm(input, options.num_groups(), {}, {}, options.eps());
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::GroupNorm(" << options.num_groups() << ", " << options.num_channels() << ", eps=" << options.eps()
        << ")";
  }

  GroupNormOptions options;
};
using GroupNorm = Holder<GroupNormImpl>;

// ---- LayerNorm ----------------------------------------------------------------------------------

// LayerNormOptions(normalized_shape): LibTorch's LayerNormOptions without `elementwise_affine`.
struct LayerNormOptions {
  /* implicit */ LayerNormOptions(std::vector<int64_t> normalized_shape)
      : normalized_shape_(std::move(normalized_shape)) {}
  TORCH_ARG(std::vector<int64_t>, normalized_shape);
  TORCH_ARG(double, eps) = 1e-5;

 public:
  template <class T = void>
  LayerNormOptions& elementwise_affine(bool) {
    detail::no_affine<T>();
    return *this;
  }
  template <class T = void>
  LayerNormOptions& bias(bool) {
    detail::no_affine<T>();
    return *this;
  }
};

// LayerNormImpl: PyTorch's LayerNorm(elementwise_affine=False): normalises over the trailing dims
// given by normalized_shape. Unary, ParamFree, NonLinear.
class LayerNormImpl : public Leaf<LayerNormImpl> {
 public:
  static constexpr Traits traits = detail::norm_traits;

  explicit LayerNormImpl(LayerNormOptions options) : options(std::move(options)) {}
  template <class T>
    requires std::same_as<T, torch::nn::LayerNormOptions>
  explicit LayerNormImpl(const T&) : options(std::vector<int64_t>{}) {
    detail::torch_norm_options<T>();
  }

  at::Tensor forward(const at::Tensor& input) {
    return at::layer_norm(input, options.normalized_shape(), {}, {}, options.eps());
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::LayerNorm(" << at::IntArrayRef(options.normalized_shape()) << ", eps=" << options.eps() << ")";
  }

  LayerNormOptions options;
};

// LayerNorm: the handle; LayerNorm({768}) or LayerNorm(LayerNormOptions({768}).eps(1e-6)).
class LayerNorm : public Holder<LayerNormImpl> {
 public:
  using Holder<LayerNormImpl>::Holder;
  using Impl = LayerNormImpl;
  LayerNorm(std::initializer_list<int64_t> normalized_shape)
      : LayerNorm(LayerNormOptions(std::vector<int64_t>(normalized_shape))) {}
};

// ---- RMSNorm ------------------------------------------------------------------------------------

// RMSNormOptions(normalized_shape): as PyTorch's nn.RMSNorm (2.4), without `elementwise_affine`.
struct RMSNormOptions {
  /* implicit */ RMSNormOptions(std::vector<int64_t> normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  TORCH_ARG(std::vector<int64_t>, normalized_shape);
  // nullopt: the machine epsilon of the computation's type (float for half, bfloat16 and float).
  TORCH_ARG(c10::optional<double>, eps) = c10::nullopt;

 public:
  template <class T = void>
  RMSNormOptions& elementwise_affine(bool) {
    detail::no_affine<T>();
    return *this;
  }
};

// RMSNormImpl: x * rsqrt(mean(x^2 over the trailing normalized_shape dims) + eps), as PyTorch's
// nn.RMSNorm(elementwise_affine=False) and Llama's RMSNorm without its weight: computed in float
// for half and bfloat16 inputs, returned in the input's dtype. (LibTorch 1.13 has none.) Unary,
// ParamFree, NonLinear.
class RMSNormImpl : public Leaf<RMSNormImpl> {
 public:
  static constexpr Traits traits = detail::norm_traits;

  explicit RMSNormImpl(RMSNormOptions options) : options(std::move(options)) {}

  at::Tensor forward(const at::Tensor& input) {
    const auto& shape = options.normalized_shape();
    const auto k = static_cast<int64_t>(shape.size());
    bool ok = input.dim() >= k;
    for (int64_t i = 0; ok && i < k; ++i) ok = input.size(input.dim() - k + i) == shape[i];
    if (!ok)
      throw std::invalid_argument("modify: RMSNorm with normalized_shape " + detail::shape_string(shape) +
                                  " expects an input [*, " + detail::shape_string(shape).substr(1) + ", got " +
                                  detail::shape_string(input.sizes()));
    const bool reduced = input.scalar_type() == at::kHalf || input.scalar_type() == at::kBFloat16;
    const at::Tensor x = reduced ? input.to(at::kFloat) : input;
    const double eps = options.eps() ? *options.eps()
                       : x.scalar_type() == at::kDouble ? std::numeric_limits<double>::epsilon()
                                                        : double(std::numeric_limits<float>::epsilon());
    std::vector<int64_t> dims(k);
    for (int64_t i = 0; i < k; ++i) dims[i] = input.dim() - k + i;
    const at::Tensor y = x * at::rsqrt(x.pow(2).mean(dims, /*keepdim=*/true).add(eps));
    return reduced ? y.to(input.scalar_type()) : y;
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::RMSNorm(" << at::IntArrayRef(options.normalized_shape()) << ", eps=";
    if (options.eps()) out << *options.eps();
    else out << "None";
    out << ")";
  }

  RMSNormOptions options;
};

// RMSNorm: the handle; RMSNorm({4096}) or RMSNorm(RMSNormOptions({4096}).eps(1e-6)).
class RMSNorm : public Holder<RMSNormImpl> {
 public:
  using Holder<RMSNormImpl>::Holder;
  using Impl = RMSNormImpl;
  RMSNorm(std::initializer_list<int64_t> normalized_shape)
      : RMSNorm(RMSNormOptions(std::vector<int64_t>(normalized_shape))) {}
};

// ---- ElementwiseAffine --------------------------------------------------------------------------

// ElementwiseAffineOptions(shape): the parameters' shape, whether there is a bias, and where the
// shape sits in the input:
//   dim == nullopt  the trailing dims (LayerNorm style): x[..., s0, s1] * weight[s0, s1] + bias[s0, s1]
//   dim == 1        dims 1, 2, ... (channel style, BatchNorm/GroupNorm/InstanceNorm):
//                   x[n, c, h, w] * weight[c] + bias[c]
struct ElementwiseAffineOptions {
  /* implicit */ ElementwiseAffineOptions(std::vector<int64_t> shape) : shape_(std::move(shape)) {}
  TORCH_ARG(std::vector<int64_t>, shape);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(c10::optional<int64_t>, dim) = c10::nullopt;
};

// ElementwiseAffineImpl: x * weight + bias, elementwise, with `weight` (init ones) and `bias`
// (init zeros) of the given shape broadcast over the other dims; the names are PyTorch's norms'
// ("weight", "bias"), so norm + ElementwiseAffine state dicts match PyTorch's affine norms once
// mapped. Unary, Param, Linear (affine, strictly), Elementwise (each output element depends on
// the input element at the same place alone). freeze and LoRA run it with detached parameters.
class ElementwiseAffineImpl : public Leaf<ElementwiseAffineImpl> {
 public:
  static constexpr Traits traits{Arity::unary, Params::some, Linearity::linear, Kind::elementwise};

  explicit ElementwiseAffineImpl(ElementwiseAffineOptions options) : options(std::move(options)) { reset(); }
  // Shares existing tensors (the same objects, requires_grad untouched), as split_affine does.
  // `bias` may be undefined if options.bias() is false.
  ElementwiseAffineImpl(ElementwiseAffineOptions options, const at::Tensor& shared_weight, const at::Tensor& shared_bias)
      : options(std::move(options)) {
    check_shape(shared_weight, "weight");
    weight = register_parameter("weight", shared_weight, shared_weight.requires_grad());
    if (this->options.bias()) {
      check_shape(shared_bias, "bias");
      bias = register_parameter("bias", shared_bias, shared_bias.requires_grad());
    }
  }

  void reset() override {
    weight = register_parameter("weight", at::ones(options.shape()));
    if (options.bias()) bias = register_parameter("bias", at::zeros(options.shape()));
  }
  void reset_parameters() {
    at::NoGradGuard no_grad;
    weight.fill_(1);
    if (bias.defined()) bias.zero_();
  }

  at::Tensor forward(const at::Tensor& x) const { return forward_with(x, weight, bias); }

  // forward_with(x, weight, bias): this module's function with other parameters (freeze, LoRA).
  at::Tensor forward_with(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
    const auto& shape = options.shape();
    const auto k = static_cast<int64_t>(shape.size());
    int64_t start = options.dim() ? *options.dim() : x.dim() - k;
    if (options.dim() && start < 0) start += x.dim();
    bool ok = start >= 0 && start + k <= x.dim();
    for (int64_t i = 0; ok && i < k; ++i) ok = x.size(start + i) == shape[i];
    if (!ok) {
      std::string where = options.dim() ? "dims " + std::to_string(*options.dim()) + ".." : std::string("trailing dims ");
      throw std::invalid_argument("modify: ElementwiseAffine of shape " + detail::shape_string(shape) + " on its " +
                                  where + "expects those dims of the input to be " + detail::shape_string(shape) +
                                  ", got an input " + detail::shape_string(x.sizes()));
    }
    std::vector<int64_t> view(shape);
    view.resize(static_cast<std::size_t>(x.dim() - start), 1);  // trailing ones in channel mode
    const at::Tensor y = x * w.reshape(view);
    return b.defined() ? y + b.reshape(view) : y;
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::ElementwiseAffine(" << at::IntArrayRef(options.shape()) << ", bias=" << std::boolalpha
        << options.bias();
    if (options.dim()) out << ", dim=" << *options.dim();
    out << ")";
  }

  ElementwiseAffineOptions options;
  at::Tensor weight, bias;  // bias undefined when options.bias() is false

 private:
  void check_shape(const at::Tensor& t, const char* what) const {
    if (!t.defined() || t.sizes() != at::IntArrayRef(options.shape()))
      throw std::invalid_argument(std::string("modify: ElementwiseAffine: the shared ") + what + " must have shape " +
                                  detail::shape_string(options.shape()) + ", got " +
                                  (t.defined() ? detail::shape_string(t.sizes()) : std::string("an undefined tensor")));
  }
};

// ElementwiseAffine: the handle.
//   ElementwiseAffine({768})                 trailing dims (after LayerNorm({768}))
//   ElementwiseAffine({768}, false)          no bias
//   ElementwiseAffine::channels(64)          per channel on dim 1 (after BatchNorm2d(64), GroupNorm(g, 64))
//   ElementwiseAffine(ElementwiseAffineOptions({64}).dim(1).bias(false))
class ElementwiseAffine : public Holder<ElementwiseAffineImpl> {
 public:
  using Holder<ElementwiseAffineImpl>::Holder;
  using Impl = ElementwiseAffineImpl;
  ElementwiseAffine(std::initializer_list<int64_t> shape, bool bias = true)
      : ElementwiseAffine(ElementwiseAffineOptions(std::vector<int64_t>(shape)).bias(bias)) {}
  ElementwiseAffine(std::vector<int64_t> shape, bool bias)
      : ElementwiseAffine(ElementwiseAffineOptions(std::move(shape)).bias(bias)) {}
  // channels(C, bias): a weight (and bias) of shape [C] on dim 1 of the input.
  static ElementwiseAffine channels(int64_t num_channels, bool bias = true) {
    return ElementwiseAffine(ElementwiseAffineOptions({num_channels}).dim(1).bias(bias));
  }
};

// ---- Converting LibTorch's norms ----------------------------------------------------------------

namespace detail {
template <class TorchHandle>
struct norm_conversion;  // what a LibTorch norm becomes: `type` and make(torch module)

template <class TorchImpl>
RunningStats running_stats_of(const TorchImpl& m) {
  return {m.running_mean, m.running_var, m.num_batches_tracked};
}
template <class Norm, class Torch>
Norm keeping_mode(Norm norm, const Torch& from) {
  norm->train(from->is_training());
  return norm;
}

#define MODIFY_NORM_CONVERSION(TORCH, MODIFY, OPTIONS, ...)                                        \
  template <>                                                                                      \
  struct norm_conversion<TORCH> {                                                                  \
    using type = MODIFY;                                                                           \
    static type make(const TORCH& m) {                                                             \
      const auto& o = m->options;                                                                  \
      return keeping_mode(type(detail::make_module<impl_t<type>>(OPTIONS, __VA_ARGS__)), m);       \
    }                                                                                              \
  }
#define MODIFY_BATCH_NORM_OPTIONS \
  BatchNormOptions(o.num_features()).eps(o.eps()).momentum(o.momentum()).track_running_stats(o.track_running_stats())
#define MODIFY_INSTANCE_NORM_OPTIONS \
  InstanceNormOptions(o.num_features()).eps(o.eps()).momentum(o.momentum()).track_running_stats(o.track_running_stats())
MODIFY_NORM_CONVERSION(torch::nn::BatchNorm1d, modify::BatchNorm1d, MODIFY_BATCH_NORM_OPTIONS, running_stats_of(*m));
MODIFY_NORM_CONVERSION(torch::nn::BatchNorm2d, modify::BatchNorm2d, MODIFY_BATCH_NORM_OPTIONS, running_stats_of(*m));
MODIFY_NORM_CONVERSION(torch::nn::BatchNorm3d, modify::BatchNorm3d, MODIFY_BATCH_NORM_OPTIONS, running_stats_of(*m));
MODIFY_NORM_CONVERSION(torch::nn::InstanceNorm1d, modify::InstanceNorm1d, MODIFY_INSTANCE_NORM_OPTIONS, running_stats_of(*m));
MODIFY_NORM_CONVERSION(torch::nn::InstanceNorm2d, modify::InstanceNorm2d, MODIFY_INSTANCE_NORM_OPTIONS, running_stats_of(*m));
MODIFY_NORM_CONVERSION(torch::nn::InstanceNorm3d, modify::InstanceNorm3d, MODIFY_INSTANCE_NORM_OPTIONS, running_stats_of(*m));
#undef MODIFY_BATCH_NORM_OPTIONS
#undef MODIFY_INSTANCE_NORM_OPTIONS
#undef MODIFY_NORM_CONVERSION

template <>
struct norm_conversion<torch::nn::GroupNorm> {
  using type = modify::GroupNorm;
  static type make(const torch::nn::GroupNorm& m) {
    const auto& o = m->options;
    return keeping_mode(type(GroupNormOptions(o.num_groups(), o.num_channels()).eps(o.eps())), m);
  }
};
template <>
struct norm_conversion<torch::nn::LayerNorm> {
  using type = modify::LayerNorm;
  static type make(const torch::nn::LayerNorm& m) {
    const auto& o = m->options;
    return keeping_mode(type(LayerNormOptions(o.normalized_shape()).eps(o.eps())), m);
  }
};

template <class TorchHandle>
inline constexpr bool convertible_norm = requires { typename norm_conversion<TorchHandle>::type; };

template <class TorchHandle>
bool has_affine(const TorchHandle& m) {
  if constexpr (std::is_same_v<TorchHandle, torch::nn::LayerNorm>) return m->options.elementwise_affine();
  else return m->options.affine();
}
// The affine part's options: per channel on dim 1, or the LayerNorm's normalized_shape.
template <class TorchHandle>
ElementwiseAffineOptions affine_options(const TorchHandle& m) {
  if constexpr (std::is_same_v<TorchHandle, torch::nn::LayerNorm>) return {m->options.normalized_shape()};
  else if constexpr (std::is_same_v<TorchHandle, torch::nn::GroupNorm>)
    return ElementwiseAffineOptions({m->options.num_channels()}).dim(1);
  else return ElementwiseAffineOptions({m->options.num_features()}).dim(1);
}
}  // namespace detail

namespace detail {
template <class TorchNorm>
auto split_affine_impl(const TorchNorm& norm) {
  if (!detail::has_affine(norm))
    throw std::invalid_argument("modify: split_affine: this " + norm->name() +
                                " has no affine part; convert it with modify::norm_from");
  auto affine = ElementwiseAffine(detail::make_module<ElementwiseAffineImpl>(
      detail::affine_options(norm), norm->weight, norm->bias));
  affine->train(norm->is_training());
  return Sequential(norm_conversion<TorchNorm>::make(norm), affine);
}
}  // namespace detail

// split_affine(norm): a LibTorch norm with an affine part (BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d,
// GroupNorm, LayerNorm) as modify::Sequential(modify norm, ElementwiseAffine) computing the same
// function and SHARING the LibTorch module's tensors: the affine part's weight and bias and the
// norm's running buffers are the very same tensor objects (no copies; requires_grad untouched),
// so training either model is seen by the other. The pair starts in the module's train/eval mode.
// A norm without an affine part is rejected at run time (use norm_from).
template <class TorchNorm>
auto split_affine(const TorchNorm& norm) {
  if constexpr (!detail::convertible_norm<TorchNorm>) {
    static_assert(detail::convertible_norm<TorchNorm>,
                  "modify: split_affine takes a LibTorch norm module handle: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, "
                  "GroupNorm or LayerNorm");
    return detail::Invalid{};
  } else {
    return detail::split_affine_impl(norm);
  }
}

// norm_from(norm): a LibTorch norm WITHOUT an affine part as the modify norm, sharing its running
// buffers. A norm with an affine part is rejected at run time (use split_affine).
template <class TorchNorm>
auto norm_from(const TorchNorm& norm) {
  if constexpr (!detail::convertible_norm<TorchNorm>) {
    static_assert(detail::convertible_norm<TorchNorm>,
                  "modify: norm_from takes a LibTorch norm module handle: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, "
                  "GroupNorm or LayerNorm");
    return detail::Invalid{};
  } else {
    if (detail::has_affine(norm))
      throw std::invalid_argument("modify: norm_from: this " + norm->name() +
                                  " has an affine part, which a modify norm cannot hold; use modify::split_affine");
    return detail::norm_conversion<TorchNorm>::make(norm);
  }
}

}  // namespace modify
