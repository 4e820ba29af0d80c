// Tests for modify/ops/normalization.hpp: the parameter-free norms against PyTorch's affine=False
// modules, norm + ElementwiseAffine against PyTorch's affine modules (fixtures written by
// tests/fixtures/generate_norms_attention.py), split_affine's sharing, and the trait claims.
#include <modify/modify.hpp>

#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "fixtures.hpp"

namespace {

namespace nn = torch::nn;
using modify::get;

const modify_test::Fixture& norms() {
  static const modify_test::Fixture fixture("norms.pt");
  return fixture;
}

// fp32 parity with PyTorch (same kernels, same inputs): 1e-5 relative, 1e-6 absolute.
bool close(const torch::Tensor& actual, const torch::Tensor& expected, double rtol = 1e-5, double atol = 1e-6) {
  if (actual.sizes() != expected.sizes() || actual.scalar_type() != expected.scalar_type()) {
    MESSAGE("shape/dtype differ: " << actual.sizes() << " " << actual.scalar_type() << " vs " << expected.sizes() << " "
                                   << expected.scalar_type());
    return false;
  }
  const bool ok = torch::allclose(actual, expected, rtol, atol);
  if (!ok) MESSAGE("max abs difference " << (actual - expected).abs().max().item<double>());
  return ok;
}

bool same_tensor(const torch::Tensor& a, const torch::Tensor& b) {
  return a.defined() && a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl();
}

std::string last_component(const std::string& key) { return key.substr(key.rfind('.') + 1); }

// Replays the generator's norm_case on `model`: three training steps (outputs, then the
// gradients of the last w.r.t. its input and `params`), the running buffers, one eval step.
template <class M>
void replay(const std::string& name, M model, const std::vector<std::pair<std::string, torch::Tensor>>& params = {}) {
  CAPTURE(name);
  const auto& f = norms();
  model->train();
  for (int i = 0; i < 3; ++i) {
    const std::string step = std::to_string(i);
    auto x = f[name + ".x" + step].clone().requires_grad_(true);
    auto y = model(x);
    CHECK(close(y, f[name + ".train.out" + step]));
    if (i == 2) {
      std::vector<torch::Tensor> inputs{x};
      for (const auto& p : params) inputs.push_back(p.second);
      auto grads = torch::autograd::grad({(y * f[name + ".train.upstream"]).sum()}, inputs);
      CHECK(close(grads[0], f[name + ".train.grad_x"]));
      for (std::size_t j = 0; j < params.size(); ++j) {
        CAPTURE(params[j].first);
        CHECK(close(grads[j + 1], f[name + ".train.grad_" + params[j].first]));
      }
    }
  }
  // The running statistics after three steps: the same buffers, the same values.
  std::size_t expected_buffers = 0;
  for (const char* b : {"running_mean", "running_var", "num_batches_tracked"})
    expected_buffers += f.contains(name + "." + b);
  const auto buffers = model->named_buffers();
  CHECK(buffers.size() == expected_buffers);
  for (const auto& b : buffers) {
    CAPTURE(b.key());
    const auto& expected = f[name + "." + last_component(b.key())];
    if (expected.scalar_type() == torch::kLong) CHECK(torch::equal(b.value(), expected));
    else CHECK(close(b.value(), expected));
  }
  model->eval();
  auto x = f[name + ".eval.x"].clone().requires_grad_(true);
  auto y = model(x);
  CHECK(close(y, f[name + ".eval.out"]));
  auto grads = torch::autograd::grad({(y * f[name + ".eval.upstream"]).sum()}, {x});
  CHECK(close(grads[0], f[name + ".eval.grad_x"]));
}

// A norm followed by an ElementwiseAffine whose weight (and bias) are the fixture's.
template <class Norm>
void replay_affine(const std::string& name, Norm norm, modify::ElementwiseAffine affine) {
  {
    torch::NoGradGuard no_grad;
    affine->weight.copy_(norms()[name + ".weight"]);
    if (affine->bias.defined()) affine->bias.copy_(norms()[name + ".bias"]);
  }
  std::vector<std::pair<std::string, torch::Tensor>> params{{"weight", affine->weight}};
  if (affine->bias.defined()) params.emplace_back("bias", affine->bias);
  replay(name, modify::Sequential(norm, affine), params);
}

}  // namespace

