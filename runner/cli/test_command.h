// `faultline test` (run a test, check it, store it) and `faultline analyze RUN_DIR` (re-check a
// stored run with the current checkers). Exit codes as `check`: the verdict, 254 for bad
// arguments, 255 for an internal error; with --test-count the worst run wins.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>
#include <vector>

#include "clients/registry.h"
#include "runner/test.h"

namespace faultline::cli {

struct TestArguments {
  TestOptions options;
  std::string concurrency = "5";  // N, or Nn for N per node
  control::SshOptions ssh;
  clients::WorkloadOptions workload;
  std::vector<std::string> nodes;
  std::string nodes_file;
  int test_count = 1;
  bool seed_given = false;
};

CLI::App* AddTestCommand(CLI::App& app, TestArguments& arguments);
int RunTestCommand(TestArguments& arguments, std::ostream& out, std::ostream& err);

CLI::App* AddAnalyzeCommand(CLI::App& app, std::string& run_directory);
int RunAnalyzeCommand(const std::string& run_directory, std::ostream& out, std::ostream& err);

}  // namespace faultline::cli
