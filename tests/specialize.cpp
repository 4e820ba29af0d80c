// Tests for modify/specialize/*.hpp: each pass on its own (through the report and the model's
// type), and whole models against model->eval(), with the original model's tensors unchanged.
#include <modify/modify.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <sstream>
#include <string>

namespace {
namespace nn = torch::nn;
using modify_test::snapshot;
using modify_test::unchanged;

// close(a, b): equal within 1e-5 relative (fp32), with a small absolute floor near zero.
bool close(const at::Tensor& actual, const at::Tensor& expected) {
  const bool ok = actual.sizes() == expected.sizes() && torch::allclose(actual, expected, 1e-5, 1e-6);
  if (!ok && actual.sizes() == expected.sizes())
    MESSAGE("max abs difference " << (actual - expected).abs().max().item<double>());
  return ok;
}

// Running statistics that are not the defaults (0 and 1), so a fold that ignores them fails.
template <class BN>
void randomise_stats(BN& bn) {
  torch::NoGradGuard no_grad;
  bn->running_mean.normal_();
  bn->running_var.uniform_(0.5, 2.0);
}

// An ElementwiseAffine whose parameters are not ones and zeros.
modify::ElementwiseAffine random_affine(std::vector<int64_t> shape) {
  modify::ElementwiseAffine a(modify::ElementwiseAffineOptions(std::move(shape)));
  torch::NoGradGuard no_grad;
  a->weight.normal_();
  a->bias.normal_();
  return a;
}

auto residual(auto block) {
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), block), modify::Add());
}

}  // namespace

TEST_CASE("strip: Dropout, Identity and debug modules are dropped; debug modules kept on request") {
  torch::manual_seed(0);
  auto model = modify::Sequential(nn::Linear(6, 6), nn::Dropout(0.5), modify::PrintShape(), nn::ReLU(),
                                  nn::Dropout2d(0.5), modify::Identity(), nn::Linear(6, 3));
  model->eval();
  const auto x = torch::randn({4, 6});
  auto fast = modify::specialize(model, x);
  CHECK(fast->report.dropped == 4);
  CHECK(close(fast(x), model(x)));
  // Linear, then ReLU in place on its output, then the last Linear: two children remain.
  CHECK(fast->model->children().size() == 2);
  auto kept = modify::specialize<modify::SpecializeOptions{.keep_debug = true}>(model, x);
  CHECK(kept->report.dropped == 3);
  CHECK(kept->model->children().size() == 4);  // PrintShape stands between Linear and ReLU
}

TEST_CASE("lora: adapters are merged into new weights; the adapted model and its base are untouched") {
  torch::manual_seed(1);
  auto base = modify::Sequential(modify::named<"fc">(nn::Linear(8, 16)), nn::GELU(), modify::named<"proj">(nn::Linear(16, 4)));
  auto adapted = modify::lora(base, {.rank = 2, .alpha = 4}, modify::select::type<nn::Linear>);
  {
    torch::NoGradGuard no_grad;  // B starts at zero: make the adapters change the function
    for (auto& p : adapted->named_parameters())
      if (p.key().find("lora_B") != std::string::npos) p.value().normal_();
  }
  adapted->eval();
  const auto before = snapshot(adapted);
  const auto x = torch::randn({3, 8});
  auto fast = modify::specialize(adapted, x);
  CHECK(fast->report.lora_merged == 2);
  CHECK(fast->report.lowered_linear == 2);
  CHECK(fast->report.inplace_activations == 1);  // GELU in place on fc's output
  CHECK(close(fast(x), adapted(x)));
  CHECK(!torch::allclose(adapted(x), base(x)));  // the adapters matter
  CHECK(unchanged(adapted, before));
}

