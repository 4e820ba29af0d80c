// What the example architectures (gpt2.hpp, llama.hpp, resnet.hpp) share: the residual connection.
#pragma once

#include <cstddef>
#include <utility>

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

}  // namespace models::detail
