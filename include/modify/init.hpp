// Initialisation by distributions: init::Normal, Uniform, TruncatedNormal, Kaiming, Xavier, Zeros,
// Ones, Constant or any callable; Linear / Conv1d/2d/3d / Embedding built with them; and
// initialize(model, selection, weight_init, bias_init) for the selected modules of a model.
//
//   auto fc = modify::Linear(768, 3072, {.weight_init = modify::init::Normal{0, 0.02}, .bias_init = modify::init::Zeros{}});
//   modify::initialize(model, modify::select::type<torch::nn::Linear>, modify::init::Xavier{});
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <modify/detail/children.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/select.hpp>
#include <modify/transform/transform.hpp>  // child_path, root_index

MODIFY_ONE_TIME_BEGIN

namespace modify::init {

// Each distribution fills a tensor in place, under NoGradGuard, from LibTorch's generator (so
// torch::manual_seed makes it reproducible).

// Normal{mean, std}: N(mean, std^2).
struct Normal {
  double mean = 0.0, std = 1.0;
  void operator()(at::Tensor& t) const { t.normal_(mean, std); }
};
// Uniform{a, b}: U(a, b).
struct Uniform {
  double a = 0.0, b = 1.0;
  void operator()(at::Tensor& t) const { t.uniform_(a, b); }
};
// TruncatedNormal{mean, std, a, b}: N(mean, std^2) restricted to [a, b], by inverse transform
// sampling (as torch.nn.init.trunc_normal_).
struct TruncatedNormal {
  double mean = 0.0, std = 1.0, a = -2.0, b = 2.0;
  void operator()(at::Tensor& t) const {
    if (!(a < b)) throw std::invalid_argument("modify: init::TruncatedNormal needs a < b");
    auto cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
    const double low = cdf((a - mean) / std), high = cdf((b - mean) / std);
    t.uniform_(2 * low - 1, 2 * high - 1).erfinv_().mul_(std * std::sqrt(2.0)).add_(mean).clamp_(a, b);
  }
};
// Kaiming{distribution, a, mode, nonlinearity}: He et al.; std = gain(nonlinearity, a) / sqrt(fan).
// The defaults (uniform, a = 0, fan_in, leaky_relu) are torch.nn.init.kaiming_uniform_'s.
struct Kaiming {
  enum class Distribution { uniform, normal };
  Distribution distribution = Distribution::uniform;
  double a = 0.0;
  torch::nn::init::FanModeType mode = torch::kFanIn;
  torch::nn::init::NonlinearityType nonlinearity = torch::kLeakyReLU;
  void operator()(at::Tensor& t) const {
    if (distribution == Distribution::uniform) torch::nn::init::kaiming_uniform_(t, a, mode, nonlinearity);
    else torch::nn::init::kaiming_normal_(t, a, mode, nonlinearity);
  }
};
// Xavier{distribution, gain}: Glorot & Bengio; std = gain * sqrt(2 / (fan_in + fan_out)).
struct Xavier {
  enum class Distribution { uniform, normal };
  Distribution distribution = Distribution::uniform;
  double gain = 1.0;
  void operator()(at::Tensor& t) const {
    if (distribution == Distribution::uniform) torch::nn::init::xavier_uniform_(t, gain);
    else torch::nn::init::xavier_normal_(t, gain);
  }
};
struct Zeros {
  void operator()(at::Tensor& t) const { t.zero_(); }
};
struct Ones {
  void operator()(at::Tensor& t) const { t.fill_(1); }
};
struct Constant {
  double value = 0.0;
  void operator()(at::Tensor& t) const { t.fill_(value); }
};

// Init: "how to fill a tensor", from any of the above or any callable taking the tensor (at::Tensor&
// filled in place, or returning the new values). Empty: keep the module's own initialisation.
// Called once per tensor at construction, never in forward, so holding it in a std::function costs
// nothing that matters.
class Init {
 public:
  Init() = default;
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, Init>) &&
            (std::invocable<const F&, at::Tensor&> || std::invocable<const F&, const at::Tensor&>)
  /* implicit */ Init(F f) {
    if constexpr (std::is_void_v<std::invoke_result_t<const F&, at::Tensor&>>) {
      fill_ = [f = std::move(f)](at::Tensor& t) { f(t); };
    } else {
      fill_ = [f = std::move(f)](at::Tensor& t) {
        const at::Tensor values = f(t);
        if (!values.defined() || values.sizes() != t.sizes())
          throw std::invalid_argument("modify: init: a callable returned a tensor of another shape than the one it initialises");
        t.copy_(values);
      };
    }
  }

  explicit operator bool() const { return bool(fill_); }
  // Fills t (does nothing when empty).
  void operator()(at::Tensor& t) const {
    if (!fill_) return;
    at::NoGradGuard no_grad;
    fill_(t);
  }

 private:
  std::function<void(at::Tensor&)> fill_;
};

}  // namespace modify::init

