// An experiment (bench/README.md, "Compile cost"): TYPES nested container types of two children
// each, built (and with -DCALL run), with modify::Sequential or with -DPROTOTYPE the prototype in
// container_prototype.hpp. Compile it with the bench's flags and -DTYPES=1 and -DTYPES=10; the
// difference, divided by 9, is what one container type costs.
#ifdef PROTOTYPE
#include "container_prototype.hpp"
namespace seq = prototype;
#else
#include <modify/sequential.hpp>
#include <modify/torch_traits.hpp>  // traits of torch::nn::Linear and ReLU
namespace seq = modify;
#endif
#include <torch/torch.h>

template <int K>
auto nest() {
  if constexpr (K == 0) return seq::Sequential(torch::nn::Linear(4, 4), torch::nn::ReLU());
  else return seq::Sequential(nest<K - 1>(), torch::nn::ReLU());
}

at::Tensor run(const at::Tensor& x) {
  auto model = nest<TYPES - 1>();
#ifdef CALL
  return model(x);
#else
  return x + 1;
#endif
}
