// LoRA as a type-level transform: lora(model, options, selection) adapts the selected Linear,
// Conv1d, Conv2d and Embedding modules with low-rank adapters, sharing every base module and
// freezing every other parameter, without touching the base model. merge() folds adapters back.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <modify/access.hpp>
#include <modify/clone.hpp>
#include <modify/detail/functional.hpp>
#include <modify/holder.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/select.hpp>
#include <modify/transform/freeze.hpp>
#include <modify/transform/transform.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

// LoraOptions: rank r; alpha, with scaling alpha / r (alpha / sqrt(r) with rslora); dropout on
// the adapter branch's input only; the initialisation of A (B starts at zero, so an adapted model
// computes exactly its base function until trained).
struct LoraOptions {
  enum class Init { kaiming_uniform, gaussian };
  int64_t rank = 8;
  double alpha = 8.0;
  bool rslora = false;
  double dropout = 0.0;
  Init init = Init::kaiming_uniform;

  double scaling() const { return rslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank); }
};

namespace detail {

template <class Impl>
inline constexpr bool lora_adaptable =
    std::is_same_v<Impl, torch::nn::LinearImpl> || std::is_same_v<Impl, torch::nn::Conv1dImpl> ||
    std::is_same_v<Impl, torch::nn::Conv2dImpl> || std::is_same_v<Impl, torch::nn::EmbeddingImpl>;

// One adapter on one module. Shapes follow PEFT: Linear A [r, in], B [out, r]; ConvNd A
// [r, in, k...], B [out, r, 1...]; Embedding A [r, num_embeddings], B [dim, r].
struct Adapter {
  at::Tensor A, B;
  double scaling = 1.0;
  double dropout = 0.0;
};

// A module holding one tensor as its parameter `name`, so adapters get PEFT's names.
inline std::shared_ptr<torch::nn::Module> holder_of(const std::string& name, const at::Tensor& t) {
  auto holder = std::make_shared<torch::nn::Module>();
  holder->register_parameter(name, t, t.requires_grad());
  return holder;
}

template <class Impl>
Adapter make_adapter(const Impl& base, const LoraOptions& o, const std::string& where) {
  const int64_t r = o.rank;
  auto float_options = base.weight.options().requires_grad(false);
  at::Tensor A, B;
  if constexpr (std::is_same_v<Impl, torch::nn::EmbeddingImpl>) {
    if (base.options.max_norm())
      throw std::invalid_argument("modify: lora: module '" + where + "' is an Embedding with max_norm, which rewrites "
                                  "its (shared) weight on every forward");
    // As PEFT does for embeddings: A starts at zero and B random, so the product is still zero.
    A = torch::zeros({r, base.options.num_embeddings()}, float_options);
    B = torch::randn({base.options.embedding_dim(), r}, float_options);
  } else {
    if constexpr (!std::is_same_v<Impl, torch::nn::LinearImpl>) {
      if (base.options.groups() != 1)
        throw std::invalid_argument("modify: lora: module '" + where + "' is a grouped convolution, which LoRA does not adapt");
    }
    auto a_shape = base.weight.sizes().vec(), b_shape = base.weight.sizes().vec();
    a_shape[0] = r;                                               // [r, in, k...]
    b_shape[1] = r;                                               // [out, r, 1...]
    std::fill(b_shape.begin() + 2, b_shape.end(), int64_t{1});
    A = torch::empty(a_shape, float_options);
    B = torch::zeros(b_shape, float_options);
    torch::NoGradGuard no_grad;
    if (o.init == LoraOptions::Init::kaiming_uniform) torch::nn::init::kaiming_uniform_(A, std::sqrt(5.0));
    else A.normal_(0.0, 1.0 / double(r));
  }
  A.set_requires_grad(true);
  B.set_requires_grad(true);
  return {A, B, o.scaling(), o.dropout};
}

template <FixedString Name, FixedString... Names>
constexpr std::size_t index_of_name() {
  constexpr std::array<std::string_view, sizeof...(Names)> names{Names.view()...};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == Name.view()) return i;
  return names.size();
}

}  // namespace detail

