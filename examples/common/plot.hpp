// Training curves: kept in memory, written as a data file, and drawn to a PNG with gnuplot.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace examples {

// Curves: the training loss of every step and the accuracies after every epoch.
struct Curves {
  struct Step {
    double epoch;  // fractional: 1.5 is half-way through the second epoch
    double loss;
  };
  struct Epoch {
    int epoch;
    double train_accuracy, test_accuracy;
  };
  std::vector<Step> steps;
  std::vector<Epoch> epochs;
};

// plot(curves, folder, title): writes folder/curves.dat and folder/curves.gp, and runs gnuplot to
// draw folder/curves.png (loss left, accuracies right). Without gnuplot it says so and returns
// false: a missing plot is not a failed run. Returns whether the PNG was written.
inline bool plot(const Curves& curves, const std::string& folder, const std::string& title) {
  const std::string data = folder + "/curves.dat", script = folder + "/curves.gp", png = folder + "/curves.png";
  {
    std::ofstream out(data);
    out << "# epoch loss (per step)\n";
    for (const auto& s : curves.steps) out << s.epoch << ' ' << s.loss << '\n';
    out << "\n\n# epoch train_accuracy test_accuracy\n";
    for (const auto& e : curves.epochs) out << e.epoch << ' ' << e.train_accuracy << ' ' << e.test_accuracy << '\n';
  }
  {
    std::ofstream out(script);
    out << "set terminal png size 1100,420\n"
        << "set output '" << png << "'\n"
        << "set multiplot layout 1,2 title '" << title << "'\n"
        << "set xlabel 'epoch'\nset ylabel 'training loss'\nset grid\nset logscale y\n"
        << "plot '" << data << "' index 0 using 1:2 with lines title 'loss per step'\n"
        << "unset logscale y\nset ylabel 'accuracy'\nset key bottom right\n"
        << "plot '" << data << "' index 1 using 1:2 with linespoints title 'train', '" << data
        << "' index 1 using 1:3 with linespoints title 'test'\n"
        << "unset multiplot\n";
  }
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    std::cout << "gnuplot not found (Debian package gnuplot-nox): skipping the plot; the curves are in " << data << "\n";
    return false;
  }
  if (std::system(("gnuplot '" + script + "'").c_str()) != 0) {
    std::cout << "gnuplot failed on " << script << ": no plot; the curves are in " << data << "\n";
    return false;
  }
  std::cout << "curves: " << png << "\n";
  return true;
}

}  // namespace examples
