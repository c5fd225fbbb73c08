#include "runner/handoff.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>

namespace faultline::internal {
namespace {

// Sleeps while *word == expected, until woken or until deadline_ns (CLOCK_MONOTONIC, < 0: none).
// Returns at once if *word != expected; may return spuriously.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int64_t deadline_ns) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  timespec deadline{};
  timespec* timeout = nullptr;
  if (deadline_ns >= 0) {
    deadline.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
    timeout = &deadline;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (FUTEX_WAIT a relative one).
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
            expected, timeout, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void FutexWakeOne(std::atomic<uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
            nullptr, nullptr, 0);
}

}  // namespace

int64_t MonotonicNowNs() {
  // steady_clock is CLOCK_MONOTONIC with libstdc++ on Linux, the clock futex deadlines use.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

IdleWorkers::IdleWorkers(size_t workers, int max_spinning)
    : looking_(static_cast<int>(workers)),
      max_spinning_(max_spinning),
      words_(std::make_unique<std::atomic<uint32_t>[]>(workers)) {
  sleepers_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) words_[i].store(kAwake, std::memory_order_relaxed);
}

bool IdleWorkers::Announce(size_t id) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return false;
    words_[id].store(kAsleep, std::memory_order_relaxed);
    sleepers_.push_back(id);
  }
  // On the list before it stops looking: a producer that sees nobody looking finds it there.
  looking_.fetch_sub(1, std::memory_order_seq_cst);
  return true;
}

bool IdleWorkers::Withdraw(size_t id) {
  std::lock_guard lock(mutex_);
  auto position = std::find(sleepers_.begin(), sleepers_.end(), id);
  if (position == sleepers_.end()) return false;  // a waker has it
  sleepers_.erase(position);
  words_[id].store(kAwake, std::memory_order_relaxed);
  looking_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

void IdleWorkers::WaitUntilWoken(size_t id) {
  // The waker counted it as looking and set the word under the mutex; futex returns at once if
  // the word is no longer kAsleep, and may return spuriously.
  while (words_[id].load(std::memory_order_acquire) == kAsleep) {
    FutexWait(&words_[id], kAsleep, -1);
  }
}

bool IdleWorkers::WakeOne() {
  size_t id = 0;
  {
    std::lock_guard lock(mutex_);
    // Checked again under the mutex: two wakers that both saw nobody looking wake one, not two.
    if (sleepers_.empty() || looking_.load(std::memory_order_seq_cst) > 0) return false;
    id = sleepers_.back();
    sleepers_.pop_back();
    looking_.fetch_add(1, std::memory_order_seq_cst);
    words_[id].store(kAwake, std::memory_order_release);
  }
  FutexWakeOne(&words_[id]);
  return true;
}

void IdleWorkers::StopAll() {
  std::vector<size_t> woken;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    woken.swap(sleepers_);
    for (size_t id : woken) {
      looking_.fetch_add(1, std::memory_order_seq_cst);
      words_[id].store(kAwake, std::memory_order_release);
    }
  }
  for (size_t id : woken) FutexWakeOne(&words_[id]);
}

void Parker::Park(int64_t deadline_ns) {
  while (state_.load(std::memory_order_acquire) == kParked) {
    if (deadline_ns >= 0 && MonotonicNowNs() >= deadline_ns) break;
    FutexWait(&state_, kParked, deadline_ns);
  }
  state_.store(kAwake, std::memory_order_relaxed);
}

bool Parker::Wake() {
  if (state_.load(std::memory_order_seq_cst) != kParked) return false;
  if (state_.exchange(kAwake, std::memory_order_seq_cst) != kParked) return false;
  FutexWakeOne(&state_);
  return true;
}

}  // namespace faultline::internal
