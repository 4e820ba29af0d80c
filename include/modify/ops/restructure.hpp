// Restructure ops (each output element is an input element or a constant): views, permutations,
// flips, diagonals, triangles, the typed-count splitters Chunk<N>, Split<N>, TensorSplit<N>,
// UnBind<N>, HSplit<N>, VSplit<N> (whose output is a std::tuple of N tensors), and the matrix
// transposes H, MT, MH, Adjoint (Matrix kind).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

#include <modify/detail/op_handle.hpp>
#include <modify/holder.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail::op {
inline constexpr Traits restructure = unary(Linearity::linear, Kind::restructure);
// The matrix transposes act on the last two dims, hence Kind::matrix as in the Python table; they
// are linear (real-linear for the conjugating ones).
inline constexpr Traits transpose_matrix = unary(Linearity::linear, Kind::matrix);
inline constexpr Traits binary_restructure{Arity::binary, Params::none, Linearity::linear, Kind::restructure};
}  // namespace detail::op

// ---- Transposes --------------------------------------------------------------------------------

// T: x -> x.T, the dims reversed. Unary, ParamFree, Linear, Restructure. (The Python table lists T
// twice, as a Matrix-kind property and as a restructure method; for an n-D tensor it reverses all
// dims, which is not an op on the last two, so it is Restructure here.) It is computed as a permute,
// which is what x.T does in torch 1.13, without its deprecation warning for n != 2.
struct TImpl : Leaf<TImpl> {
  static constexpr Traits traits = detail::op::restructure;
  at::Tensor forward(const at::Tensor& x) {
    std::vector<int64_t> reversed(static_cast<std::size_t>(x.dim()));
    for (std::size_t i = 0; i < reversed.size(); ++i) reversed[i] = x.dim() - 1 - static_cast<int64_t>(i);
    return x.permute(reversed);
  }
};
MODIFY_DETAIL_OP_HANDLE(T);

// H: x -> x.H, the conjugate transpose of a matrix (2-D only, as in torch). Unary, ParamFree,
// Linear (over the reals), Matrix.
struct HImpl : Leaf<HImpl> {
  static constexpr Traits traits = detail::op::transpose_matrix;
  at::Tensor forward(const at::Tensor& x) { return x.matrix_H(); }
};
MODIFY_DETAIL_OP_HANDLE(H);

// MT (Python: mT): x -> x.mT, the last two dims swapped. Unary, ParamFree, Linear, Matrix.
struct MTImpl : Leaf<MTImpl> {
  static constexpr Traits traits = detail::op::transpose_matrix;
  at::Tensor forward(const at::Tensor& x) { return x.mT(); }
};
MODIFY_DETAIL_OP_HANDLE(MT);
using mT = MT;

// MH (Python: mH): x -> x.mH, the conjugate transpose of the last two dims. Unary, ParamFree,
// Linear (over the reals), Matrix.
struct MHImpl : Leaf<MHImpl> {
  static constexpr Traits traits = detail::op::transpose_matrix;
  at::Tensor forward(const at::Tensor& x) { return x.mH(); }
};
MODIFY_DETAIL_OP_HANDLE(MH);
using mH = MH;

// Adjoint: x -> x.adjoint() (the same as mH). Unary, ParamFree, Linear, Matrix. (The Python table
// lists it as a plain restructure; it is mH, so it has mH's kind.)
struct AdjointImpl : Leaf<AdjointImpl> {
  static constexpr Traits traits = detail::op::transpose_matrix;
  at::Tensor forward(const at::Tensor& x) { return x.adjoint(); }
};
MODIFY_DETAIL_OP_HANDLE(Adjoint);

// Transpose(dim0, dim1): x -> x.transpose(dim0, dim1). Unary, ParamFree, Linear, Restructure.
struct TransposeImpl : Leaf<TransposeImpl> {
  static constexpr Traits traits = detail::op::restructure;
  TransposeImpl(int64_t dim0, int64_t dim1) : dim0(dim0), dim1(dim1) {}
  at::Tensor forward(const at::Tensor& x) { return x.transpose(dim0, dim1); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Transpose")("dim0", dim0)("dim1", dim1);
  }
  int64_t dim0, dim1;
};
MODIFY_DETAIL_OP_HANDLE(Transpose);