TEST_CASE("each norm matches PyTorch's affine=False module: training steps, running statistics, eval, gradients") {
  replay("batchnorm1d", modify::BatchNorm1d(4));
  replay("batchnorm1d_3d", modify::BatchNorm1d(modify::BatchNormOptions(3).momentum(0.3)));
  replay("batchnorm1d_cma", modify::BatchNorm1d(modify::BatchNormOptions(3).momentum(c10::nullopt)));
  replay("batchnorm2d", modify::BatchNorm2d(3));
  replay("batchnorm2d_notrack", modify::BatchNorm2d(modify::BatchNormOptions(2).track_running_stats(false)));
  replay("batchnorm3d", modify::BatchNorm3d(modify::BatchNormOptions(3).eps(1e-3)));
  replay("instancenorm1d", modify::InstanceNorm1d(4));
  replay("instancenorm1d_unbatched", modify::InstanceNorm1d(4));
  replay("instancenorm2d_track",
         modify::InstanceNorm2d(modify::InstanceNormOptions(2).momentum(0.2).track_running_stats(true)));
  replay("instancenorm3d", modify::InstanceNorm3d(2));
  replay("groupnorm", modify::GroupNorm(2, 6));
  replay("layernorm", modify::LayerNorm({5}));
  replay("layernorm2", modify::LayerNorm(modify::LayerNormOptions({4, 5}).eps(1e-3)));
  replay("rmsnorm", modify::RMSNorm({8}));
  replay("rmsnorm2", modify::RMSNorm(modify::RMSNormOptions({4, 8}).eps(1e-6)));
}

TEST_CASE("norm + ElementwiseAffine matches PyTorch's affine norm with the same weights, gradients included") {
  replay_affine("batchnorm1d_affine", modify::BatchNorm1d(4), modify::ElementwiseAffine::channels(4));
  replay_affine("batchnorm2d_affine", modify::BatchNorm2d(3), modify::ElementwiseAffine::channels(3));
  replay_affine("instancenorm2d_affine",
                modify::InstanceNorm2d(modify::InstanceNormOptions(2).track_running_stats(true)),
                modify::ElementwiseAffine::channels(2));
  replay_affine("groupnorm_affine", modify::GroupNorm(3, 6), modify::ElementwiseAffine::channels(6));
  replay_affine("layernorm_affine", modify::LayerNorm({4, 5}), modify::ElementwiseAffine({4, 5}));
  replay_affine("rmsnorm_weight", modify::RMSNorm(modify::RMSNormOptions({8}).eps(1e-6)),
                modify::ElementwiseAffine({8}, /*bias=*/false));
}

