// Tests for modify/torch_traits.hpp: every LibTorch module the library declares drops into a
// Sequential as-is, and its declared traits hold on real inputs (parameters, affinity, elementwise).
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {

using modify::Arity;
using modify::Kind;
using modify::Linearity;
using modify::Params;
namespace nn = torch::nn;

constexpr modify::Traits traits(Arity a, Params p, Linearity l, Kind k) { return {a, p, l, k}; }
constexpr auto activation = traits(Arity::unary, Params::none, Linearity::nonlinear, Kind::elementwise);
constexpr auto vector_op = traits(Arity::unary, Params::none, Linearity::nonlinear, Kind::vector);
constexpr auto linear_pool = traits(Arity::unary, Params::none, Linearity::linear, Kind::none);
constexpr auto nonlinear_pool = traits(Arity::unary, Params::none, Linearity::nonlinear, Kind::none);
constexpr auto reshape = traits(Arity::unary, Params::none, Linearity::linear, Kind::restructure);
constexpr auto learned = traits(Arity::unary, Params::some, Linearity::linear, Kind::none);

// Checks what the traits promise on a real input: ParamFree modules own no parameters; Linear
// (affine) ones satisfy f(ax + by) = a f(x) + b f(y) - (a + b - 1) f(0); Elementwise ones commute
// with permutations of the input's elements.
template <class M>
void check(M module, const torch::Tensor& x, modify::Traits expected) {
  CAPTURE(module->name());
  CHECK(modify::traits_of<M> == expected);
  torch::manual_seed(0);
  auto model = modify::Sequential(module);  // usable as-is
  model->eval();
  torch::NoGradGuard no_grad;
  auto f = [&](const torch::Tensor& input) { return model(input); };
  CHECK(module->parameters().empty() == (expected.params == Params::none));
  if (!x.is_floating_point()) return;
  if (expected.linearity == Linearity::linear) {
    auto y = torch::randn_like(x);
    const double a = 0.7, b = -1.3;
    auto lhs = f(a * x + b * y);
    auto rhs = a * f(x) + b * f(y) - (a + b - 1) * f(torch::zeros_like(x));
    CHECK(torch::allclose(lhs, rhs, 1e-4, 1e-4));
  }
  if (expected.kind == Kind::elementwise || expected.kind == Kind::identity) {
    auto permutation = torch::randperm(x.numel());
    auto permuted_then_f = f(x.flatten().index({permutation}).view(x.sizes())).flatten();
    auto f_then_permuted = f(x).flatten().index({permutation});
    CHECK(torch::allclose(permuted_then_f, f_then_permuted));
  }
}

}  // namespace

TEST_CASE("learned maps") {
  check(nn::Linear(5, 3), torch::randn({4, 5}), traits(Arity::unary, Params::some, Linearity::linear, Kind::vector));
  check(nn::Conv1d(2, 3, 3), torch::randn({1, 2, 8}), learned);
  check(nn::Conv2d(2, 3, 3), torch::randn({1, 2, 6, 6}), learned);
  check(nn::Conv3d(2, 3, 3), torch::randn({1, 2, 4, 4, 4}), learned);
  check(nn::ConvTranspose1d(2, 3, 3), torch::randn({1, 2, 5}), learned);
  check(nn::ConvTranspose2d(2, 3, 3), torch::randn({1, 2, 5, 5}), learned);
  check(nn::ConvTranspose3d(2, 3, 3), torch::randn({1, 2, 3, 3, 3}), learned);
  check(nn::Embedding(10, 4), torch::randint(10, {3, 2}), learned);
  check(nn::EmbeddingBag(10, 4), torch::randint(10, {3, 2}), learned);
}

TEST_CASE("binary and ternary LibTorch modules take tuples") {
  auto bilinear = nn::Bilinear(3, 4, 2);
  CHECK(modify::traits_of<nn::Bilinear> == traits(Arity::binary, Params::some, Linearity::nonlinear, Kind::none));
  auto a = torch::randn({5, 3}), b = torch::randn({5, 4});
  CHECK(torch::equal(modify::Sequential(bilinear)(std::tuple{a, b}), bilinear(a, b)));

  auto attention = nn::MultiheadAttention(8, 2);
  CHECK(modify::traits_of<nn::MultiheadAttention> ==
        traits(Arity::ternary, Params::some, Linearity::nonlinear, Kind::none));
  auto q = torch::randn({4, 1, 8});
  auto self_attention = modify::Sequential(modify::Copy<3>(), attention);
  auto [out, weights] = self_attention(q);
  auto [expected, expected_weights] = attention(q, q, q);
  CHECK(torch::allclose(out, expected));
  CHECK((weights.sizes() == torch::IntArrayRef{1, 4, 4}));

  auto unpool = nn::MaxUnpool1d(2);
  CHECK(modify::traits_of<nn::MaxUnpool1d> == traits(Arity::binary, Params::none, Linearity::linear, Kind::none));
  auto [pooled, indices] = nn::MaxPool1d(nn::MaxPool1dOptions(2))->forward_with_indices(torch::randn({1, 1, 6}));
  CHECK((modify::Sequential(unpool)(std::tuple{pooled, indices}).sizes() == torch::IntArrayRef{1, 1, 6}));
}

