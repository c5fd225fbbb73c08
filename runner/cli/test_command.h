// `faultline test` (run a test, check it, store it), `faultline test-all` (a matrix of them) and
// `faultline analyze RUN_DIR` (re-check a stored run with the current checkers). Exit codes as
// `check`: the verdict, 254 for bad arguments, 255 for an internal error; with --test-count the
// worst run wins.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>
#include <vector>

#include "clients/registry.h"
#include "runner/cli/password.h"
#include "runner/cluster/cluster.h"
#include "runner/test.h"

namespace faultline::cli {

struct TestArguments {
  TestOptions options;
  std::string concurrency = "5";  // N, or Nn for N per node
  std::string config_file;        // --config: already expanded into the arguments by main.cc
  control::SshOptions ssh;
  PasswordSources passwords;  // resolved into ssh.password and ssh.sudo_password by Prepare
  clients::WorkloadOptions workload;
  std::vector<std::string> nodes;
  std::string nodes_file;
  int test_count = 1;
  bool seed_given = false;
  std::string junit;  // where to write a JUnit XML report (one testcase per run and checker)
  // The local cluster (runner/cluster): used with --local, and by default when no nodes are
  // given for a real database. Prepare brings it up (or reuses it) and fills `local_cluster`.
  bool local = false;
  int local_nodes = 5;
  std::string cluster_state_directory = cluster::kDefaultStateDirectory;
  std::shared_ptr<const cluster::ClusterInfo> local_cluster;
};

struct TestAllArguments {
  TestArguments test;
  std::vector<std::string> workloads;
  std::vector<std::string> nemesis_sets;  // "none", or fault names joined by '+'
  std::string matrix_file;
};

CLI::App* AddTestCommand(CLI::App& app, TestArguments& arguments);
int RunTestCommand(TestArguments& arguments, std::ostream& out, std::ostream& err);

// `faultline test-all`: every workload x nemesis set once; prints each run's outcome and run
// directory; exits with the worst (255 if any run crashed, else invalid > unknown > valid).
CLI::App* AddTestAllCommand(CLI::App& app, TestAllArguments& arguments);
int RunTestAllCommand(TestAllArguments& arguments, std::ostream& out, std::ostream& err);

CLI::App* AddAnalyzeCommand(CLI::App& app, std::string& run_directory);
int RunAnalyzeCommand(const std::string& run_directory, std::ostream& out, std::ostream& err);

}  // namespace faultline::cli
