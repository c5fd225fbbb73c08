// faultline's command line. Subcommands live in runner/cli/*_command.{h,cc}.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "checker/verdict.h"
#include "runner/cli/check_command.h"

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{"faultline: fault injection and consistency checking for distributed systems"};
  app.set_version_flag("--version", "faultline 0.1.0");
  app.require_subcommand(1);
  cli::CheckArguments check_arguments;
  CLI::App* check = cli::AddCheckCommand(app, check_arguments);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    // --help and --version exit 0; every real argument error is "bad arguments" (254).
    return code == 0 ? 0 : kExitBadInput;
  }
  try {
    if (check->parsed()) return cli::RunCheck(check_arguments, std::cout, std::cerr);
  } catch (const std::exception& error) {
    std::cerr << "faultline: internal error: " << error.what() << "\n";
    return kExitInternalError;
  }
  return kExitBadInput;
}
