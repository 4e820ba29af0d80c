// The safetensors file format: File (a memory-mapped, validated file whose tensors view the mapping),
// load (every tensor of a file) and save (atomic: temporary file, fsync, rename).
//
//   auto file = modify::safetensors::File::open("model.safetensors");
//   at::Tensor w = file.tensor("h.0.attn.c_attn.weight");        // no copy: views the mapping
//   modify::safetensors::save("out.safetensors", {{"w", w}}, {{"format", "pt"}});
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <modify/detail/one_time.hpp>
#include <modify/detail/safetensors_header.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify::safetensors {

namespace detail {

// The LibTorch dtype of a file dtype; the spec's unsigned 16/32/64-bit and 8-bit float types have
// none in LibTorch 1.13.
inline std::optional<at::ScalarType> scalar_type_of(DType dtype) {
  switch (dtype) {
    case DType::BOOL: return at::kBool;
    case DType::U8: return at::kByte;
    case DType::I8: return at::kChar;
    case DType::I16: return at::kShort;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I32: return at::kInt;
    case DType::F32: return at::kFloat;
    case DType::F64: return at::kDouble;
    case DType::I64: return at::kLong;
    default: return std::nullopt;
  }
}

inline std::optional<DType> dtype_of(at::ScalarType type) {
  for (const auto& d : dtype_table)
    if (scalar_type_of(d.dtype) == type) return d.dtype;
  return std::nullopt;
}

[[noreturn]] inline void fail_system(const std::string& what, const std::string& path) {
  throw std::runtime_error("modify: safetensors: " + what + " '" + path + "': " + std::strerror(errno));
}

// Mapping: a whole file mapped copy-on-write (MAP_PRIVATE, readable and writable): tensors viewing
// it may be written in place without touching the file. Unmapped when the last owner goes.
class Mapping {
 public:
  explicit Mapping(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_system("cannot open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      fail_system("cannot stat", path);
    }
    size_ = uint64_t(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        fail_system("cannot map", path);
      }
      data_ = static_cast<unsigned char*>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data_) ::munmap(data_, size_);
  }
  unsigned char* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  unsigned char* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace detail

// File: an opened safetensors file. open() maps it and validates the whole header (see
// parse_header) before returning, so tensor() cannot read out of bounds. tensor(name) views the
// mapping without copying when the data is aligned for its dtype (the tensor keeps the mapping
// alive; writing to it changes this process's copy only, never the file) and copies otherwise.
class File {
 public:
  static File open(const std::string& path) {
    auto mapping = std::make_shared<detail::Mapping>(path);
    Header header = parse_header(mapping->data(), mapping->size(), path);
    return File(path, std::move(mapping), std::move(header));
  }

  const std::string& path() const { return path_; }
  // Tensor names in header order.
  const std::vector<std::string>& names() const { return names_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // The table-of-contents entry of a tensor (dtype, shape, byte range), without creating it.
  const Entry& entry(const std::string& name) const { return header_.entries[index_of(name)]; }

  at::Tensor tensor(const std::string& name) const {
    const Entry& e = entry(name);
    auto type = detail::scalar_type_of(e.dtype);
    if (!type)
      throw FormatError("modify: safetensors: '" + path_ + "': tensor '" + name + "' has dtype " +
                        std::string(info(e.dtype).name) + ", which LibTorch 1.13 has no type for");
    const auto options = at::TensorOptions().dtype(*type);
    if (e.begin == e.end) return at::empty(e.shape, options);
    unsigned char* data = mapping_->data() + header_.data_start + e.begin;
    if (reinterpret_cast<std::uintptr_t>(data) % info(e.dtype).size != 0) {
      at::Tensor copy = at::empty(e.shape, options);  // misaligned for its dtype: the one case that copies
      std::memcpy(copy.data_ptr(), data, e.end - e.begin);
      return copy;
    }
    return at::from_blob(data, e.shape, [keep = mapping_](void*) {}, options);
  }

 private:
  File(std::string path, std::shared_ptr<detail::Mapping> mapping, Header header)
      : path_(std::move(path)), mapping_(std::move(mapping)), header_(std::move(header)) {
    for (std::size_t i = 0; i < header_.entries.size(); ++i) {
      names_.push_back(header_.entries[i].name);
      index_.emplace(header_.entries[i].name, i);
    }
  }
  std::size_t index_of(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) throw std::out_of_range("modify: safetensors: '" + path_ + "' has no tensor '" + name + "'");
    return it->second;
  }

