// The benchmarks' tiny flag parser: "--name value" pairs after the positional arguments, so the
// bench programs need nothing beyond core and checker (no CLI11).
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace faultline {

struct Flags {
  std::map<std::string, std::string> values;

  // Parses argv[first..]; every flag must be in `known` and have a value.
  bool Parse(int argc, char** argv, int first, const std::vector<std::string>& known) {
    for (int i = first; i < argc; ++i) {
      std::string flag = argv[i];
      if (flag.rfind("--", 0) != 0 ||
          std::find(known.begin(), known.end(), flag.substr(2)) == known.end()) {
        std::fprintf(stderr, "unknown argument %s\n", argv[i]);
        return false;
      }
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        return false;
      }
      values[flag.substr(2)] = argv[++i];
    }
    return true;
  }
  std::string Get(const std::string& name, const std::string& fallback) const {
    auto found = values.find(name);
    return found == values.end() ? fallback : found->second;
  }
  template <class Integer>
  bool GetInt(const std::string& name, std::type_identity_t<Integer> fallback, Integer* out) const {
    std::string text = Get(name, std::to_string(fallback));
    char* end = nullptr;
    long long value = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < 0) {
      std::fprintf(stderr, "--%s: expected a non-negative integer, found %s\n", name.c_str(),
                   text.c_str());
      return false;
    }
    *out = static_cast<Integer>(value);
    return true;
  }
  bool GetDouble(const std::string& name, double fallback, double* out) const {
    std::string text = Get(name, std::to_string(fallback));
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || value < 0) {
      std::fprintf(stderr, "--%s: expected a non-negative number, found %s\n", name.c_str(),
                   text.c_str());
      return false;
    }
    *out = value;
    return true;
  }
};

}  // namespace faultline
