// Helpers shared by the etcd tests that look at real processes from this machine.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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

// Dead or a zombie: a killed daemon may stay a zombie for seconds where init reaps lazily.
inline bool Gone(int pid) {
  char state = ProcessState(pid);
  return state == 0 || state == 'Z' || state == 'X';
}

}  // namespace faultline::etcd::testing