TEST_CASE("norm + ElementwiseAffine state dicts have PyTorch's names once the positions are dropped") {
  auto names_of = [](const auto& model) {
    std::set<std::string> names;
    for (const auto& p : model->named_parameters()) names.insert(last_component(p.key()));
    for (const auto& b : model->named_buffers()) names.insert(last_component(b.key()));
    return names;
  };
  // PyTorch's own state dict keys, as the generator saved them (beside the inputs x0..x2).
  auto saved = [](const std::string& name) {
    std::set<std::string> names;
    for (const auto& item : norms().tensors()) {
      if (item.first.rfind(name + ".", 0) != 0) continue;
      const std::string rest = item.first.substr(name.size() + 1);
      const bool input = rest.size() == 2 && rest[0] == 'x';  // x0, x1, x2: the training inputs
      if (rest.find('.') == std::string::npos && !input) names.insert(rest);
    }
    return names;
  };
  auto bn = modify::Sequential(modify::BatchNorm2d(3), modify::ElementwiseAffine::channels(3));
  CHECK(names_of(bn) == saved("batchnorm2d_affine"));
  CHECK((names_of(bn) == std::set<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  CHECK((bn->named_parameters().keys() == std::vector<std::string>{"1.weight", "1.bias"}));
  auto ln = modify::Sequential(modify::LayerNorm({4, 5}), modify::ElementwiseAffine({4, 5}));
  CHECK(names_of(ln) == saved("layernorm_affine"));
  CHECK(names_of(modify::Sequential(modify::GroupNorm(3, 6), modify::ElementwiseAffine::channels(6))) ==
        saved("groupnorm_affine"));
  // Without tracking, there are no running buffers at all (PyTorch registers None, which it does not save).
  CHECK(modify::BatchNorm2d(modify::BatchNormOptions(2).track_running_stats(false))->named_buffers().is_empty());
  CHECK(modify::InstanceNorm2d(2)->named_buffers().is_empty());
  auto bn_buffers = modify::BatchNorm1d(5)->named_buffers();
  const auto& tracked = bn_buffers["num_batches_tracked"];
  CHECK((tracked.scalar_type() == torch::kLong));
  CHECK(tracked.dim() == 0);
}

TEST_CASE("the norms own no parameters and are NonLinear; ElementwiseAffine is Param, Linear, Elementwise") {
  using namespace modify::trait;
  static_assert(ParamFree<modify::BatchNorm1d> && ParamFree<modify::BatchNorm2d> && ParamFree<modify::BatchNorm3d>);
  static_assert(ParamFree<modify::InstanceNorm1d> && ParamFree<modify::InstanceNorm2d> &&
                ParamFree<modify::InstanceNorm3d>);
  static_assert(ParamFree<modify::GroupNorm> && ParamFree<modify::LayerNorm> && ParamFree<modify::RMSNorm>);
  static_assert(NonLinear<modify::BatchNorm2d> && NonLinear<modify::LayerNorm> && NonLinear<modify::RMSNorm> &&
                NonLinear<modify::GroupNorm> && NonLinear<modify::InstanceNorm1d>);
  static_assert(Unary<modify::BatchNorm2d> && Unary<modify::RMSNorm>);
  static_assert(Unary<modify::ElementwiseAffine> && Param<modify::ElementwiseAffine> &&
                Linear<modify::ElementwiseAffine> && Elementwise<modify::ElementwiseAffine>);
  // A norm followed by its affine part is Param and NonLinear, as PyTorch's affine norm.
  static_assert(Param<decltype(modify::split_affine(nn::BatchNorm2d(3)))> &&
                NonLinear<decltype(modify::split_affine(nn::BatchNorm2d(3)))>);

  CHECK(modify::BatchNorm1d(4)->parameters().empty());
  CHECK(modify::BatchNorm2d(4)->parameters().empty());
  CHECK(modify::BatchNorm3d(4)->parameters().empty());
  CHECK(modify::InstanceNorm1d(modify::InstanceNormOptions(4).track_running_stats(true))->parameters().empty());
  CHECK(modify::InstanceNorm2d(4)->parameters().empty());
  CHECK(modify::InstanceNorm3d(4)->parameters().empty());
  CHECK(modify::GroupNorm(2, 4)->parameters().empty());
  CHECK(modify::LayerNorm({4})->parameters().empty());
  CHECK(modify::RMSNorm({4})->parameters().empty());

  // NonLinear is honest: normalising is not affine (f(2x) = f(x), not 2 f(x) - f(0)).
  auto ln = modify::LayerNorm({6});
  auto x = torch::randn({3, 6});
  CHECK_FALSE(torch::allclose(ln(2 * x), 2 * ln(x) - ln(torch::zeros_like(x)), 1e-3, 1e-3));
}

TEST_CASE("ElementwiseAffine: x * weight + bias, affine in x, each output element depending on its own input element") {
  SUBCASE("trailing dims") {
    auto affine = modify::ElementwiseAffine({3, 4});
    CHECK((affine->weight.sizes() == torch::IntArrayRef{3, 4}));
    CHECK(torch::equal(affine->weight, torch::ones({3, 4})));
    CHECK(torch::equal(affine->bias, torch::zeros({3, 4})));
    torch::NoGradGuard no_grad;
    affine->weight.copy_(torch::randn({3, 4}));
    affine->bias.copy_(torch::randn({3, 4}));
    auto x = torch::randn({2, 5, 3, 4});
    CHECK(torch::allclose(affine(x), x * affine->weight + affine->bias));
  }
  SUBCASE("channels on dim 1") {
    auto affine = modify::ElementwiseAffine::channels(3);
    torch::NoGradGuard no_grad;
    affine->weight.copy_(torch::randn({3}));
    affine->bias.copy_(torch::randn({3}));
    auto x = torch::randn({2, 3, 4, 5});
    CHECK(torch::allclose(affine(x), x * affine->weight.view({3, 1, 1}) + affine->bias.view({3, 1, 1})));
    auto flat = torch::randn({6, 3});  // BatchNorm1d's [N, C]
    CHECK(torch::allclose(affine(flat), flat * affine->weight + affine->bias));
  }
  SUBCASE("no bias") {
    auto affine = modify::ElementwiseAffine({4}, false);
    CHECK((affine->named_parameters().keys() == std::vector<std::string>{"weight"}));
    CHECK_FALSE(affine->bias.defined());
  }

  // The trait claims on random parameters (at init they would hold trivially).
  for (auto affine : {modify::ElementwiseAffine({4, 5}), modify::ElementwiseAffine::channels(4),
                      modify::ElementwiseAffine({5}, false)}) {
    CAPTURE(affine);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : affine->parameters()) p.copy_(torch::randn_like(p));
    }
    torch::NoGradGuard no_grad;
    auto f = [&](const torch::Tensor& input) { return affine(input); };
    auto x = torch::randn({3, 4, 5}), y = torch::randn({3, 4, 5});
    const double a = 0.7, b = -1.3;
    CHECK(torch::allclose(f(a * x + b * y), a * f(x) + b * f(y) - (a + b - 1) * f(torch::zeros_like(x)), 1e-5, 1e-5));
    // Elementwise: changing one input element changes that output element and no other.
    auto bumped = x.clone();
    bumped[1][2][3] += 1.0;
    auto changed = (f(bumped) != f(x));
    CHECK(changed.sum().item<int64_t>() == 1);
    CHECK(changed[1][2][3].item<bool>());
  }
}

