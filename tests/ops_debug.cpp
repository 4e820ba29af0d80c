// Tests for modify/ops/debug.hpp: Print, PrintShape, Breakpoint and AssertShape return their input
// itself, report what they promise, and are Identity kind, ParamFree, Linear.
#include <modify/modify.hpp>

#include <csignal>
#include <sstream>

#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
using modify::Arity;
namespace nn = torch::nn;

template <class M>
constexpr bool debug_traits(Arity arity) {
  return modify::traits_of<M> == modify::Traits{arity, modify::Params::none, modify::Linearity::linear,
                                                modify::Kind::identity};
}
}  // namespace

TEST_CASE("debug modules are Identity kind, ParamFree and Linear, for tensors or for tuples") {
  static_assert(debug_traits<modify::Print<>>(Arity::unary) && debug_traits<modify::PrintShape<>>(Arity::unary) &&
                debug_traits<modify::Breakpoint<>>(Arity::unary) && debug_traits<modify::AssertShape>(Arity::unary));
  static_assert(debug_traits<modify::Print<Arity::tuple>>(Arity::tuple) &&
                debug_traits<modify::PrintShape<Arity::binary>>(Arity::binary) &&
                debug_traits<modify::Breakpoint<Arity::ternary>>(Arity::ternary));
  static_assert(modify::trait::Identity<modify::Print<>> && modify::trait::Restructure<modify::AssertShape> &&
                modify::trait::Elementwise<modify::PrintShape<>>);
  // Deduction: Print() and Print("x") are Print<Arity::unary>.
  static_assert(std::is_same_v<decltype(modify::Print("x")), modify::Print<Arity::unary>>);
  static_assert(std::is_same_v<decltype(modify::Breakpoint()), modify::Breakpoint<Arity::unary>>);
  std::ostringstream sink;
  CHECK(modify::Print("", sink)->parameters().empty());
  CHECK(modify::PrintShape("", sink)->parameters().empty());
  CHECK(modify::Breakpoint("", sink)->parameters().empty());
  CHECK(modify::AssertShape({-1})->parameters().empty());
}

TEST_CASE("each debug module returns the very tensors it receives") {
  std::ostringstream sink;
  auto x = torch::randn({2, 3});
  CHECK(modify::Print("x", sink)(x).is_same(x));
  CHECK(modify::PrintShape("x", sink)(x).is_same(x));
  CHECK(modify::Breakpoint("x", sink)(x).is_same(x));
  CHECK(modify::AssertShape({2, 3})(x).is_same(x));
  auto a = torch::randn({2}), b = torch::randn({3});
  auto [pa, pb] = modify::PrintShape<Arity::tuple>("pair", sink)(std::tuple{a, b});
  CHECK((pa.is_same(a) && pb.is_same(b)));
  auto [qa, qb] = modify::Print<Arity::tuple>("pair", sink)(std::tuple{a, b});
  CHECK((qa.is_same(a) && qb.is_same(b)));

  // Inside a model they change nothing, gradients included.
  auto plain = modify::Sequential(nn::Linear(3, 4), nn::Tanh(), nn::Linear(4, 2));
  auto debugged = modify::Sequential(modify::get<0>(plain), modify::AssertShape({-1, 4}), modify::PrintShape("h", sink),
                                     modify::get<1>(plain), modify::Print("h", sink), modify::Breakpoint("", sink),
                                     modify::get<2>(plain));
  auto input = torch::randn({5, 3}, torch::requires_grad());
  auto out = debugged(input);
  CHECK(torch::equal(out, plain(input)));
  auto grad = torch::autograd::grad({out.sum()}, {input})[0];
  CHECK(torch::equal(grad, torch::autograd::grad({plain(input).sum()}, {input})[0]));
}

TEST_CASE("Print prints every tensor of the value under its label") {
  std::ostringstream out;
  auto x = torch::tensor({1.5f, -2.0f});
  modify::Print("after fc1", out)(x);
  const std::string printed = out.str();
  CHECK(printed.rfind("after fc1:\n", 0) == 0);
  CHECK(printed.find("1.5000") != std::string::npos);
  CHECK(printed.find("-2.0000") != std::string::npos);
  CHECK(printed.find("CPUFloatType{2}") != std::string::npos);

  std::ostringstream nested;
  modify::Print<Arity::tuple>("", nested)(std::tuple{torch::tensor({7}), std::tuple{torch::tensor({8}), torch::tensor({9})}});
  const std::string n = nested.str();
  const auto first = n.find("value[0]:\n 7\n"), second = n.find("value[1][0]:\n 8\n"), third = n.find("value[1][1]:\n 9\n");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(third != std::string::npos);
  CHECK((first < second && second < third));
}

