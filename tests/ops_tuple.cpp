// Tests for modify/ops/tuple.hpp: Cat, Concatenate, Stack, VStack, HStack on tuples of any length.
#include "op_testing.hpp"

using namespace op_testing;

namespace {
constexpr modify::Traits tuple_restructure{modify::Arity::tuple, modify::Params::none, modify::Linearity::linear,
                                           modify::Kind::restructure};
}

TEST_CASE("tuple ops match PyTorch: values and gradients") {
  Parity p("tuple");
  p.check("Cat", modify::Cat(), "x", "y");
  p.check("Cat_1", modify::Cat(1), "x", "y", "z");
  p.check("Concatenate", modify::Concatenate(1), "x", "y");
  p.check("Stack", modify::Stack(), "x", "y");
  p.check("Stack_2", modify::Stack(2), "x", "y", "z");
  p.check("VStack", modify::VStack(), "x", "y");
  p.check("VStack_vectors", modify::VStack(), "v", "v2");
  p.check("HStack", modify::HStack(), "x", "y");
  p.check("HStack_vectors", modify::HStack(), "v", "v2");
  p.all_checked();
}

TEST_CASE("tuple ops: the declared traits hold on random inputs, for pairs, triples and longer tuples") {
  torch::manual_seed(2);
  auto a = torch::randn({3, 4}), b = torch::randn({3, 4}), c = torch::randn({3, 4}), d = torch::randn({3, 4});
  check_claims(modify::Cat(), std::tuple{a, b}, tuple_restructure);
  check_claims(modify::Cat(1), std::tuple{a, b, c, d}, tuple_restructure);
  check_claims(modify::Concatenate(-1), std::tuple{a, b, c}, tuple_restructure);
  check_claims(modify::Stack(1), std::tuple{a, b, c}, tuple_restructure);
  check_claims(modify::VStack(), std::tuple{a, b}, tuple_restructure);
  check_claims(modify::HStack(), std::tuple{a, b, c, d}, tuple_restructure);
  // TupleArg: a single-element tuple is fine too.
  CHECK(torch::equal(modify::Cat()(std::tuple{a}), a));
  static_assert(modify::trait::TupleArg<modify::Cat> && !modify::trait::Binary<modify::Cat>);
}

TEST_CASE("tuple ops undo the splitters") {
  auto x = torch::randn({4, 6});
  CHECK(torch::equal(modify::Sequential(modify::Chunk<3>(1), modify::Cat(1))(x), x));
  CHECK(torch::equal(modify::Sequential(modify::UnBind<4>(0), modify::Stack(0))(x), x));
  CHECK(torch::equal(modify::Sequential(modify::UnBind<6>(1), modify::Stack(1))(x), x));
  CHECK(torch::equal(modify::Sequential(modify::HSplit<2>(), modify::HStack())(x), x));
  CHECK(torch::equal(modify::Sequential(modify::VSplit<2>(), modify::VStack())(x), x));
  CHECK(torch::equal(modify::Sequential(modify::Split<3>({1, 2, 3}, 1), modify::Concatenate(1))(x), x));
}

TEST_CASE("tuple ops: run-time shape errors name the module's path; printing") {
  auto model = modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::Transpose(0, 1)),
                                  modify::named<"join">(modify::Cat(0)));
  try {
    model(torch::randn({2, 3}));
    FAIL("no exception");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "join");
    CHECK(e.input() == "([2, 3] Float, [3, 2] Float)");
  }
  CHECK(text_of(modify::Cat(1)) == "modify::Cat(dim=1)");
  CHECK(text_of(modify::Stack()) == "modify::Stack(dim=0)");
  CHECK(text_of(modify::Concatenate(-1)) == "modify::Concatenate(dim=-1)");
  CHECK(text_of(modify::VStack()) == "modify::VStack()");
  CHECK(text_of(modify::HStack()) == "modify::HStack()");
}