TEST_CASE("bad inputs are run-time errors naming the module's path and the shapes") {
  auto model = modify::Sequential(nn::Linear(4, 4), modify::named<"norm">(modify::BatchNorm2d(4)));
  try {
    model(torch::randn({2, 4}));
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "norm");
    CHECK(e.reason().find("BatchNorm2d expects a 4D input, got 2D input [2, 4]") != std::string::npos);
  }
  auto affine = modify::Sequential(modify::named<"ln">(modify::LayerNorm({4})),
                                   modify::named<"scale">(modify::ElementwiseAffine({5})));
  try {
    affine(torch::randn({2, 4}));
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "scale");
    CHECK(e.reason().find("shape [5]") != std::string::npos);
    CHECK(e.reason().find("[2, 4]") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(modify::RMSNorm({8})(torch::randn({2, 4})),
                       doctest::Contains("RMSNorm with normalized_shape [8] expects an input [*, 8], got [2, 4]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(modify::GroupNorm(2, 6)(torch::randn({2, 4, 3})), doctest::Contains("[N, 6, *], got [2, 4, 3]"),
                       std::invalid_argument);
  CHECK_THROWS_AS(modify::GroupNorm(4, 6), std::invalid_argument);
  CHECK_THROWS_WITH(modify::InstanceNorm2d(2)(torch::randn({2, 2})), doctest::Contains("got 2D input [2, 2]"));
  // As PyTorch: a single value per channel cannot be normalised in training.
  CHECK_THROWS_WITH(modify::BatchNorm1d(3)(torch::randn({1, 3})), doctest::Contains("more than 1 value per channel"));
  CHECK_THROWS_WITH(modify::InstanceNorm1d(3)(torch::randn({2, 3, 1})), doctest::Contains("more than 1 spatial element"));
}

TEST_CASE("RMSNorm computes in float for half and bfloat16 inputs, and returns their dtype") {
  auto norm = modify::RMSNorm({8});
  auto x = torch::randn({3, 8}).to(torch::kBFloat16);
  auto y = norm(x);
  CHECK((y.scalar_type() == torch::kBFloat16));
  auto xf = x.to(torch::kFloat);
  auto expected = (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + std::numeric_limits<float>::epsilon())).to(torch::kBFloat16);
  CHECK(torch::equal(y, expected));
  auto xd = torch::randn({2, 8}, torch::kDouble);
  CHECK(torch::allclose(norm(xd), xd * torch::rsqrt(xd.pow(2).mean(-1, true) + std::numeric_limits<double>::epsilon())));
}

