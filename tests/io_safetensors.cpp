#include <modify/io/safetensors.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace st = modify::safetensors;

namespace {

using modify_test::temp_path;

const std::string fixtures = MODIFY_TEST_FIXTURES_DIR;

// A file made of a length field, a header text and data bytes, as written (no checks).
std::string write_raw(const std::string& name, const std::string& header, const std::string& data = "",
                      std::optional<uint64_t> length = std::nullopt) {
  const auto path = temp_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = length ? *length : header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
  return path;
}

// The tensors tests/fixtures/generate_safetensors.py's reference_tensors() makes, in its order.
std::vector<std::pair<std::string, at::Tensor>> reference_tensors() {
  auto base = torch::arange(12, torch::kFloat32).reshape({3, 4}) / 4 - 1;
  return {{"f32", base},
          {"f16", base.to(torch::kHalf)},
          {"bf16", base.to(torch::kBFloat16)},
          {"u8", torch::arange(0, 250, 50, torch::kUInt8)},
          {"f64", torch::arange(6, torch::kFloat64).reshape({2, 3}) / 3},
          {"i64", torch::arange(-3, 3, torch::kInt64)},
          {"i32", torch::arange(-2, 2, torch::kInt32)},
          {"i16", torch::arange(-2, 2, torch::kInt16)},
          {"i8", torch::arange(-2, 2, torch::kInt8)},
          {"bool", torch::tensor({true, false, true})},
          {"scalar", torch::tensor(3.5f)},
          {"empty", torch::zeros({0, 4})}};
}

const std::map<std::string, std::string> reference_metadata{{"format", "pt"}, {"writer", "generate_safetensors.py"}};

void check_reference(const std::vector<std::pair<std::string, at::Tensor>>& loaded) {
  const auto expected = reference_tensors();
  REQUIRE(loaded.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(expected[i].first);
    CHECK(loaded[i].first == expected[i].first);
    CHECK((loaded[i].second.scalar_type() == expected[i].second.scalar_type()));
    CHECK(loaded[i].second.sizes() == expected[i].second.sizes());
    CHECK(torch::equal(loaded[i].second, expected[i].second));
  }
}

// The first line of the message of what f throws, as a FormatError.
template <class F>
std::string format_error(F&& f) {
  try {
    f();
  } catch (const st::FormatError& e) {
    return e.what();
  }
  return "(no FormatError)";
}

}  // namespace

TEST_CASE("a file written by Python is read with every dtype, its metadata and its order") {
  const auto file = st::File::open(fixtures + "/python_written.safetensors");
  CHECK(file.metadata() == reference_metadata);
  check_reference(st::load(fixtures + "/python_written.safetensors"));
  CHECK(file.names().front() == "f32");
  CHECK(file.entry("f64").shape == std::vector<int64_t>{2, 3});
  CHECK_THROWS_WITH_AS(file.tensor("nope"), doctest::Contains("has no tensor 'nope'"), std::out_of_range);
}

TEST_CASE("aligned tensors view the mapping without copying; misaligned ones are copies; the file is never written") {
  const auto path = temp_path("zero_copy.safetensors");
  std::filesystem::copy_file(fixtures + "/python_written.safetensors", path, std::filesystem::copy_options::overwrite_existing);
  const auto before = std::filesystem::file_size(path);
  std::vector<char> bytes_before(before);
  std::ifstream(path, std::ios::binary).read(bytes_before.data(), before);
  {
    const auto file = st::File::open(path);
    // Two tensors from the same bytes of one mapping share memory; copies would not.
    CHECK(file.tensor("f32").data_ptr() == file.tensor("f32").data_ptr());
    CHECK(file.tensor("bf16").data_ptr() == file.tensor("bf16").data_ptr());
    // f64 starts right after u8's 5 bytes (the data itself starts 8-aligned), so it is misaligned
    // for 8-byte elements: copied.
    CHECK(file.entry("f64").begin % 8 != 0);
    CHECK(file.tensor("f64").data_ptr() != file.tensor("f64").data_ptr());
    at::Tensor view = file.tensor("f32");
    view.fill_(42);  // copy-on-write: this process's pages only
    CHECK(file.tensor("f32").eq(42).all().item<bool>());
  }
  at::Tensor outlives_file = st::File::open(path).tensor("i64");  // keeps the mapping alive
  CHECK(torch::equal(outlives_file, torch::arange(-3, 3, torch::kInt64)));
  std::vector<char> bytes_after(before);
  std::ifstream(path, std::ios::binary).read(bytes_after.data(), before);
  CHECK(bytes_after == bytes_before);
  std::filesystem::remove(path);
}

TEST_CASE("a file written by modify is read by the Python reader, and by modify itself") {
  const auto path = temp_path("cpp_written.safetensors");
  st::save(path, reference_tensors(), reference_metadata);
  check_reference(st::load(path));
  CHECK(st::File::open(path).metadata() == reference_metadata);
  const std::string command = std::string(MODIFY_TEST_PYTHON) + " " + fixtures + "/generate_safetensors.py --check " + path;
  CHECK(std::system(command.c_str()) == 0);
  std::filesystem::remove(path);
}

TEST_CASE("save writes contiguous copies of non-contiguous tensors and pads the header to 8 bytes") {
  const auto path = temp_path("strided.safetensors");
  auto m = torch::arange(12, torch::kFloat32).reshape({3, 4});
  st::save(path, {{"t", m.t()}, {"slice", m.index({torch::indexing::Slice(), 1})}});
  const auto file = st::File::open(path);
  CHECK(torch::equal(file.tensor("t"), m.t()));
  CHECK(torch::equal(file.tensor("slice"), torch::tensor({1.f, 5.f, 9.f})));
  uint64_t header_size = 0;
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(&header_size), 8);
  CHECK(header_size % 8 == 0);
  std::filesystem::remove(path);
}

