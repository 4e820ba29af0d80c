// Shared by the tests of modify/ops/*.hpp (not a test file of its own): parity of values and
// gradients with PyTorch's fixtures (tests/fixtures/ops.pt, written by generate_ops.py), and checks
// that each op's declared traits hold on real inputs.
#pragma once

#include <modify/modify.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstddef>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace op_testing {

// ---- Fixtures ----------------------------------------------------------------------------------

// fixtures(): the tensors of ops.pt, read once per process (see tests/fixtures.hpp).
inline const std::map<std::string, torch::Tensor>& fixtures() {
  static const modify_test::Fixture file("ops.pt");
  return file.tensors();
}

inline bool has(const std::string& key) { return fixtures().count(key) != 0; }

inline torch::Tensor fixture(const std::string& key) {
  auto found = fixtures().find(key);
  if (found == fixtures().end()) throw std::runtime_error("no fixture '" + key + "' in ops.pt");
  return found->second;
}

// input(name): one of the generator's fixed inputs.
inline torch::Tensor input(const std::string& name) { return fixture("input/" + name); }

// ---- Values ------------------------------------------------------------------------------------

// tensors(value): the tensors of a value (a tensor or a nested tuple), in order.
inline void collect(std::vector<torch::Tensor>& out, const torch::Tensor& t) { out.push_back(t); }
template <class... Ts>
void collect(std::vector<torch::Tensor>& out, const std::tuple<Ts...>& value) {
  std::apply([&](const auto&... element) { (collect(out, element), ...); }, value);
}
template <class V>
std::vector<torch::Tensor> tensors(const V& value) {
  std::vector<torch::Tensor> out;
  collect(out, value);
  return out;
}

// value_of<N>(xs): xs[0] for N == 1, else the N-tuple of xs.
template <std::size_t N>
auto value_of(const std::vector<torch::Tensor>& xs) {
  if constexpr (N == 1) {
    return xs[0];
  } else {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::tuple<std::enable_if_t<(I < N), torch::Tensor>...>{xs[I]...};
    }(std::make_index_sequence<N>{});
  }
}

// map_value(value, f): the value of the same structure with f applied to each tensor.
template <class F>
torch::Tensor map_value(const torch::Tensor& t, F&& f) {
  return f(t);
}
template <class... Ts, class F>
std::tuple<Ts...> map_value(const std::tuple<Ts...>& value, F&& f) {
  return std::apply([&](const auto&... element) { return std::tuple<Ts...>{map_value(element, f)...}; }, value);
}
// zip_value(a, b, f): f applied to corresponding tensors of two values of the same structure.
template <class F>
torch::Tensor zip_value(const torch::Tensor& a, const torch::Tensor& b, F&& f) {
  return f(a, b);
}
template <class... Ts, class F>
std::tuple<Ts...> zip_value(const std::tuple<Ts...>& a, const std::tuple<Ts...>& b, F&& f) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<Ts...>{zip_value(std::get<I>(a), std::get<I>(b), f)...};
  }(std::index_sequence_for<Ts...>{});
}

inline bool floating(const torch::Tensor& t) { return t.is_floating_point() || t.is_complex(); }

// names_like(t, model): t with model's dim names, if it has any (scalar arithmetic does not support
// named tensors in LibTorch 1.13, so the checks compute unnamed and name the result).
inline torch::Tensor unnamed(const torch::Tensor& t) { return t.has_names() ? t.rename(c10::nullopt) : t; }
inline torch::Tensor names_like(const torch::Tensor& t, const torch::Tensor& model) {
  return model.has_names() ? t.refine_names(model.names()) : t;
}

// real_view(t): t's real components (a complex tensor as pairs of reals; no conjugate bit, no names).
inline torch::Tensor real_view(torch::Tensor t) {
  t = t.resolve_conj();
  if (t.has_names()) t = t.rename(c10::nullopt);
  return t.is_complex() ? torch::view_as_real(t) : t;
}

// call(f, value): f(value), through a Sequential when f is a module, so that the module is also shown
// to be usable as-is in a container.
template <class F, class V>
auto call(F& f, const V& value) {
  if constexpr (modify::Module<F>) return modify::Sequential(f)(value);
  else return f(value);
}

// ---- Comparison --------------------------------------------------------------------------------

// The parity tolerance for fp32: relative 1e-5, with an absolute floor of 1e-6 for elements near 0.
inline constexpr double rtol = 1e-5, atol = 1e-6;

