// Tests for modify/leaf.hpp and modify/holder.hpp: writing custom leaf modules with parameters, traits,
// clone, printing; their handles.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <sstream>

namespace {

// A learned per-feature scale: the example of leaf.hpp's comment.
struct ScaleImpl : modify::Leaf<ScaleImpl> {
  static constexpr modify::Traits traits{modify::Arity::unary, modify::Params::some, modify::Linearity::linear,
                                         modify::Kind::elementwise};
  explicit ScaleImpl(int64_t features) : features(features) { reset(); }
  void reset() override { scale = register_parameter("scale", torch::full({features}, 2.0)); }
  torch::Tensor forward(const torch::Tensor& x) { return x * scale; }
  int64_t features;
  torch::Tensor scale;
};
TORCH_MODULE(Scale);

// A leaf whose forward is a template: modify calls it with the input's static type.
struct SwapImpl : modify::Leaf<SwapImpl> {
  static constexpr modify::Traits traits{modify::Arity::binary, modify::Params::none, modify::Linearity::linear,
                                         modify::Kind::restructure};
  template <class A, class B>
  std::tuple<B, A> forward(const std::tuple<A, B>& x) {
    return {std::get<1>(x), std::get<0>(x)};
  }
};
TORCH_MODULE(Swap);

// Bypasses the compile-time guard to register a submodule: caught when the model is built.
struct SneakyImpl : modify::Leaf<SneakyImpl> {
  static constexpr modify::Traits traits{};
  SneakyImpl() { torch::nn::Module::register_module("inner", torch::nn::Linear(2, 2)); }
  torch::Tensor forward(const torch::Tensor& x) { return x; }
};
TORCH_MODULE(Sneaky);

// A LibTorch Cloneable module holding a leaf: its clone() copies the leaf through the leaf's clone_.
struct OwnerImpl : torch::nn::Cloneable<OwnerImpl> {
  OwnerImpl() { reset(); }
  void reset() override { scale = register_module("scale", Scale(3)); }
  Scale scale{nullptr};
};
TORCH_MODULE(Owner);

// A leaf that registers its parameter in the constructor, not in reset(): its clone cannot work.
struct EagerImpl : modify::Leaf<EagerImpl> {
  static constexpr modify::Traits traits{modify::Arity::unary, modify::Params::some, modify::Linearity::linear,
                                         modify::Kind::elementwise};
  EagerImpl() { weight = register_parameter("weight", torch::ones({2})); }
  torch::Tensor forward(const torch::Tensor& x) { return x * weight; }
  torch::Tensor weight;
};
TORCH_MODULE(Eager);

// A leaf behind a modify::Holder handle (MODIFY_HANDLE), with a template forward.
struct OffsetImpl : modify::Leaf<OffsetImpl> {
  static constexpr modify::Traits traits{modify::Arity::unary, modify::Params::none, modify::Linearity::nonlinear,
                                         modify::Kind::elementwise};
  OffsetImpl() = default;
  explicit OffsetImpl(double offset) : offset(offset) {}
  template <class X>
  X forward(const X& x) {
    return x + offset;
  }
  double offset = 0;
};
MODIFY_HANDLE(Offset);

}  // namespace

TEST_CASE("MODIFY_HANDLE: a Holder makes its module with one owner and calls a template forward") {
  Offset zero;
  Offset two(2.0);
  Offset empty(nullptr);
  CHECK(empty.is_empty());
  CHECK(zero->offset == 0);
  CHECK(two->offset == 2);
  CHECK(torch::equal(two(torch::ones({2})), torch::full({2}, 3.0)));
  // make_module's owner is a shared_ptr<torch::nn::Module> the handle aliases; registration in a
  // container relies on shared_from_this finding that same owner.
  const std::shared_ptr<torch::nn::Module> self = two->shared_from_this();
  CHECK(self.get() == static_cast<torch::nn::Module*>(two.get()));
  CHECK(!self.owner_before(two.ptr()));
  CHECK(!two.ptr().owner_before(self));
  auto model = modify::Sequential(two, zero);
  CHECK(modify::get<0>(model).ptr() == two.ptr());
  CHECK(torch::equal(model(torch::ones({2})), torch::full({2}, 3.0)));
  auto copy = modify::clone(two);
  static_assert(std::is_same_v<decltype(copy), Offset>);
  CHECK(copy.get() != two.get());
  CHECK(copy->offset == 2);
  std::weak_ptr<torch::nn::Module> gone = copy.ptr();
  copy = nullptr;
  CHECK(gone.expired());
}