TEST_CASE("fold: BatchNorm1d and ElementwiseAffine after a Linear fold on its output axis; originals unchanged") {
  torch::manual_seed(2);
  modify::BatchNorm1d bn(8);
  randomise_stats(bn);
  auto model = modify::Sequential(modify::named<"fc">(nn::Linear(5, 8)), bn, nn::ReLU(), nn::Linear(8, 8), random_affine({8}));
  model->eval();
  const auto before = snapshot(model);
  const auto x = torch::randn({4, 5});
  auto fast = modify::specialize(model, x);
  // BatchNorm1d acts on dim 1: the Linear's output axis for 2-dim inputs only; the trailing
  // ElementwiseAffine acts on it for any rank.
  CHECK(fast->report.affine_folds == 2);
  CHECK(fast->report.rank_conditional_folds == 1);
  CHECK(fast->report.inplace_activations == 1);
  CHECK(close(fast(x), model(x)));
  CHECK(unchanged(model, before));
  // [2, 8, 5] -> [2, 8, 8]: BatchNorm1d(8) normalises dim 1, not the output axis: run unfolded.
  const auto x3 = torch::randn({2, 8, 5});
  CHECK(close(fast(x3), model(x3)));
}

TEST_CASE("fold: affine maps around a nested Sequential fold into its first and its last Linear") {
  // The maps meet the inner Sequential's first and last children while the outer one is folded.
  // The second (a map after a Sequential that ends in a Linear) once failed to compile.
  torch::manual_seed(7);
  auto inner = modify::Sequential(nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 4));
  auto model = modify::Sequential(random_affine({8}), modify::named<"inner">(inner), random_affine({4}));
  model->eval();
  const auto before = snapshot(model);
  const auto x = torch::randn({3, 8});
  auto fast = modify::specialize(model, x);
  CHECK(fast->report.affine_folds == 2);
  CHECK(fast->report.inplace_activations == 1);
  // The outer Sequential folded into its one child: the inner one, keeping its children's names.
  using modify::inference::AffineMapOp, modify::inference::Folded, modify::inference::LinearOp;
  using FirstThenReLU = modify::inference::Then<Folded<AffineMapOp, LinearOp, LinearOp>, nn::ReLU>;
  static_assert(std::is_same_v<decltype(fast->model),
                               modify::Sequential<modify::Named<"0", FirstThenReLU>,
                                                  modify::Named<"2", Folded<LinearOp, AffineMapOp, LinearOp>>>>);
  CHECK(close(fast(x), model(x)));
  CHECK(unchanged(model, before));
}

TEST_CASE("fold: BatchNorm1d after a Linear on a 3-dim input acts on another axis and is left alone") {
  torch::manual_seed(3);
  modify::BatchNorm1d bn(4);  // dim 1 of [N, 4, 6]: the sequence axis, not the Linear's output axis
  randomise_stats(bn);
  auto model = modify::Sequential(nn::Linear(6, 6), bn);
  model->eval();
  const auto x = torch::randn({2, 4, 6});
  auto fast = modify::specialize(model, x);
  CHECK(fast->report.affine_folds == 0);
  CHECK(fast->report.affine_kept == 1);
  CHECK(close(fast(x), model(x)));
}

TEST_CASE("fold: a CNN with Conv2d + BatchNorm2d + ReLU folds each BatchNorm and runs ReLU in place") {
  torch::manual_seed(4);
  modify::BatchNorm2d bn1(8), bn2(8);
  randomise_stats(bn1);
  randomise_stats(bn2);
  auto model = modify::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 8, 3).padding(1)), bn1, nn::ReLU(),
                                  nn::Conv2d(nn::Conv2dOptions(8, 8, 3).padding(1).bias(false)), bn2,
                                  modify::ElementwiseAffine::channels(8), nn::ReLU(), nn::Flatten(),
                                  nn::Linear(8 * 6 * 6, 10));
  model->eval();
  const auto before = snapshot(model);
  const auto x = torch::randn({2, 1, 6, 6});
  auto fast = modify::specialize(model, x);
  CHECK(fast->report.lowered_conv == 2);
  CHECK(fast->report.affine_folds == 3);  // each BatchNorm2d into its conv, and the second one's affine part
  CHECK(fast->report.inplace_activations == 2);
  CHECK(close(fast(x), model(x)));
  CHECK(unchanged(model, before));
}