// mismatch(actual, expected, rtol, atol): empty if the tensors agree (same shape and dtype; equal for
// integer and bool tensors; allclose for floating ones), else what differs.
inline std::string mismatch(torch::Tensor actual, const torch::Tensor& expected, double rtol_ = rtol,
                            double atol_ = atol) {
  std::ostringstream why;
  actual = actual.resolve_conj();
  if (actual.has_names()) actual = actual.rename(c10::nullopt);
  if (actual.sizes() != expected.sizes()) {
    why << "shape " << actual.sizes() << " instead of " << expected.sizes();
  } else if (actual.scalar_type() != expected.scalar_type()) {
    why << "dtype " << actual.scalar_type() << " instead of " << expected.scalar_type();
  } else if (!floating(expected)) {
    if (!torch::equal(actual, expected)) why << "different values";
  } else if (!torch::allclose(actual, expected, rtol_, atol_)) {
    auto a = real_view(actual).to(torch::kDouble), e = real_view(expected).to(torch::kDouble);
    auto relative = ((a - e).abs() / e.abs().clamp_min(atol_)).max().item<double>();
    why << "values differ: max |a - e| = " << (a - e).abs().max().item<double>() << ", max relative " << relative;
  }
  return why.str();
}

// ---- Parity with PyTorch -----------------------------------------------------------------------

// Parity p("group"): p.check(case, module, input names...) runs the module on the fixture inputs (one
// name: a tensor; several: a tuple) and compares its outputs, and the gradients of
// sum_k sum(real_view(out_k) * w_k) with respect to each floating input, with PyTorch's. p.all_checked()
// fails for each case of the group in ops.pt that no check() covered.
class Parity {
 public:
  explicit Parity(std::string group, double rtol_ = rtol) : group_(std::move(group)), rtol_(rtol_) {}

  template <class F, class... Names>
  void check(const std::string& name, F f, const Names&... names) {
    static_assert(sizeof...(Names) > 0);
    const std::string key = group_ + "/" + name;
    CAPTURE(key);
    checked_.insert(name);
    if (!has(key + "/out0")) {
      FAIL_CHECK("no fixture for " << key << " (add the case to tests/fixtures/generate_ops.py)");
      return;
    }
    std::vector<torch::Tensor> xs;
    for (const std::string& n : {std::string(names)...}) {
      auto x = input(n).clone();
      xs.push_back(floating(x) ? x.requires_grad_(true) : x);
    }
    auto outs = tensors(call(f, value_of<sizeof...(Names)>(xs)));

    torch::Tensor loss;
    for (std::size_t k = 0; k < outs.size(); ++k) {
      const std::string out_key = key + "/out" + std::to_string(k);
      CAPTURE(out_key);
      if (!has(out_key)) {
        FAIL_CHECK("the module makes more outputs than PyTorch");
        continue;
      }
      CHECK_MESSAGE(mismatch(outs[k], fixture(out_key), rtol_).empty(), mismatch(outs[k], fixture(out_key), rtol_));
      if (floating(outs[k]) && has(key + "/w" + std::to_string(k))) {
        auto term = (real_view(outs[k]) * fixture(key + "/w" + std::to_string(k))).sum();
        loss = loss.defined() ? loss + term : term;
      }
    }
    CHECK_MESSAGE(!has(key + "/out" + std::to_string(outs.size())), "the module makes fewer outputs than PyTorch");

    std::vector<torch::Tensor> wrt;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (xs[i].requires_grad()) wrt.push_back(xs[i]), index.push_back(i);
    if (!loss.defined() || wrt.empty()) {
      CHECK_MESSAGE(!has(key + "/grad0"), "PyTorch has a gradient here");
      return;
    }
    if (has(key + "/nograd")) {  // PyTorch implements no derivative: neither does LibTorch
      CHECK_THROWS(torch::autograd::grad({loss}, wrt, {}, true, false, true));
      return;
    }
    auto grads = torch::autograd::grad({loss}, wrt, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                       /*allow_unused=*/true);
    for (std::size_t j = 0; j < wrt.size(); ++j) {
      const std::string grad_key = key + "/grad" + std::to_string(index[j]);
      CAPTURE(grad_key);
      auto grad = grads[j].defined() ? grads[j] : torch::zeros_like(wrt[j]);
      const auto expected = fixture(grad_key);
      CHECK_MESSAGE(mismatch(grad, expected, rtol_).empty(), mismatch(grad, expected, rtol_));
    }
  }

  // all_checked(): every case of the group in ops.pt has been checked.
  void all_checked() const {
    const std::string prefix = group_ + "/";
    std::set<std::string> cases;
    for (const auto& [key, tensor] : fixtures()) {
      if (key.rfind(prefix, 0) != 0) continue;
      cases.insert(key.substr(prefix.size(), key.rfind('/') - prefix.size()));
    }
    CHECK(!cases.empty());
    for (const auto& c : cases) {
      CAPTURE(c);
      CHECK_MESSAGE(checked_.count(c) == 1, "a case of ops.pt has no C++ check");
    }
  }

 private:
  std::string group_;
  double rtol_;
  std::set<std::string> checked_;
};

// ---- Trait claims ------------------------------------------------------------------------------

