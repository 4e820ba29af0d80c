// Tests for modify/traits.hpp: how modules declare traits, the concepts, and their printing.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
// A module someone else wrote, declared once from outside.
struct ThirdPartyImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x.flip(0); }
};
TORCH_MODULE(ThirdParty);
}  // namespace
MODIFY_DECLARE_TRAITS(ThirdPartyImpl, unary, none, linear, restructure);

TEST_CASE("traits declared from outside make a module usable") {
  static_assert(modify::Module<ThirdParty>);
  static_assert(modify::trait::Restructure<ThirdParty> && modify::trait::Linear<ThirdParty>);
  auto model = modify::Sequential(ThirdParty(), torch::nn::Linear(3, 1));
  CHECK((model(torch::randn({2, 3})).sizes() == torch::IntArrayRef{2, 1}));
}

TEST_CASE("the concepts partition arity, parameters and linearity") {
  using namespace modify;
  using L = torch::nn::Linear;
  static_assert(trait::Unary<L> && !trait::Binary<L> && !trait::Ternary<L> && !trait::TupleArg<L>);
  static_assert(trait::Param<L> && !trait::ParamFree<L>);
  static_assert(trait::Linear<L> && !trait::NonLinear<L>);
  static_assert(trait::Vector<L> && !trait::Elementwise<L> && !trait::Matrix<L> && !trait::Reduction<L>);
  // Concepts accept handles, Impl classes and Named children alike.
  static_assert(trait::Vector<torch::nn::LinearImpl> && trait::Vector<Named<"x", L>>);
  // Nothing is anything unless it is a module.
  static_assert(!trait::Unary<int> && !trait::ParamFree<int> && !trait::Linear<int>);
  // Selecting by concept, as transforms will.
  auto count_linear_params = []<class... Ms>(std::type_identity<Sequential<Ms...>>) {
    return ((trait::Linear<Ms> && trait::Param<Ms> ? 1 : 0) + ...);
  };
  static_assert(count_linear_params(std::type_identity<Sequential<L, torch::nn::ReLU, L, torch::nn::PReLU>>{}) == 2);
  CHECK(true);
}

TEST_CASE("traits print as the Python library names them") {
  using namespace modify;
  CHECK(to_string(traits_of<torch::nn::Linear>) == "Unary Param Linear Vector");
  CHECK(to_string(traits_of<torch::nn::ReLU>) == "Unary ParamFree NonLinear Elementwise");
  CHECK(to_string(traits_of<Add>) == "Binary ParamFree Linear Elementwise");
  CHECK(to_string(traits_of<Parallel<Identity, Identity, Identity, Identity>>) == "TupleArg ParamFree Linear Identity");
  std::ostringstream out;
  out << traits_of<torch::nn::MaxPool2d>;
  CHECK(out.str() == "Unary ParamFree NonLinear");
}
