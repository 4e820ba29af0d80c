// Module handles: Holder<Impl>, whose call operator reaches a template forward, and make_module,
// which makes the module a handle holds.
#pragma once

#include <memory>
#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace modify {
namespace detail {

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

}  // namespace detail

// LibTorch's ModuleHolder::operator() deduces its result through `&Impl::forward`, which does
// not exist for a template forward; the handles of modify's containers and wrappers use this.
template <class Impl>
class Holder : public torch::nn::ModuleHolder<Impl> {
 public:
  using torch::nn::ModuleHolder<Impl>::ModuleHolder;

  // module(x...): module->forward(x...).
  template <class... X>
  auto operator()(X&&... x) {
    return this->get()->forward(std::forward<X>(x)...);
  }
};

}  // namespace modify
