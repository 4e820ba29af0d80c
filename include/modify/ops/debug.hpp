// Debug modules: Print, PrintShape, Breakpoint and AssertShape. Each returns its input unchanged
// (the same tensor objects) and is Identity kind, ParamFree, Linear, so it can sit anywhere in a
// model without changing what the model computes or what transforms see.
//
// Print, PrintShape and Breakpoint take a tensor by default; give them the arity of the value at
// their place when it is a tuple: modify::PrintShape<modify::Arity::tuple>("qkv") after UnBind<3>.
#pragma once

#include <csignal>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Optional.h>
#include <torch/nn/pimpl.h>

#include <modify/holder.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>
#include <modify/value.hpp>

namespace modify {

namespace detail {
template <Arity A>
inline constexpr Traits debug_traits{A, Params::none, Linearity::linear, Kind::identity};

// print_value(out, value, label): each tensor of a value, under its label ("x", "x[0]", "x[1][0]").
inline void print_value(std::ostream& out, const at::Tensor& t, const std::string& label) {
  out << label << ":\n" << t << '\n';
}
template <class... Ts>
void print_value(std::ostream& out, const std::tuple<Ts...>& value, const std::string& label) {
  std::size_t i = 0;
  std::apply([&](const auto&... element) { ((print_value(out, element, label + '[' + std::to_string(i++) + ']')), ...); },
             value);
}

// print_shape(out, value, indent): one line per tensor (shape, dtype, device), a tuple's elements
// indented below it.
inline void print_shape(std::ostream& out, const at::Tensor& t, std::size_t) {
  if (!t.defined()) {
    out << "undefined tensor\n";
    return;
  }
  out << t.sizes() << ' ' << t.scalar_type() << ' ' << t.device() << '\n';
}
template <class... Ts>
void print_shape(std::ostream& out, const std::tuple<Ts...>& value, std::size_t indent) {
  out << "tuple of " << sizeof...(Ts) << '\n';
  std::size_t i = 0;
  std::apply(
      [&](const auto&... element) {
        ((out << std::string(indent + 2, ' ') << '[' << i++ << "] ", print_shape(out, element, indent + 2)), ...);
      },
      value);
}
}  // namespace detail

// debugger_attached(): whether a debugger (any tracer) is attached to this process. On Linux it
// reads TracerPid from /proc/self/status; elsewhere it says false.
inline bool debugger_attached() {
#ifdef __linux__
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("TracerPid:", 0) == 0) return std::stol(line.substr(10)) != 0;
#endif
  return false;
}

// ---- Print --------------------------------------------------------------------------------------

// PrintImpl<A>: prints the value (every tensor, under `prefix`, or "value") to a stream (std::cout
// by default) and returns it. A: the arity of the value it receives (unary: a tensor).
template <Arity A = Arity::unary>
class PrintImpl : public Leaf<PrintImpl<A>> {
 public:
  static constexpr Traits traits = detail::debug_traits<A>;

  explicit PrintImpl(std::string prefix = "", std::ostream& out = std::cout) : prefix(std::move(prefix)), out(&out) {}

  template <Value X>
  X forward(const X& x) {
    detail::print_value(*out, x, prefix.empty() ? std::string("value") : prefix);
    return x;
  }
  void pretty_print(std::ostream& stream) const override { stream << "modify::Print(\"" << prefix << "\")"; }

  std::string prefix;
  std::ostream* out;
};

// Print: the handle. Print(), Print("after fc1"), Print("logits", stream), Print<Arity::tuple>("qkv").
template <Arity A = Arity::unary>
class Print : public Holder<PrintImpl<A>> {
 public:
  using Holder<PrintImpl<A>>::Holder;
  explicit Print(std::string prefix = "", std::ostream& out = std::cout)
      : Holder<PrintImpl<A>>(detail::make_module<PrintImpl<A>>(std::move(prefix), out)) {}
};

// ---- PrintShape ---------------------------------------------------------------------------------

