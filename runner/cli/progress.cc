#include "runner/cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <ostream>
#include <sstream>

#include "core/catch.h"
#include "nemesis/nemesis.h"

namespace faultline::cli {
namespace {

constexpr auto kTerminalPeriod = std::chrono::milliseconds(250);
constexpr auto kPlainPeriod = std::chrono::seconds(5);
constexpr const char* kClearLine = "\r\033[K";

}  // namespace

Progress::Progress(double time_limit_s)
    : time_limit_s_(time_limit_s),
      terminal_(isatty(fileno(stdout)) == 1),
      start_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { Loop(); });
}

void Progress::Count(const Op& op) {
  if (op.is_nemesis()) {
    // A display that cannot describe a fault shows it no longer; the run goes on (the
    // interpreter ends a run whose callback throws).
    (void)CatchAll("the progress display", [&] {
      std::optional<nemesis::FaultChange> change = nemesis::DescribeFault(op);
      if (change) {
        std::lock_guard lock(mutex_);
        if (change->active) {
          faults_[change->fault] = change->Summary();
        } else {
          faults_.erase(change->fault);
        }
      }
      return Status::Ok();
    });
    return;
  }
  switch (op.type) {
    case OpType::kInvoke:
      ++invoked_;
      break;
    case OpType::kOk:
      ++ok_;
      break;
    case OpType::kFail:
      ++failed_;
      break;
    case OpType::kInfo:
      ++info_;
      break;
  }
}

std::string Progress::StatusLine() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::ostringstream line;
  line.setf(std::ios::fixed);
  line.precision(1);
  std::lock_guard lock(mutex_);
  if (elapsed <= time_limit_s_ || last_log_.empty()) {
    line << "[" << elapsed << "s / " << time_limit_s_ << "s] ";
    line.precision(0);
    line << (elapsed > 0 ? static_cast<double>(invoked_.load()) / elapsed : 0.0) << " ops/s  ";
  } else {
    // The workload is over: a falling ops/s would say nothing about the heal or the check.
    line << "[" << elapsed << "s] " << last_log_ << "  ";
  }
  line << "ok " << ok_.load() << "  fail " << failed_.load() << "  info " << info_.load()
       << "  faults: ";
  if (faults_.empty()) line << "none";
  for (const auto& [fault, summary] : faults_) line << "[" << summary << "] ";
  return line.str();
}

void Progress::Print(std::ostream& out, const std::string& line) {
  std::string status = terminal_ ? StatusLine() : "";
  std::lock_guard lock(mutex_);
  out_ = &out;
  last_log_ = line;
  if (terminal_) out << kClearLine;
  out << line << "\n";
  if (terminal_) out << status;
  out << std::flush;
}

void Progress::Loop() {
  // Its own thread: what it throws would end the process. The display stops instead.
  (void)CatchAll("the progress display", [this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(
          lock, terminal_ ? std::chrono::duration_cast<std::chrono::milliseconds>(kTerminalPeriod)
                          : std::chrono::duration_cast<std::chrono::milliseconds>(kPlainPeriod));
      if (stopping_ || !out_) continue;
      lock.unlock();
      std::string status = StatusLine();
      lock.lock();
      if (stopping_) break;
      *out_ << (terminal_ ? kClearLine : "progress: ") << status << (terminal_ ? "" : "\n")
            << std::flush;
    }
    return Status::Ok();
  });
}

void Progress::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    if (terminal_ && out_) *out_ << kClearLine << std::flush;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace faultline::cli
