// Tests for modify/ops/restructure.hpp: parity with PyTorch, trait claims, the typed-count splitters
// (typed outputs, run-time count mismatches), printing.
#include "op_testing.hpp"

using namespace op_testing;
using modify::Arity;
using modify::Kind;
using modify::Linearity;
using modify::Params;

namespace {

constexpr modify::Traits restructure{Arity::unary, Params::none, Linearity::linear, Kind::restructure};
constexpr modify::Traits transpose{Arity::unary, Params::none, Linearity::linear, Kind::matrix};
constexpr modify::Traits binary_restructure{Arity::binary, Params::none, Linearity::linear, Kind::restructure};

std::vector<at::Dimname> dimnames(std::initializer_list<const char*> names) {
  std::vector<at::Dimname> out;
  for (const char* n : names) out.push_back(at::Dimname::fromSymbol(at::Symbol::dimname(n)));
  return out;
}

}  // namespace

TEST_CASE("restructure ops match PyTorch: values and gradients") {
  Parity p("restructure");
  p.check("T", modify::T(), "x3");
  p.check("T_2d", modify::T(), "x");
  p.check("H", modify::H(), "cplx");
  p.check("MT", modify::MT(), "x3");
  p.check("MH", modify::mH(), "cplx");
  p.check("Adjoint", modify::Adjoint(), "cplx");
  p.check("Transpose", modify::Transpose(0, 2), "x3");
  p.check("Permute", modify::Permute({2, 0, 1}), "x3");
  p.check("MoveDim", modify::MoveDim(0, 2), "x3");
  p.check("MoveDim_lists", modify::MoveDim({0, 1}, {2, 0}), "x3");
  p.check("MoveAxis", modify::MoveAxis(1, 0), "x3");
  p.check("View", modify::View({4, 6}), "x3");
  p.check("View_infer", modify::View(-1), "x3");
  p.check("ViewAs", modify::ViewAs(), "x3", "x6");
  p.check("Reshape", modify::Reshape({3, 8}), "x3");
  p.check("Resize", modify::Resize({4, 6}), "x3");
  p.check("Flatten", modify::Flatten(), "x3");
  p.check("Flatten_1", modify::Flatten(1), "x3");
  p.check("Squeeze", modify::Squeeze(), "s1");
  p.check("Squeeze_1", modify::Squeeze(1), "s1");
  p.check("Unsqueeze", modify::Unsqueeze(1), "x");
  p.check("Contiguous", modify::Contiguous(), "x3");
  p.check(
      "AlignTo",
      [](const torch::Tensor& x) {
        auto named = x.refine_names(dimnames({"N", "C", "L"}));
        return modify::Sequential(modify::AlignTo({"L", "E", "N", "C"}))(named).rename(c10::nullopt);
      },
      "x3");
  p.check(
      "AlignAs",
      [](const std::tuple<torch::Tensor, torch::Tensor>& xo) {
        auto x = std::get<0>(xo).refine_names(dimnames({"N", "C", "L"}));
        auto other = std::get<1>(xo).refine_names(dimnames({"L", "E", "N", "C"}));
        return modify::Sequential(modify::AlignAs())(std::tuple{x, other}).rename(c10::nullopt);
      },
      "x3", "o4");
  p.check("Real", modify::Real(), "cplx");
  p.check("Imag", modify::Imag(), "cplx");
  p.check("Flip", modify::Flip({0, 2}), "x3");
  p.check("FlipLR", modify::FlipLR(), "x");
  p.check("FlipUD", modify::FlipUD(), "x");
  p.check("Rot90", modify::Rot90(), "x");
  p.check("Rot90_dims", modify::Rot90(2, {1, 2}), "x3");
  p.check("Roll", modify::Roll(1), "x");
  p.check("Roll_dims", modify::Roll({1, -1}, {0, 1}), "x");
  p.check("Repeat", modify::Repeat({2, 1, 3}), "x");
  p.check("Diag_vector", modify::Diag(), "v");
  p.check("Diag_matrix", modify::Diag(1), "sq");
  p.check("DiagEmbed", modify::DiagEmbed(), "x");
  p.check("DiagFlat", modify::DiagFlat(1), "v");
  p.check("Diagonal", modify::Diagonal(0, 1, 2), "x3");
  p.check("Diagonal_offset", modify::Diagonal(1), "sq");
  p.check("DiagonalScatter", modify::DiagonalScatter(), "sq", "src");
  p.check("TriL", modify::TriL(-1), "x");
  p.check("TriU", modify::TriU(1), "x");
  p.check("Chunk", modify::Chunk<2>(1), "x");
  p.check("Chunk_3", modify::Chunk<3>(0), "x6");
  p.check("Split", modify::Split<2>(2, 1), "x");
  p.check("Split_uneven", modify::Split<3>(2, 0), "v");
  p.check("Split_sizes", modify::Split<3>({1, 2, 3}, 0), "x6");
  p.check("TensorSplit", modify::TensorSplit<3>(1), "x");
  p.check("TensorSplit_indices", modify::TensorSplit<3>({1, 3}, 1), "x");
  p.check("UnBind", modify::UnBind<3>(0), "x");
  p.check("UnBind_1", modify::UnBind<4>(1), "x");
  p.check("HSplit", modify::HSplit<2>(), "x");
  p.check("HSplit_indices", modify::HSplit<3>({1, 2}), "x");
  p.check("VSplit", modify::VSplit<3>(), "x6");
  p.check("VSplit_indices", modify::VSplit<2>({1}), "x");
  p.all_checked();
}

