// Loading weights from safetensors: a 544 MB file (64 Linear 2048x1024 float layers and their
// biases), written at start-up to the temporary folder and so in the page cache, read
//   read_file      baseline: ::read() of the whole file into one preallocated buffer
//   new_tensors    safetensors::load(path): map + validate + a tensor per entry, no copy
//   new_touched    the same, then a sum over every tensor (every page of the mapping is read)
//   into_model     modify::load(model, path): validate, then copy_ into the model's tensors
// Throughput (bytes/s of the file) is Google Benchmark's bytes_per_second counter.
#include <modify/io/state_dict.hpp>

#include "common.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr const char* kProgram = "io_bench";
constexpr int kLayers = 64, kIn = 1024, kOut = 2048;

torch::nn::Sequential make_model() {
  torch::nn::Sequential model;
  for (int i = 0; i < kLayers; ++i) model->push_back(torch::nn::Linear(kIn, kOut));
  return model;
}

struct Setup {
  std::string path;
  int64_t bytes = 0;
  torch::nn::Sequential model = make_model();
  std::vector<char> buffer;
};

void read_file(benchmark::State& state, Setup* s) {
  for (auto _ : state) {
    const int fd = ::open(s->path.c_str(), O_RDONLY);
    int64_t done = 0;
    while (done < s->bytes) {
      const ssize_t n = ::read(fd, s->buffer.data() + done, s->bytes - done);
      if (n <= 0) bench::fail(kProgram, "read failed");
      done += n;
    }
    ::close(fd);
    benchmark::DoNotOptimize(s->buffer.data());
  }
  state.SetBytesProcessed(state.iterations() * s->bytes);
}

void new_tensors(benchmark::State& state, Setup* s) {
  for (auto _ : state) {
    auto tensors = modify::safetensors::load(s->path);
    benchmark::DoNotOptimize(tensors.data());
  }
  state.SetBytesProcessed(state.iterations() * s->bytes);
}

void new_touched(benchmark::State& state, Setup* s) {
  for (auto _ : state) {
    double total = 0;
    for (const auto& [name, t] : modify::safetensors::load(s->path)) total += t.sum().item<double>();
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(state.iterations() * s->bytes);
}

void into_model(benchmark::State& state, Setup* s) {
  for (auto _ : state) {
    auto report = modify::load(s->model, s->path);
    benchmark::DoNotOptimize(report.loaded);
  }
  state.SetBytesProcessed(state.iterations() * s->bytes);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options options = bench::parse(argc, argv);
  if (!bench::initialise(options)) return 1;
  torch::manual_seed(0);
  Setup s;
  s.path = (std::filesystem::temp_directory_path() / "modify_io_bench.safetensors").string();
  {
    auto source = make_model();
    modify::save(source, s.path);
    s.bytes = int64_t(std::filesystem::file_size(s.path));
    // Checks before timing: the loaded model equals the saved one; new tensors view the mapping.
    modify::load(s.model, s.path);
    for (std::size_t i = 0; i < source->parameters().size(); ++i)
      if (!torch::equal(source->parameters()[i], s.model->parameters()[i])) bench::fail(kProgram, "loaded model differs from the saved one");
    const auto file = modify::safetensors::File::open(s.path);
    if (file.tensor("0.weight").data_ptr() != file.tensor("0.weight").data_ptr())
      bench::fail(kProgram, "new tensors are copies, not views of the mapping");
  }
  s.buffer.resize(s.bytes);
  benchmark::AddCustomContext("file", std::to_string(s.bytes) + " bytes");
  using Variant = void (*)(benchmark::State&, Setup*);
  const std::pair<const char*, Variant> variants[] = {
      {"load/read_file", read_file}, {"load/new_tensors", new_tensors}, {"load/new_touched", new_touched}, {"load/into_model", into_model}};
  for (auto [name, fn] : variants)
    benchmark::RegisterBenchmark(name, fn, &s)->Unit(benchmark::kMillisecond);
  bench::RatioReporter reporter(options.color);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios({"load"}, "read_file", {"read_file", "new_tensors", "new_touched", "into_model"});
  benchmark::Shutdown();
  std::filesystem::remove(s.path);
}
