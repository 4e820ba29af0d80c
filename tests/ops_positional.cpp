// Tests for modify/ops/positional.hpp: PositionEmbedding and RotaryEmbedding against PyTorch
// references (tests/fixtures/generate_positional.py: GPT-2's wte + wpe, Hugging Face's Llama
// rotary embedding), their gradients, traits and errors.
#include <modify/modify.hpp>

#include <sstream>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "fixtures.hpp"
#include "op_testing.hpp"

namespace {

const modify_test::Fixture& positional() {
  static const modify_test::Fixture fixture("positional.pt");
  return fixture;
}

// fp32 parity with PyTorch: 1e-5 relative, 1e-6 absolute (the same kernels; cos/sin of the same floats).
bool close(const torch::Tensor& actual, const torch::Tensor& expected, double rtol = 1e-5, double atol = 1e-6) {
  if (actual.sizes() != expected.sizes() || actual.scalar_type() != expected.scalar_type()) {
    MESSAGE("differ: " << actual.sizes() << " " << actual.scalar_type() << " vs " << expected.sizes() << " "
                       << expected.scalar_type());
    return false;
  }
  const bool ok = torch::allclose(actual, expected, rtol, atol);
  if (!ok) MESSAGE("max abs difference " << (actual - expected).abs().max().item<double>());
  return ok;
}

modify::RotaryEmbedding rope(int64_t head_dim, double base) {
  return modify::RotaryEmbedding(modify::RotaryEmbeddingOptions(head_dim).base(base));
}

}  // namespace

TEST_CASE("RotaryEmbedding matches Hugging Face's Llama rotary embedding, values and gradients") {
  const auto& f = positional();
  for (const int base : {10000, 500000}) {
    CAPTURE(base);
    const std::string key = "rope." + std::to_string(base);
    auto x = f["rope.x"].clone().requires_grad_(true);
    auto y = rope(8, base)(x);
    CHECK(close(y, f[key + ".out"]));
    CHECK(close(torch::autograd::grad({(y * f["rope.upstream"]).sum()}, {x})[0], f[key + ".grad_x"]));
  }
  // Half precision: the angles in float, cast to half, as HF.
  CHECK(close(rope(8, 10000)(f["rope.half.x"]), f["rope.half.out"], 1e-3, 1e-3));
  // A rotation of each vector: norms along the last dim are kept, and position 0 is left alone.
  torch::NoGradGuard no_grad;
  const auto& x = f["rope.x"];
  auto y = rope(8, 10000)(x);
  CHECK(torch::allclose(y.norm(2, -1), x.norm(2, -1), 1e-5, 1e-6));
  CHECK(torch::equal(y.select(-2, 0), x.select(-2, 0)));
  CHECK_FALSE(torch::allclose(y.select(-2, 1), x.select(-2, 1)));
}

TEST_CASE("RotaryEmbedding's traits hold; bad inputs and options are errors naming the shapes") {
  op_testing::check_claims(rope(8, 10000), torch::randn({2, 3, 5, 8}),
                           {modify::Arity::unary, modify::Params::none, modify::Linearity::linear, modify::Kind::vector});
  CHECK(rope(8, 10000)->named_buffers().is_empty());  // nothing to save: HF's inv_freq is not in checkpoints
  auto model = modify::Sequential(modify::named<"rope">(rope(8, 10000)));
  try {
    model(torch::randn({2, 5, 6}));
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "rope");
    CHECK(e.reason() == "modify: RotaryEmbedding(head_dim=8) expects a floating-point input [..., T, 8], got [2, 5, 6] Float");
  }
  CHECK_THROWS_WITH(rope(8, 10000)(torch::ones({5, 8}, torch::kLong)), doctest::Contains("got [5, 8] Long"));
  CHECK_THROWS_WITH(rope(7, 10000), doctest::Contains("positive, even head_dim, got 7"));
  CHECK_THROWS_WITH(rope(8, 0), doctest::Contains("positive base"));
  CHECK(op_testing::text_of(rope(8, 500000)) == "modify::RotaryEmbedding(head_dim=8, base=500000)");
}

TEST_CASE("PositionEmbedding adds the first T rows of its weight, as GPT-2's wte(idx) + wpe(arange(T))") {
  const auto& f = positional();
  modify::PositionEmbedding wpe(7, 6);
  REQUIRE(wpe->named_parameters().keys() == std::vector<std::string>{"weight"});
  {
    torch::NoGradGuard no_grad;
    wpe->weight.copy_(f["wpe.weight"]);
  }
  auto x = f["wpe.x"].clone().requires_grad_(true);
  auto y = wpe(x);
  CHECK(close(y, f["wpe.out"]));
  auto grads = torch::autograd::grad({(y * f["wpe.upstream"]).sum()}, {x, wpe->weight});
  CHECK(close(grads[0], f["wpe.grad_x"]));
  CHECK(close(grads[1], f["wpe.grad_weight"]));
  CHECK(torch::equal(grads[1].slice(0, 5), torch::zeros({2, 6})));  // positions past T get no gradient

  op_testing::check_claims(modify::PositionEmbedding(7, 6), torch::randn({2, 5, 6}),
                           {modify::Arity::unary, modify::Params::some, modify::Linearity::linear, modify::Kind::none});
  auto model = modify::Sequential(modify::named<"wpe">(modify::PositionEmbedding(4, 6)));
  try {
    model(torch::randn({2, 5, 6}));
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "wpe");
    CHECK(e.reason() == "modify: PositionEmbedding(4, 6) expects an input [..., T, 6] with T <= 4, got [2, 5, 6]");
  }
  CHECK_THROWS_AS(modify::PositionEmbedding(0, 6), std::invalid_argument);
  CHECK(op_testing::text_of(modify::PositionEmbedding(4, 6)) == "modify::PositionEmbedding(4, 6)");
}