  std::string path_;
  std::shared_ptr<detail::Mapping> mapping_;
  Header header_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t> index_;
};

// load(path): every tensor of a file, in header order, viewing the mapping (see File::tensor).
inline std::vector<std::pair<std::string, at::Tensor>> load(const std::string& path) {
  const File file = File::open(path);
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.reserve(file.names().size());
  for (const auto& name : file.names()) out.emplace_back(name, file.tensor(name));
  return out;
}

namespace detail {

// A temporary file beside the target, removed unless committed (renamed over the target).
class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target) : target_(target) {
    std::string pattern = target.string() + ".tmp.XXXXXX";
    fd_ = ::mkstemp(pattern.data());
    if (fd_ < 0) fail_system("cannot create a temporary file beside", target.string());
    path_ = pattern;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  void write(const void* data, uint64_t size) {
    auto p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, p, std::min<uint64_t>(size, 1u << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail_system("cannot write", path_);
      p += n;
      size -= uint64_t(n);
    }
  }

  // fsync, close, rename over the target, fsync the folder so the rename itself is durable.
  void commit() {
    if (::fsync(fd_) != 0) fail_system("cannot fsync", path_);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_system("cannot close", path_);
    // mkstemp makes the file 0600; give it the usual permissions (as the umask allows).
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(path_.c_str(), 0666 & ~mask);
    if (::rename(path_.c_str(), target_.c_str()) != 0) fail_system("cannot rename the temporary file onto", target_.string());
    committed_ = true;
    auto folder = target_.parent_path();
    const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

 private:
  std::filesystem::path target_;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace detail

// save(path, tensors, metadata): writes a safetensors file with the tensors in the given order
// (contiguous CPU copies of those that are not already). Atomic: the data goes to a temporary file
// in the same folder, is fsynced, then renamed over `path`; on any failure `path` is untouched.
// The header is padded with spaces so the data starts 8-byte aligned (as the reference writer does).
inline void save(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                 const std::map<std::string, std::string>& metadata = {}) {
  detail::json header = detail::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::string where = "modify: safetensors: cannot save '" + path + "': tensor '" + name + "'";
    if (name == "__metadata__") throw std::invalid_argument(where + ": that name is reserved for the metadata");
    if (header.contains(name)) throw std::invalid_argument(where + " is given twice");
    if (!tensor.defined()) throw std::invalid_argument(where + " is undefined");
    if (tensor.layout() != at::kStrided) throw std::invalid_argument(where + " is not a dense (strided) tensor");
    auto dtype = detail::dtype_of(tensor.scalar_type());
    if (!dtype) throw std::invalid_argument(where + " has dtype " + std::string(c10::toString(tensor.scalar_type())) +
                                            ", which safetensors has no name for");
    at::Tensor bytes = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t size = bytes.nbytes();
    header[name] = {{"dtype", info(*dtype).name}, {"shape", tensor.sizes().vec()}, {"data_offsets", {offset, offset + size}}};
    offset += size;
    data.push_back(std::move(bytes));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_size = text.size();

  detail::TempFile out{std::filesystem::path(path)};
  out.write(&header_size, 8);
  out.write(text.data(), text.size());
  for (const auto& bytes : data) out.write(bytes.data_ptr(), bytes.nbytes());
  out.commit();
}

}  // namespace modify::safetensors

MODIFY_ONE_TIME_END