TEST_CASE("fold: Linear∘Linear multiplies out when not larger, chains otherwise; scalar maps fold") {
  torch::manual_seed(5);
  // 8 -> 8 -> 8: 64 <= 64 + 64, folded; 16 -> 2 -> 16: 256 > 32 + 32, kept as two stages.
  auto model = modify::Sequential(nn::Linear(8, 8), modify::Scale(0.5), nn::Linear(8, 8), modify::Negative(),
                                  modify::Shift(0.25), nn::Linear(8, 16), nn::Linear(16, 2), nn::Linear(2, 16));
  model->eval();
  const auto before = snapshot(model);
  const auto x = torch::randn({3, 8});
  auto fast = modify::specialize(model, x);
  CHECK(fast->report.affine_folds == 3);
  CHECK(fast->report.linear_folds == 3);
  CHECK(fast->report.linear_chained == 1);
  CHECK(close(fast(x), model(x)));
  CHECK(unchanged(model, before));
  // Scale and Shift before a Linear fold into it too.
  auto front = modify::Sequential(modify::Shift(1.5), modify::Scale(2.0), nn::Linear(8, 4));
  front->eval();
  auto fast_front = modify::specialize(front, x);
  CHECK(fast_front->report.affine_folds == 2);
  CHECK(close(fast_front(x), front(x)));
}

TEST_CASE("residual MLP: in-place residual adds and activations; the input is never written") {
  torch::manual_seed(6);
  auto block = [] { return modify::Sequential(nn::Linear(16, 32), nn::ReLU(), nn::Linear(32, 16)); };
  auto model = modify::Sequential(nn::Linear(8, 16), residual(block()), residual(block()), nn::Linear(16, 4));
  model->eval();
  const auto x = torch::randn({5, 8});
  const auto x_copy = x.clone();
  auto fast = modify::specialize(model, x);
  CHECK(fast->report.inplace_residuals == 2);
  CHECK(fast->report.inplace_activations == 2);
  CHECK(close(fast(x), model(x)));
  CHECK(torch::equal(x, x_copy));
  // A residual whose first op reads the model's input directly: still not written.
  auto direct = residual(modify::Sequential(nn::ReLU(), nn::Linear(8, 8)));
  direct->eval();
  auto fast_direct = modify::specialize(direct, x);
  CHECK(close(fast_direct(x), direct(x)));
  CHECK(torch::equal(x, x_copy));
}

TEST_CASE("residual: modules the strip drops inside the pattern; a Parallel that is not a residual is kept") {
  torch::manual_seed(8);
  auto block = [] { return modify::Sequential(nn::Linear(8, 8), nn::ReLU(), nn::Linear(8, 8)); };
  const auto x = torch::randn({3, 8});
  // A Dropout as the identity branch, and a PrintShape between the branches and the Add.
  std::ostringstream shapes;
  auto noisy = modify::Sequential(modify::Copy<2>(), modify::Parallel(nn::Dropout(0.5), block()),
                                  modify::PrintShape<modify::Arity::tuple>("pair", shapes), modify::Add());
  noisy->eval();
  auto fast_noisy = modify::specialize(noisy, x);
  CHECK(fast_noisy->report.inplace_residuals == 1);
  CHECK(fast_noisy->report.dropped == 2);
  CHECK(fast_noisy->model->name() == "modify::specialize::Residual");
  CHECK(close(fast_noisy(x), noisy(x)));
  // Copy<2>, Parallel(Identity, f) and then a Mul: no residual; the Parallel stays, its branch folded.
  auto product = modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), block()), modify::Mul());
  product->eval();
  auto fast_product = modify::specialize(product, x);
  CHECK(fast_product->report.inplace_residuals == 0);
  CHECK(fast_product->report.inplace_activations == 1);
  CHECK(fast_product->model->children().size() == 3);
  CHECK(close(fast_product(x), product(x)));
}

