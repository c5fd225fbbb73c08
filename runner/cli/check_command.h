// `faultline check`: run a checker over history files and print one verdict per file.
// Exit code: the worst verdict (0 valid, 1 invalid, 2 unknown); 254 for bad arguments or input
// (a --junit file that cannot be written included).
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>
#include <vector>

namespace faultline::cli {

struct CheckArguments {
  std::vector<std::string> files;
  // Each judges every file (checker/registry.h); several are composed, each with its own result.
  std::vector<std::string> checkers = {"linearizable"};
  std::string consistency_model = "strict-serializable";  // list-append, rw-register
  std::string cycles_dir;  // where to write one Graphviz file per anomaly cycle; "" = none
  std::string junit;       // where to write a JUnit XML report (one testcase per file); "" = none
  std::string model = "cas-register";
  std::string initial_value;  // text as given; parsed as JSON, "nil" or a bare string
  std::string format = "auto";
  int threads = 0;
  double time_limit_s = 0;
  double memory_limit_mb = 0;
  bool json = false;
  bool lenient = false;
};

// Declares the subcommand and its flags on `app`; the arguments land in `arguments`.
CLI::App* AddCheckCommand(CLI::App& app, CheckArguments& arguments);

// Runs the check; writes verdicts to `out` and problems to `err`; returns the exit code.
int RunCheck(const CheckArguments& arguments, std::ostream& out, std::ostream& err);

}  // namespace faultline::cli
