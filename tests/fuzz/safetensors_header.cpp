// libFuzzer target for the safetensors reader's parsing and validation core (parse_header): any
// input must either be refused with a FormatError or yield a table of contents whose every byte
// range lies inside the input. Anything else (another exception, a sanitizer report) is a bug.
// Built and run by run.sh (see docs/weights.md).
#include <modify/detail/safetensors_header.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = modify::safetensors::parse_header(data, size, "fuzz input");
    // Read every byte the entries claim (what File::tensor views), so ASan checks the bounds.
    unsigned checksum = 0;
    for (const auto& e : header.entries)
      for (uint64_t i = e.begin; i < e.end; ++i) checksum += data[header.data_start + i];
    volatile unsigned sink = checksum;
    (void)sink;
  } catch (const modify::safetensors::FormatError&) {
  }
  return 0;
}
