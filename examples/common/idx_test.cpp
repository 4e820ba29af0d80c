// Tests for examples/common/idx.hpp: good files (gzip and plain), and clear errors for truncated,
// corrupt, missing and mislabelled ones.
#include <torch/torch.h>  // before doctest: LibTorch's glog CHECK macros would replace doctest's

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "idx.hpp"

namespace {
namespace fs = std::filesystem;

// A 2 x 3 x 2 IDX file of unsigned bytes 0..11.
std::vector<uint8_t> small_idx() {
  std::vector<uint8_t> bytes{0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2};
  for (uint8_t i = 0; i < 12; ++i) bytes.push_back(i);
  return bytes;
}

// A private folder for the test's files, removed at exit.
struct TempFolder {
  fs::path path = fs::temp_directory_path() / ("modify_idx_test_" + std::to_string(::getpid()));
  TempFolder() { fs::create_directories(path); }
  ~TempFolder() { fs::remove_all(path); }
} temp_folder;

std::string temp_path(const std::string& name) { return (temp_folder.path / name).string(); }

std::string write_gzip(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = temp_path(name);
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  gzclose(f);
  return path;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::string error_of(const std::string& path) {
  try {
    examples::idx::read(path, "dataset-fashion-mnist");
  } catch (const examples::idx::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("a gzip IDX file reads as a uint8 tensor with the header's dims, and a plain one the same") {
  const auto t = examples::idx::read(write_gzip("good.gz", small_idx()));
  CHECK(t.sizes() == at::IntArrayRef{2, 3, 2});
  CHECK((t.scalar_type() == torch::kUInt8));
  CHECK(torch::equal(t.flatten(), torch::arange(12).to(torch::kUInt8)));
  const std::string plain = temp_path("plain");
  write_file(plain, small_idx());
  CHECK(torch::equal(examples::idx::read(plain), t));
}

TEST_CASE("a truncated gzip file is an error naming the file and the package") {
  const std::string good = write_gzip("cut.gz", small_idx());
  auto bytes = file_bytes(good);
  bytes.resize(bytes.size() - 10);  // cuts into the deflate data / trailer
  write_file(good, bytes);
  const std::string message = error_of(good);
  CHECK(message.find(good) != std::string::npos);
  CHECK(message.find("truncated") != std::string::npos);
  CHECK(message.find("dataset-fashion-mnist") != std::string::npos);
}

TEST_CASE("corrupt gzip data is an error") {
  const std::string path = write_gzip("corrupt.gz", small_idx());
  auto bytes = file_bytes(path);
  bytes[bytes.size() - 6] ^= 0xff;  // inside the CRC-32 of the trailer
  write_file(path, bytes);
  const std::string message = error_of(path);
  CHECK(message.find("corrupt") != std::string::npos);
  CHECK(message.find(path) != std::string::npos);
}

TEST_CASE("IDX content that disagrees with its header, or is not IDX, is an error saying what is wrong") {
  auto short_data = small_idx();
  short_data.pop_back();
  CHECK(error_of(write_gzip("short.gz", short_data)).find("announces 12 bytes of data but the file has 11") !=
        std::string::npos);
  auto long_data = small_idx();
  long_data.push_back(0);
  CHECK(error_of(write_gzip("long.gz", long_data)).find("trailing") != std::string::npos);
  auto not_idx = small_idx();
  not_idx[0] = 'P';
  CHECK(error_of(write_gzip("not_idx.gz", not_idx)).find("not an IDX file") != std::string::npos);
  auto floats = small_idx();
  floats[2] = 0x0d;
  CHECK(error_of(write_gzip("floats.gz", floats)).find("not unsigned byte") != std::string::npos);
  CHECK(error_of(write_gzip("empty.gz", {})).find("too short") != std::string::npos);
}

TEST_CASE("a missing file is an error naming it and the package that installs it") {
  const std::string message = error_of("/nonexistent/train-images-idx3-ubyte.gz");
  CHECK(message.find("/nonexistent/train-images-idx3-ubyte.gz: cannot open") != std::string::npos);
  CHECK(message.find("apt-get install dataset-fashion-mnist") != std::string::npos);
}