namespace {
template <class Torch>
void randomise(Torch& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters()) p.copy_(torch::randn_like(p));
}

// split_affine(m) shares m's tensors, computes m's function in train and eval mode, and a change
// made through one is seen through the other.
template <class Torch>
void check_split(Torch torch_norm, const torch::Tensor& x) {
  CAPTURE(torch_norm);
  randomise(torch_norm);
  auto split = modify::split_affine(torch_norm);
  auto& norm = get<0>(split);
  auto& affine = get<1>(split);
  CHECK(same_tensor(affine->weight, torch_norm->weight));
  CHECK(same_tensor(affine->bias, torch_norm->bias));
  const auto torch_buffers = torch_norm->named_buffers();
  std::size_t shared = 0;
  for (const auto& b : norm->named_buffers()) {
    CAPTURE(b.key());
    CHECK(same_tensor(b.value(), torch_buffers[b.key()]));
    ++shared;
  }
  std::size_t tracked = 0;
  for (const auto& b : torch_buffers) tracked += b.value().defined();
  CHECK(shared == tracked);
  CHECK(torch_norm->weight.requires_grad());

  // Training mode: the same outputs; both steps update the one set of running statistics.
  CHECK(split->is_training());
  CHECK(torch::allclose(split(x), torch_norm(x), 1e-5, 1e-6));
  // Eval mode (the pair starts in the module's mode, and follows its own train()/eval() after).
  torch_norm->eval();
  split->eval();
  CHECK(torch::allclose(split(x), torch_norm(x), 1e-5, 1e-6));
  {
    torch::NoGradGuard no_grad;
    affine->weight.mul_(2);  // through the split model...
  }
  CHECK(torch::allclose(split(x), torch_norm(x), 1e-5, 1e-6));  // ...seen by the LibTorch module
  torch_norm->train();
}
}  // namespace

