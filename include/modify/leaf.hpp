// The base of custom leaf modules: a torch::nn::Module with declared traits and no submodules.
#pragma once

#include <ostream>
#include <string>
#include <type_traits>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <modify/traits.hpp>

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
class Leaf : public torch::nn::Cloneable<Derived> {
 public:
  using leaf_base = Leaf;

  void reset() override {}  // parameter-free leaves have nothing to re-create

  // Prints the class name without "Impl" ("modify::AddImpl" prints as "modify::Add()").
  void pretty_print(std::ostream& out) const override {
    std::string name = this->name();
    const auto impl = name.rfind("Impl");
    if (impl != std::string::npos && impl + 4 == name.size()) name.erase(impl);
    out << name << "()";
  }

 protected:
  Leaf() = default;

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
