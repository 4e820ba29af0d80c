// What the example architectures (gpt2.hpp, llama.hpp, resnet.hpp) share: the residual connection,
// stacks of blocks, and tied weights.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <modify/modify.hpp>

namespace models::detail {

// residual(f): x + f(x), with f's parameters under "1.1." (Copy is 0, the Parallel 1, f its branch 1).
template <class F>
auto residual(F f) {
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), std::move(f)), modify::Add());
}

// repeated<N>(make): a Sequential of N fresh make() results (each with its own parameters), made
// in order (braced initialisation), so their random initialisation follows torch::manual_seed.
template <std::size_t N, class Make>
auto repeated(Make make) {
  static_assert(N > 0, "models: a stack of blocks needs at least one block");
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return modify::Sequential<decltype((void(I), make()))...>{(void(I), make())...};
  }(std::make_index_sequence<N>{});
}

// share_parameter(module, name, tensor): module's registered parameter `name` becomes `tensor`
// itself (the same object: one gradient, one optimizer state), as PyTorch's
// `lm_head.weight = wte.weight` does. The caller also points the module's member (e.g. `weight`)
// at it. LibTorch has no public call that replaces a registered parameter (register_parameter
// refuses a taken name): this goes through modify's access to Module's registries (leaf.hpp).
inline void share_parameter(torch::nn::Module& module, const std::string& name, const at::Tensor& tensor) {
  at::Tensor& slot = torch::nn::Cloneable<modify::detail::LeafAccess>::parameter_slot(module, name);
  if (slot.sizes() != tensor.sizes() || slot.scalar_type() != tensor.scalar_type())
    throw std::invalid_argument("models: cannot tie parameter '" + name + "' of " + module.name() + ", " +
                                modify::describe(slot) + ", to a tensor " + modify::describe(tensor));
  slot = tensor;
}

}  // namespace models::detail
