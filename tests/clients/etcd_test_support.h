// Helpers shared by the etcd tests that look at real processes from this machine.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace faultline::etcd::testing {

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The state letter of /proc/<pid>/stat ('R', 'S', 'T', 'Z', ...), or 0 when the process is gone.
inline char ProcessState(int pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

// The state `pid` settles in within 2 s when it is `wanted` (else the last seen): a SIGSTOP takes
// effect only once the process leaves an uninterruptible sleep ('D', e.g. an fsync under load).
inline char SettledState(int pid, char wanted) {
  char state = ProcessState(pid);
  for (int i = 0; i < 200 && state != wanted; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    state = ProcessState(pid);
  }
  return state;
}

// Dead or a zombie: a killed daemon may stay a zombie for seconds where init reaps lazily.
inline bool Gone(int pid) {
  char state = ProcessState(pid);
  return state == 0 || state == 'Z' || state == 'X';
}

}  // namespace faultline::etcd::testing