// Permute(dims): x -> x.permute(dims). Unary, ParamFree, Linear, Restructure.
struct PermuteImpl : Leaf<PermuteImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit PermuteImpl(std::vector<int64_t> dims) : dims(std::move(dims)) {}
  at::Tensor forward(const at::Tensor& x) { return x.permute(dims); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Permute")("dims", dims); }
  std::vector<int64_t> dims;
};
MODIFY_DETAIL_OP_HANDLE(Permute);

// MoveDim(source, destination): x -> x.movedim(source, destination); each an int or a list. Unary,
// ParamFree, Linear, Restructure.
struct MoveDimImpl : Leaf<MoveDimImpl> {
  static constexpr Traits traits = detail::op::restructure;
  MoveDimImpl(detail::op::IntList source, detail::op::IntList destination)
      : source(std::move(source)), destination(std::move(destination)) {}
  at::Tensor forward(const at::Tensor& x) { return x.movedim(source, destination); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::MoveDim")("source", source)("destination", destination);
  }
  detail::op::IntList source, destination;
};
MODIFY_DETAIL_OP_HANDLE(MoveDim);

// MoveAxis(source, destination): x -> x.moveaxis(source, destination) (NumPy's name for movedim).
struct MoveAxisImpl : Leaf<MoveAxisImpl> {
  static constexpr Traits traits = detail::op::restructure;
  MoveAxisImpl(detail::op::IntList source, detail::op::IntList destination)
      : source(std::move(source)), destination(std::move(destination)) {}
  at::Tensor forward(const at::Tensor& x) { return x.moveaxis(source, destination); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::MoveAxis")("source", source)("destination", destination);
  }
  detail::op::IntList source, destination;
};
MODIFY_DETAIL_OP_HANDLE(MoveAxis);

// ---- Shapes ------------------------------------------------------------------------------------

// View(size): x -> x.view(size). Unary, ParamFree, Linear, Restructure.
struct ViewImpl : Leaf<ViewImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit ViewImpl(detail::op::IntList size) : size(std::move(size)) {}
  at::Tensor forward(const at::Tensor& x) { return x.view(size); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::View")("size", size); }
  detail::op::IntList size;
};
MODIFY_DETAIL_OP_HANDLE(View);

// ViewAs: (x, other) -> x.view_as(other). Binary, ParamFree, Linear, Restructure. (The Python table
// lists it among the unary ops; torch's view_as takes a second tensor, whose shape is all it uses, so
// here it takes the pair. With a shape known in advance, use View.)
struct ViewAsImpl : Leaf<ViewAsImpl> {
  static constexpr Traits traits = detail::op::binary_restructure;
  at::Tensor forward(const std::tuple<at::Tensor, at::Tensor>& x) {
    return std::get<0>(x).view_as(std::get<1>(x));
  }
};
MODIFY_DETAIL_OP_HANDLE(ViewAs);

// Reshape(shape): x -> x.reshape(shape). Unary, ParamFree, Linear, Restructure.
struct ReshapeImpl : Leaf<ReshapeImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit ReshapeImpl(detail::op::IntList shape) : shape(std::move(shape)) {}
  at::Tensor forward(const at::Tensor& x) { return x.reshape(shape); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Reshape")("shape", shape); }
  detail::op::IntList shape;
};
MODIFY_DETAIL_OP_HANDLE(Reshape);

// Resize(sizes): x -> x.resize(sizes), Python's non-inplace, autograd-safe resize: the same
// elements in a new shape (the number of elements must not change; it throws otherwise). Unary,
// ParamFree, Linear, Restructure.
struct ResizeImpl : Leaf<ResizeImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit ResizeImpl(detail::op::IntList sizes) : sizes(std::move(sizes)) {}
  at::Tensor forward(const at::Tensor& x) {
    int64_t numel = 1;
    for (int64_t s : sizes.values) numel *= s;
    if (numel != x.numel()) {
      std::ostringstream message;
      message << detail::op::printed(*this) << " keeps the number of elements, but a tensor of shape " << x.sizes()
              << " has " << x.numel() << " elements and " << at::IntArrayRef(sizes.values) << " has " << numel;
      throw std::invalid_argument(message.str());
    }
    return x.contiguous().view(sizes);
  }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Resize")("sizes", sizes); }
  detail::op::IntList sizes;
};
MODIFY_DETAIL_OP_HANDLE(Resize);

