// Freezing a custom leaf with parameters: freeze cannot run it with its parameters detached.
// expect: modify: freeze: this module type cannot be run with detached parameters
#include <modify/modify.hpp>
#include <modify/transform/freeze.hpp>
#include <torch/torch.h>

struct ScaleImpl : modify::Leaf<ScaleImpl> {
  static constexpr modify::Traits traits{modify::Arity::unary, modify::Params::some, modify::Linearity::linear,
                                         modify::Kind::elementwise};
  ScaleImpl() { reset(); }
  void reset() override { scale = register_parameter("scale", torch::ones({1})); }
  torch::Tensor forward(const torch::Tensor& x) { return x * scale; }
  torch::Tensor scale;
};
TORCH_MODULE(Scale);

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), Scale());
  modify::freeze(model, modify::select::type<torch::nn::Linear>);
#ifdef MODIFY_SHOULD_FAIL
  modify::freeze(model);
#endif
}