TEST_CASE("restructure ops: the declared traits hold on random inputs") {
  torch::manual_seed(1);
  auto x = torch::randn({3, 4}), x3 = torch::randn({2, 3, 4}), x6 = torch::randn({6, 4}), v = torch::randn({5});
  auto c = torch::randn({3, 4}, torch::kComplexFloat), sq = torch::randn({3, 3});
  check_claims(modify::T(), x3, restructure);
  check_claims(modify::H(), c, transpose);
  check_claims(modify::MT(), x3, transpose);
  check_claims(modify::MH(), torch::randn({2, 3, 4}, torch::kComplexFloat), transpose);
  check_claims(modify::Adjoint(), c, transpose);
  check_claims(modify::Transpose(0, 2), x3, restructure);
  check_claims(modify::Permute({2, 0, 1}), x3, restructure);
  check_claims(modify::MoveDim(0, 2), x3, restructure);
  check_claims(modify::MoveAxis({0, 1}, {2, 0}), x3, restructure);
  check_claims(modify::View({4, 6}), x3, restructure);
  check_claims(modify::ViewAs(), std::tuple{x3, x6}, binary_restructure);
  check_claims(modify::Reshape({3, 8}), x3.transpose(1, 2), restructure);
  check_claims(modify::Resize({24}), x3, restructure);
  check_claims(modify::Flatten(), x3, restructure);
  check_claims(modify::Squeeze(), torch::randn({3, 1, 4}), restructure);
  check_claims(modify::Unsqueeze(-1), x, restructure);
  check_claims(modify::Contiguous(), x3.transpose(0, 2), {Arity::unary, Params::none, Linearity::linear, Kind::identity});
  check_claims(modify::AlignTo({"L", "E", "N", "C"}), x3.refine_names(dimnames({"N", "C", "L"})), restructure);
  check_claims(modify::AlignAs(),
               std::tuple{x3.refine_names(dimnames({"N", "C", "L"})), torch::randn({4, 1, 2, 3}).refine_names(dimnames({"L", "E", "N", "C"}))},
               binary_restructure);
  check_claims(modify::Real(), c, restructure);
  check_claims(modify::Imag(), c, restructure);
  check_claims(modify::Flip({0, 2}), x3, restructure);
  check_claims(modify::FlipLR(), x, restructure);
  check_claims(modify::FlipUD(), x, restructure);
  check_claims(modify::Rot90(-1, {1, 2}), x3, restructure);
  check_claims(modify::Roll({1, -1}, {0, 1}), x, restructure);
  check_claims(modify::Repeat({2, 1, 3}), x, restructure);
  check_claims(modify::Diag(), v, restructure);
  check_claims(modify::DiagEmbed(1), x, restructure);
  check_claims(modify::DiagFlat(), v, restructure);
  check_claims(modify::Diagonal(0, 1, 2), x3, restructure);
  check_claims(modify::DiagonalScatter(), std::tuple{sq, torch::randn({3})}, binary_restructure);
  check_claims(modify::TriL(), x, restructure);
  check_claims(modify::TriU(-1), x, restructure);
  check_claims(modify::Chunk<2>(1), x, restructure);
  check_claims(modify::Split<3>({1, 2, 3}), x6, restructure);
  check_claims(modify::TensorSplit<3>(1), x, restructure);
  check_claims(modify::UnBind<3>(), x, restructure);
  check_claims(modify::HSplit<2>(), x, restructure);
  check_claims(modify::VSplit<3>(), x6, restructure);
}

