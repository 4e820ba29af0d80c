// A custom leaf (derived from modify::Leaf) that tries to hold a submodule with register_module.
// expect: modify: a custom leaf cannot hold submodules
#include <modify/modify.hpp>
#include <torch/torch.h>

namespace {
struct ScaleImpl : modify::Leaf<ScaleImpl> {
  static constexpr modify::Traits traits{.arity = modify::Arity::unary, .params = modify::Params::some,
                                         .linearity = modify::Linearity::linear, .kind = modify::Kind::elementwise};
  explicit ScaleImpl(int64_t n) : n(n) { reset(); }
  void reset() override {
    scale = register_parameter("scale", torch::ones({n}));
#ifdef MODIFY_SHOULD_FAIL
    inner = register_module("inner", torch::nn::Linear(n, n));
#endif
  }
  torch::Tensor forward(const torch::Tensor& x) { return x * scale; }
  int64_t n;
  torch::Tensor scale;
  torch::nn::Linear inner{nullptr};
};
TORCH_MODULE(Scale);
}  // namespace

void misuse() {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), Scale(4));
}