TEST_CASE("plan: buffers are planned once, re-planned for another shape, and outputs are independent") {
  torch::manual_seed(7);
  auto model = modify::Sequential(nn::Linear(8, 8), nn::ReLU(), nn::Linear(8, 8), nn::Sigmoid(), nn::Linear(8, 3));
  model->eval();
  const auto x = torch::randn({2, 8});
  auto fast = modify::specialize(model, x);
  // Linear∘ReLU∘Linear∘Sigmoid∘Linear: three addmm buffers of [2, 8], [2, 8], [2, 3] floats.
  CHECK(fast->report.buffers == 3);
  CHECK(fast->report.buffer_bytes == (2 * 8 + 2 * 8 + 2 * 3) * sizeof(float));
  const auto y1 = fast(x);
  const auto y2 = fast(x * 2);
  CHECK(close(y1, model(x)));  // not overwritten by the second call
  CHECK(close(y2, model(x * 2)));
  const auto big = torch::randn({7, 3, 8});  // another rank and batch: re-planned
  CHECK(close(fast(big), model(big)));
  CHECK(close(fast(x), model(x)));
  // With return_buffer the output is the buffer itself: the next call overwrites it.
  auto raw = modify::specialize<modify::SpecializeOptions{.return_buffer = true}>(model, x);
  const auto r1 = raw(x);
  raw(x * 2);
  CHECK(close(r1, model(x * 2)));
}

TEST_CASE("sharing: tensors no pass changed are the original's; folded ones are new") {
  torch::manual_seed(8);
  modify::BatchNorm1d bn(4);
  randomise_stats(bn);
  auto model = modify::Sequential(modify::named<"a">(nn::Linear(4, 4)), nn::ReLU(), modify::named<"b">(nn::Linear(4, 4)), bn);
  model->eval();
  auto fast = modify::specialize(model, torch::randn({2, 4}));
  auto params = fast->model->named_parameters();
  auto original = model->named_parameters();
  CHECK(params["a.weight"].is_same(original["a.weight"]));  // untouched: shared
  CHECK(params["a.bias"].is_same(original["a.bias"]));
  CHECK(!params["b.weight"].is_same(original["b.weight"]));  // BatchNorm folded in: new
  // The GEMM reads a transposed contiguous copy made at specialise time: a later change to the
  // original weight is not seen (specialise again), and the specialised model never writes it.
  const auto x = torch::randn({2, 4});
  const auto y = fast(x);
  {
    torch::NoGradGuard no_grad;
    original["a.weight"].mul_(2);
  }
  CHECK(torch::equal(fast(x), y));
  CHECK(!close(model(x), y));
}

TEST_CASE("a GPT-style model with LoRA specialises to the same outputs") {
  torch::manual_seed(9);
  const int64_t C = 32, H = 4, T = 6;
  auto attention = modify::Sequential(
      modify::named<"c_attn">(nn::Linear(C, 3 * C)), modify::ViewUnMerge(2, 3, C), modify::ViewUnMerge(3, H, C / H),
      modify::Transpose(1, 2), modify::Transpose(2, 3), modify::UnBind<3>(1),
      modify::SDPA(modify::SDPAOptions().causal(true)), modify::Transpose(1, 2), modify::ViewMerge(2, 3),
      modify::named<"c_proj">(nn::Linear(C, C)), nn::Dropout(0.1));
  auto mlp = modify::Sequential(modify::named<"c_fc">(nn::Linear(C, 4 * C)), nn::GELU(nn::GELUOptions().approximate("tanh")),
                                modify::named<"c_proj">(nn::Linear(4 * C, C)), nn::Dropout(0.1));
  auto block = modify::Sequential(
      residual(modify::Sequential(modify::LayerNorm({C}), modify::named<"ln_1">(random_affine({C})), modify::named<"attn">(attention))),
      residual(modify::Sequential(modify::LayerNorm({C}), modify::named<"ln_2">(random_affine({C})), modify::named<"mlp">(mlp))));
  auto model = modify::Sequential(modify::named<"h0">(block), modify::LayerNorm({C}), modify::named<"ln_f">(random_affine({C})),
                                  modify::named<"lm_head">(nn::Linear(nn::LinearOptions(C, 50).bias(false))));
  auto adapted = modify::lora(model, {.rank = 4, .alpha = 8}, modify::select::name<"c_attn"> || modify::select::name<"c_fc">);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : adapted->named_parameters())
      if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0, 0.1);
  }
  adapted->eval();
  const auto before = snapshot(adapted);
  const auto x = torch::randn({2, T, C});
  auto fast = modify::specialize(adapted, x);
  CHECK(fast->report.dropped == 2);
  CHECK(fast->report.lora_merged == 2);
  CHECK(fast->report.inplace_residuals == 2);
  CHECK(fast->report.affine_folds == 3);  // ln_1 into c_attn, ln_2 into c_fc, ln_f into lm_head
  CHECK(fast->report.cached_causal_masks == 1);
  CHECK(close(fast(x), adapted(x)));
  const auto longer = torch::randn({1, T + 3, C});  // another sequence length: a new mask, a new plan
  CHECK(close(fast(longer), adapted(longer)));
  CHECK(unchanged(adapted, before));
  // The report prints what each pass did.
  std::ostringstream printed;
  printed << fast->report;
  CHECK(printed.str().find("in-place residual adds: 2") != std::string::npos);
}