// PrintShapeImpl<A>: prints the shape, dtype and device of every tensor of the value, a nested
// tuple's elements indented below it, and returns the value:
//   qkv: tuple of 3
//     [0] [2, 4, 6, 8] Float cpu
//     [1] ...
template <Arity A = Arity::unary>
class PrintShapeImpl : public Leaf<PrintShapeImpl<A>> {
 public:
  static constexpr Traits traits = detail::debug_traits<A>;

  explicit PrintShapeImpl(std::string prefix = "", std::ostream& out = std::cout)
      : prefix(std::move(prefix)), out(&out) {}

  template <Value X>
  X forward(const X& x) {
    if (!prefix.empty()) *out << prefix << ": ";
    detail::print_shape(*out, x, 0);
    return x;
  }
  void pretty_print(std::ostream& stream) const override { stream << "modify::PrintShape(\"" << prefix << "\")"; }

  std::string prefix;
  std::ostream* out;
};

// PrintShape: the handle. PrintShape(), PrintShape("h"), PrintShape<Arity::tuple>("qkv", stream).
template <Arity A = Arity::unary>
class PrintShape : public Holder<PrintShapeImpl<A>> {
 public:
  using Holder<PrintShapeImpl<A>>::Holder;
  explicit PrintShape(std::string prefix = "", std::ostream& out = std::cout)
      : Holder<PrintShapeImpl<A>>(detail::make_module<PrintShapeImpl<A>>(std::move(prefix), out)) {}
};

// ---- Breakpoint ---------------------------------------------------------------------------------

// BreakpointImpl<A>: raises SIGTRAP when a debugger is attached (the debugger stops there, in this
// module's forward, with the value in `x`); otherwise does nothing but print, once per module, a
// note that it was reached (to std::cerr by default). Returns the value.
template <Arity A = Arity::unary>
class BreakpointImpl : public Leaf<BreakpointImpl<A>> {
 public:
  static constexpr Traits traits = detail::debug_traits<A>;

  explicit BreakpointImpl(std::string label = "", std::ostream& note = std::cerr) : label(std::move(label)), note(&note) {}

  template <Value X>
  X forward(const X& x) {
    if (debugger_attached()) {
      std::raise(SIGTRAP);  // the value is `x`, one frame up is the model's forward
    } else if (!noted) {
      noted = true;
      *note << "modify: Breakpoint" << (label.empty() ? std::string() : " '" + label + "'")
            << " reached with no debugger attached; continuing (this note is shown once)\n";
    }
    return x;
  }
  void pretty_print(std::ostream& stream) const override { stream << "modify::Breakpoint(\"" << label << "\")"; }

  std::string label;
  std::ostream* note;
  bool noted = false;
};

// Breakpoint: the handle. Breakpoint(), Breakpoint("before attention"), Breakpoint<Arity::tuple>().
template <Arity A = Arity::unary>
class Breakpoint : public Holder<BreakpointImpl<A>> {
 public:
  using Holder<BreakpointImpl<A>>::Holder;
  explicit Breakpoint(std::string label = "", std::ostream& note = std::cerr)
      : Holder<BreakpointImpl<A>>(detail::make_module<BreakpointImpl<A>>(std::move(label), note)) {}
};

// ---- AssertShape --------------------------------------------------------------------------------

// AssertShapeOptions: what to check; anything left unset is not checked.
struct AssertShapeOptions {
  // The number of dims.
  AssertShapeOptions& ndim(int64_t n) {
    ndim_ = n;
    return *this;
  }
  // The sizes; -1 matches any size (and implies the number of dims).
  AssertShapeOptions& shape(std::vector<int64_t> sizes) {
    shape_ = std::move(sizes);
    return *this;
  }
  AssertShapeOptions& dtype(at::ScalarType t) {
    dtype_ = t;
    return *this;
  }
  // A device without an index (torch::kCUDA) matches any index.
  AssertShapeOptions& device(at::Device d) {
    device_ = d;
    return *this;
  }
  const c10::optional<int64_t>& ndim() const { return ndim_; }
  const c10::optional<std::vector<int64_t>>& shape() const { return shape_; }
  const c10::optional<at::ScalarType>& dtype() const { return dtype_; }
  const c10::optional<at::Device>& device() const { return device_; }