TEST_CASE("PrintShape prints shapes, dtypes and devices, a nested tuple indented") {
  std::ostringstream out;
  modify::PrintShape("x", out)(torch::zeros({2, 3}));
  CHECK(out.str() == "x: [2, 3] Float cpu\n");

  std::ostringstream nested;
  auto value = std::tuple{torch::zeros({2, 3}), std::tuple{torch::zeros({4}, torch::kLong), torch::zeros({}, torch::kDouble)}};
  auto model = modify::Sequential(modify::PrintShape<Arity::binary>("qkv", nested));
  model(value);
  CHECK(nested.str() ==
        "qkv: tuple of 2\n"
        "  [0] [2, 3] Float cpu\n"
        "  [1] tuple of 2\n"
        "    [0] [4] Long cpu\n"
        "    [1] [] Double cpu\n");

  // At a tuple's place in a residual connection.
  std::ostringstream residual;
  auto block = modify::Sequential(modify::Copy<2>(), modify::PrintShape<Arity::binary>("", residual),
                                  modify::Parallel(modify::Identity(), nn::Linear(3, 3)), modify::Add());
  block(torch::zeros({1, 3}));
  CHECK(residual.str() == "tuple of 2\n  [0] [1, 3] Float cpu\n  [1] [1, 3] Float cpu\n");
}

TEST_CASE("Breakpoint without a debugger: a note, once per module") {
  REQUIRE_FALSE(modify::debugger_attached());  // (run the suite outside a debugger)
  std::ostringstream note;
  auto bp = modify::Breakpoint("before attention", note);
  auto x = torch::randn({3});
  CHECK(bp(x).is_same(x));
  CHECK(bp(x).is_same(x));
  CHECK(note.str() ==
        "modify: Breakpoint 'before attention' reached with no debugger attached; continuing (this note is shown "
        "once)\n");
  std::ostringstream other;
  modify::Breakpoint("", other)(x);
  CHECK(other.str().rfind("modify: Breakpoint reached", 0) == 0);
}

TEST_CASE("Breakpoint under a tracer raises SIGTRAP, and the forward continues afterwards") {
  std::ostringstream note;
  auto bp = modify::Breakpoint("traced", note);
  auto x = torch::randn({3});
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child asks to be traced by the test process, which now counts as its debugger.
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(77);
    const bool ok = modify::debugger_attached() && bp(x).is_same(x) && note.str().empty();
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    MESSAGE("ptrace is not permitted here; the SIGTRAP path was not exercised");
    return;
  }
  REQUIRE(WIFSTOPPED(status));
  CHECK(WSTOPSIG(status) == SIGTRAP);  // stopped by Breakpoint's raise, as a debugger would be
  ptrace(PTRACE_CONT, child, nullptr, nullptr);
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("AssertShape checks ndim, sizes with wildcards, dtype and device") {
  auto x = torch::zeros({2, 4, 8});
  CHECK(modify::AssertShape({-1, 4, 8})(x).is_same(x));
  CHECK(modify::AssertShape({-1, -1, -1})(x).is_same(x));
  CHECK(modify::AssertShape(modify::AssertShapeOptions().ndim(3).dtype(torch::kFloat).device(torch::kCPU))(x).is_same(x));
  CHECK(modify::AssertShape(modify::AssertShapeOptions().device(torch::Device(torch::kCPU)))(x).is_same(x));

  CHECK_THROWS_WITH_AS(modify::AssertShape({-1, 3, 8})(x),
                       "modify: AssertShape: expected [*, 3, 8], got [2, 4, 8] Float (dim 1 is 4, not 3)",
                       std::runtime_error);
  CHECK_THROWS_WITH(modify::AssertShape({2, 4})(x), "modify: AssertShape: expected [2, 4], got [2, 4, 8] Float (it has 3 "
                                                    "dims, not 2)");
  CHECK_THROWS_WITH(modify::AssertShape(modify::AssertShapeOptions().ndim(2))(x),
                    "modify: AssertShape: expected a 2-dim tensor, got [2, 4, 8] Float (it has 3 dims, not 2)");
  CHECK_THROWS_WITH(modify::AssertShape(modify::AssertShapeOptions().shape({2, 4, 8}).dtype(torch::kDouble))(x),
                    "modify: AssertShape: expected [2, 4, 8] Double, got [2, 4, 8] Float (its dtype is Float, not Double)");
  CHECK_THROWS_WITH(modify::AssertShape(modify::AssertShapeOptions().device(torch::kCUDA))(x),
                    "modify: AssertShape: expected a tensor on cuda, got [2, 4, 8] Float (its device is cpu, not cuda)");
  CHECK_THROWS_AS(modify::AssertShape(modify::AssertShapeOptions().ndim(2).shape({1, 2, 3})), std::invalid_argument);
  CHECK_THROWS_AS(modify::AssertShape({-2, 3}), std::invalid_argument);

  // Inside a model, the failure names the module's path, and the message names both shapes.
  auto model = modify::Sequential(modify::named<"fc">(nn::Linear(8, 6)),
                                  modify::named<"check">(modify::AssertShape({-1, 4, 5})));
  try {
    model(x);
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "check");
    CHECK(e.reason() == "modify: AssertShape: expected [*, 4, 5], got [2, 4, 6] Float (dim 2 is 6, not 5)");
    CHECK(std::string(e.what()).find("'check'") != std::string::npos);
  }
}

TEST_CASE("debug modules print as what they are") {
  std::ostringstream out, sink;
  out << modify::AssertShape({-1, 4}) << ' ' << modify::Print("h", sink) << ' ' << modify::PrintShape<Arity::tuple>()
      << ' ' << modify::Breakpoint("b", sink);
  CHECK(out.str() == "modify::AssertShape([*, 4]) modify::Print(\"h\") modify::PrintShape(\"\") modify::Breakpoint(\"b\")");
}
