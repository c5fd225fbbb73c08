// The handoff between the interpreter thread and its workers (interpreter.h): a one-op mailbox
// per worker, the stack completed workers go on, and the word the interpreter sleeps on.
//
// Each is one atomic word, so handing an op to a thread that is awake costs no system call, and
// a thread that has to sleep does so on that word (a Linux futex): the side that hands over
// wakes it only when the word says it sleeps. A sleeper announces itself in the word before its
// last look at the condition, and the other side publishes the condition before it reads the
// word (both sequentially consistent), so one of them always sees the other: no lost wake-ups.
// Both sides may spin for a bounded time before sleeping (see Mailbox::Wait, Parker::Park).
//
// Not general-purpose: each class states who may call what. Linux only (futex(2)).
#pragma once

#include <atomic>
#include <cstdint>

namespace faultline::internal {

// The monotonic clock (steady_clock, CLOCK_MONOTONIC) in nanoseconds since its epoch.
int64_t MonotonicNowNs();

// One op at a time from one producer (the interpreter) to one consumer (a worker). The payload
// lives outside: the producer writes it, then publishes it; the consumer reads it after Wait
// returns true, and the producer must not write the next one before the consumer has said it is
// done with this one (the interpreter learns that from the completion stack).
//
// Publishing and waking are separate, so that the interpreter can hand a batch of ops to
// sleeping workers and make only one futex call: Publish never enters the kernel; Wake (by the
// producer or by anyone it delegates to, e.g. another worker) does, and only when the consumer
// is asleep in the kernel and nobody has woken it yet.
class Mailbox {
 public:
  // Producer: publishes the payload written before the call. Returns whether the consumer was
  // asleep (then someone must call Wake, or it sleeps on with the payload).
  bool Publish();
  // Anyone, after Publish: wakes the consumer if it sleeps with a payload that no one has woken
  // it for; returns whether this call made the futex wake. One atomic load otherwise.
  bool Wake();
  // Publish, then Wake.
  bool Post() {
    Publish();
    return Wake();
  }

  // Consumer: spins for up to spin_ns until something is published or Stop is called; returns
  // whether either happened. Takes nothing (call Wait next).
  bool Spin(int64_t spin_ns);

  // Any thread: whether the consumer has said it sleeps and has not been handed anything since
  // (a hint: it may wake or fall asleep right after).
  bool Asleep() const { return state_.load(std::memory_order_relaxed) == kSleeping; }

  // Consumer: waits until something is published, spinning for up to spin_ns first, then
  // sleeping. Returns true with the payload readable (and the box empty again), or false once
  // Stop has been called and nothing is published. A payload published before Stop is still
  // delivered.
  bool Wait(int64_t spin_ns);

  // Any thread: makes Wait return false once nothing is published; wakes the consumer if asleep.
  void Stop();

 private:
  // Bit 0: a payload is published. Bit 1: the consumer has said it sleeps (or is about to).
  enum : uint32_t { kEmpty = 0, kFull = 1, kSleeping = 2, kFullSleeping = 3 };
  bool TakeIfFull();

  alignas(64) std::atomic<uint32_t> state_{kEmpty};
  std::atomic<bool> stopping_{false};
};

// Lets one owner thread sleep until any of several wakers says its condition may have changed,
// or until a deadline. The owner: Prepare(); look at the condition once more; then Cancel() if it
// holds, else Park(deadline). A waker: make the condition true (a sequentially consistent
// write), then Wake(). Wake is one atomic load when the owner is not asleep. Spurious returns
// from Park are possible; the owner re-checks its condition in a loop.
class Parker {
 public:
  void Prepare() { state_.store(kParked, std::memory_order_seq_cst); }
  void Cancel() { state_.store(kAwake, std::memory_order_relaxed); }
  // Sleeps until woken or until deadline_ns (MonotonicNowNs time; < 0: no deadline).
  void Park(int64_t deadline_ns);
  // Returns whether the owner was asleep (and was woken).
  bool Wake();

 private:
  enum : uint32_t { kAwake = 0, kParked = 1 };
  alignas(64) std::atomic<uint32_t> state_{kAwake};
};

// Completed work from many producers (workers) to one consumer (the interpreter): an intrusive
// lock-free stack. T has a member `T* next_done`; a node is in the stack at most once at a time
// (a worker has at most one op outstanding), so there is no ABA problem.
template <typename T>
class CompletionStack {
 public:
  // Any thread. Sequentially consistent, so that a Parker::Wake after it sees the consumer's
  // Prepare (or the consumer's look after Prepare sees this node).
  void Push(T* node) {
    T* head = head_.load(std::memory_order_relaxed);
    do {
      node->next_done = head;
    } while (!head_.compare_exchange_weak(head, node, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
  }

  // The consumer: whether anything is waiting (sequentially consistent; see Parker).
  bool Empty() const { return head_.load(std::memory_order_seq_cst) == nullptr; }

  // The consumer: every node pushed so far, oldest first (linked by next_done), or nullptr.
  T* TakeAll() {
    T* newest = head_.exchange(nullptr, std::memory_order_acquire);
    T* oldest = nullptr;
    while (newest) {
      T* next = newest->next_done;
      newest->next_done = oldest;
      oldest = newest;
      newest = next;
    }
    return oldest;
  }

 private:
  alignas(64) std::atomic<T*> head_{nullptr};
};

// A spin-wait hint for the CPU (PAUSE on x86).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace faultline::internal