TEST_CASE("split_affine: the pair shares the LibTorch module's weight, bias and running buffers") {
  check_split(nn::BatchNorm1d(4), torch::randn({6, 4}));
  check_split(nn::BatchNorm1d(4), torch::randn({3, 4, 5}));
  check_split(nn::BatchNorm2d(nn::BatchNormOptions(3).momentum(0.3)), torch::randn({2, 3, 4, 4}));
  check_split(nn::BatchNorm3d(2), torch::randn({2, 2, 3, 3, 3}));
  check_split(nn::InstanceNorm1d(nn::InstanceNormOptions(3).affine(true)), torch::randn({2, 3, 6}));
  check_split(nn::InstanceNorm2d(nn::InstanceNormOptions(3).affine(true).track_running_stats(true)),
              torch::randn({2, 3, 4, 4}));
  check_split(nn::InstanceNorm3d(nn::InstanceNormOptions(2).affine(true)), torch::randn({2, 2, 3, 3, 3}));
  check_split(nn::GroupNorm(2, 6), torch::randn({2, 6, 5}));
  check_split(nn::LayerNorm(nn::LayerNormOptions({4, 5})), torch::randn({3, 4, 5}));

  SUBCASE("one training step through the pair moves the LibTorch module's statistics") {
    auto bn = nn::BatchNorm2d(3);
    auto split = modify::split_affine(bn);
    split(torch::randn({4, 3, 2, 2}) * 3 + 1);
    CHECK(bn->num_batches_tracked.item<int64_t>() == 1);
    CHECK_FALSE(torch::equal(bn->running_mean, torch::zeros({3})));
  }
  SUBCASE("the pair starts in the module's mode") {
    auto bn = nn::BatchNorm1d(3);
    bn->eval();
    auto split = modify::split_affine(bn);
    CHECK_FALSE(get<0>(split)->is_training());
    CHECK_FALSE(get<1>(split)->is_training());
  }
  SUBCASE("norm_from converts a norm without an affine part; each function refuses the other kind") {
    auto bn = nn::BatchNorm2d(nn::BatchNormOptions(3).affine(false));
    auto norm = modify::norm_from(bn);
    static_assert(std::is_same_v<decltype(norm), modify::BatchNorm2d>);
    CHECK(same_tensor(norm->running_var, bn->running_var));
    CHECK_THROWS_WITH_AS(modify::split_affine(bn), doctest::Contains("has no affine part"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(modify::norm_from(nn::LayerNorm(nn::LayerNormOptions({3}))),
                         doctest::Contains("use modify::split_affine"), std::invalid_argument);
    auto ln = modify::norm_from(nn::LayerNorm(nn::LayerNormOptions({3}).elementwise_affine(false).eps(1e-3)));
    CHECK(ln->options.eps() == 1e-3);
  }
  SUBCASE("the options carry over") {
    auto split = modify::split_affine(
        nn::BatchNorm1d(nn::BatchNormOptions(3).eps(1e-3).momentum(c10::nullopt).track_running_stats(false)));
    const auto& o = get<0>(split)->options;
    CHECK(o.eps() == 1e-3);
    CHECK_FALSE(o.momentum().has_value());
    CHECK_FALSE(o.track_running_stats());
    CHECK(get<1>(split)->options.dim() == 1);
  }
}

TEST_CASE("ElementwiseAffine can be frozen (and so adapted around by LoRA): detached, same tensors") {
  auto model = modify::Sequential(modify::named<"fc">(nn::Linear(5, 5)), modify::named<"ln">(modify::LayerNorm({5})),
                                  modify::named<"affine">(modify::ElementwiseAffine({5})));
  randomise(get<"affine">(model));
  auto frozen = modify::freeze(model, modify::select::type<modify::ElementwiseAffine>);
  static_assert(modify::count(frozen, modify::select::frozen) == 1);
  auto x = torch::randn({3, 5});
  CHECK(torch::equal(frozen(x), model(x)));
  CHECK(same_tensor(frozen->named_parameters()["affine.weight"], get<"affine">(model)->weight));
  frozen(x).sum().backward();
  CHECK(get<"fc">(model)->weight.grad().defined());
  CHECK_FALSE(get<"affine">(model)->weight.grad().defined());
  CHECK(get<"affine">(model)->weight.requires_grad());

  auto adapted = modify::lora(model, {.rank = 2}, modify::select::path<"fc">);
  static_assert(modify::count(adapted, modify::select::frozen) == 1);  // the affine part
  for (const auto& p : modify::trainable_parameters(adapted))
    CHECK_FALSE((same_tensor(p, get<"affine">(model)->weight) || same_tensor(p, get<"affine">(model)->bias)));
  CHECK(torch::allclose(adapted(x), model(x)));
}

TEST_CASE("clone, save and load keep the buffers; printing shows the options") {
  auto model = modify::Sequential(modify::BatchNorm1d(3), modify::ElementwiseAffine::channels(3));
  model(torch::randn({5, 3}) + 2);
  auto copy = modify::clone(model);
  CHECK(torch::equal(get<0>(copy)->running_mean, get<0>(model)->running_mean));
  CHECK_FALSE(same_tensor(get<0>(copy)->running_mean, get<0>(model)->running_mean));
  CHECK(get<0>(copy)->num_batches_tracked.item<int64_t>() == 1);

  std::stringstream archive;
  torch::save(model, archive);
  auto loaded = modify::Sequential(modify::BatchNorm1d(3), modify::ElementwiseAffine::channels(3));
  torch::load(loaded, archive);
  CHECK(torch::equal(get<0>(loaded)->running_var, get<0>(model)->running_var));

  std::ostringstream out;
  out << modify::BatchNorm2d(modify::BatchNormOptions(4).momentum(c10::nullopt)) << ' ' << modify::RMSNorm({8}) << ' '
      << modify::ElementwiseAffine::channels(4);
  CHECK(out.str() ==
        "modify::BatchNorm2d(4, eps=1e-05, momentum=None, track_running_stats=true) modify::RMSNorm([8], eps=None) "
        "modify::ElementwiseAffine([4], bias=true, dim=1)");
}
