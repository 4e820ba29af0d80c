// Tests for modify/clone.hpp: deep copies have new parameters and the same type and outputs.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
// A leaf with a buffer, to see buffers cloned too.
struct RunningMeanImpl : modify::Leaf<RunningMeanImpl> {
  static constexpr modify::Traits traits{modify::Arity::unary, modify::Params::none, modify::Linearity::linear,
                                         modify::Kind::elementwise};
  RunningMeanImpl() { reset(); }
  void reset() override { mean = register_buffer("mean", torch::randn({4})); }
  torch::Tensor forward(const torch::Tensor& x) { return x - mean; }
  torch::Tensor mean;
};
TORCH_MODULE(RunningMean);
}  // namespace

TEST_CASE("clone makes new parameter tensors with equal values; copying a handle shares them") {
  auto model = modify::Sequential(torch::nn::Linear(3, 4), modify::Copy<2>(),
                                  modify::Parallel(modify::Identity(), modify::named<"f">(torch::nn::Linear(4, 4))),
                                  modify::Add(), RunningMean());
  auto copy = modify::clone(model);
  static_assert(std::is_same_v<decltype(copy), decltype(model)>);
  CHECK(copy.ptr() != model.ptr());
  auto params = model->named_parameters(), copied = copy->named_parameters();
  REQUIRE(params.size() == copied.size());
  for (const auto& p : params) {
    CHECK(torch::equal(p.value(), copied[p.key()]));
    CHECK_FALSE(p.value().is_same(copied[p.key()]));
  }
  REQUIRE(copy->named_buffers().size() == 1);
  CHECK(torch::equal(copy->named_buffers()["4.mean"], model->named_buffers()["4.mean"]));
  CHECK_FALSE(copy->named_buffers()["4.mean"].is_same(model->named_buffers()["4.mean"]));
  model->eval();
  copy->eval();
  auto x = torch::randn({5, 3});
  CHECK(torch::equal(model(x), copy(x)));
  // Changing the original leaves the clone alone.
  {
    torch::NoGradGuard no_grad;
    modify::get<"2.f">(model)->weight.add_(1);
  }
  CHECK_FALSE(torch::equal(model(x), copy(x)));
  // The children of the clone are registered under the same names and are the clone's own.
  CHECK(modify::get<"2.f">(copy)->weight.is_same(copy->named_parameters()["2.f.weight"]));
}

TEST_CASE("clone keeps the training mode") {
  auto model = modify::Sequential(torch::nn::Dropout(0.5));
  model->eval();
  CHECK_FALSE(modify::clone(model)->is_training());
}