namespace modify {

// ParamInit: what initialize() and the Conv / Embedding builders take.
struct ParamInit {
  init::Init weight_init = {}, bias_init = {};
};

namespace detail {
template <class Impl>
concept has_weight = requires(Impl& m) {
  { m.weight } -> std::convertible_to<at::Tensor>;
};

// Applies `how` to a module with `weight` (and `bias` when defined). Embedding keeps its padding
// row at zero, as LibTorch's own reset does.
template <class Impl>
void check_init(const ParamInit& how, const std::string& where) {
  if (how.bias_init && !requires(Impl& m) { m.bias; })
    throw std::invalid_argument("modify: init: module '" + where + "' has no bias, but a bias_init was given");
}

template <class Impl>
void apply_init(Impl& module, const ParamInit& how, const std::string& where) {
  check_init<Impl>(how, where);
  if (how.weight_init) how.weight_init(module.weight);
  if constexpr (requires { module.bias; })
    if (how.bias_init && module.bias.defined()) how.bias_init(module.bias);
  if constexpr (std::is_same_v<Impl, torch::nn::EmbeddingImpl>) {
    if (how.weight_init && module.options.padding_idx()) {
      at::NoGradGuard no_grad;
      module.weight[*module.options.padding_idx()].zero_();
    }
  }
}
}  // namespace detail

// LinearInit: the options of modify::Linear.
struct LinearInit {
  bool bias = true;
  init::Init weight_init = {}, bias_init = {};
};

// Linear(in, out, {.bias, .weight_init, .bias_init}): a torch::nn::Linear initialised by the given
// distributions (LibTorch's default where one is empty).
inline torch::nn::Linear Linear(int64_t in, int64_t out, const LinearInit& o = {}) {
  torch::nn::Linear m(torch::nn::LinearOptions(in, out).bias(o.bias));
  detail::apply_init(*m, {o.weight_init, o.bias_init}, "Linear");
  return m;
}

// Conv1d / Conv2d / Conv3d(options, {.weight_init, .bias_init}): LibTorch's convolutions, initialised.
inline torch::nn::Conv1d Conv1d(const torch::nn::Conv1dOptions& options, const ParamInit& how = {}) {
  torch::nn::Conv1d m(options);
  detail::apply_init(*m, how, "Conv1d");
  return m;
}
inline torch::nn::Conv2d Conv2d(const torch::nn::Conv2dOptions& options, const ParamInit& how = {}) {
  torch::nn::Conv2d m(options);
  detail::apply_init(*m, how, "Conv2d");
  return m;
}
inline torch::nn::Conv3d Conv3d(const torch::nn::Conv3dOptions& options, const ParamInit& how = {}) {
  torch::nn::Conv3d m(options);
  detail::apply_init(*m, how, "Conv3d");
  return m;
}

// Embedding(options, weight_init): a torch::nn::Embedding initialised (padding row kept at zero).
inline torch::nn::Embedding Embedding(const torch::nn::EmbeddingOptions& options, const init::Init& weight_init = {}) {
  torch::nn::Embedding m(options);
  detail::apply_init(*m, {weight_init, {}}, "Embedding");
  return m;
}

namespace detail {
template <class S, FixedString Path, std::size_t Index, class H, class F>
void for_each_selected(H& module, F& f) {
  using Impl = impl_t<H>;
  if constexpr (S::template matches<H, Path, Index>()) {
    f(module, std::string(Path.view()));
  } else if constexpr (container<Impl>) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (for_each_selected<S, child_path<Impl, Path, I>, I>(detail::get<I>(module->child_modules), f), ...);
    }(std::make_index_sequence<Impl::size>{});
  }
}
}  // namespace detail

// initialize(model, selection, weight_init, bias_init = {}): re-initialises, in place, the weight
// (and bias, when both exist) of every module the selection picks; the selection must pick modules
// with a `weight` (Linear, ConvNd, Embedding, ElementwiseAffine, ...). It writes the model's own
// tensors: models sharing them (transform results) see the new values, as with any training step.
template <class M, class S>
void initialize(M& model, S, const init::Init& weight_init, const init::Init& bias_init = {}) {
  constexpr std::size_t selected = detail::selected_in<S, M>;
  static_assert(selected > 0, "modify: initialize: the selection matches no module of the model");
  const ParamInit how{weight_init, bias_init};
  auto check = [&]<class H>(H&, const std::string& path) {
    using Impl = detail::impl_t<H>;
    static_assert(detail::has_weight<Impl>,
                  "modify: initialize: the selection picks a module without a `weight` tensor to initialise");
    detail::check_init<Impl>(how, path);
  };
  auto apply = [&]<class H>(H& module, const std::string& path) {
    if constexpr (detail::has_weight<detail::impl_t<H>>) detail::apply_init(*module, how, path);
  };
  detail::for_each_selected<S, "", root_index>(model, check);  // every module checked before any is written
  detail::for_each_selected<S, "", root_index>(model, apply);
}

}  // namespace modify

MODIFY_ONE_TIME_END