// Flatten(start_dim = 0, end_dim = -1): x -> x.flatten(start_dim, end_dim), torch.flatten's
// defaults (torch::nn::Flatten, also usable as-is, starts at dim 1). Unary, ParamFree, Linear,
// Restructure.
struct FlattenImpl : Leaf<FlattenImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit FlattenImpl(int64_t start_dim = 0, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  at::Tensor forward(const at::Tensor& x) { return x.flatten(start_dim, end_dim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Flatten")("start_dim", start_dim)("end_dim", end_dim);
  }
  int64_t start_dim, end_dim;
};
MODIFY_DETAIL_OP_HANDLE(Flatten);

// Squeeze(dim = all): x -> x.squeeze() or x.squeeze(dim). Unary, ParamFree, Linear, Restructure.
struct SqueezeImpl : Leaf<SqueezeImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit SqueezeImpl(std::optional<int64_t> dim = std::nullopt) : dim(dim) {}
  at::Tensor forward(const at::Tensor& x) { return dim ? x.squeeze(*dim) : x.squeeze(); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Squeeze")("dim", dim); }
  std::optional<int64_t> dim;
};
MODIFY_DETAIL_OP_HANDLE(Squeeze);

// Unsqueeze(dim): x -> x.unsqueeze(dim). Unary, ParamFree, Linear, Restructure.
struct UnsqueezeImpl : Leaf<UnsqueezeImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit UnsqueezeImpl(int64_t dim) : dim(dim) {}
  at::Tensor forward(const at::Tensor& x) { return x.unsqueeze(dim); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Unsqueeze")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(Unsqueeze);

// Contiguous: x -> x.contiguous(), the same values in contiguous memory. Unary, ParamFree, Linear,
// Identity (as a function of values it is the identity).
struct ContiguousImpl : Leaf<ContiguousImpl> {
  static constexpr Traits traits = detail::op::unary(Linearity::linear, Kind::identity);
  at::Tensor forward(const at::Tensor& x) { return x.contiguous(); }
};
MODIFY_DETAIL_OP_HANDLE(Contiguous);

// AlignTo(names): x -> x.align_to(names), for named tensors: permutes the dims into the order of
// `names`, adding size-1 dims for names x lacks. Unary, ParamFree, Linear, Restructure.
struct AlignToImpl : Leaf<AlignToImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit AlignToImpl(std::vector<std::string> names) : names(std::move(names)) {}
  at::Tensor forward(const at::Tensor& x) {
    std::vector<at::Dimname> dimnames;
    dimnames.reserve(names.size());
    for (const auto& name : names) dimnames.push_back(at::Dimname::fromSymbol(at::Symbol::dimname(name)));
    return x.align_to(dimnames);
  }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::AlignTo")("names", names); }
  std::vector<std::string> names;
};
class AlignTo : public detail::op::OpHandle<AlignToImpl> {
 public:
  using detail::op::OpHandle<AlignToImpl>::OpHandle;
  AlignTo(std::initializer_list<std::string> names)
      : detail::op::OpHandle<AlignToImpl>(detail::make_module<AlignToImpl>(std::vector<std::string>(names))) {}
};

// AlignAs: (x, other) -> x.align_as(other), for named tensors (other's names only are used). Binary,
// ParamFree, Linear, Restructure. (Unary in the Python table; torch's align_as takes a second tensor.)
struct AlignAsImpl : Leaf<AlignAsImpl> {
  static constexpr Traits traits = detail::op::binary_restructure;
  at::Tensor forward(const std::tuple<at::Tensor, at::Tensor>& x) {
    return std::get<0>(x).align_as(std::get<1>(x));
  }
};
MODIFY_DETAIL_OP_HANDLE(AlignAs);

// Real / Imag: x -> x.real / x.imag (one component of each complex element; Real is the identity on
// real tensors, Imag rejects them, as in torch). Unary, ParamFree, Linear, Restructure.
struct RealImpl : Leaf<RealImpl> {
  static constexpr Traits traits = detail::op::restructure;
  at::Tensor forward(const at::Tensor& x) { return at::real(x); }
};
MODIFY_DETAIL_OP_HANDLE(Real);
struct ImagImpl : Leaf<ImagImpl> {
  static constexpr Traits traits = detail::op::restructure;
  at::Tensor forward(const at::Tensor& x) { return at::imag(x); }
};
MODIFY_DETAIL_OP_HANDLE(Imag);

// ---- Reordering and copying --------------------------------------------------------------------

// Flip(dims): x -> x.flip(dims). Unary, ParamFree, Linear, Restructure.
struct FlipImpl : Leaf<FlipImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit FlipImpl(detail::op::IntList dims) : dims(std::move(dims)) {}
  at::Tensor forward(const at::Tensor& x) { return x.flip(dims); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Flip")("dims", dims); }
  detail::op::IntList dims;
};
MODIFY_DETAIL_OP_HANDLE(Flip);

// FlipLR: x -> x.fliplr() (dim 1 reversed). FlipUD: x -> x.flipud() (dim 0 reversed). Unary,
// ParamFree, Linear, Restructure.
struct FlipLRImpl : Leaf<FlipLRImpl> {
  static constexpr Traits traits = detail::op::restructure;
  at::Tensor forward(const at::Tensor& x) { return x.fliplr(); }
};
MODIFY_DETAIL_OP_HANDLE(FlipLR);
struct FlipUDImpl : Leaf<FlipUDImpl> {
  static constexpr Traits traits = detail::op::restructure;
  at::Tensor forward(const at::Tensor& x) { return x.flipud(); }
};
MODIFY_DETAIL_OP_HANDLE(FlipUD);

// Rot90(k = 1, dims = {0, 1}): x -> x.rot90(k, dims). Unary, ParamFree, Linear, Restructure.
struct Rot90Impl : Leaf<Rot90Impl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit Rot90Impl(int64_t k = 1, std::vector<int64_t> dims = {0, 1}) : k(k), dims(std::move(dims)) {}
  at::Tensor forward(const at::Tensor& x) { return x.rot90(k, dims); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Rot90")("k", k)("dims", dims); }
  int64_t k;
  std::vector<int64_t> dims;
};
MODIFY_DETAIL_OP_HANDLE(Rot90);

// Roll(shifts, dims = none): x -> x.roll(shifts, dims) (no dims: roll the flattened tensor). Unary,
// ParamFree, Linear, Restructure.
struct RollImpl : Leaf<RollImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit RollImpl(detail::op::IntList shifts, detail::op::IntList dims = {})
      : shifts(std::move(shifts)), dims(std::move(dims)) {}
  at::Tensor forward(const at::Tensor& x) { return x.roll(shifts, dims); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args args(out, "modify::Roll");
    args("shifts", shifts);
    if (!dims.values.empty()) args("dims", dims);
  }
  detail::op::IntList shifts, dims;
};
MODIFY_DETAIL_OP_HANDLE(Roll);

