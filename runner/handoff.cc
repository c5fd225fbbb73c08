#include "runner/handoff.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>

namespace faultline::internal {
namespace {

// How many spin iterations pass between two looks at the clock.
constexpr int kSpinsPerClockRead = 32;

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

// Spins until done() or until spin_ns have passed; returns done()'s last answer.
template <typename Done>
bool SpinUntil(int64_t spin_ns, const Done& done) {
  if (done()) return true;
  if (spin_ns <= 0) return false;
  const int64_t end_ns = MonotonicNowNs() + spin_ns;
  while (true) {
    for (int i = 0; i < kSpinsPerClockRead; ++i) {
      CpuRelax();
      if (done()) return true;
    }
    if (MonotonicNowNs() >= end_ns) return false;
  }
}

}  // namespace

int64_t MonotonicNowNs() {
  // steady_clock is CLOCK_MONOTONIC with libstdc++ on Linux, the clock futex deadlines use.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Mailbox::Publish() {
  // Sets bit 0 whatever the consumer is doing; releases the payload written before to the
  // consumer that sees it (its acquire load).
  return state_.fetch_or(kFull, std::memory_order_seq_cst) == kSleeping;
}

bool Mailbox::Wake() {
  if (state_.load(std::memory_order_seq_cst) != kFullSleeping) return false;
  // Only one waker makes the system call; the consumer takes the payload when it runs.
  uint32_t expected = kFullSleeping;
  if (!state_.compare_exchange_strong(expected, kFull, std::memory_order_seq_cst)) return false;
  FutexWakeOne(&state_);
  return true;
}

bool Mailbox::TakeIfFull() {
  if ((state_.load(std::memory_order_acquire) & kFull) == 0) return false;
  // Only the consumer clears bit 0, and the producer publishes nothing new before this payload
  // is done with, so a plain store is enough (it also drops a kFullSleeping no one woke for:
  // the consumer is awake).
  state_.store(kEmpty, std::memory_order_relaxed);
  return true;
}

bool Mailbox::Spin(int64_t spin_ns) {
  return SpinUntil(spin_ns, [&] {
    return (state_.load(std::memory_order_acquire) & kFull) != 0 ||
           stopping_.load(std::memory_order_relaxed);
  });
}

bool Mailbox::Wait(int64_t spin_ns) {
  Spin(spin_ns);
  while (true) {
    if (TakeIfFull()) return true;
    uint32_t expected = kEmpty;
    if (!state_.compare_exchange_strong(expected, kSleeping, std::memory_order_seq_cst)) {
      continue;  // published meanwhile
    }
    // Announced: a Publish from now on says we sleep. Stop is checked after the announcement,
    // and Stop sets its flag before it looks at the word, so one of the two sees the other.
    if (stopping_.load(std::memory_order_seq_cst)) {
      expected = kSleeping;
      if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_seq_cst)) {
        return false;
      }
      continue;  // published meanwhile: deliver it first
    }
    // Returns at once if the word is no longer kSleeping (published, or stopped).
    FutexWait(&state_, kSleeping, -1);
    // Woken for a payload, by Stop (kEmpty), or spuriously (still kSleeping).
    expected = kSleeping;
    state_.compare_exchange_strong(expected, kEmpty, std::memory_order_seq_cst);
    if (TakeIfFull()) return true;
    if (stopping_.load(std::memory_order_seq_cst)) return false;
  }
}

void Mailbox::Stop() {
  stopping_.store(true, std::memory_order_seq_cst);
  uint32_t expected = kSleeping;
  if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_seq_cst)) {
    FutexWakeOne(&state_);
  }
  Wake();  // asleep with a payload no one woke it for: it runs that first, then stops
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
