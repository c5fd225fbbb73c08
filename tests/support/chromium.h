// Debian's headless Chromium for the browser tests (tests/browser): loads one URL with a fresh
// profile, and returns the DOM after the page's scripts ran (--dump-dom), or a screenshot, and
// the console messages the page produced. Nothing it starts outlives the call.
//
// How no helper survives: Chromium forks helpers (zygote, renderer, GPU and utility processes)
// that may outlive its main process, and its crash handler (chrome_crashpad_handler) leaves the
// process group with setsid(). (--disable-crashpad-for-testing would keep it from starting, but
// then this Chromium never finishes loading.) So Chromium runs in a new process group, and this
// process becomes a child subreaper (prctl), so that every orphaned helper, the crash handler
// included, becomes its child; when the main process exits (or the time limit passes), the group
// and every child of ours named chrom* get SIGKILL and are reaped. `left_running` says whether
// any of them was still there afterwards: the tests assert it is false.
//
// Only stdin, stdout and stderr are inherited, none of the test's own descriptors.
//
// Console messages: with --enable-logging=stderr --v=0 Chromium logs every console message of a
// page (console.log/.warn/.error and uncaught exceptions, "Uncaught TypeError: ...") on stderr as
// `[...:INFO:CONSOLE:LINE] "MESSAGE", source: URL (LINE)`, whatever its level. `console` holds
// those lines. The report pages log nothing when they work, so the tests require it to be empty.
// (A resource that fails to load from file:// is not a console message: tests check files.)
//
// Blocking; for tests only (it changes the calling process into a subreaper).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_folder.h"

extern char** environ;

namespace faultline::testing {

inline constexpr char kChromiumPath[] = "/usr/bin/chromium";

struct ChromiumRun {
  bool started = false;       // posix_spawn succeeded
  int exit_code = -1;         // -1 when killed or not exited normally
  bool timed_out = false;     // the time limit passed and the group was killed
  bool left_running = false;  // a process of it was still alive after the kill and reaping
  std::string out;            // stdout: the DOM with --dump-dom
  std::string log;            // stderr: Chromium's log
  std::vector<std::string> console;  // the log's console-message lines
};

namespace chromium_internal {

inline std::string ReadWhole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The pids of this process's children whose name starts with "chrom" (helpers that left the
// process group; with the subreaper they are our children).
inline std::vector<pid_t> ChromiumChildren() {
  std::vector<pid_t> children;
  const pid_t self = ::getpid();
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string stat = ReadWhole(entry.path() / "stat");
    // pid (comm) state ppid ...: comm may hold spaces, so parse from the last ')'.
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string name = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent == self && name.rfind("chrom", 0) == 0) children.push_back(std::stoi(stat));
  }
  return children;
}

// SIGKILL to the group `group` and to our chrom* children, then reaps them; true when nothing of
// it is left within 10 s.
inline bool KillAndReap(pid_t group) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    ::kill(-group, SIGKILL);
    for (pid_t child : ChromiumChildren()) ::kill(child, SIGKILL);
    while (::waitpid(-group, nullptr, WNOHANG) > 0) {
    }
    for (pid_t child : ChromiumChildren()) ::waitpid(child, nullptr, WNOHANG);
    const bool group_gone = ::kill(-group, 0) == -1 && errno == ESRCH;
    if (group_gone && ChromiumChildren().empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace chromium_internal

inline bool ChromiumInstalled() { return ::access(kChromiumPath, X_OK) == 0; }

// Loads `url` in headless Chromium (run as root, hence --no-sandbox) with a fresh profile folder
// that is removed afterwards, plus `flags` (e.g. --dump-dom, --screenshot=FILE,
// --virtual-time-budget=MS). Gives up after `limit`.
inline ChromiumRun RunChromium(const std::string& url, const std::vector<std::string>& flags,
                               std::chrono::seconds limit = std::chrono::seconds(60)) {
  ChromiumRun run;
  TempFolder scratch("faultline_chromium_");
  if (scratch.path().empty()) return run;
  std::vector<std::string> arguments = {kChromiumPath,
                                        "--headless",
                                        "--no-sandbox",
                                        "--disable-gpu",
                                        "--no-first-run",
                                        "--disable-background-networking",
                                        "--disable-component-update",
                                        "--disable-sync",
                                        "--user-data-dir=" + (scratch.path() / "profile").string(),
                                        "--enable-logging=stderr",
                                        "--v=0"};
  arguments.insert(arguments.end(), flags.begin(), flags.end());
  arguments.push_back(url);
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const std::filesystem::path out = scratch.path() / "stdout", log = scratch.path() / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);  // a new group, numbered as the child
  pid_t pid = 0;
  run.started =
      ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ) == 0;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (!run.started) return run;

  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  run.left_running = !chromium_internal::KillAndReap(pid);
  run.out = chromium_internal::ReadWhole(out);
  run.log = chromium_internal::ReadWhole(log);
  std::istringstream lines(run.log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":CONSOLE") != std::string::npos) run.console.push_back(line);
  }
  return run;
}

}  // namespace faultline::testing