// Repeat(sizes): x -> x.repeat(sizes) (tiles the tensor). Unary, ParamFree, Linear, Restructure.
struct RepeatImpl : Leaf<RepeatImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit RepeatImpl(detail::op::IntList sizes) : sizes(std::move(sizes)) {}
  at::Tensor forward(const at::Tensor& x) { return x.repeat(sizes); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Repeat")("sizes", sizes); }
  detail::op::IntList sizes;
};
MODIFY_DETAIL_OP_HANDLE(Repeat);

// ---- Diagonals and triangles -------------------------------------------------------------------

// Diag(diagonal = 0): x -> x.diag(diagonal) (a vector to a diagonal matrix, or a matrix's diagonal).
// Unary, ParamFree, Linear, Restructure.
struct DiagImpl : Leaf<DiagImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit DiagImpl(int64_t diagonal = 0) : diagonal(diagonal) {}
  at::Tensor forward(const at::Tensor& x) { return x.diag(diagonal); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Diag")("diagonal", diagonal); }
  int64_t diagonal;
};
MODIFY_DETAIL_OP_HANDLE(Diag);

// DiagEmbed(offset = 0, dim1 = -2, dim2 = -1): x -> x.diag_embed(offset, dim1, dim2). Unary,
// ParamFree, Linear, Restructure.
struct DiagEmbedImpl : Leaf<DiagEmbedImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit DiagEmbedImpl(int64_t offset = 0, int64_t dim1 = -2, int64_t dim2 = -1)
      : offset(offset), dim1(dim1), dim2(dim2) {}
  at::Tensor forward(const at::Tensor& x) { return x.diag_embed(offset, dim1, dim2); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::DiagEmbed")("offset", offset)("dim1", dim1)("dim2", dim2);
  }
  int64_t offset, dim1, dim2;
};
MODIFY_DETAIL_OP_HANDLE(DiagEmbed);

