// A progress bar for long loops: rate, ETA and running figures; plain lines when stdout is not a terminal.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>

namespace examples {

// ProgressBar bar("epoch 1/5", steps, "img"); then bar.update(done, "loss 0.41 acc 0.86") as work
// is done (done counts steps; `per_step` units, e.g. images, make the rate) and bar.finish(...) at
// the end. On a terminal it redraws one line at most 10 times a second; otherwise (a log file, a
// test run) it prints a plain line at every tenth of the way, so logs stay short and readable.
class ProgressBar {
  using Clock = std::chrono::steady_clock;

 public:
  ProgressBar(std::string label, int64_t total, std::string unit = "it", int64_t per_step = 1)
      : label_(std::move(label)), unit_(std::move(unit)), total_(std::max<int64_t>(total, 1)), per_step_(per_step),
        start_(Clock::now()), last_draw_(start_), terminal_(isatty(fileno(stdout)) != 0) {}

  void update(int64_t done, const std::string& figures = "") {
    const auto now = Clock::now();
    if (terminal_) {
      if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
      std::cout << '\r' << line(done, figures, now) << "\033[K" << std::flush;
    } else {
      const int64_t tenth = done * 10 / total_;
      if (tenth <= printed_tenth_ || done >= total_) return;  // the last line is finish()'s
      printed_tenth_ = tenth;
      std::cout << line(done, figures, now) << '\n' << std::flush;
    }
    last_draw_ = now;
  }

  // finish(figures): the final line, kept on screen; returns the seconds the loop took.
  double finish(const std::string& figures = "") {
    const auto now = Clock::now();
    std::cout << (terminal_ ? "\r" : "") << line(total_, figures, now) << (terminal_ ? "\033[K\n" : "\n") << std::flush;
    return seconds(now);
  }

 private:
  double seconds(Clock::time_point now) const { return std::chrono::duration<double>(now - start_).count(); }

  static std::string clock_time(double s) {
    const int64_t total = int64_t(s + 0.5);
    std::ostringstream out;
    out << total / 60 << ':' << std::setw(2) << std::setfill('0') << total % 60;
    return out.str();
  }

  std::string line(int64_t done, const std::string& figures, Clock::time_point now) const {
    constexpr int width = 24;
    const double elapsed = seconds(now), fraction = double(std::min(done, total_)) / double(total_);
    const double rate = elapsed > 0 ? double(done * per_step_) / elapsed : 0.0;
    std::ostringstream out;
    out << label_ << " ";
    if (terminal_) {
      const int filled = int(fraction * width);
      out << '[' << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
    }
    out << std::setw(3) << int(fraction * 100) << "% " << done << '/' << total_ << "  " << std::fixed
        << std::setprecision(0) << rate << ' ' << unit_ << "/s  ";
    if (done < total_) out << "ETA " << clock_time(done > 0 ? elapsed * double(total_ - done) / double(done) : 0.0);
    else out << "took " << clock_time(elapsed);
    if (!figures.empty()) out << "  " << figures;
    return out.str();
  }

  std::string label_, unit_;
  int64_t total_, per_step_;
  Clock::time_point start_, last_draw_;
  bool terminal_;
  int64_t printed_tenth_ = 0;
};

}  // namespace examples
