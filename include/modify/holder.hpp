// Holder<Impl>: a LibTorch ModuleHolder whose call operator also reaches a template forward.
#pragma once

#include <utility>

#include <torch/nn/pimpl.h>

namespace modify {

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
