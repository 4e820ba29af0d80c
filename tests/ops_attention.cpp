// Tests for modify/ops/attention.hpp: ScaledDotProductAttention against PyTorch references
// (fixtures by tests/fixtures/generate_norms_attention.py), and nanoGPT's causal self-attention
// block and its residual block built purely from modify modules, checked against nanoGPT's
// PyTorch code with the same weights.
#include <modify/modify.hpp>

#include <limits>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "fixtures.hpp"

namespace {

namespace nn = torch::nn;

const modify_test::Fixture& attention() {
  static const modify_test::Fixture fixture("attention.pt");
  return fixture;
}

// fp32 parity with PyTorch: 1e-5 relative, 1e-6 absolute (matmul/softmax in the same kernels).
bool close(const torch::Tensor& actual, const torch::Tensor& expected, double rtol = 1e-5, double atol = 1e-6) {
  if (actual.sizes() != expected.sizes()) {
    MESSAGE("shapes differ: " << actual.sizes() << " vs " << expected.sizes());
    return false;
  }
  const bool ok = torch::allclose(actual, expected, rtol, atol);
  if (!ok) MESSAGE("max abs difference " << (actual - expected).abs().max().item<double>());
  return ok;
}

modify::SDPA causal() { return modify::SDPA(modify::SDPAOptions().causal(true)); }

// nanoGPT's CausalSelfAttention as a modify model: [B, T, C] -> [B, T, C].
auto causal_self_attention(int64_t C, int64_t H) {
  const int64_t D = C / H;
  return modify::Sequential(modify::named<"c_attn">(nn::Linear(C, 3 * C)),     // [B, T, 3C]
                            modify::ViewUnMerge(2, 3, C),                      // [B, T, 3, C]: q | k | v
                            modify::ViewUnMerge(3, H, D),                      // [B, T, 3, H, D]
                            modify::Transpose(1, 2),                           // [B, 3, T, H, D]
                            modify::Transpose(2, 3),                           // [B, 3, H, T, D]
                            modify::UnBind<3>(1),                              // (q, k, v), each [B, H, T, D]
                            causal(),                                          // [B, H, T, D]
                            modify::Transpose(1, 2),                           // [B, T, H, D]
                            modify::ViewMerge(2, 3),                           // [B, T, C]
                            modify::named<"c_proj">(nn::Linear(C, C)));
}

// nanoGPT's `x + attn(ln_1(x))`. The LayerNorm's affine part is the child named "ln_1", so the
// parameter names are nanoGPT's behind the residual's "1.1." (the parameter-free norm has none).
auto residual_attention_block(int64_t C, int64_t H) {
  return modify::Sequential(
      modify::Copy<2>(),
      modify::Parallel(modify::Identity(),
                       modify::Sequential(modify::named<"ln_1_norm">(modify::LayerNorm({C})),
                                          modify::named<"ln_1">(modify::ElementwiseAffine({C})),
                                          modify::named<"attn">(causal_self_attention(C, H)))),
      modify::Add());
}

}  // namespace

TEST_CASE("ScaledDotProductAttention is Ternary, ParamFree, NonLinear") {
  static_assert(modify::trait::Ternary<modify::SDPA> && modify::trait::ParamFree<modify::SDPA> &&
                modify::trait::NonLinear<modify::SDPA>);
  CHECK(causal()->parameters().empty());
  CHECK(modify::SDPA()->named_buffers().is_empty());
  // An explicit mask is a buffer (not a parameter), so it moves with the module.
  auto masked = modify::SDPA(modify::SDPAOptions().mask(torch::ones({4, 4}, torch::kBool)));
  CHECK(masked->parameters().empty());
  CHECK((masked->named_buffers().keys() == std::vector<std::string>{"attn_mask"}));
}

