// faultline's command line. Subcommands live in runner/cli/*_command.{h,cc}.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "checker/verdict.h"
#include "runner/cli/check_command.h"
#include "runner/cli/cluster_command.h"
#include "runner/cli/config_json.h"
#include "runner/cli/password.h"
#include "runner/cli/report_command.h"
#include "runner/cli/serve_command.h"
#include "runner/cli/test_command.h"

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{"faultline: fault injection and consistency checking for distributed systems"};
  app.set_version_flag("--version", "faultline 0.1.0");
  app.require_subcommand(1);
  cli::CheckArguments check_arguments;
  CLI::App* check = cli::AddCheckCommand(app, check_arguments);
  cli::TestArguments test_arguments;
  CLI::App* test = cli::AddTestCommand(app, test_arguments);
  cli::TestAllArguments test_all_arguments;
  CLI::App* test_all = cli::AddTestAllCommand(app, test_all_arguments);
  std::string run_directory;
  CLI::App* analyze = cli::AddAnalyzeCommand(app, run_directory);
  cli::ClusterArguments cluster_arguments;
  CLI::App* cluster = cli::AddClusterCommand(app, cluster_arguments);
  cli::ReportArguments report_arguments;
  CLI::App* report = cli::AddReportCommand(app, report_arguments);
  cli::ServeArguments serve_arguments;
  CLI::App* serve = cli::AddServeCommand(app, serve_arguments);
  // --config FILE becomes the file's flags, in place (runner/cli/config_json.h).
  Result<std::vector<std::string>> arguments =
      cli::ExpandConfigFiles(std::vector<std::string>(argv + 1, argv + argc));
  if (!arguments.ok()) {
    std::cerr << "faultline: " << arguments.status().message() << "\n";
    return kExitBadInput;
  }
  try {
    // CLI11 takes a vector of arguments last first.
    app.parse(std::vector<std::string>(arguments->rbegin(), arguments->rend()));
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    // --help and --version exit 0; every real argument error is "bad arguments" (254).
    return code == 0 ? 0 : kExitBadInput;
  }
  cli::HidePasswordArguments(argc, argv);
  try {
    if (check->parsed()) return cli::RunCheck(check_arguments, std::cout, std::cerr);
    if (test->parsed()) return cli::RunTestCommand(test_arguments, std::cout, std::cerr);
    if (test_all->parsed()) return cli::RunTestAllCommand(test_all_arguments, std::cout, std::cerr);
    if (analyze->parsed()) return cli::RunAnalyzeCommand(run_directory, std::cout, std::cerr);
    if (cluster->parsed()) return cli::RunClusterCommand(cluster_arguments, std::cout, std::cerr);
    if (report->parsed()) return cli::RunReportCommand(report_arguments, std::cout, std::cerr);
    if (serve->parsed()) return cli::RunServeCommand(serve_arguments, std::cout, std::cerr);
  } catch (const std::exception& error) {
    std::cerr << "faultline: internal error: " << error.what() << "\n";
    return kExitInternalError;
  }
  return kExitBadInput;
}