TEST_CASE("activations") {
  auto x = torch::randn({3, 7});
  check(nn::ELU(), x, activation);
  check(nn::SELU(), x, activation);
  check(nn::CELU(), x, activation);
  check(nn::GELU(), x, activation);
  check(nn::Hardshrink(), x, activation);
  check(nn::Hardtanh(), x, activation);
  check(nn::LeakyReLU(), x, activation);
  check(nn::LogSigmoid(), x, activation);
  check(nn::Mish(), x, activation);
  check(nn::PReLU(), x, traits(Arity::unary, Params::some, Linearity::nonlinear, Kind::elementwise));
  check(nn::ReLU(), x, activation);
  check(nn::ReLU6(), x, activation);
  check(nn::RReLU(), x, activation);
  check(nn::SiLU(), x, activation);
  check(nn::Sigmoid(), x, activation);
  check(nn::Softplus(), x, activation);
  check(nn::Softshrink(), x, activation);
  check(nn::Softsign(), x, activation);
  check(nn::Tanh(), x, activation);
  check(nn::Tanhshrink(), x, activation);
  check(nn::Threshold(0.1, 20.0), x, activation);
  check(nn::Softmax(1), x, vector_op);
  check(nn::Softmin(1), x, vector_op);
  check(nn::LogSoftmax(1), x, vector_op);
  check(nn::Softmax2d(), torch::randn({1, 3, 4, 4}), vector_op);
  check(nn::GLU(), torch::randn({3, 8}), vector_op);
}

TEST_CASE("dropout variants") {
  auto x = torch::randn({2, 3, 4, 4});
  check(nn::Dropout(), x, traits(Arity::unary, Params::none, Linearity::linear, Kind::elementwise));
  check(nn::AlphaDropout(), x, traits(Arity::unary, Params::none, Linearity::linear, Kind::elementwise));
  check(nn::Dropout2d(), x, linear_pool);
  check(nn::Dropout3d(), torch::randn({1, 2, 3, 4, 4}), linear_pool);
  check(nn::FeatureAlphaDropout(), x, linear_pool);
}

TEST_CASE("pooling") {
  auto x1 = torch::randn({1, 2, 8}), x2 = torch::randn({1, 2, 8, 8}), x3 = torch::randn({1, 2, 4, 4, 4});
  check(nn::AvgPool1d(2), x1, linear_pool);
  check(nn::AvgPool2d(2), x2, linear_pool);
  check(nn::AvgPool3d(2), x3, linear_pool);
  check(nn::AdaptiveAvgPool1d(3), x1, linear_pool);
  check(nn::AdaptiveAvgPool2d(3), x2, linear_pool);
  check(nn::AdaptiveAvgPool3d(2), x3, linear_pool);
  check(nn::MaxPool1d(2), x1, nonlinear_pool);
  check(nn::MaxPool2d(2), x2, nonlinear_pool);
  check(nn::MaxPool3d(2), x3, nonlinear_pool);
  check(nn::AdaptiveMaxPool1d(3), x1, nonlinear_pool);
  check(nn::AdaptiveMaxPool2d(3), x2, nonlinear_pool);
  check(nn::AdaptiveMaxPool3d(2), x3, nonlinear_pool);
  check(nn::FractionalMaxPool2d(nn::FractionalMaxPool2dOptions(2).output_size(4)), x2, nonlinear_pool);
  check(nn::FractionalMaxPool3d(nn::FractionalMaxPool3dOptions(2).output_size(2)), x3, nonlinear_pool);
  check(nn::LPPool1d(2, 2), x1, nonlinear_pool);
  check(nn::LPPool2d(2, 2), x2, nonlinear_pool);
}

TEST_CASE("restructuring and padding") {
  auto x = torch::randn({2, 4, 6, 6});
  check(nn::Identity(), x, traits(Arity::unary, Params::none, Linearity::linear, Kind::identity));
  check(nn::Flatten(), x, reshape);
  check(nn::Unflatten(nn::UnflattenOptions(1, {2, 2})), x, reshape);
  check(nn::PixelShuffle(2), x, reshape);
  check(nn::PixelUnshuffle(2), x, reshape);
  check(nn::Unfold(nn::UnfoldOptions({2, 2})), x, reshape);
  check(nn::Fold(nn::FoldOptions({3, 3}, {2, 2})), torch::randn({1, 8, 4}), linear_pool);
  check(nn::ZeroPad2d(1), x, reshape);
  check(nn::ConstantPad1d(1, 2.0), torch::randn({2, 3, 4}), reshape);
  check(nn::ConstantPad2d(1, 2.0), x, reshape);
  check(nn::ConstantPad3d(1, 2.0), torch::randn({1, 2, 3, 3, 3}), reshape);
  check(nn::ReflectionPad1d(1), torch::randn({2, 3, 4}), reshape);
  check(nn::ReflectionPad2d(1), x, reshape);
  check(nn::ReflectionPad3d(1), torch::randn({1, 2, 3, 3, 3}), reshape);
  check(nn::ReplicationPad1d(1), torch::randn({2, 3, 4}), reshape);
  check(nn::ReplicationPad2d(1), x, reshape);
  check(nn::ReplicationPad3d(1), torch::randn({1, 2, 3, 3, 3}), reshape);
  check(nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2})), x, linear_pool);
}

TEST_CASE("a module type with no declared traits is not a modify Module") {
  static_assert(!modify::Module<nn::LSTM>);
  static_assert(!modify::Module<int>);
  static_assert(modify::Module<nn::Linear> && modify::Module<nn::LinearImpl>);
}