TEST_CASE("SDPA matches the reference for each mask option, and its gradients") {
  const auto& f = attention();
  auto q = f["sdpa.q"].clone().requires_grad_(true), k = f["sdpa.k"].clone().requires_grad_(true),
       v = f["sdpa.v"].clone().requires_grad_(true);
  auto out = causal()(std::tuple{q, k, v});
  CHECK(close(out, f["sdpa.causal.out"]));
  auto grads = torch::autograd::grad({(out * f["sdpa.causal.upstream"]).sum()}, {q, k, v});
  CHECK(close(grads[0], f["sdpa.causal.grad_q"]));
  CHECK(close(grads[1], f["sdpa.causal.grad_k"]));
  CHECK(close(grads[2], f["sdpa.causal.grad_v"]));

  torch::NoGradGuard no_grad;
  const std::tuple qkv{f["sdpa.q"], f["sdpa.k"], f["sdpa.v"]};
  CHECK(close(modify::SDPA()(qkv), f["sdpa.none.out"]));
  CHECK(close(modify::SDPA(modify::SDPAOptions().mask(f["sdpa.bool_mask.mask"]))(qkv), f["sdpa.bool_mask.out"]));
  CHECK(close(modify::SDPA(modify::SDPAOptions().mask(f["sdpa.additive_mask.mask"]))(qkv), f["sdpa.additive_mask.out"]));
  CHECK(close(modify::SDPA(modify::SDPAOptions().causal(true).scale(0.3))(qkv), f["sdpa.scale.out"]));
  // Fewer queries than keys: the causal mask is top-left aligned (query i sees keys 0..i).
  auto first_queries = f["sdpa.q"].slice(2, 0, 3);
  CHECK(close(causal()(std::tuple{first_queries, f["sdpa.k"], f["sdpa.v"]}), f["sdpa.causal_rect.out"]));
  // Causal means what it says: changing the last key and value leaves every earlier query's output alone.
  auto k2 = f["sdpa.k"].clone(), v2 = f["sdpa.v"].clone();
  k2.select(2, 4).normal_();
  v2.select(2, 4).normal_();
  auto changed = causal()(std::tuple{f["sdpa.q"], k2, v2});
  CHECK(torch::equal(changed.slice(2, 0, 4), causal()(qkv).slice(2, 0, 4)));
  CHECK_FALSE(torch::allclose(changed.select(2, 4), causal()(qkv).select(2, 4)));
}

TEST_CASE("dropout acts on the attention weights, in training mode only") {
  torch::manual_seed(3);
  const int64_t S = 6;
  auto q = torch::randn({2, 2, S, 4}), k = torch::randn({2, 2, S, 4});
  // With v the identity, the output is the attention weights themselves.
  auto v = torch::eye(S).expand({2, 2, S, S});
  auto exact = causal()(std::tuple{q, k, v});
  CHECK(torch::allclose(exact.sum(-1), torch::ones({2, 2, S})));
  auto dropping = modify::SDPA(modify::SDPAOptions().causal(true).dropout(0.5));
  dropping->eval();
  CHECK(torch::equal(dropping(std::tuple{q, k, v}), exact));
  dropping->train();
  auto dropped = dropping(std::tuple{q, k, v});
  auto kept = dropped != 0;
  CHECK(torch::allclose(dropped.masked_select(kept), 2 * exact.masked_select(kept)));  // kept ones scaled by 1/(1-p)
  CHECK((exact.masked_select(~kept) != 0).any().item<bool>());                        // some weights were dropped
  CHECK(kept.logical_and(exact != 0).any().item<bool>());                              // and some kept
}