TEST_CASE("typed-count splitters: the output is a tuple of N tensors, and composes at compile time") {
  using T = torch::Tensor;
  auto x = torch::randn({6, 4});
  static_assert(std::is_same_v<decltype(modify::Chunk<3>()(x)), std::tuple<T, T, T>>);
  static_assert(std::is_same_v<decltype(modify::Split<2>(3)(x)), std::tuple<T, T>>);
  static_assert(std::is_same_v<decltype(modify::TensorSplit<4>()(x)), std::tuple<T, T, T, T>>);
  static_assert(std::is_same_v<decltype(modify::UnBind<1>()(torch::randn({1, 2}))), std::tuple<T>>);
  static_assert(std::is_same_v<decltype(modify::HSplit<2>()(x)), std::tuple<T, T>>);
  static_assert(std::is_same_v<decltype(modify::VSplit<3>()(x)), std::tuple<T, T, T>>);
  static_assert(modify::ChunkImpl<5>::count == 5);

  // Three heads, one branch each, back together: the Parallel's size is checked against Chunk<3>.
  auto heads = modify::Sequential(modify::Chunk<3>(1), modify::Parallel(modify::Identity(), modify::Scale(2.0), modify::Negative()),
                                  modify::Cat(1));
  auto y = torch::randn({2, 6});
  auto parts = y.chunk(3, 1);
  CHECK(torch::equal(heads(y), torch::cat({parts[0], 2.0 * parts[1], -parts[2]}, 1)));
  using Heads = decltype(heads);
  static_assert(modify::trait::Unary<Heads> && modify::trait::Linear<Heads> && modify::trait::ParamFree<Heads>);
}

TEST_CASE("typed-count splitters: a tensor that does not split into N pieces is a clear error naming the module") {
  auto message_of = [](auto&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(no exception)");
  };
  // Chunk<3> on a dim of size 2 (and of size 4: chunk(3) makes 2 chunks of 2).
  auto chunk = message_of([] { modify::Chunk<3>(0)(torch::randn({2, 5})); });
  CHECK(chunk.find("modify::Chunk<3>(dim=0) must make 3 tensors, but chunk(3, dim=0) of a tensor of shape [2, 5] makes 2") !=
        std::string::npos);
  CHECK_THROWS_AS(modify::Chunk<3>(1)(torch::randn({2, 4})), std::invalid_argument);
  CHECK(message_of([] { modify::Split<2>(2, 0)(torch::randn({5})); }).find("modify::Split<2>(split_size=2, dim=0) must make 2 tensors") !=
        std::string::npos);
  CHECK_THROWS_AS(modify::Split<2>({2, 2})(torch::randn({5})), c10::Error);  // sizes that do not add up: torch's own error
  CHECK(message_of([] { modify::Split<3>(std::vector<int64_t>{1, 2}); }) == "modify::Split<3>(sizes=[1, 2], dim=0) needs 3 sizes, got 2");
  CHECK(message_of([] { modify::TensorSplit<3>(std::vector<int64_t>{1}); }).find("needs 2 indices, got 1") != std::string::npos);
  CHECK(message_of([] { modify::HSplit<3>()(torch::randn({2, 4})); }).find("modify::HSplit<3>() must make 3 tensors of equal size") !=
        std::string::npos);
  CHECK_THROWS_AS(modify::VSplit<4>()(torch::randn({6, 4})), std::invalid_argument);
  CHECK(message_of([] { modify::Resize({5})(torch::randn({2, 3})); }).find("keeps the number of elements") != std::string::npos);

  // UnBind<4> on a dim of size 3, inside a model: the container adds the module's dotted path.
  auto model = modify::Sequential(torch::nn::Linear(2, 3),
                                  modify::named<"split">(modify::Sequential(modify::Transpose(0, 1), modify::named<"heads">(modify::UnBind<4>(0)))));
  try {
    model(torch::randn({5, 2}));
    FAIL("no exception");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "split.heads");  // named children are named by their names
    CHECK(e.input() == "[3, 5] Float");
    CHECK(e.reason() == "modify::UnBind<4>(dim=0) must make 4 tensors, but unbind(dim=0) of a tensor of shape [3, 5] makes 3");
  }
}