// LoraImpl<H, Names...>: the base module H (shared, run with its parameters detached) plus one
// adapter per name: y = base(x) + sum_i scaling_i * B_i A_i dropout_i(x). Its parameters are the
// base's ("weight", "bias": the same tensors) and the adapters' ("lora_A.<name>.weight",
// "lora_B.<name>.weight"; for Embedding "lora_embedding_A.<name>" and "lora_embedding_B.<name>").
// Traits: H's.
template <class H, FixedString... Names>
class LoraImpl : public torch::nn::Module {
  using Impl = detail::impl_t<H>;
  static_assert(detail::lora_adaptable<Impl>,
                "modify: lora: LoRA adapts torch::nn::Linear, Conv1d, Conv2d and Embedding modules only");
  static constexpr bool embedding = std::is_same_v<Impl, torch::nn::EmbeddingImpl>;

 public:
  static constexpr Traits traits = traits_of<H>;
  static constexpr std::size_t adapter_count = sizeof...(Names);
  static constexpr std::array<std::string_view, adapter_count> adapter_names{Names.view()...};
  using wrapped_type = H;
  using base_type = H;

  LoraImpl(H base, std::array<detail::Adapter, adapter_count> adapters)
      : torch::nn::Module("modify::LoRA"), base(std::move(base)), adapters(std::move(adapters)) {
    detail::share_tensors(*this, *this->base);
    auto a_set = std::make_shared<torch::nn::Module>(), b_set = std::make_shared<torch::nn::Module>();
    for (std::size_t i = 0; i < adapter_count; ++i) {
      const std::string name(adapter_names[i]);
      const auto& [A, B, scaling, dropout] = this->adapters[i];
      if constexpr (embedding) {
        a_set->register_parameter(name, A, A.requires_grad());
        b_set->register_parameter(name, B, B.requires_grad());
      } else {
        a_set->register_module(name, detail::holder_of("weight", A));
        b_set->register_module(name, detail::holder_of("weight", B));
      }
    }
    register_module(embedding ? "lora_embedding_A" : "lora_A", a_set);
    register_module(embedding ? "lora_embedding_B" : "lora_B", b_set);
  }

  MODIFY_ONE_TIME_END
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor y = detail::apply_detached(*base, x);
    for (const detail::Adapter& a : adapters) y = at::add(y, delta(a, x), a.scaling);
    return y;
  }
  MODIFY_ONE_TIME_BEGIN

  // The weight this module computes with, W + sum_i scaling_i B_i A_i, in fp32 then cast back.
  at::Tensor merged_weight() const {
    torch::NoGradGuard no_grad;
    at::Tensor w = base->weight.to(at::kFloat);
    for (const detail::Adapter& a : adapters) {
      at::Tensor product = a.B.to(at::kFloat).flatten(1).matmul(a.A.to(at::kFloat).flatten(1));  // [out, in * k...]
      w = w + a.scaling * (embedding ? product.t() : product.view(w.sizes()));
    }
    return w.to(base->weight.scalar_type());
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::LoRA(";
    base->pretty_print(out);
    for (std::size_t i = 0; i < adapter_count; ++i)
      out << (i ? ", " : "; ") << adapter_names[i] << ": rank=" << adapters[i].A.size(0)
          << " scaling=" << adapters[i].scaling;
    out << ")";
  }

  H base;                                                // shared with the base model
  std::array<detail::Adapter, adapter_count> adapters;   // shared with other models holding them

  MODIFY_ONE_TIME_END

 private:
  at::Tensor delta(const detail::Adapter& a, const at::Tensor& x) const {
    if constexpr (embedding) {
      const auto& o = base->options;
      at::Tensor rows = at::embedding(a.A.t(), x, o.padding_idx() ? *o.padding_idx() : -1, o.scale_grad_by_freq(),
                                      o.sparse());
      return at::linear(rows, a.B);
    } else {
      const at::Tensor input = a.dropout > 0 && is_training() ? at::dropout(x, a.dropout, true) : x;
      at::Tensor down;
      if constexpr (std::is_same_v<Impl, torch::nn::LinearImpl>) down = at::linear(input, a.A);
      else if constexpr (std::is_same_v<Impl, torch::nn::Conv1dImpl>) down = detail::conv_with<1>(base->options, input, a.A, {});
      else down = detail::conv_with<2>(base->options, input, a.A, {});
      if constexpr (std::is_same_v<Impl, torch::nn::LinearImpl>) return at::linear(down, a.B);
      else if constexpr (std::is_same_v<Impl, torch::nn::Conv1dImpl>) return at::conv1d(down, a.B);
      else return at::conv2d(down, a.B);
    }
  }
};

