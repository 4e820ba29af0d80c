// Tests for modify/transform/freeze.hpp: frozen models stop gradients to shared parameters
// without touching anyone's requires_grad.
#include <modify/modify.hpp>
#include <modify/transform/freeze.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
auto net() {
  return modify::Sequential(modify::named<"embed">(torch::nn::Embedding(10, 6)),
                            modify::named<"conv">(torch::nn::Conv1d(torch::nn::Conv1dOptions(4, 4, 3).padding(1).padding_mode(torch::kReflect))),
                            torch::nn::ReLU(), modify::named<"head">(torch::nn::Linear(6, 3)));
}
}  // namespace

TEST_CASE("a frozen model computes the same function and shares the same tensors under the same names") {
  auto base = net();
  auto frozen = modify::freeze(base);
  static_assert(modify::count(base, modify::select::param) == 3);
  static_assert(modify::count(frozen, modify::select::frozen) == 3);
  auto x = torch::randint(10, {2, 4});
  CHECK(torch::equal(frozen(x), base(x)));
  auto p = base->named_parameters(), q = frozen->named_parameters();
  CHECK(p.keys() == q.keys());
  for (const auto& item : p) CHECK(item.value().is_same(q[item.key()]));
  CHECK(modify::get<"head">(frozen)->module.ptr() == modify::get<"head">(base).ptr());
}

TEST_CASE("no gradient reaches frozen parameters, and every requires_grad flag is unchanged") {
  auto base = net();
  auto frozen = modify::freeze(base, modify::select::path<"conv"> || modify::select::path<"embed">);
  auto x = torch::randint(10, {2, 4});
  frozen(x).sum().backward();
  for (const auto& p : base->named_parameters()) {
    CAPTURE(p.key());
    CHECK(p.value().requires_grad());
    CHECK(p.value().grad().defined() == (p.key().rfind("head", 0) == 0));
  }
  // The base model still trains everything.
  base->zero_grad();
  base(x).sum().backward();
  CHECK(modify::get<"embed">(base)->weight.grad().defined());
}

TEST_CASE("gradients still flow through frozen layers to what comes before") {
  auto base = modify::Sequential(torch::nn::Linear(3, 3), torch::nn::Tanh(), torch::nn::Linear(3, 1));
  auto frozen = modify::freeze(base, modify::select::index<2>);
  auto x = torch::randn({4, 3});
  frozen(x).sum().backward();
  CHECK(modify::get<0>(base)->weight.grad().defined());
  CHECK_FALSE(modify::get<2>(base)->weight.grad().defined());
}

TEST_CASE("unfreeze gives back the original module types, still shared") {
  auto base = net();
  auto thawed = modify::unfreeze(modify::freeze(base));
  static_assert(std::is_same_v<decltype(thawed), decltype(base)>);
  CHECK(modify::get<"conv">(thawed).ptr() == modify::get<"conv">(base).ptr());
}

TEST_CASE("the detached functional forms match the modules, for every supported type") {
  auto x2 = torch::randn({2, 3, 8, 8});
  for (auto mode : {0, 1, 2, 3}) {
    auto options = torch::nn::Conv2dOptions(3, 4, 3).padding(1).stride(2);
    if (mode == 1) options.padding_mode(torch::kReflect);
    if (mode == 2) options.padding_mode(torch::kCircular);
    if (mode == 3) options.padding_mode(torch::kReplicate);
    auto conv = torch::nn::Conv2d(options);
    CHECK(torch::allclose(modify::Frozen(conv)(x2), conv(x2)));
  }
  auto conv3 = torch::nn::Conv3d(torch::nn::Conv3dOptions(2, 2, 2).bias(false));
  auto x3 = torch::randn({1, 2, 4, 4, 4});
  CHECK(torch::allclose(modify::Frozen(conv3)(x3), conv3(x3)));
  auto prelu = torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(3));
  CHECK(torch::allclose(modify::Frozen(prelu)(x2), prelu(x2)));
  auto bilinear = torch::nn::Bilinear(3, 2, 4);
  auto a = torch::randn({5, 3}), b = torch::randn({5, 2});
  CHECK(torch::allclose(modify::Frozen(bilinear)(std::tuple{a, b}), bilinear(a, b)));
  auto embedding = torch::nn::Embedding(torch::nn::EmbeddingOptions(5, 2).padding_idx(0));
  auto ids = torch::tensor({0, 3, 4});
  CHECK(torch::equal(modify::Frozen(embedding)(ids), embedding(ids)));
}

TEST_CASE("an Embedding with max_norm would rewrite a shared weight: refused") {
  auto embedding = torch::nn::Embedding(torch::nn::EmbeddingOptions(5, 2).max_norm(1.0));
  auto weight = embedding->weight.clone();
  auto frozen = modify::Frozen(embedding);
  CHECK_THROWS_WITH_AS(frozen(torch::tensor({1})), doctest::Contains("max_norm"),
                       std::invalid_argument);
  CHECK(torch::equal(weight, embedding->weight));
}

TEST_CASE("a frozen PositionEmbedding (a modify leaf without a bias) adds the same rows and gets no gradient") {
  modify::PositionEmbedding wpe(6, 4);
  modify::Frozen frozen(wpe);
  auto x = torch::randn({2, 5, 4}, torch::requires_grad());
  const auto y = frozen(x);
  CHECK(torch::equal(y, wpe(x)));
  y.sum().backward();
  CHECK(x.grad().defined());
  CHECK_FALSE(wpe->weight.grad().defined());
  CHECK(frozen->named_parameters()["weight"].is_same(wpe->weight));
}
