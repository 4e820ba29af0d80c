// Reading IDX files (the MNIST family's format), gzip-compressed or not, into uint8 tensors, with zlib.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <zlib.h>

#include <torch/types.h>

namespace examples::idx {

// Error: a file that is missing, unreadable, truncated or not an unsigned-byte IDX file. The
// message names the file, what is wrong, and (when given) the Debian package that provides it.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
inline std::string hint(const std::string& package) {
  return package.empty() ? "" : " (the file is installed by the Debian package " + package +
                                    ": apt-get install " + package + ")";
}

inline uint32_t big_endian(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
}  // namespace detail

// parse(bytes, name): the IDX content of `bytes` as a uint8 tensor of the dims its header gives
// ("name" is used in messages). Only unsigned-byte data (type 0x08), as the MNIST files use.
inline torch::Tensor parse(const std::vector<uint8_t>& bytes, const std::string& name, const std::string& package = "") {
  auto fail = [&](const std::string& what) -> torch::Tensor { throw Error(name + ": " + what + detail::hint(package)); };
  if (bytes.size() < 4) return fail("too short for an IDX header (" + std::to_string(bytes.size()) + " bytes)");
  if (bytes[0] != 0 || bytes[1] != 0) return fail("not an IDX file (its first two bytes are not zero)");
  if (bytes[2] != 0x08) return fail("IDX data type " + std::to_string(bytes[2]) + " is not unsigned byte (8)");
  const std::size_t rank = bytes[3];
  if (rank == 0 || rank > 4) return fail("IDX header gives " + std::to_string(rank) + " dims (expected 1 to 4)");
  const std::size_t header = 4 + 4 * rank;
  if (bytes.size() < header) return fail("truncated IDX header");
  std::vector<int64_t> dims;
  std::size_t elements = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    dims.push_back(detail::big_endian(&bytes[4 + 4 * d]));
    elements *= std::size_t(dims.back());
  }
  const std::size_t data = bytes.size() - header;
  if (data != elements)
    return fail("the header announces " + std::to_string(elements) + " bytes of data but the file has " +
                std::to_string(data) + (data < elements ? " (truncated)" : " (trailing bytes)"));
  auto out = torch::empty(dims, torch::kUInt8);
  std::memcpy(out.data_ptr<uint8_t>(), bytes.data() + header, elements);
  return out;
}

// read_bytes(path): the file's content, decompressed when it is gzip (zlib reads plain files as they are).
inline std::vector<uint8_t> read_bytes(const std::string& path, const std::string& package = "") {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw Error(path + ": cannot open (" + std::strerror(errno) + ")" + detail::hint(package));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  int n = 0;
  while ((n = gzread(file, chunk, sizeof chunk)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  int code = Z_OK;
  const std::string zlib_message = gzerror(file, &code);
  gzclose(file);
  // A gzip stream cut short reads as Z_BUF_ERROR; a damaged one as Z_DATA_ERROR (bad CRC, bad codes).
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END))
    throw Error(path + ": corrupt or truncated gzip data (zlib: " + zlib_message + ")" + detail::hint(package));
  return bytes;
}

// read(path, package): read_bytes then parse: the whole file as a uint8 tensor.
inline torch::Tensor read(const std::string& path, const std::string& package = "") {
  return parse(read_bytes(path, package), path, package);
}

}  // namespace examples::idx
