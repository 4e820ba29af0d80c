// The base of custom leaf modules: a torch::nn::Module with declared traits and no submodules.
#pragma once

#include <ostream>
#include <string>
#include <type_traits>

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <modify/detail/one_time.hpp>
#include <modify/holder.hpp>
#include <modify/traits.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

namespace detail {
template <class... T>
inline constexpr bool dependent_false = false;

// What Leaf::register_module returns: it converts to any handle, so that
// `inner = register_module("inner", ...)` reports the static_assert there and nothing else. It is
// never defined: every call that yields one has already failed to compile.
struct NoSubmodule {
  template <class T>
  operator T() const;
};
}

namespace detail {
struct LeafAccess;
}
}  // namespace modify

// Module keeps its registries private to itself and to Cloneable<T> for every T; this
// specialisation is the library's one way in: a leaf's clone empties the registries of its fresh
// copy, and a tied weight replaces a registered parameter (LibTorch has no public call for either).
template <>
class torch::nn::Cloneable<modify::detail::LeafAccess> {
 public:
  static void forget_registrations(torch::nn::Module& module) {
    module.parameters_.clear();
    module.buffers_.clear();
    module.children_.clear();
  }
  // The registered parameter `name` of module (throws if there is none), to replace in place.
  static at::Tensor& parameter_slot(torch::nn::Module& module, const std::string& name) {
    return module.parameters_[name];
  }
};

namespace modify {
namespace detail {
// LeafBase: what every leaf shares, compiled once rather than once per leaf type (a model's
// leaves are many types, and a virtual function of a class template is instantiated with it).
class LeafBase : public virtual torch::nn::Module {
 public:
  virtual void reset() {}  // parameter-free leaves have nothing to re-create

  // Prints the class name without "Impl" ("modify::AddImpl" prints as "modify::Add()").
  void pretty_print(std::ostream& out) const override {
    std::string name = this->name();
    const auto impl = name.rfind("Impl");
    if (impl != std::string::npos && impl + 4 == name.size()) name.erase(impl);
    out << name << "()";
  }

  // clone(): a deep copy, as LibTorch's Cloneable makes one: a copy of the object whose reset()
  // registers new tensors, then given the values of this one's. Owned through detail::own_module.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override {
    LeafBase* copy = copying_->copy(*this);
    auto owner = detail::own_module(copy);
    finish_clone(*copy, device);
    return owner;
  }

 protected:
  // What only the leaf's own type knows, as plain functions that Leaf<Derived> points to. Virtual
  // functions of Leaf<Derived> would be compiled for every leaf class a unit includes, used or
  // not: an optimising GCC keeps every virtual function it might devirtualise a call to (about
  // 350 functions for modify's ops; bench/README.md, "Compile cost"). A function only a
  // constructor refers to is compiled only in units that construct that leaf.
  struct Copying {
    LeafBase* (*copy)(const LeafBase& leaf);  // new Derived(leaf)
    bool (*assign)(LeafBase& leaf, torch::nn::Module& from);  // leaf = move(from) if from is a Derived
  };
  explicit LeafBase(const Copying& copying) : copying_(&copying) {}

 private:
  // Cloneable's counterpart: what a torch::nn::Module that holds this leaf calls when it clones.
  void clone_(torch::nn::Module& other, const c10::optional<torch::Device>& device) final {
    const auto cloned = other.clone(device);
    TORCH_CHECK(copying_->assign(*this, *cloned), "modify: cannot clone a ", other.name(), " into the leaf ",
                this->name());
  }

  // finish_clone(copy, device): gives copy (a copy of this object) new parameters and buffers of
  // this one's values (moved to `device` if given), as Cloneable::clone makes them.
  void finish_clone(LeafBase& copy, const c10::optional<torch::Device>& device) const {
    torch::NoGradGuard no_grad;
    torch::nn::Cloneable<LeafAccess>::forget_registrations(copy);
    copy.reset();
    copy_values(named_parameters(/*recurse=*/false), copy.named_parameters(/*recurse=*/false), "parameters", device);
    copy_values(named_buffers(/*recurse=*/false), copy.named_buffers(/*recurse=*/false), "buffers", device);
  }

  void copy_values(const torch::OrderedDict<std::string, at::Tensor>& from, torch::OrderedDict<std::string, at::Tensor> to,
                   const char* what, const c10::optional<torch::Device>& device) const {
    TORCH_CHECK(from.size() == to.size(), "modify: the clone of the leaf ", name(), " does not have the same number of ",
                what, " after reset(); register them in reset(), not in the constructor");
    for (const auto& item : from) {
      const at::Tensor& tensor = item.value();
      to[item.key()].set_data(device && tensor.device() != *device ? tensor.to(*device) : tensor.clone());
    }
  }

  const Copying* copying_;
};
}  // namespace detail

// Leaf<Derived>: derive your module from it (CRTP), declare `static constexpr modify::Traits traits`
// and a `forward`. Register parameters and buffers in `reset()` (called by the constructor you write
// and by clone(), as LibTorch's Cloneable expects). A leaf cannot hold submodules: compose with
// Sequential and Parallel instead.
//
//   struct ScaleImpl : modify::Leaf<ScaleImpl> {
//     static constexpr modify::Traits traits{.arity = modify::Arity::unary, .params = modify::Params::some,
//                                           .linearity = modify::Linearity::linear,
//                                           .kind = modify::Kind::elementwise};
//     explicit ScaleImpl(int64_t n) : n(n) { reset(); }
//     void reset() override { scale = register_parameter("scale", torch::ones({n})); }
//     torch::Tensor forward(const torch::Tensor& x) { return x * scale; }
//     int64_t n; torch::Tensor scale;
//   };
//   TORCH_MODULE(Scale);
template <class Derived>
class Leaf : public detail::LeafBase {
 public:
  using leaf_base = Leaf;

 private:
  static LeafBase* copy(const LeafBase& leaf) { return new Derived(static_cast<const Derived&>(leaf)); }
  static bool assign(LeafBase& leaf, torch::nn::Module& from) {
    auto* source = dynamic_cast<Derived*>(&from);
    if (source) static_cast<Derived&>(leaf) = std::move(*source);
    return source != nullptr;
  }
  static constexpr Copying copying{&Leaf::copy, &Leaf::assign};

 protected:
  Leaf() : LeafBase(copying) {}

  // Hides torch::nn::Module::register_module: a leaf with a submodule would be a container that
  // Sequential/Parallel and the transforms cannot see into. The deduced return type makes the
  // static_assert fire at the call, before the caller uses the result.
  template <class... Args>
  auto register_module(Args&&...) {
    static_assert(detail::dependent_false<Args...>,
                  "modify: a custom leaf cannot hold submodules; compose modules with modify::Sequential and "
                  "modify::Parallel instead");
    return detail::NoSubmodule{};
  }
};

namespace detail {
template <class Impl>
concept custom_leaf = requires { typename Impl::leaf_base; } &&
                      std::is_base_of_v<typename Impl::leaf_base, Impl>;
}  // namespace detail

}  // namespace modify

MODIFY_ONE_TIME_END