MODIFY_ONE_TIME_BEGIN

// Lora<H, Names...>: the handle of LoraImpl.
template <class H, FixedString... Names>
class Lora : public Holder<LoraImpl<H, Names...>> {
 public:
  using Holder<LoraImpl<H, Names...>>::Holder;
};

namespace detail {
template <class M>
inline constexpr bool is_lora = requires { typename impl_t<M>::base_type; impl_t<M>::adapter_count; };
}  // namespace detail

namespace select {
// lora: modules carrying LoRA adapters.
inline constexpr auto lora = where<[]<class M>() { return detail::is_lora<M>; }>;
}  // namespace select

namespace detail {

// adapt<Name>(module, options, where): module with one more adapter, Name.
template <FixedString Name, class H>
auto adapt(const H& module, const LoraOptions& options, const std::string& where) {
  if constexpr (is_frozen<H>) {
    return adapt<Name>(module->module, options, where);
  } else if constexpr (is_lora<H>) {
    return [&]<class Base, FixedString... Names>(std::type_identity<LoraImpl<Base, Names...>>) {
      static_assert(index_of_name<Name, Names...>() == sizeof...(Names),
                    "modify: lora: a selected module already has an adapter of this name");
      std::array<Adapter, sizeof...(Names) + 1> adapters;
      std::copy(module->adapters.begin(), module->adapters.end(), adapters.begin());
      adapters.back() = make_adapter(*module->base, options, where);
      return Lora<Base, Names..., Name>(detail::make_module<LoraImpl<Base, Names..., Name>>(module->base, adapters));
    }(std::type_identity<impl_t<H>>{});
  } else {
    static_assert(lora_adaptable<impl_t<H>>,
                  "modify: lora: the selection includes a module LoRA cannot adapt; it adapts torch::nn::Linear, "
                  "Conv1d, Conv2d and Embedding");
    if constexpr (lora_adaptable<impl_t<H>>)
      return Lora<H, Name>(detail::make_module<LoraImpl<H, Name>>(module, std::array{make_adapter(*module, options, where)}));
    else
      return module;
  }
}

inline void check(const LoraOptions& o) {
  if (o.rank <= 0) throw std::invalid_argument("modify: lora: rank must be positive, not " + std::to_string(o.rank));
  if (!(o.alpha > 0)) throw std::invalid_argument("modify: lora: alpha must be positive");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw std::invalid_argument("modify: lora: dropout must be in [0, 1)");
}

using others_to_freeze = std::remove_cvref_t<decltype(select::param && !select::frozen && !select::lora)>;

}  // namespace detail