// DiagFlat(offset = 0): x -> x.diagflat(offset). Unary, ParamFree, Linear, Restructure.
struct DiagFlatImpl : Leaf<DiagFlatImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit DiagFlatImpl(int64_t offset = 0) : offset(offset) {}
  at::Tensor forward(const at::Tensor& x) { return x.diagflat(offset); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::DiagFlat")("offset", offset); }
  int64_t offset;
};
MODIFY_DETAIL_OP_HANDLE(DiagFlat);

// Diagonal(offset = 0, dim1 = 0, dim2 = 1): x -> x.diagonal(offset, dim1, dim2). Unary, ParamFree,
// Linear, Restructure.
struct DiagonalImpl : Leaf<DiagonalImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit DiagonalImpl(int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1)
      : offset(offset), dim1(dim1), dim2(dim2) {}
  at::Tensor forward(const at::Tensor& x) { return x.diagonal(offset, dim1, dim2); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Diagonal")("offset", offset)("dim1", dim1)("dim2", dim2);
  }
  int64_t offset, dim1, dim2;
};
MODIFY_DETAIL_OP_HANDLE(Diagonal);

// DiagonalScatter(offset = 0, dim1 = 0, dim2 = 1): (x, src) -> x.diagonal_scatter(src, offset, dim1,
// dim2), x with the diagonal replaced by src. Binary, ParamFree, Linear, Restructure. (Unary in the
// Python table; torch's diagonal_scatter takes two tensors and is linear in the pair.)
struct DiagonalScatterImpl : Leaf<DiagonalScatterImpl> {
  static constexpr Traits traits = detail::op::binary_restructure;
  explicit DiagonalScatterImpl(int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1)
      : offset(offset), dim1(dim1), dim2(dim2) {}
  at::Tensor forward(const std::tuple<at::Tensor, at::Tensor>& x) {
    return at::diagonal_scatter(std::get<0>(x), std::get<1>(x), offset, dim1, dim2);
  }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::DiagonalScatter")("offset", offset)("dim1", dim1)("dim2", dim2);
  }
  int64_t offset, dim1, dim2;
};
MODIFY_DETAIL_OP_HANDLE(DiagonalScatter);