TEST_CASE("restructure ops print their arguments") {
  CHECK(text_of(modify::Transpose(1, 2)) == "modify::Transpose(dim0=1, dim1=2)");
  CHECK(text_of(modify::Permute({0, 2, 1})) == "modify::Permute(dims=[0, 2, 1])");
  CHECK(text_of(modify::MoveDim(0, 2)) == "modify::MoveDim(source=0, destination=2)");
  CHECK(text_of(modify::View({2, -1})) == "modify::View(size=[2, -1])");
  CHECK(text_of(modify::Reshape(-1)) == "modify::Reshape(shape=-1)");
  CHECK(text_of(modify::Flatten(1)) == "modify::Flatten(start_dim=1, end_dim=-1)");
  CHECK(text_of(modify::Squeeze()) == "modify::Squeeze()");
  CHECK(text_of(modify::Squeeze(2)) == "modify::Squeeze(dim=2)");
  CHECK(text_of(modify::Roll(1)) == "modify::Roll(shifts=1)");
  CHECK(text_of(modify::Roll({1, 2}, {0, 1})) == "modify::Roll(shifts=[1, 2], dims=[0, 1])");
  CHECK(text_of(modify::Rot90()) == "modify::Rot90(k=1, dims=[0, 1])");
  CHECK(text_of(modify::AlignTo({"N", "C"})) == "modify::AlignTo(names=[\"N\", \"C\"])");
  CHECK(text_of(modify::T()) == "modify::T()");
  CHECK(text_of(modify::mT()) == "modify::MT()");
  CHECK(text_of(modify::Chunk<3>()) == "modify::Chunk<3>(dim=0)");
  CHECK(text_of(modify::Split<3>({1, 2, 3}, 1)) == "modify::Split<3>(sizes=[1, 2, 3], dim=1)");
  CHECK(text_of(modify::Split<2>(4)) == "modify::Split<2>(split_size=4, dim=0)");
  CHECK(text_of(modify::TensorSplit<2>()) == "modify::TensorSplit<2>(dim=0)");
  CHECK(text_of(modify::UnBind<4>(1)) == "modify::UnBind<4>(dim=1)");
  CHECK(text_of(modify::HSplit<3>({1, 2})) == "modify::HSplit<3>(indices=[1, 2])");
  CHECK(text_of(modify::VSplit<2>()) == "modify::VSplit<2>()");
  std::ostringstream tree;
  tree << modify::Sequential(modify::Flatten(1), modify::Unsqueeze(0));
  CHECK(tree.str() == "modify::Sequential(\n  (0): modify::Flatten(start_dim=1, end_dim=-1)\n  (1): modify::Unsqueeze(dim=0)\n)");
}

TEST_CASE("restructure modules are independent of their handle: clone keeps the arguments") {
  auto model = modify::Sequential(modify::Permute({1, 0}), modify::Split<2>({1, 3}, 0));
  auto copy = modify::clone(model);
  auto x = torch::randn({3, 4});
  auto [a, b] = model(x);
  auto [c, d] = copy(x);
  CHECK((torch::equal(a, c) && torch::equal(b, d)));
  CHECK(text_of(copy) == text_of(model));
}