 private:
  c10::optional<int64_t> ndim_;
  c10::optional<std::vector<int64_t>> shape_;
  c10::optional<at::ScalarType> dtype_;
  c10::optional<at::Device> device_;
};

// AssertShapeImpl: checks the tensor's number of dims, sizes (-1: any), dtype and device, and
// returns it. A failure throws std::runtime_error naming the expected and the actual shapes (and
// dtypes, devices); inside a model it reaches the caller as a ForwardError with the module's path.
class AssertShapeImpl : public Leaf<AssertShapeImpl> {
 public:
  static constexpr Traits traits = detail::debug_traits<Arity::unary>;

  explicit AssertShapeImpl(AssertShapeOptions options) : options(std::move(options)) {
    const auto& o = this->options;
    if (o.ndim() && o.shape() && *o.ndim() != static_cast<int64_t>(o.shape()->size()))
      throw std::invalid_argument("modify: AssertShape: ndim " + std::to_string(*o.ndim()) + " contradicts the shape " +
                                  expected());
    if (o.shape())
      for (int64_t s : *o.shape())
        if (s < -1) throw std::invalid_argument("modify: AssertShape: sizes are >= 0, or -1 for any size");
  }

  at::Tensor forward(const at::Tensor& x) {
    const auto& o = options;
    std::string problem;
    if (o.ndim() && x.dim() != *o.ndim()) {
      problem = "it has " + std::to_string(x.dim()) + " dims, not " + std::to_string(*o.ndim());
    } else if (o.shape()) {
      const auto& shape = *o.shape();
      if (x.dim() != static_cast<int64_t>(shape.size())) {
        problem = "it has " + std::to_string(x.dim()) + " dims, not " + std::to_string(shape.size());
      } else {
        for (std::size_t i = 0; i < shape.size() && problem.empty(); ++i)
          if (shape[i] != -1 && x.size(static_cast<int64_t>(i)) != shape[i])
            problem = "dim " + std::to_string(i) + " is " + std::to_string(x.size(static_cast<int64_t>(i))) +
                      ", not " + std::to_string(shape[i]);
      }
    }
    if (problem.empty() && o.dtype() && x.scalar_type() != *o.dtype())
      problem = std::string("its dtype is ") + c10::toString(x.scalar_type()) + ", not " + c10::toString(*o.dtype());
    if (problem.empty() && o.device() &&
        (x.device().type() != o.device()->type() || (o.device()->has_index() && x.device() != *o.device())))
      problem = "its device is " + x.device().str() + ", not " + o.device()->str();
    if (!problem.empty())
      throw std::runtime_error("modify: AssertShape: expected " + expected() + ", got " + describe(x) + " (" +
                               problem + ")");
    return x;
  }

  // expected(): what the module checks, e.g. "[*, 3, 8] Float" or "a 3-dim tensor".
  std::string expected() const {
    const auto& o = options;
    std::ostringstream out;
    if (o.shape()) {
      out << '[';
      for (std::size_t i = 0; i < o.shape()->size(); ++i) {
        if (i) out << ", ";
        if ((*o.shape())[i] == -1) out << '*';
        else out << (*o.shape())[i];
      }
      out << ']';
    } else if (o.ndim()) {
      out << "a " << *o.ndim() << "-dim tensor";
    } else {
      out << "a tensor";
    }
    if (o.dtype()) out << ' ' << *o.dtype();
    if (o.device()) out << " on " << *o.device();
    return out.str();
  }

  void pretty_print(std::ostream& stream) const override { stream << "modify::AssertShape(" << expected() << ")"; }

  AssertShapeOptions options;
};

// AssertShape: the handle. AssertShape({-1, 3, 8}) or
// AssertShape(AssertShapeOptions().ndim(4).dtype(torch::kFloat).device(torch::kCPU)).
class AssertShape : public Holder<AssertShapeImpl> {
 public:
  using Holder<AssertShapeImpl>::Holder;
  using Impl = AssertShapeImpl;
  AssertShape(std::initializer_list<int64_t> shape)
      : AssertShape(AssertShapeOptions().shape(std::vector<int64_t>(shape))) {}
};

}  // namespace modify
