// Tests for modify/value.hpp: the Value concept and how values are described in errors.
#include <modify/value.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

using torch::Tensor;

TEST_CASE("Value: tensors and nested tuples of values, nothing else") {
  static_assert(modify::Value<Tensor> && modify::Value<const Tensor&>);
  static_assert(modify::Value<std::tuple<Tensor, std::tuple<Tensor, Tensor>>>);
  static_assert(modify::Value<std::tuple<>>);
  static_assert(!modify::Value<int> && !modify::Value<std::vector<Tensor>>);
  static_assert(!modify::Value<std::tuple<Tensor, int>> && !modify::Value<std::pair<Tensor, Tensor>>);
  static_assert(modify::TensorValue<Tensor&> && !modify::TensorValue<std::tuple<Tensor>>);
  static_assert(modify::TupleValue<std::tuple<Tensor>> && !modify::TupleValue<Tensor>);
  static_assert(modify::tuple_arity_v<std::tuple<Tensor, Tensor, Tensor>> == 3);
  static_assert(modify::tuple_arity_v<Tensor> == 0);
  static_assert(modify::TupleOfTensors<std::tuple<Tensor, Tensor>, 2>);
  static_assert(!modify::TupleOfTensors<std::tuple<Tensor, Tensor>, 3>);
  static_assert(!modify::TupleOfTensors<std::tuple<Tensor, std::tuple<Tensor>>>);
  CHECK(true);
}

TEST_CASE("describe gives shapes and dtypes of nested values") {
  auto a = torch::zeros({2, 3});
  auto b = torch::zeros({4}, torch::kInt64);
  CHECK(modify::describe(a) == "[2, 3] Float");
  CHECK(modify::describe(std::tuple{a, std::tuple{b, a}}) == "([2, 3] Float, ([4] Long, [2, 3] Float))");
  CHECK(modify::describe(Tensor()) == "undefined tensor");
}