// TriL(diagonal = 0) / TriU(diagonal = 0): x -> x.tril(diagonal) / x.triu(diagonal) (the other
// elements set to 0). Unary, ParamFree, Linear, Restructure.
struct TriLImpl : Leaf<TriLImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit TriLImpl(int64_t diagonal = 0) : diagonal(diagonal) {}
  at::Tensor forward(const at::Tensor& x) { return x.tril(diagonal); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::TriL")("diagonal", diagonal); }
  int64_t diagonal;
};
MODIFY_DETAIL_OP_HANDLE(TriL);
struct TriUImpl : Leaf<TriUImpl> {
  static constexpr Traits traits = detail::op::restructure;
  explicit TriUImpl(int64_t diagonal = 0) : diagonal(diagonal) {}
  at::Tensor forward(const at::Tensor& x) { return x.triu(diagonal); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::TriU")("diagonal", diagonal); }
  int64_t diagonal;
};
MODIFY_DETAIL_OP_HANDLE(TriU);

// ---- Typed-count splitters: one tensor to a std::tuple of N tensors ----------------------------
// N is part of the type, so what follows (a Parallel of N branches, a TupleArg op) is checked at
// compile time. If the tensor does not split into N pieces, forward throws std::invalid_argument
// naming the module and the shape (a container adds the module's path).

namespace detail::op {
inline std::string count_name(const char* op, std::size_t n) { return std::string(op) + '<' + std::to_string(n) + '>'; }

// vector_of(first, m): a braced list of m sizes or indices, as a vector.
inline std::vector<int64_t> vector_of(const int64_t* first, std::size_t m) { return {first, first + m}; }
// check_list_length(module, what, expected, got): a list of sizes or indices given as a vector has
// the length the count needs.
inline void check_list_length(const std::string& module, const char* what, std::size_t expected, std::size_t got) {
  if (expected != got)
    throw std::invalid_argument(module + " needs " + std::to_string(expected) + ' ' + what + ", got " +
                                std::to_string(got));
}
// check_divisible(module, op, x, dim, n): hsplit / vsplit into n sections can split x along dim.
inline void check_divisible(const std::string& module, const char* op, const at::Tensor& x, int64_t dim,
                            std::size_t n) {
  if (x.size(dim) % static_cast<int64_t>(n) != 0) {
    std::ostringstream message;
    message << module << " must make " << n << " tensors of equal size, but " << op << " of a tensor of shape "
            << x.sizes() << " splits dim " << dim << " of size " << x.size(dim) << ", which " << n
            << " does not divide";
    throw std::invalid_argument(message.str());
  }
}
}  // namespace detail::op

// Chunk<N>(dim = 0): x -> x.chunk(N, dim) as a tuple of N tensors. Unary, ParamFree, Linear,
// Restructure. torch's chunk can make fewer than N chunks (a dim of size 2 gives 2 chunks for
// N = 3, size 4 also gives 2): then forward throws.
template <std::size_t N>
struct ChunkImpl : Leaf<ChunkImpl<N>> {
  static_assert(N > 0, "modify: Chunk<0> makes no tensors; Chunk<N> needs N >= 1");
  static constexpr Traits traits = detail::op::restructure;
  static constexpr std::size_t count = N;
  explicit ChunkImpl(int64_t dim = 0) : dim(dim) {}
  auto forward(const at::Tensor& x) {
    return detail::op::to_tuple<N>(*this, x.chunk(static_cast<int64_t>(N), dim), x,
                                   "chunk(" + std::to_string(N) + ", dim=" + std::to_string(dim) + ")");
  }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::" + detail::op::count_name("Chunk", N))("dim", dim);
  }
  int64_t dim;
};
template <std::size_t N>
class Chunk : public detail::op::OpHandle<ChunkImpl<N>> {
 public:
  using detail::op::OpHandle<ChunkImpl<N>>::OpHandle;
};

