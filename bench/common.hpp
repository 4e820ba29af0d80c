// What the benchmark programs share: thread and BLAS set-up, the command line, and a console
// reporter that ends with a table of median times and their ratios to a baseline variant.
#pragma once

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

[[noreturn]] inline void fail(const std::string& program, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), what.c_str());
  std::abort();
}

// Sets LibTorch's and OpenBLAS's thread counts (OpenBLAS keeps its own pool, which
// torch::set_num_threads does not reach); returns a description for the benchmark context.
inline std::string set_threads(int threads) {
  torch::set_num_threads(threads);
  std::ostringstream out;
  out << "torch " << torch::get_num_threads();
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(threads);
    if (auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
      out << ", OpenBLAS " << get();
  } else {
    out << ", OpenBLAS not loaded";
  }
  return out.str();
}

// The BLAS LibTorch was built with (from at::show_config()) and the OpenBLAS library it found.
inline std::string blas_description() {
  std::string blas = "unknown";
  std::istringstream config(at::show_config());
  for (std::string line; std::getline(config, line);) {
    const auto at = line.find("BLAS_INFO=");
    if (at != std::string::npos) {
      blas = line.substr(at + 10);
      blas = blas.substr(0, blas.find(','));
    }
  }
  using GetConfig = char* (*)();
  if (auto get = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    blas += " (";
    blas += get();
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(get), &info) && info.dli_fname) (blas += ", ") += info.dli_fname;
    blas += ")";
  }
  return blas;
}

// RatioReporter: the console output, plus the median real and CPU time of each benchmark
// ("<workload>/<variant>") for the ratio table printed at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(bool color) : ConsoleReporter(color ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      auto& entry = entries_[run.run_name.function_name];
      entry.unit = benchmark::GetTimeUnitString(run.time_unit);
      const double times[2] = {run.GetAdjustedRealTime(), run.GetAdjustedCPUTime()};
      for (int clock : {kReal, kCpu}) {
        if (run.run_type == Run::RT_Iteration) entry.samples[clock].push_back(times[clock]);
        else if (run.aggregate_name == "median") entry.median[clock] = times[clock];
      }
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "cv") entry.cv = run.real_accumulated_time;
    }
  }

  // For each workload: the median time of each variant, and each one's ratio to `baseline`.
  void print_ratios(const std::vector<std::string>& workloads, const std::string& baseline,
                    const std::vector<std::string>& variants) const {
    std::printf("\nMedian time per call, and ratios to %s:\n%-14s %-5s", baseline.c_str(), "workload", "clock");
    for (const auto& v : variants) std::printf(" %14s", v.c_str());
    for (const auto& v : variants)
      if (v != baseline) std::printf(" %18s", (v + "/" + baseline).c_str());
    std::printf("\n");
    for (const auto& workload : workloads) {
      const Entry* base = find(workload + "/" + baseline);
      if (!base) continue;
      for (int clock : {kReal, kCpu}) {
        std::printf("%-14s %-5s", workload.c_str(), clock == kReal ? "real" : "cpu");
        for (const auto& v : variants) {
          const Entry* e = find(workload + "/" + v);
          char cell[64] = "-";
          if (e) std::snprintf(cell, sizeof cell, "%.2f %s", e->value(clock), e->unit.c_str());
          std::printf(" %14s", cell);
        }
        for (const auto& v : variants) {
          if (v == baseline) continue;
          const Entry* e = find(workload + "/" + v);
          char cell[32] = "-";
          if (e) std::snprintf(cell, sizeof cell, "%.3f", e->value(clock) / base->value(clock));
          std::printf(" %18s", cell);
        }
        std::printf("\n");
      }
    }
    bool any_cv = false;
    for (const auto& [name, entry] : entries_)
      if (entry.cv >= 0) {
        std::printf(any_cv ? ", %s %.1f%%" : "Real-time coefficient of variation: %s %.1f%%", name.c_str(), 100.0 * entry.cv);
        any_cv = true;
      }
    if (any_cv) std::printf("\n");
    std::fflush(stdout);
  }

 private:
  static constexpr int kReal = 0, kCpu = 1;
  struct Entry {
    std::string unit;
    std::vector<double> samples[2];
    double median[2] = {-1, -1};
    double cv = -1;
    double value(int clock) const {
      if (median[clock] >= 0 || samples[clock].empty()) return median[clock];
      auto sorted = samples[clock];
      std::sort(sorted.begin(), sorted.end());
      const std::size_t n = sorted.size();
      return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
  };
  const Entry* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() || it->second.value(kReal) < 0 ? nullptr : &it->second;
  }
  std::map<std::string, Entry> entries_;
};

// Options: the program's own flags, taken out of the command line; the rest goes to Google
// Benchmark after these defaults (which the command line overrides):
//   --benchmark_repetitions=20 --benchmark_enable_random_interleaving=true
//   --benchmark_display_aggregates_only=true
// Own flags: --torch_threads=N (or MODIFY_BENCH_THREADS=N; default 1), --profile=<name>,
// --profile_iterations=N.
struct Options {
  int threads = 1;
  bool color = false;
  std::string profile;
  int64_t profile_iterations = 10000;
  std::vector<char*> benchmark_args;
};

inline Options parse(int argc, char** argv) {
  Options o;
  o.color = isatty(STDOUT_FILENO);  // --benchmark_color=auto, which a custom reporter must apply itself
  if (const char* env = std::getenv("MODIFY_BENCH_THREADS")) o.threads = std::atoi(env);
  static char repetitions[] = "--benchmark_repetitions=20";
  static char interleaving[] = "--benchmark_enable_random_interleaving=true";
  static char aggregates[] = "--benchmark_display_aggregates_only=true";
  o.benchmark_args = {argv[0], repetitions, interleaving, aggregates};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value_of = [&](std::string_view flag) { return std::string(arg.substr(flag.size())); };
    if (arg.starts_with("--benchmark_color=")) {
      const std::string value = value_of("--benchmark_color=");
      if (value != "auto") o.color = value == "true" || value == "yes" || value == "1";
    }
    if (arg.starts_with("--torch_threads=")) o.threads = std::atoi(value_of("--torch_threads=").c_str());
    else if (arg.starts_with("--profile=")) o.profile = value_of("--profile=");
    else if (arg.starts_with("--profile_iterations=")) o.profile_iterations = std::atoll(value_of("--profile_iterations=").c_str());
    else o.benchmark_args.push_back(argv[i]);
  }
  if (o.threads < 1) fail(argv[0], "the thread count must be a positive integer");
  return o;
}

// Sets threads, records the machine in the context and initialises Google Benchmark.
inline bool initialise(Options& o) {
  benchmark::AddCustomContext("threads", set_threads(o.threads));
  benchmark::AddCustomContext("blas", blas_description());
  benchmark::AddCustomContext("libtorch", TORCH_VERSION);
  int count = static_cast<int>(o.benchmark_args.size());
  o.benchmark_args.push_back(nullptr);
  benchmark::Initialize(&count, o.benchmark_args.data());
  return !benchmark::ReportUnrecognizedArguments(count, o.benchmark_args.data());
}

// Runs fn iterations times where a profiler can find it (valgrind --toggle-collect='*profile_loop*').
template <class F>
[[gnu::noinline]] void profile_loop(F forward, int64_t iterations) {
  for (int64_t i = 0; i < iterations; ++i) {
    auto y = forward();
    benchmark::DoNotOptimize(y);
  }
}

}  // namespace bench
