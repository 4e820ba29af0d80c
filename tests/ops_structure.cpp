// Tests for modify/ops/structure.hpp: Identity and Copy<N>.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

TEST_CASE("Identity returns its input itself") {
  auto x = torch::randn({3});
  CHECK(modify::Identity()(x).is_same(x));
  static_assert(modify::trait::Unary<modify::Identity> && modify::trait::ParamFree<modify::Identity> &&
                modify::trait::Linear<modify::Identity> && modify::trait::Identity<modify::Identity> &&
                modify::trait::Elementwise<modify::Identity> && modify::trait::Restructure<modify::Identity>);
  CHECK(modify::Identity()->parameters().empty());
}

TEST_CASE("Copy<N> makes an N-tuple of handles to its input, without copying data") {
  auto x = torch::randn({2, 2});
  auto [a, b, c, d] = modify::Copy<4>()(x);
  CHECK((a.is_same(x) && b.is_same(x) && c.is_same(x) && d.is_same(x)));
  auto [single] = modify::Copy<1>()(x);
  CHECK(single.is_same(x));
  using C = modify::Copy<3>;
  static_assert(modify::trait::Unary<C> && modify::trait::ParamFree<C> && modify::trait::Linear<C> &&
                modify::trait::Restructure<C> && !modify::trait::Elementwise<C>);
  static_assert(modify::CopyImpl<5>::copies == 5);
  std::ostringstream out;
  out << modify::Copy<3>();
  CHECK(out.str() == "modify::Copy<3>()");
}

TEST_CASE("gradients flow through both copies") {
  auto x = torch::randn({3}, torch::requires_grad());
  auto model = modify::Sequential(modify::Copy<2>(), modify::Add());
  model(x).sum().backward();
  CHECK(torch::allclose(x.grad(), torch::full({3}, 2.0)));
}