// Split<N>(split_size, dim = 0): x -> x.split(split_size, dim), pieces of split_size (the last may be
// smaller); Split<N>(sizes, dim = 0): x -> x.split(sizes, dim), pieces of the given sizes. The output
// is a tuple of N tensors. Unary, ParamFree, Linear, Restructure. A braced list of sizes is checked
// at compile time (Split<3>({1, 2}) does not compile); a std::vector when the module is made; the
// number of pieces of split_size when forward runs.
template <std::size_t N>
struct SplitImpl : Leaf<SplitImpl<N>> {
  static_assert(N > 0, "modify: Split<0> makes no tensors; Split<N> needs N >= 1");
  static constexpr Traits traits = detail::op::restructure;
  static constexpr std::size_t count = N;
  explicit SplitImpl(int64_t split_size, int64_t dim = 0) : split_size(split_size), dim(dim) {}
  SplitImpl(std::vector<int64_t> sizes, int64_t dim = 0) : sizes(std::move(sizes)), dim(dim) {
    detail::op::check_list_length(detail::op::printed(*this), "sizes", N, this->sizes->size());
  }
  auto forward(const at::Tensor& x) {
    if (sizes) return detail::op::to_tuple<N>(*this, x.split_with_sizes(*sizes, dim), x, "split");
    return detail::op::to_tuple<N>(*this, x.split(split_size, dim), x,
                                   "split(" + std::to_string(split_size) + ", dim=" + std::to_string(dim) + ")");
  }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args args(out, "modify::" + detail::op::count_name("Split", N));
    if (sizes) args("sizes", *sizes);
    else args("split_size", split_size);
    args("dim", dim);
  }
  int64_t split_size = 0;
  std::optional<std::vector<int64_t>> sizes;
  int64_t dim;
};
template <std::size_t N>
class Split : public Holder<SplitImpl<N>> {
 public:
  using Holder<SplitImpl<N>>::Holder;
  // Split<N>({s0, ..., sN-1}, dim): the list's length is checked here, at compile time.
  template <std::size_t M>
  Split(const int64_t (&sizes)[M], int64_t dim = 0)
      : Holder<SplitImpl<N>>(detail::make_module<SplitImpl<N>>(detail::op::vector_of(sizes, M), dim)) {
    static_assert(M == N, "modify: Split<N>({sizes...}) needs exactly N sizes, one per piece");
  }
};

// TensorSplit<N>(dim = 0): x -> x.tensor_split(N, dim), N pieces of near-equal size (always N, some
// may be empty); TensorSplit<N>(indices, dim = 0): x -> x.tensor_split(indices, dim), cut before each
// of the N - 1 indices. Unary, ParamFree, Linear, Restructure. A braced list of indices is checked at
// compile time.
template <std::size_t N>
struct TensorSplitImpl : Leaf<TensorSplitImpl<N>> {
  static_assert(N > 0, "modify: TensorSplit<0> makes no tensors; TensorSplit<N> needs N >= 1");
  static constexpr Traits traits = detail::op::restructure;
  static constexpr std::size_t count = N;
  explicit TensorSplitImpl(int64_t dim = 0) : dim(dim) {}
  TensorSplitImpl(std::vector<int64_t> indices, int64_t dim = 0) : indices(std::move(indices)), dim(dim) {
    detail::op::check_list_length(detail::op::printed(*this), "indices", N - 1, this->indices->size());
  }
  auto forward(const at::Tensor& x) {
    if (indices) return detail::op::to_tuple<N>(*this, x.tensor_split(*indices, dim), x, "tensor_split");
    return detail::op::to_tuple<N>(*this, x.tensor_split(static_cast<int64_t>(N), dim), x, "tensor_split");
  }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args args(out, "modify::" + detail::op::count_name("TensorSplit", N));
    if (indices) args("indices", *indices);
    args("dim", dim);
  }
  std::optional<std::vector<int64_t>> indices;
  int64_t dim;
};
template <std::size_t N>
class TensorSplit : public Holder<TensorSplitImpl<N>> {
 public:
  using Holder<TensorSplitImpl<N>>::Holder;
  // TensorSplit<N>({i0, ..., iN-2}, dim): the list's length is checked here, at compile time.
  template <std::size_t M>
  TensorSplit(const int64_t (&indices)[M], int64_t dim = 0)
      : Holder<TensorSplitImpl<N>>(detail::make_module<TensorSplitImpl<N>>(detail::op::vector_of(indices, M), dim)) {
    static_assert(M + 1 == N, "modify: TensorSplit<N>({indices...}) needs exactly N - 1 indices, one per cut");
  }
};

// UnBind<N>(dim = 0): x -> x.unbind(dim) as a tuple of N tensors; x.size(dim) must be N. Unary,
// ParamFree, Linear, Restructure.
template <std::size_t N>
struct UnBindImpl : Leaf<UnBindImpl<N>> {
  static_assert(N > 0, "modify: UnBind<0> makes no tensors; UnBind<N> needs N >= 1");
  static constexpr Traits traits = detail::op::restructure;
  static constexpr std::size_t count = N;
  explicit UnBindImpl(int64_t dim = 0) : dim(dim) {}
  auto forward(const at::Tensor& x) {
    return detail::op::to_tuple<N>(*this, x.unbind(dim), x, "unbind(dim=" + std::to_string(dim) + ")");
  }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::" + detail::op::count_name("UnBind", N))("dim", dim);
  }
  int64_t dim;
};
template <std::size_t N>
class UnBind : public detail::op::OpHandle<UnBindImpl<N>> {
 public:
  using detail::op::OpHandle<UnBindImpl<N>>::OpHandle;
};

