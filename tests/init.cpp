// Tests for modify/init.hpp: each distribution's statistics on large tensors, reproducibility under
// torch::manual_seed, user callables, the Linear/Conv/Embedding builders and initialize().
#include <modify/init.hpp>
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

namespace init = modify::init;

namespace {

// A large tensor filled by `how`: 10^6 samples, so sample means and stds are within ~0.003 sigma
// of the truth with overwhelming probability; the bounds below are several times that.
at::Tensor sample(const init::Init& how, at::IntArrayRef shape = {1000, 1000}) {
  at::Tensor t = torch::empty(shape);
  how(t);
  return t;
}

double sample_mean(const at::Tensor& t) { return t.mean().item<double>(); }
double sample_std(const at::Tensor& t) { return t.std().item<double>(); }

}  // namespace

TEST_CASE("Normal, Uniform and TruncatedNormal have the requested moments and bounds") {
  torch::manual_seed(0);
  const auto normal = sample(init::Normal{0.5, 2.0});
  CHECK(std::abs(sample_mean(normal) - 0.5) < 0.02);
  CHECK(std::abs(sample_std(normal) - 2.0) < 0.02);

  const auto uniform = sample(init::Uniform{-3, 1});
  CHECK(uniform.min().item<double>() >= -3);
  CHECK(uniform.max().item<double>() <= 1);
  CHECK(std::abs(sample_mean(uniform) + 1) < 0.02);
  CHECK(std::abs(sample_std(uniform) - 4 / std::sqrt(12.0)) < 0.01);

  // N(0, 1) truncated to [-0.5, 1]: mean (phi(a) - phi(b)) / Z and variance from the textbook formulas.
  const double a = -0.5, b = 1.0;
  auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * M_PI); };
  auto Phi = [](double x) { return (1 + std::erf(x / std::sqrt(2.0))) / 2; };
  const double z = Phi(b) - Phi(a), expected_mean = (phi(a) - phi(b)) / z;
  const double expected_var = 1 + (a * phi(a) - b * phi(b)) / z - expected_mean * expected_mean;
  const auto truncated = sample(init::TruncatedNormal{0, 1, a, b});
  CHECK(truncated.min().item<double>() >= a);
  CHECK(truncated.max().item<double>() <= b);
  CHECK(std::abs(sample_mean(truncated) - expected_mean) < 0.01);
  CHECK(std::abs(sample_std(truncated) - std::sqrt(expected_var)) < 0.01);
  const auto shifted = sample(init::TruncatedNormal{3, 0.5, 2.5, 3.5});
  CHECK(shifted.min().item<double>() >= 2.5);
  CHECK(shifted.max().item<double>() <= 3.5);
  CHECK(std::abs(sample_mean(shifted) - 3) < 0.01);
}

TEST_CASE("Kaiming and Xavier scale with the fans, the gain and the mode") {
  torch::manual_seed(1);
  const double fan_in = 2000, fan_out = 500;  // a [500, 2000] weight
  const auto relu_uniform = sample(init::Kaiming{.nonlinearity = torch::kReLU}, {500, 2000});
  const double bound = std::sqrt(2.0) * std::sqrt(3 / fan_in);
  CHECK(relu_uniform.abs().max().item<double>() <= bound);
  CHECK(std::abs(sample_std(relu_uniform) - std::sqrt(2 / fan_in)) < 0.01 * std::sqrt(2 / fan_in));
  const auto fan_out_normal =
      sample(init::Kaiming{.distribution = init::Kaiming::Distribution::normal, .mode = torch::kFanOut, .nonlinearity = torch::kReLU},
             {500, 2000});
  CHECK(std::abs(sample_std(fan_out_normal) - std::sqrt(2 / fan_out)) < 0.01 * std::sqrt(2 / fan_out));
  CHECK(std::abs(sample_mean(fan_out_normal)) < 0.01 * std::sqrt(2 / fan_out) * 5);

  const double xavier_std = 2 * std::sqrt(2 / (fan_in + fan_out));
  const auto xavier_normal = sample(init::Xavier{.distribution = init::Xavier::Distribution::normal, .gain = 2}, {500, 2000});
  CHECK(std::abs(sample_std(xavier_normal) - xavier_std) < 0.01 * xavier_std);
  const auto xavier_uniform = sample(init::Xavier{.gain = 2}, {500, 2000});
  CHECK(xavier_uniform.abs().max().item<double>() <= xavier_std * std::sqrt(3.0));
  CHECK(std::abs(sample_std(xavier_uniform) - xavier_std) < 0.01 * xavier_std);
}

