// A command for the output-limit tests of every Remote: it writes its pid to a file, then "flood"
// lines without end, to stdout or stderr. Its output limit is 1 MiB and its timeout 30 s, so
// only the limit can stop it within the tests' bounds.
#pragma once

#include <filesystem>
#include <string>

#include "runner/control/remote.h"

namespace faultline::control {

inline constexpr int64_t kFloodLimitBytes = 1 << 20;

inline Command FloodCommand(const std::filesystem::path& pid_file, bool to_stderr) {
  Command command;
  command.argv = {
      "sh", "-c",
      "echo $$ > " + pid_file.string() + "; exec yes flood" + (to_stderr ? " >&2" : "")};
  command.max_output_bytes = kFloodLimitBytes;
  command.timeout_ms = 30'000;
  return command;
}

}  // namespace faultline::control