// HSplit<N>() / VSplit<N>(): x -> x.hsplit(N) / x.vsplit(N), N equal pieces along dim 1 (dim 0 for a
// 1-D tensor) / dim 0 (the size must be divisible by N); HSplit<N>(indices) / VSplit<N>(indices):
// cut before each of the N - 1 indices. Unary, ParamFree, Linear, Restructure.
namespace detail::op {
// DirectionalSplit: what HSplitImpl<N> and VSplitImpl<N> share.
template <class Derived, std::size_t N, bool Horizontal>
struct DirectionalSplit : Leaf<Derived> {
  static_assert(N > 0, "modify: HSplit<0> and VSplit<0> make no tensors; they need N >= 1");
  static constexpr Traits traits = restructure;
  static constexpr std::size_t count = N;
  static constexpr const char* op = Horizontal ? "hsplit" : "vsplit";
  DirectionalSplit() = default;
  explicit DirectionalSplit(std::vector<int64_t> indices) : indices(std::move(indices)) {
    check_list_length(printed(*this), "indices", N - 1, this->indices->size());
  }
  auto forward(const at::Tensor& x) {
    if (indices) return to_tuple<N>(*this, Horizontal ? x.hsplit(*indices) : x.vsplit(*indices), x, op);
    const int64_t dim = Horizontal && x.dim() > 1 ? 1 : 0;
    if (x.dim() >= (Horizontal ? 1 : 2)) check_divisible(printed(*this), op, x, dim, N);
    const auto sections = static_cast<int64_t>(N);
    return to_tuple<N>(*this, Horizontal ? x.hsplit(sections) : x.vsplit(sections), x, op);
  }
  void pretty_print(std::ostream& out) const override {
    Args args(out, "modify::" + count_name(Horizontal ? "HSplit" : "VSplit", N));
    if (indices) args("indices", *indices);
  }
  std::optional<std::vector<int64_t>> indices;
};
}  // namespace detail::op

template <std::size_t N>
struct HSplitImpl : detail::op::DirectionalSplit<HSplitImpl<N>, N, true> {
  using detail::op::DirectionalSplit<HSplitImpl<N>, N, true>::DirectionalSplit;
};
template <std::size_t N>
struct VSplitImpl : detail::op::DirectionalSplit<VSplitImpl<N>, N, false> {
  using detail::op::DirectionalSplit<VSplitImpl<N>, N, false>::DirectionalSplit;
};

template <std::size_t N>
class HSplit : public Holder<HSplitImpl<N>> {
 public:
  using Holder<HSplitImpl<N>>::Holder;
  // HSplit<N>({i0, ..., iN-2}): the list's length is checked here, at compile time.
  template <std::size_t M>
  HSplit(const int64_t (&indices)[M])
      : Holder<HSplitImpl<N>>(detail::make_module<HSplitImpl<N>>(detail::op::vector_of(indices, M))) {
    static_assert(M + 1 == N, "modify: HSplit<N>({indices...}) needs exactly N - 1 indices, one per cut");
  }
};
template <std::size_t N>
class VSplit : public Holder<VSplitImpl<N>> {
 public:
  using Holder<VSplitImpl<N>>::Holder;
  // VSplit<N>({i0, ..., iN-2}): the list's length is checked here, at compile time.
  template <std::size_t M>
  VSplit(const int64_t (&indices)[M])
      : Holder<VSplitImpl<N>>(detail::make_module<VSplitImpl<N>>(detail::op::vector_of(indices, M))) {
    static_assert(M + 1 == N, "modify: VSplit<N>({indices...}) needs exactly N - 1 indices, one per cut");
  }
};

}  // namespace modify