TEST_CASE("save is atomic: a refused save leaves the previous file as it was, and no temporary file") {
  const std::filesystem::path folder = temp_path("atomic");
  std::filesystem::create_directory(folder);
  const auto path = (folder / "w.safetensors").string();
  st::save(path, {{"a", torch::ones({2})}});
  CHECK_THROWS_WITH_AS(st::save(path, {{"a", torch::zeros({2})}, {"a", torch::zeros({2})}}),
                       doctest::Contains("tensor 'a' is given twice"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(st::save(path, {{"c", torch::zeros({2}, torch::kComplexFloat)}}),
                       doctest::Contains("safetensors has no name for"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(st::save(path, {{"__metadata__", torch::zeros({2})}}), doctest::Contains("reserved"), std::invalid_argument);
  CHECK(torch::equal(st::File::open(path).tensor("a"), torch::ones({2})));
  // A folder that cannot be written: the temporary file cannot be made, the target stays.
  CHECK_THROWS_WITH_AS(st::save((folder / "missing_dir" / "x.safetensors").string(), {{"a", torch::ones({1})}}),
                       doctest::Contains("cannot create a temporary file"), std::runtime_error);
  st::save(path, {{"b", torch::full({3}, 7.0)}});
  const auto file = st::File::open(path);
  CHECK(file.names() == std::vector<std::string>{"b"});
  CHECK(std::distance(std::filesystem::directory_iterator(folder), std::filesystem::directory_iterator()) == 1);
  std::filesystem::remove_all(folder);
}

TEST_CASE("every malformed file is a FormatError naming the file and what is wrong") {
  const std::string f32_1 = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  auto error_of = [](const std::string& path) { return format_error([&] { st::File::open(path); }); };

  {
    const auto path = temp_path("short");
    std::ofstream(path, std::ios::binary) << "abc";
    CHECK(error_of(path).find("fewer than the 8 of the header length") != std::string::npos);
    CHECK(error_of(path).find(path) != std::string::npos);
  }
  CHECK(error_of(write_raw("past_end", "{}", "", 1000)).find("past the end of the 10-byte file") != std::string::npos);
  CHECK(error_of(write_raw("absurd", "{}", "", uint64_t(1) << 62)).find("more than the 100000000 allowed") != std::string::npos);
  CHECK(error_of(write_raw("not_json", "{not json")).find("not valid JSON") != std::string::npos);
  CHECK(error_of(write_raw("not_brace", "[1, 2]")).find("does not start with '{'") != std::string::npos);
  CHECK(error_of(write_raw("not_object", R"({"a": 1})")).find("tensor 'a': its header entry is number") != std::string::npos);
  CHECK(error_of(write_raw("unknown_dtype", R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", "0123"))
            .find("tensor 'a': unknown dtype 'F7'") != std::string::npos);
  CHECK(error_of(write_raw("unknown_field", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":0}})", "0123"))
            .find("unknown field 'x'") != std::string::npos);
  CHECK(error_of(write_raw("no_shape", R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", "0123")).find("no 'shape' field") != std::string::npos);
  CHECK(error_of(write_raw("size_mismatch", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "0123"))
            .find("needs 8 bytes, but data_offsets [0,4] span 4") != std::string::npos);
  CHECK(error_of(write_raw("out_of_range", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "0123"))
            .find("end past the 4 bytes of data") != std::string::npos);
  CHECK(error_of(write_raw("reversed", R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", "0123"))
            .find("begin <= end") != std::string::npos);
  CHECK(error_of(write_raw("overlap", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           "01234567"))
            .find("tensor 'b': data_offsets [4, 8] overlap those of 'a'") != std::string::npos);
  CHECK(error_of(write_raw("gap", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "01234567"))
            .find("bytes [0, 4) of the data belong to no tensor") != std::string::npos);
  CHECK(error_of(write_raw("duplicate", R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "01"))
            .find("the key 'a' twice") != std::string::npos);
  CHECK(error_of(write_raw("trailing", f32_1, "0123garbage")).find("7 bytes of trailing data") != std::string::npos);
  CHECK(error_of(write_raw("negative", R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})"))
            .find("shape[0] is -1, not a non-negative integer") != std::string::npos);
  CHECK(error_of(write_raw("fraction", R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]}})"))
            .find("shape[0] is 1.5") != std::string::npos);
  CHECK(error_of(write_raw("overflow", R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"))
            .find("more elements than a 64-bit count holds") != std::string::npos);
  CHECK(error_of(write_raw("overflow_bytes", R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})"))
            .find("more bytes than a 64-bit count holds") != std::string::npos);
  CHECK(error_of(write_raw("bad_metadata", R"({"__metadata__":{"k":1}})")).find("__metadata__['k'] is 1, not a string") != std::string::npos);
  // A dtype of the spec that LibTorch 1.13 lacks: the file is valid, that tensor cannot be made.
  const auto u32 = write_raw("u32", R"({"a":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}})", "0123");
  CHECK(format_error([&] { st::File::open(u32).tensor("a"); }).find("dtype U32, which LibTorch 1.13 has no type for") != std::string::npos);
  // The seed corpus of the fuzzer holds one file per breakage: each is refused, each valid one read.
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(fixtures) / ".." / "fuzz" / "corpus")) {
    CAPTURE(entry.path().string());
    const bool valid = entry.path().filename().string().rfind("valid_", 0) == 0;
    if (valid) CHECK_NOTHROW(st::load(entry.path().string()));
    else CHECK_THROWS_AS(st::load(entry.path().string()), st::FormatError);
  }
}
