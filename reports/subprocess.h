// Running a helper program (dot, gnuplot) the safe way: posix_spawnp, no shell, argv passed as
// is, stdin /dev/null, stdout and stderr into one file, no inherited descriptors beyond 0-2, in a
// process group of its own that is killed (SIGKILL) when it runs past its time. Blocking; any
// thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faultline::reports {

struct ProgramOutcome {
  int spawn_error = 0;     // errno of posix_spawnp: the program could not be started (ENOENT...)
  bool timed_out = false;  // killed after the time limit
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  std::string first_line;  // the first line of what it printed, for a warning

  bool ok() const { return spawn_error == 0 && !timed_out && exit_code == 0; }
  // "exit 1: <first line>", "signal 9", "timed out after 30 s"; "" when ok.
  std::string Failure(double timeout_s) const;
};

// Runs argv[0] (looked up on PATH unless it has a '/') with `argv`, its output into `log`
// (created, 0600, truncated). timeout_s <= 0: no limit.
ProgramOutcome RunProgram(const std::vector<std::string>& argv, const std::filesystem::path& log,
                          double timeout_s);

}  // namespace faultline::reports