// lora<"name">(model, options, selection): a new model in which every module the selection picks
// carries a LoRA adapter named "name" (default "default"), and every other parameterised leaf is
// Frozen, so training it moves the adapters alone. All base modules are shared with `model`,
// which stays fully usable and unchanged (no requires_grad flag is touched). Applied to an
// adapted model, it adds an adapter beside the existing ones. An empty selection, or one that
// picks a module without weights, does not compile.
template <FixedString Name = "default", class M, class S>
auto lora(const M& model, const LoraOptions& options, S) {
  static_assert(detail::valid_child_name(Name.view()), "modify: lora: an adapter's name must be non-empty and contain no '.'");
  constexpr std::size_t selected = detail::selected_in<S, M>;
  static_assert(selected > 0, "modify: lora: the selection matches no module of the model");
  detail::check(options);
  if constexpr (selected == 0) {
    return model;
  } else {
    using Selected = decltype(S{} || detail::others_to_freeze{});
    auto replace = [&]<class H, FixedString Key, std::size_t Index>(const H& module, PathOf<Key, Index>,
                                                                    std::string_view path) {
      if constexpr (S::template matches<H, Key, Index>()) return detail::adapt<Name>(module, options, std::string(path));
      else return Frozen<H>(module);
    };
    return detail::rebuild<Selected, detail::scope_of<Selected>, "", root_index>(model, replace, "");
  }
}

// merge(model): the adapted model with every adapter folded into a new copy of its base module
// (W' = W + scaling * B A, in fp32) and every Frozen module unwrapped. Base tensors are never
// written, so the adapted model keeps working ("unmerging" is using it again). The result has the
// base model's type. A model without adapters cannot be merged (it would be a silent no-op).
template <class M>
auto merge(const M& model) {
  constexpr std::size_t adapted = detail::selected_in<std::remove_cvref_t<decltype(select::lora)>, M>;
  static_assert(adapted > 0, "modify: merge: the model has no LoRA adapters to merge");
  if constexpr (adapted == 0) {
    return model;
  } else {
    return detail::replace_each(model, select::lora || select::frozen, []<class H>(const H& module) {
      if constexpr (detail::is_frozen<H>) {
        return module->module;
      } else {
        auto merged = modify::clone(module->base);
        torch::NoGradGuard no_grad;
        merged->weight.copy_(module->merged_weight());
        return merged;
      }
    });
  }
}

// with_adapters<"a", "b">(model): the adapted model with only those adapters active (a distinct
// type; base and adapters shared). with_adapters<>(model) leaves every adapted module frozen.
template <FixedString... Keep, class M>
auto with_adapters(const M& model) {
  return detail::replace_each(model, select::lora, []<class H>(const H& module) {
    return [&]<class Base, FixedString... Names>(std::type_identity<LoraImpl<Base, Names...>>) {
      static_assert(((detail::index_of_name<Keep, Names...>() < sizeof...(Names)) && ...),
                    "modify: with_adapters: an adapted module has no adapter of a requested name");
      if constexpr (sizeof...(Keep) == 0) {
        return Frozen<Base>(module->base);
      } else {
        std::array<detail::Adapter, sizeof...(Keep)> kept{module->adapters[detail::index_of_name<Keep, Names...>()]...};
        return Lora<Base, Keep...>(detail::make_module<LoraImpl<Base, Keep...>>(module->base, kept));
      }
    }(std::type_identity<detail::impl_t<H>>{});
  });
}

// trainable_parameters(model): what an optimizer should train: the adapters' A and B, and the
// parameters of leaves that are neither adapted nor frozen, each tensor once (a tied weight is
// registered in two leaves; LibTorch's optimizers would step it once per listing).
template <class M>
std::vector<at::Tensor> trainable_parameters(M& model) {
  std::vector<at::Tensor> out;
  std::unordered_set<const void*> listed;
  auto add = [&](const at::Tensor& t) {
    if (listed.insert(t.unsafeGetTensorImpl()).second) out.push_back(t);
  };
  for_each_leaf(model, [&]<class H>(std::string_view, H& leaf) {
    if constexpr (detail::is_lora<H>) {
      for (const auto& a : leaf->adapters) add(a.A), add(a.B);
    } else if constexpr (!detail::is_frozen<H>) {
      for (const auto& p : leaf->parameters()) add(p);
    }
  });
  return out;
}

}  // namespace modify

MODIFY_ONE_TIME_END