TEST_CASE("Zeros, Ones, Constant and user callables") {
  CHECK(torch::equal(sample(init::Zeros{}, {3, 2}), torch::zeros({3, 2})));
  CHECK(torch::equal(sample(init::Ones{}, {3, 2}), torch::ones({3, 2})));
  CHECK(torch::equal(sample(init::Constant{0.25}, {3, 2}), torch::full({3, 2}, 0.25)));
  // In place, or returning the values; never recorded by autograd.
  auto w = torch::empty({2, 3}, torch::requires_grad());
  init::Init([](at::Tensor& t) { t.copy_(torch::arange(6).reshape({2, 3})); })(w);
  CHECK(torch::equal(w, torch::arange(6, torch::kFloat).reshape({2, 3})));
  CHECK(w.grad_fn() == nullptr);
  init::Init([](const at::Tensor& t) { return torch::eye(t.size(0), t.size(1)); })(w);
  CHECK(torch::equal(w, torch::eye(2, 3)));
  CHECK_THROWS_WITH_AS(init::Init([](const at::Tensor&) { return torch::ones({4}); })(w), doctest::Contains("another shape"),
                       std::invalid_argument);
  CHECK_FALSE(bool(init::Init{}));
}

TEST_CASE("initialisation is reproducible under torch::manual_seed") {
  auto make = [](uint64_t seed) {
    torch::manual_seed(seed);
    return modify::Linear(16, 8, {.weight_init = init::TruncatedNormal{0, 0.02, -0.04, 0.04}, .bias_init = init::Normal{0, 1}});
  };
  auto a = make(7), b = make(7), c = make(8);
  CHECK(torch::equal(a->weight, b->weight));
  CHECK(torch::equal(a->bias, b->bias));
  CHECK_FALSE(torch::equal(a->weight, c->weight));
}

TEST_CASE("Linear, Conv and Embedding builders apply their inits, keeping LibTorch's where none is given") {
  torch::manual_seed(2);
  auto fc = modify::Linear(4, 3, {.bias = false, .weight_init = init::Ones{}});
  CHECK(torch::equal(fc->weight, torch::ones({3, 4})));
  CHECK_FALSE(fc->bias.defined());
  CHECK(fc->weight.requires_grad());
  auto default_bias = modify::Linear(400, 3, {.weight_init = init::Zeros{}});
  CHECK(default_bias->bias.abs().max().item<double>() <= 1 / std::sqrt(400.0));  // LibTorch's own U(-1/sqrt(in), 1/sqrt(in))
  CHECK(default_bias->bias.abs().max().item<double>() > 0);

  auto conv1 = modify::Conv1d(torch::nn::Conv1dOptions(2, 3, 3), {.bias_init = init::Constant{0.5}});
  CHECK(torch::equal(conv1->bias, torch::full({3}, 0.5)));
  auto conv2 = modify::Conv2d(torch::nn::Conv2dOptions(2, 3, 3), {.weight_init = init::Zeros{}, .bias_init = init::Ones{}});
  CHECK(torch::equal(conv2->weight, torch::zeros({3, 2, 3, 3})));
  CHECK(torch::equal(conv2->bias, torch::ones({3})));
  auto conv3 = modify::Conv3d(torch::nn::Conv3dOptions(1, 2, 2), {.weight_init = init::Constant{-1}});
  CHECK(torch::equal(conv3->weight, torch::full({2, 1, 2, 2, 2}, -1.0)));

  auto embedding = modify::Embedding(torch::nn::EmbeddingOptions(10, 4).padding_idx(3), init::Normal{0, 1});
  CHECK(torch::equal(embedding->weight[3], torch::zeros({4})));
  CHECK(embedding->weight[2].abs().sum().item<double>() > 0);
}

TEST_CASE("initialize re-initialises the selected modules only, by path or by type") {
  torch::manual_seed(3);
  auto model = modify::Sequential(modify::named<"embed">(torch::nn::Embedding(10, 4)), modify::named<"fc1">(torch::nn::Linear(4, 8)),
                                  modify::named<"act">(torch::nn::ReLU()), modify::named<"fc2">(torch::nn::Linear(8, 2)));
  const auto embed_before = model->named_parameters()["embed.weight"].clone();
  modify::initialize(model, modify::select::type<torch::nn::Linear>, init::Zeros{}, init::Ones{});
  CHECK(torch::equal(model->named_parameters()["fc1.weight"], torch::zeros({8, 4})));
  CHECK(torch::equal(model->named_parameters()["fc2.bias"], torch::ones({2})));
  CHECK(torch::equal(model->named_parameters()["embed.weight"], embed_before));
  modify::initialize(model, modify::select::name<"fc2">, init::Constant{2});
  CHECK(torch::equal(model->named_parameters()["fc2.weight"], torch::full({2, 8}, 2.0)));
  CHECK(torch::equal(model->named_parameters()["fc2.bias"], torch::ones({2})));  // no bias_init: kept
  CHECK(torch::equal(model->named_parameters()["fc1.weight"], torch::zeros({8, 4})));
  CHECK_THROWS_WITH_AS(modify::initialize(model, modify::select::name<"embed">, init::Zeros{}, init::Zeros{}),
                       doctest::Contains("module 'embed' has no bias"), std::invalid_argument);
}
