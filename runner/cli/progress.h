// Progress of a running test for the person watching it. On a terminal: one live line (elapsed /
// limit, ops/s, ok / fail / info counts, active faults) redrawn in place under the log lines. Not
// on a terminal (CI): the log lines plus a plain progress line every few seconds.
// Count is called on the interpreter thread, Print on the lifecycle thread; both are safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iosfwd>
#include <mutex>
#include <map>
#include <string>
#include <thread>

#include "core/op.h"

namespace faultline::cli {

class Progress {
 public:
  explicit Progress(double time_limit_s);
  ~Progress() { Stop(); }
  void Count(const Op& op);
  void Print(std::ostream& out, const std::string& line);
  void Stop();
  std::string StatusLine() const;

 private:
  void Loop();

  double time_limit_s_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> invoked_{0}, ok_{0}, failed_{0}, info_{0};
  mutable std::mutex mutex_;  // guards faults_, last_log_, out_, stopping_ and the terminal
  std::map<std::string, std::string> faults_;  // active fault -> what it did to which nodes
  // The last log line: past the time limit, what the run is doing (healing, checking ...).
  std::string last_log_;
  std::ostream* out_ = nullptr;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace faultline::cli
