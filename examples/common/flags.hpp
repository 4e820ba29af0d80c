// Command-line flags for the examples: --name value or --name=value, --help, and clear errors.
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace examples {

// Flags: register each flag with the variable it sets (its current value is the default), then
// parse(argc, argv). --help prints the usage and exits 0; an unknown flag or a bad value prints
// the problem and the usage and exits 2.
class Flags {
 public:
  explicit Flags(std::string program_summary) : summary_(std::move(program_summary)) {}

  template <class T>
  Flags& add(std::string name, T& variable, std::string help) {
    static_assert(std::is_same_v<T, int> || std::is_same_v<T, double> || std::is_same_v<T, std::string> ||
                  std::is_same_v<T, bool>, "examples::Flags takes int, double, std::string or bool variables");
    flags_.push_back({std::move(name), std::move(help), &variable});
    return *this;
  }

  void parse(int argc, char** argv) {
    program_ = argc > 0 ? argv[0] : "program";
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        usage(std::cout);
        std::exit(EXIT_SUCCESS);
      }
      if (arg.substr(0, 2) != "--") fail("unexpected argument '" + std::string(arg) + "'");
      arg.remove_prefix(2);
      const auto equals = arg.find('=');
      const std::string name(arg.substr(0, equals));
      Flag* flag = find(name);
      if (!flag) fail("unknown flag --" + name);
      std::string value;
      if (equals != std::string_view::npos) value = std::string(arg.substr(equals + 1));
      else if (std::holds_alternative<bool*>(flag->variable)) value = "true";
      else if (i + 1 < argc) value = argv[++i];
      else fail("flag --" + name + " needs a value");
      set(*flag, value);
    }
  }

 private:
  struct Flag {
    std::string name, help;
    std::variant<int*, double*, std::string*, bool*> variable;
  };

  Flag* find(const std::string& name) {
    for (auto& f : flags_)
      if (f.name == name) return &f;
    return nullptr;
  }

  void set(Flag& flag, const std::string& value) {
    try {
      std::size_t used = value.size();
      if (auto* i = std::get_if<int*>(&flag.variable)) **i = std::stoi(value, &used);
      else if (auto* d = std::get_if<double*>(&flag.variable)) **d = std::stod(value, &used);
      else if (auto* s = std::get_if<std::string*>(&flag.variable)) **s = value;
      else if (value == "true" || value == "false") *std::get<bool*>(flag.variable) = value == "true";
      else throw std::invalid_argument(value);
      if (used != value.size()) throw std::invalid_argument(value);
    } catch (const std::logic_error&) {
      fail("bad value '" + value + "' for --" + flag.name);
    }
  }

  static std::string current(const Flag& flag) {
    std::ostringstream out;
    std::visit([&](auto* v) { out << std::boolalpha << *v; }, flag.variable);
    return out.str();
  }

  void usage(std::ostream& out) const {
    out << summary_ << "\n\nusage: " << program_ << " [flags]\n";
    for (const auto& f : flags_) {
      std::string left = "  --" + f.name;
      if (!std::holds_alternative<bool*>(f.variable)) left += " V";
      out << left << std::string(left.size() < 24 ? 24 - left.size() : 1, ' ') << f.help << " (default: " << current(f)
          << ")\n";
    }
    out << "  --help                print this and exit\n";
  }

  [[noreturn]] void fail(const std::string& problem) const {
    std::cerr << program_ << ": " << problem << "\n\n";
    usage(std::cerr);
    std::exit(2);
  }

  std::string summary_, program_;
  std::vector<Flag> flags_;
};

}  // namespace examples