TEST_CASE("nanoGPT's causal self-attention and residual block, from modify modules, match nanoGPT in PyTorch") {
  const auto& f = attention();
  const int64_t C = 16, H = 4;
  auto block = residual_attention_block(C, H);
  static_assert(modify::trait::Unary<decltype(block)> && modify::trait::Param<decltype(block)> &&
                modify::trait::NonLinear<decltype(block)>);
  // Load nanoGPT's weights by name: the names are nanoGPT's behind "1.1.".
  std::size_t loaded = 0;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : block->named_parameters()) {
      REQUIRE(p.key().rfind("1.1.", 0) == 0);
      const std::string name = "block." + p.key().substr(4);
      CAPTURE(name);
      REQUIRE(f.contains(name));
      p.value().copy_(f[name]);
      ++loaded;
    }
  }
  CHECK(loaded == 6);  // ln_1.{weight,bias}, attn.c_attn.{weight,bias}, attn.c_proj.{weight,bias}
  block->eval();

  auto x = f["block.x"].clone().requires_grad_(true);
  auto& attn = modify::get<"1.1.attn">(block);
  CHECK(close(attn(f["block.x"]), f["block.attn_out"]));
  auto y = block(x);
  CHECK(close(y, f["block.out"]));
  auto grad = torch::autograd::grad({(y * f["block.upstream"]).sum()}, {x})[0];
  CHECK(close(grad, f["block.grad_x"]));

  // The block is causal end to end: the output at position t does not depend on later positions.
  torch::NoGradGuard no_grad;
  auto later_changed = f["block.x"].clone();
  later_changed.slice(1, 4).normal_();
  CHECK(torch::equal(block(later_changed).slice(1, 0, 4), block(f["block.x"]).slice(1, 0, 4)));
}

TEST_CASE("bad q, k, v shapes and bad options are errors naming the shapes (and the path)") {
  auto model = modify::Sequential(modify::Copy<3>(), modify::named<"sdpa">(causal()));
  CHECK(model(torch::randn({2, 5, 4})).sizes() == torch::IntArrayRef{2, 5, 4});
  auto mismatched = modify::Sequential(modify::named<"attn">(modify::SDPA()));
  try {
    mismatched(std::tuple{torch::randn({1, 2, 5, 8}), torch::randn({1, 2, 5, 4}), torch::randn({1, 2, 5, 4})});
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "attn");
    CHECK(e.reason() ==
          "modify: ScaledDotProductAttention: q and k differ in their last dim (head_dim); got q [1, 2, 5, 8], k [1, 2, 5, "
          "4], v [1, 2, 5, 4]");
  }
  CHECK_THROWS_WITH(modify::SDPA()(std::tuple{torch::randn({1, 5, 4}), torch::randn({1, 5, 4}), torch::randn({1, 6, 4})}),
                    doctest::Contains("k and v differ in their sequence length"));
  CHECK_THROWS_AS(modify::SDPA(modify::SDPAOptions().causal(true).mask(torch::ones({2, 2}, torch::kBool))),
                  std::invalid_argument);
  CHECK_THROWS_AS(modify::SDPA(modify::SDPAOptions().dropout(1.0)), std::invalid_argument);
  CHECK_THROWS_AS(modify::SDPA(modify::SDPAOptions().mask(torch::ones({2, 2}, torch::kLong))), std::invalid_argument);
  std::ostringstream out;
  out << causal();
  CHECK(out.str() == "modify::ScaledDotProductAttention(causal=true, mask=none, dropout=0, scale=1/sqrt(head_dim))");
}

TEST_CASE("SDPA with enable_gqa repeats k and v for each group of query heads, as PyTorch's enable_gqa") {
  torch::manual_seed(5);
  auto q = torch::randn({2, 4, 6, 8}), k = torch::randn({2, 2, 6, 8}), v = torch::randn({2, 2, 6, 8});
  auto gqa = modify::SDPA(modify::SDPAOptions().causal(true).enable_gqa(true));
  // Query heads 0, 1 use key/value head 0; 2, 3 use head 1 (HF's repeat_kv).
  auto repeated = modify::SDPA(modify::SDPAOptions().causal(true))(
      std::tuple{q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1)});
  CHECK(torch::equal(gqa(std::tuple{q, k, v}), repeated));
  CHECK(torch::equal(gqa(std::tuple{q, q, q}), modify::SDPA(modify::SDPAOptions().causal(true))(std::tuple{q, q, q})));
  CHECK_THROWS_WITH(gqa(std::tuple{q, torch::randn({2, 3, 6, 8}), torch::randn({2, 3, 6, 8})}),
                    doctest::Contains("with enable_gqa"));
  std::ostringstream out;
  out << gqa;
  CHECK(out.str() ==
        "modify::ScaledDotProductAttention(causal=true, mask=none, dropout=0, scale=1/sqrt(head_dim), enable_gqa=true)");
}
