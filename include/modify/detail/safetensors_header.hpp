// The safetensors format without LibTorch: parsing and validating a file's bytes into a table of
// contents (names, dtypes, shapes, byte ranges, metadata). Kept free of tensors so it can be fuzzed.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <modify/detail/one_time.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify::safetensors {

static_assert(std::endian::native == std::endian::little,
              "modify: safetensors: the reader maps little-endian data as is, so it needs a little-endian host");

// FormatError: the bytes are not a valid safetensors file. The message starts with "modify:",
// names the file and says what is wrong where.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// DType: the element types of the safetensors specification.
enum class DType { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2 };

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
inline constexpr DTypeInfo dtype_table[] = {
    {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},     {DType::I8, "I8", 1},
    {DType::I16, "I16", 2},   {DType::U16, "U16", 2},   {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I32, "I32", 4},   {DType::U32, "U32", 4},
    {DType::F32, "F32", 4},   {DType::F64, "F64", 8},   {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},   {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

inline std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& d : dtype_table)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}
inline const DTypeInfo& info(DType dtype) {
  for (const auto& d : dtype_table)
    if (d.dtype == dtype) return d;
  throw std::logic_error("modify: safetensors: unknown DType value");
}

// Entry: one tensor of a file; [begin, end) is its byte range relative to the start of the data.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// Header: a validated table of contents. entries are in header order; data_start is where the
// tensor data begins (8 + the header's length).
struct Header {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;
};

// The largest header accepted (the reference implementation's limit too): a longer length field is
// more likely corruption than a real header, and parsing it would cost memory for nothing.
inline constexpr uint64_t max_header_size = 100'000'000;

namespace detail {

using json = nlohmann::ordered_json;

[[noreturn]] inline void fail(const std::string& file, const std::string& what) {
  throw FormatError("modify: safetensors: '" + file + "': " + what);
}

// A JSON number as a non-negative integer, or nothing (negative, fractional, too large, not a number).
inline std::optional<uint64_t> as_count(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return uint64_t(value.get<int64_t>());
  return std::nullopt;
}

inline Entry parse_entry(const std::string& file, const std::string& name, const json& value) {
  const std::string where = "tensor '" + name + "'";
  if (!value.is_object()) fail(file, where + ": its header entry is " + std::string(value.type_name()) + ", not an object");
  for (const auto& [key, _] : value.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets") fail(file, where + ": unknown field '" + key + "'");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!value.contains(key)) fail(file, where + ": no '" + key + "' field");

  Entry entry{name, DType::U8, {}, 0, 0};
  const json& dtype = value["dtype"];
  if (!dtype.is_string()) fail(file, where + ": dtype is " + std::string(dtype.type_name()) + ", not a string");
  auto parsed = dtype_from_name(dtype.get_ref<const std::string&>());
  if (!parsed) fail(file, where + ": unknown dtype '" + dtype.get<std::string>() + "'");
  entry.dtype = *parsed;

  const json& shape = value["shape"];
  if (!shape.is_array()) fail(file, where + ": shape is " + std::string(shape.type_name()) + ", not an array");
  uint64_t elements = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    auto dim = as_count(shape[i]);
    if (!dim) fail(file, where + ": shape[" + std::to_string(i) + "] is " + shape[i].dump() + ", not a non-negative integer");
    if (*dim > uint64_t(INT64_MAX) || __builtin_mul_overflow(elements, *dim, &elements) || elements > uint64_t(INT64_MAX))
      fail(file, where + ": shape " + shape.dump() + " has more elements than a 64-bit count holds");
    entry.shape.push_back(int64_t(*dim));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(elements, uint64_t(info(entry.dtype).size), &bytes))
    fail(file, where + ": shape " + shape.dump() + " has more bytes than a 64-bit count holds");

  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) fail(file, where + ": data_offsets is " + offsets.dump() + ", not [begin, end]");
  auto begin = as_count(offsets[0]), end = as_count(offsets[1]);
  if (!begin || !end || *begin > *end)
    fail(file, where + ": data_offsets " + offsets.dump() + " is not a pair of non-negative integers with begin <= end");
  entry.begin = *begin;
  entry.end = *end;
  if (entry.end - entry.begin != bytes)
    fail(file, where + ": shape " + shape.dump() + " of " + std::string(info(entry.dtype).name) + " needs " +
                   std::to_string(bytes) + " bytes, but data_offsets " + offsets.dump() + " span " +
                   std::to_string(entry.end - entry.begin));
  return entry;
}