// affine_identity(f, x, y, a, b): whether f(ax + by) = a f(x) + b f(y) - (a + b - 1) f(0) holds
// (compared in double, so that integer outputs compare too).
template <class F, class X>
bool affine_identity(F& f, const X& x, const X& y, double a, double b) {
  auto combine = [&](const X& p, const X& q) {
    return zip_value(p, q, [&](const torch::Tensor& u, const torch::Tensor& v) {
      return names_like(a * unnamed(u) + b * unnamed(v), u);
    });
  };
  auto lhs = tensors(call(f, combine(x, y)));
  auto fx = tensors(call(f, x)), fy = tensors(call(f, y));
  // f(0) only matters when a + b != 1 (f may not be defined at 0, e.g. an inverse).
  const bool uses_f0 = std::abs(a + b - 1) > 1e-12;
  std::vector<torch::Tensor> f0;
  if (uses_f0) f0 = tensors(call(f, map_value(x, [](const torch::Tensor& u) {
                                 return names_like(torch::zeros_like(unnamed(u)), u);
                               })));
  for (std::size_t k = 0; k < lhs.size(); ++k) {
    auto as_double = [](const torch::Tensor& t) { return real_view(t).to(torch::kDouble); };
    auto rhs = a * as_double(fx[k]) + b * as_double(fy[k]);
    if (uses_f0) rhs = rhs - (a + b - 1) * as_double(f0[k]);
    if (!torch::allclose(as_double(lhs[k]), rhs, 1e-4, 1e-4)) return false;
  }
  return true;
}

// check_claims(module, x, expected): the module's traits are `expected`, and they hold on input x
// (a tensor or a tuple of tensors): a ParamFree module owns no parameters; a Linear one satisfies the
// affine identity on random inputs shaped like x, and a NonLinear one violates it (on the convex
// combination 0.3 x + 0.7 y, y being x flipped, so that x's domain is kept); an Elementwise one
// commutes with a permutation of its input's elements; a Restructure one (not the identity) outputs
// only elements of its input, or zeros.
template <class M, class X>
void check_claims(M module, const X& x, modify::Traits expected) {
  CAPTURE(module->name());
  CHECK(modify::traits_of<M> == expected);
  CHECK(module->parameters().empty() == (expected.params == modify::Params::none));
  torch::NoGradGuard no_grad;
  const auto inputs = tensors(x);
  bool combinable = true;
  for (const auto& t : inputs) combinable = combinable && floating(t);

  if (combinable && expected.linearity == modify::Linearity::linear) {
    auto y = map_value(x, [](const torch::Tensor& u) { return names_like(torch::randn_like(unnamed(u)), u); });
    CHECK_MESSAGE(affine_identity(module, x, y, 0.7, -1.3), "a Linear module is not affine");
  }
  if (combinable && expected.linearity == modify::Linearity::nonlinear) {
    // y: x flipped along every dim, so that y is in x's domain (a well-conditioned matrix stays one:
    // the diagonal maps onto itself).
    auto y = map_value(x, [](const torch::Tensor& u) {
      std::vector<int64_t> every(static_cast<std::size_t>(u.dim()));
      for (std::size_t i = 0; i < every.size(); ++i) every[i] = static_cast<int64_t>(i);
      return u.flip(every);
    });
    CHECK_MESSAGE(!affine_identity(module, x, y, 0.3, 0.7), "a NonLinear module is affine on these inputs");
  }
  if (expected.kind == modify::Kind::elementwise || expected.kind == modify::Kind::identity) {
    const auto n = inputs.front().numel();
    auto permutation = torch::randperm(n);
    auto permuted = map_value(x, [&](const torch::Tensor& u) {
      REQUIRE(u.numel() == n);
      return u.flatten().index({permutation}).view(u.sizes());
    });
    auto after = tensors(call(module, permuted)), before = tensors(call(module, x));
    // Close, not equal: a vectorised kernel may round an element differently from the scalar one
    // used for the tail of the tensor, and a permutation moves elements between the two.
    auto elements = [](const torch::Tensor& t) { return unnamed(t.resolve_conj()).flatten(); };
    for (std::size_t k = 0; k < after.size(); ++k)
      CHECK_MESSAGE(torch::allclose(elements(after[k]), elements(before[k]).index({permutation}), 1e-6, 1e-7),
                    "an Elementwise module does not commute with permutations");
  }
  if (expected.kind == modify::Kind::restructure) {
    std::vector<torch::Tensor> pool{torch::zeros({1}, torch::kDouble)};
    for (const auto& t : inputs) pool.push_back(real_view(t).flatten().to(torch::kDouble));
    auto elements = torch::cat(pool);
    for (const auto& out : tensors(call(module, x)))
      CHECK_MESSAGE(torch::isin(real_view(out).flatten().to(torch::kDouble), elements).all().template item<bool>(),
                    "a Restructure module outputs a value that is not an element of its input");
  }
}

// text_of(module): what `std::cout << module` prints.
template <class M>
std::string text_of(const M& module) {
  std::ostringstream out;
  out << *module;
  return out.str();
}

}  // namespace op_testing
