// Runs a shell command line for a test and collects what it printed, for the tests that drive
// the `faultline` binary (FAULTLINE_BINARY) as a user would.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace faultline::testing {

struct CommandOutput {
  int exit_code = -1;  // -1 when the command could not start or did not exit normally
  std::string out;     // stdout and stderr together
};

// `command_line` runs under sh with stderr joined to stdout.
inline CommandOutput RunCommand(const std::string& command_line) {
  CommandOutput run;
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (!pipe) return run;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) run.out.append(buffer, n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// `faultline ARGUMENTS`, the binary built with the tests.
inline CommandOutput Faultline(const std::string& arguments) {
  return RunCommand(std::string(FAULTLINE_BINARY) + " " + arguments);
}

}  // namespace faultline::testing