// Parses JSON refusing duplicate keys in any object (plain parsing would keep the last silently).
inline json parse_json(const std::string& file, const char* first, const char* last) {
  std::vector<std::unordered_set<std::string>> keys_per_object;
  std::optional<std::string> duplicate;
  auto refuse_duplicates = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys_per_object.emplace_back();
    else if (event == json::parse_event_t::object_end && !keys_per_object.empty()) keys_per_object.pop_back();
    else if (event == json::parse_event_t::key && !keys_per_object.empty() &&
             !keys_per_object.back().insert(parsed.get<std::string>()).second && !duplicate)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(first, last, refuse_duplicates);
  } catch (const json::exception& e) {
    fail(file, "the header is not valid JSON: " + std::string(e.what()));
  }
  if (duplicate) fail(file, "the header has the key '" + *duplicate + "' twice");
  return header;
}

}  // namespace detail

// parse_header(bytes, size, file): the validated table of contents of a whole file's bytes.
// `file` only names the file in messages. Checks: the length field and the header fit the file;
// the header is a JSON object without duplicate keys; every entry has a known dtype, non-negative
// dims whose product fits 64 bits, and data_offsets matching its size; __metadata__ maps strings to
// strings; the tensors cover the data exactly (no overlap, no gap, nothing after the last).
inline Header parse_header(const unsigned char* bytes, uint64_t size, const std::string& file) {
  if (size < 8) detail::fail(file, "the file has " + std::to_string(size) + " bytes, fewer than the 8 of the header length");
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes, 8);
  if (header_size > max_header_size)
    detail::fail(file, "the header length field says " + std::to_string(header_size) + " bytes, more than the " +
                           std::to_string(max_header_size) + " allowed (is this a safetensors file?)");
  if (header_size > size - 8)
    detail::fail(file, "the header length field says " + std::to_string(header_size) + " bytes, past the end of the " +
                           std::to_string(size) + "-byte file");
  const char* first = reinterpret_cast<const char*>(bytes + 8);
  if (header_size == 0 || first[0] != '{') detail::fail(file, "the header does not start with '{'");
  auto json = detail::parse_json(file, first, first + header_size);
  if (!json.is_object()) detail::fail(file, "the header is a JSON " + std::string(json.type_name()) + ", not an object");

  Header header;
  header.data_start = 8 + header_size;
  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) detail::fail(file, "__metadata__ is " + std::string(value.type_name()) + ", not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) detail::fail(file, "__metadata__['" + key + "'] is " + text.dump() + ", not a string");
        header.metadata.emplace(key, text.get<std::string>());
      }
    } else {
      header.entries.push_back(detail::parse_entry(file, name, value));
    }
  }

  // The tensors must tile the data: sorted by range, each starts where the previous ended.
  std::vector<const Entry*> by_offset;
  for (const auto& e : header.entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return std::pair(a->begin, a->end) < std::pair(b->begin, b->end); });
  const uint64_t data_size = size - header.data_start;
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : by_offset) {
    if (e->end > data_size)
      detail::fail(file, "tensor '" + e->name + "': data_offsets [" + std::to_string(e->begin) + ", " + std::to_string(e->end) +
                             "] end past the " + std::to_string(data_size) + " bytes of data");
    if (e->begin < covered)
      detail::fail(file, "tensor '" + e->name + "': data_offsets [" + std::to_string(e->begin) + ", " + std::to_string(e->end) +
                             "] overlap those of '" + previous->name + "'");
    if (e->begin > covered)
      detail::fail(file, "bytes [" + std::to_string(covered) + ", " + std::to_string(e->begin) + ") of the data belong to no tensor (before '" +
                             e->name + "')");
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    detail::fail(file, std::to_string(data_size - covered) + " bytes of trailing data after the last tensor (data ends at " +
                           std::to_string(covered) + " of " + std::to_string(data_size) + ")");
  return header;
}

}  // namespace modify::safetensors

MODIFY_ONE_TIME_END
