// Module handles: Holder<Impl> (MODIFY_HANDLE declares one), whose call operator reaches a template
// forward, and make_module, which makes the module a handle holds.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <modify/detail/one_time.hpp>

namespace modify {
namespace detail {

MODIFY_ONE_TIME_BEGIN

// own_module(module): the owner of a module just made with new, a shared_ptr<torch::nn::Module>
// whose control block every module type shares. A model has one class per container and leaf
// type, and make_shared<Impl> brings ~35 functions per class (its own control block, allocator and
// enable_shared_from_this hookup), a large part of a model's compile time (bench/README.md,
// "Compile cost"). If allocating the control block throws, the module is deleted.
inline std::shared_ptr<torch::nn::Module> own_module(torch::nn::Module* module) {
  return std::shared_ptr<torch::nn::Module>(module);
}

// make_module<Impl>(args...): a new Impl, as std::make_shared<Impl>(args...) makes one, owned
// through own_module; the result aliases that owner.
template <class Impl, class... Args>
std::shared_ptr<Impl> make_module(Args&&... args) {
  Impl* module = new Impl(std::forward<Args>(args)...);
  return std::shared_ptr<Impl>(own_module(module), module);
}

// module_cast<Impl>(module): module as an Impl (null if it is not one), sharing its ownership; what
// std::dynamic_pointer_cast does, written here so that it is compiled with the one-time code that
// calls it (clones) and inlined there, not compiled once per module type.
template <class Impl>
std::shared_ptr<Impl> module_cast(std::shared_ptr<torch::nn::Module>&& module) {
  Impl* cast = dynamic_cast<Impl*>(module.get());
  if (!cast) return nullptr;
  return std::shared_ptr<Impl>(std::move(module), cast);
}

MODIFY_ONE_TIME_END

}  // namespace detail

// Holder<Impl>: the handle of modify's modules. Two differences from torch::nn::ModuleHolder:
// - its call operator reaches a template forward (ModuleHolder::operator() deduces its result
//   through `&Impl::forward`, which does not exist for one);
// - it makes its module through make_module, where ModuleHolder's constructors use `new` and
//   make_shared, which bring a control block (and its functions) per module type.
template <class Impl>
class Holder : public torch::nn::ModuleHolder<Impl> {
  using Base = torch::nn::ModuleHolder<Impl>;

 public:
  // Holder(): a default-constructed module. Not constrained, as ModuleHolder's is not, so that a
  // module without a default constructor gets the message below rather than a list of candidates.
  Holder() : Base(make_default()) {}
  /* implicit */ Holder(std::nullptr_t) : Base(nullptr) {}
  /* implicit */ Holder(std::shared_ptr<Impl> module) : Base(std::move(module)) {}
  // Holder(args...): a new module, Impl(args...), as ModuleHolder's forwarding constructor.
  template <class Head, class... Tail>
    requires(!(torch::detail::is_module_holder_of<Head, Impl>::value && sizeof...(Tail) == 0))
  explicit Holder(Head&& head, Tail&&... tail)
      : Base(detail::make_module<Impl>(std::forward<Head>(head), std::forward<Tail>(tail)...)) {}

  // module(x...): module->forward(x...).
  template <class... X>
  auto operator()(X&&... x) {
    return this->get()->forward(std::forward<X>(x)...);
  }

 private:
  static std::shared_ptr<Impl> make_default() {
    static_assert(std::is_default_constructible_v<Impl>,
                  "modify: this module has no default constructor; give its constructor's arguments, or nullptr for "
                  "an empty handle");
    if constexpr (std::is_default_constructible_v<Impl>) return detail::make_module<Impl>();
    else return nullptr;
  }
};

}  // namespace modify

// MODIFY_HANDLE(Name): the handle class Name of NameImpl, as TORCH_MODULE(Name) declares one, but a
// Holder.
#define MODIFY_HANDLE(Name)                                \
  class Name : public ::modify::Holder<Name##Impl> {       \
   public:                                                 \
    using ::modify::Holder<Name##Impl>::Holder;            \
    using Impl = Name##Impl;                               \
  }
