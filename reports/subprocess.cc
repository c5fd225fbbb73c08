#include "reports/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

extern char** environ;

namespace faultline::reports {

std::string ProgramOutcome::Failure(double timeout_s) const {
  if (spawn_error != 0) return std::string("cannot run: ") + std::strerror(spawn_error);
  if (timed_out) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout_s);
    return std::string("timed out after ") + seconds + " s";
  }
  if (exit_code == 0) return "";
  std::string how = signal != 0 ? "signal " + std::to_string(signal)
                                : "exit " + std::to_string(exit_code);
  return first_line.empty() ? how : how + ": " + first_line;
}

ProgramOutcome RunProgram(const std::vector<std::string>& argv, const std::filesystem::path& log,
                          double timeout_s) {
  ProgramOutcome outcome;
  std::vector<std::string> arguments = argv;
  std::vector<char*> pointers;
  for (std::string& argument : arguments) pointers.push_back(argument.data());
  pointers.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Descriptors other threads opened without close-on-exec must not leak into the program.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // A group of its own: a timeout kills the program and anything it started, nothing else.
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  outcome.spawn_error =
      ::posix_spawnp(&pid, pointers[0], &actions, &attributes, pointers.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (outcome.spawn_error != 0) return outcome;

  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(timeout_s > 0 ? timeout_s : 0));
  auto pause = std::chrono::milliseconds(1);
  int wait_status = 0;
  for (;;) {
    const pid_t waited = ::waitpid(pid, &wait_status, timeout_s > 0 ? WNOHANG : 0);
    if (waited == pid) break;
    if (waited < 0) {
      if (errno == EINTR) continue;
      outcome.first_line = std::string("lost the program: ") + std::strerror(errno);
      return outcome;
    }
    if (Clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
      }
      outcome.timed_out = true;
      return outcome;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  if (WIFEXITED(wait_status)) {
    outcome.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    outcome.signal = WTERMSIG(wait_status);
  }
  if (outcome.exit_code != 0) {
    std::ifstream output(log);
    std::getline(output, outcome.first_line);
  }
  return outcome;
}

}  // namespace faultline::reports