TEST_CASE("attention: the causal mask is made once per length, with the same numbers; other attention as it is") {
  torch::manual_seed(5);
  auto causal = modify::Sequential(modify::Copy<3>(), modify::SDPA(modify::SDPAOptions().causal(true)));
  causal->eval();
  auto fast = modify::specialize(causal, torch::randn({2, 4, 7, 8}));
  CHECK(fast->report.cached_causal_masks == 1);
  for (int64_t L : {7, 7, 12, 3}) {  // the same length again, then others (re-made masks)
    const auto x = torch::randn({2, 4, L, 8});
    CHECK(torch::equal(fast(x), causal(x)));
  }
  // An explicit mask is run by the module itself; the mask is the specialised model's buffer too.
  const auto mask = torch::rand({5, 5}) > 0.3;
  auto masked = modify::Sequential(modify::Copy<3>(), modify::SDPA(modify::SDPAOptions().mask(mask | torch::eye(5, torch::kBool))));
  masked->eval();
  auto fast_masked = modify::specialize(masked, torch::randn({1, 5, 4}));
  CHECK(fast_masked->report.cached_causal_masks == 0);
  const auto x = torch::randn({1, 5, 4});
  CHECK(torch::equal(fast_masked(x), masked(x)));
  CHECK(fast_masked->named_buffers().size() == 1);
  CHECK(fast_masked->named_buffers()[0].value().is_same(modify::get<1>(masked)->mask));
  // A bad input gets the module's own error, with the path.
  auto bare = modify::Sequential(modify::SDPA(modify::SDPAOptions().causal(true)));
  bare->eval();
  const auto q = torch::randn({1, 3, 8});
  auto fast_bare = modify::specialize(bare, std::tuple{q, q, q});
  std::string message;
  try {
    fast_bare(std::tuple{q, torch::randn({1, 3, 6}), q});
  } catch (const modify::ForwardError& e) {
    message = e.what();
  }
  CHECK(message.find("module '0'") != std::string::npos);
  CHECK(message.find("q and k differ in their last dim") != std::string::npos);
}

TEST_CASE("misuse at run time: a model in training mode, a BatchNorm without running statistics") {
  auto model = modify::Sequential(nn::Linear(4, 4), nn::ReLU());
  CHECK_THROWS_WITH(modify::specialize(model, torch::randn({1, 4})), doctest::Contains("is in training mode"));
  auto no_stats = modify::Sequential(nn::Linear(4, 4), modify::BatchNorm1d(modify::BatchNormOptions(4).track_running_stats(false)));
  no_stats->eval();
  CHECK_THROWS_WITH(modify::specialize(no_stats, torch::randn({2, 4})), doctest::Contains("'1' keeps no running statistics"));
  // A shape error names the module's path.
  auto fast = modify::specialize(model.get() ? (model->eval(), model) : model, torch::randn({1, 4}));
  CHECK_THROWS_WITH(fast(torch::randn({1, 5})), doctest::Contains("Linear expects 4 input features"));
}