TEST_CASE("a custom leaf with a parameter works in a model") {
  auto model = modify::Sequential(torch::nn::Linear(3, 3), modify::named<"scale">(Scale(3)));
  static_assert(modify::trait::Param<Scale> && modify::trait::Linear<Scale> && modify::trait::Elementwise<Scale>);
  static_assert(modify::trait::Param<decltype(model)> && modify::trait::Linear<decltype(model)>);
  auto x = torch::randn({2, 3});
  CHECK(torch::allclose(model(x), 2 * modify::get<0>(model)(x)));
  CHECK(model->named_parameters().contains("scale.scale"));
}

TEST_CASE("a custom leaf clones through Cloneable, with its own parameters") {
  auto scale = Scale(4);
  auto copy = modify::clone(scale);
  CHECK(torch::equal(copy->scale, scale->scale));
  CHECK_FALSE(copy->scale.is_same(scale->scale));
  CHECK(copy->features == 4);
}

TEST_CASE("a leaf inside a LibTorch Cloneable module is deep-copied with it") {
  Owner owner;
  {
    torch::NoGradGuard no_grad;
    owner->scale->scale.copy_(torch::tensor({1.0, 2.0, 3.0}));
  }
  auto copy = std::dynamic_pointer_cast<OwnerImpl>(owner->clone());
  REQUIRE(copy != nullptr);
  CHECK(torch::equal(copy->scale->scale, owner->scale->scale));
  CHECK_FALSE(copy->scale->scale.is_same(owner->scale->scale));
  CHECK(copy->named_parameters().contains("scale.scale"));
  CHECK(copy->named_parameters()["scale.scale"].is_same(copy->scale->scale));  // the registered one is the member
}

TEST_CASE("a Cloneable module whose leaf was replaced by another type cannot clone it into the old one") {
  // The copy's reset() registers a Scale under "scale"; the original now holds a Swap there.
  Owner owner;
  owner->replace_module("scale", Swap());
  std::string message;
  try {
    owner->clone();
  } catch (const c10::Error& e) {
    message = e.what_without_backtrace();
  }
  CHECK(message.find("modify: cannot clone a ") != std::string::npos);
  CHECK(message.find("SwapImpl into the leaf ") != std::string::npos);
  CHECK(message.find("ScaleImpl") != std::string::npos);
}

TEST_CASE("cloning a leaf that registers its parameters outside reset() says what to do") {
  CHECK_THROWS_WITH(Eager()->clone(), doctest::Contains("register them in reset()"));
}

TEST_CASE("a template forward gets the exact tuple type") {
  auto model = modify::Sequential(modify::Copy<2>(), modify::Parallel(torch::nn::Identity(), modify::Copy<2>()), Swap());
  auto out = model(torch::ones({1}));
  static_assert(
      std::is_same_v<decltype(out), std::tuple<std::tuple<torch::Tensor, torch::Tensor>, torch::Tensor>>);
  CHECK(std::get<1>(out).item<float>() == 1);
}

TEST_CASE("a leaf prints its name without Impl") {
  std::ostringstream out;
  out << Scale(2);
  CHECK(out.str().find("Scale()") != std::string::npos);
  CHECK(out.str().find("Impl") == std::string::npos);
}

TEST_CASE("a leaf that sneaks a submodule in is rejected when the model is built") {
  CHECK_THROWS_WITH_AS(modify::Sequential{Sneaky()}, doctest::Contains("leaves cannot hold submodules"),
                       std::invalid_argument);
}
