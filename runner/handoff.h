// The handoff between the interpreter and its workers (interpreter.h): the queue of ready
// ops any idle worker takes from, who of the idle workers looks and who sleeps, the stack
// finished ops go on, and the word the interpreter sleeps on.
//
// Handing work to a thread that is awake costs no system call; a thread that has to sleep does
// so on a word of its own (a Linux futex) and is woken only when the other side sees it asleep.
// A sleeper announces itself before its last look at the condition, and the other side makes
// the condition true before it looks for sleepers (both sequentially consistent), so one of
// them always sees the other: no lost wake-ups.
//
// Not general-purpose: each class states who may call what. Linux only (futex(2)).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace faultline::internal {

// The monotonic clock (steady_clock, CLOCK_MONOTONIC) in nanoseconds since its epoch.
int64_t MonotonicNowNs();

// Ready work from one producer (the interpreter) to any of several consumers (the workers): a
// bounded FIFO ring of pointers (a single-producer form of Vyukov's bounded queue: every cell
// carries a sequence number that says whose turn it is). Push and Pop never block and never
// allocate; capacity is fixed at construction (the interpreter never has more ops ready than it
// has threads).
template <typename T>
class ReadyQueue {
 public:
  explicit ReadyQueue(size_t capacity);
  // The producer only. Returns false when full (a consumer still inside Pop may hold a cell for
  // a moment after taking its item). Sequentially consistent: a consumer that stops looking and
  // then looks at the queue sees what was pushed before the producer looked (see IdleWorkers).
  bool Push(T* item);
  // Any consumer. nullptr when empty.
  T* Pop();
  // Any thread: whether nothing is ready (sequentially consistent; a hint once it returns).
  bool Empty() const {
    return dequeue_.load(std::memory_order_seq_cst) >= enqueue_.load(std::memory_order_seq_cst);
  }

 private:
  struct Cell {
    std::atomic<size_t> sequence{0};
    T* item = nullptr;
  };
  std::unique_ptr<Cell[]> cells_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> enqueue_{0};
  alignas(64) std::atomic<size_t> dequeue_{0};
};

// Which workers run ready work, so that a burst of ops costs few wake-ups. A worker is
// "looking" while it is awake and idle (it has just finished an op, or was just woken); it takes
// the next ready op itself, without a system call. Sleeping workers are woken one at a time and
// only when no worker is looking, as Go's scheduler does with its spinning threads: the
// producer, after it pushes work, wakes one sleeper if nobody looks; a worker that takes work
// and leaves more behind with nobody else looking wakes one more before it runs its own op, so
// a client call that blocks never holds up the ops behind it. The counter is updated before the
// queue is looked at, and the queue is written before the counter is read (both sequentially
// consistent), so a ready op always has a worker that is looking or being woken for it.
//
// Workers are numbered 0 .. workers-1; each calls only its own Sleep.
class IdleWorkers {
 public:
  // Every worker starts looking. At most max_spinning of them spin at once (see Spin).
  explicit IdleWorkers(size_t workers, int max_spinning = 1 << 30);

  // The worker that took an op: it stops looking; `work_left` is asked (after that) whether
  // more is ready, and if so and nobody else looks, a sleeper is woken. Returns whether it woke
  // one.
  template <typename WorkLeft>
  bool Took(const WorkLeft& work_left) {
    if (looking_.fetch_sub(1, std::memory_order_seq_cst) == 1 && work_left()) return WakeOne();
    return false;
  }
  // The worker finished its op: it looks again.
  void Returned() { looking_.fetch_add(1, std::memory_order_seq_cst); }

  // Worker `id`, having found nothing to do: sleeps until woken, unless `ready` (work or a stop,
  // asked after it announced itself) says otherwise. Returns looking again.
  template <typename Ready>
  void Sleep(size_t id, const Ready& ready) {
    if (!Announce(id)) return;  // stopped
    if (ready() && Withdraw(id)) return;
    WaitUntilWoken(id);
  }

  // The producer, after it pushed work: wakes one sleeper if nobody looks. Returns whether it
  // woke one.
  bool Notify() {
    if (looking_.load(std::memory_order_seq_cst) > 0) return false;
    return WakeOne();
  }

  // Wakes every sleeper, and from now on Sleep returns at once.
  void StopAll();

  // A looking worker: spins until ready() or spin_ns have passed, if one of the max_spinning
  // places is free (so that spinning workers never crowd out the ones with work); returns
  // ready()'s last answer.
  template <typename Ready>
  bool Spin(int64_t spin_ns, const Ready& ready);

  int looking() const { return looking_.load(std::memory_order_relaxed); }

 private:
  enum : uint32_t { kAwake = 0, kAsleep = 1 };
  // Puts `id` on the sleepers' list and stops it looking; false (still looking) once stopped.
  bool Announce(size_t id);
  // Takes `id` off the list again (looking again); false if a waker took it off first (it is
  // being woken and counted as looking).
  bool Withdraw(size_t id);
  void WaitUntilWoken(size_t id);
  // Wakes the most recent sleeper if nobody looks; it counts as looking from here.
  bool WakeOne();

  alignas(64) std::atomic<int> looking_;
  const int max_spinning_;
  std::atomic<int> spinning_{0};
  std::mutex mutex_;             // guards sleepers_ and stopped_
  std::vector<size_t> sleepers_;  // most recent last
  bool stopped_ = false;
  std::unique_ptr<std::atomic<uint32_t>[]> words_;  // per worker, what it sleeps on
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

// Spins until done() or until spin_ns have passed; returns done()'s last answer.
template <typename Done>
bool SpinUntil(int64_t spin_ns, const Done& done) {
  constexpr int kSpinsPerClockRead = 32;  // spin iterations between two looks at the clock
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

template <typename Ready>
bool IdleWorkers::Spin(int64_t spin_ns, const Ready& ready) {
  if (spin_ns <= 0) return ready();
  int spinning = spinning_.load(std::memory_order_relaxed);
  do {
    if (spinning >= max_spinning_) return ready();
  } while (!spinning_.compare_exchange_weak(spinning, spinning + 1, std::memory_order_relaxed));
  const bool found = SpinUntil(spin_ns, ready);
  spinning_.fetch_sub(1, std::memory_order_relaxed);
  return found;
}

// Worker `id`'s wait for its next item: takes the next ready one, spinning (IdleWorkers::Spin)
// and sleeping while there is none; nullptr once stopping() and nothing is ready (an item pushed
// before the stop is still taken). On return with an item the worker has stopped looking, and
// *woke says whether it woke another for the items left behind it; call IdleWorkers::Returned
// when done with the item.
template <typename T, typename Stopping>
T* TakeNext(ReadyQueue<T>& ready, IdleWorkers& idle, size_t id, int64_t spin_ns,
            const Stopping& stopping, bool* woke) {
  auto ready_or_stopping = [&] { return !ready.Empty() || stopping(); };
  while (true) {
    T* item = ready.Pop();
    if (!item && idle.Spin(spin_ns, ready_or_stopping)) item = ready.Pop();
    if (item) {
      *woke = idle.Took([&] { return !ready.Empty(); });
      return item;
    }
    if (stopping()) return nullptr;
    idle.Sleep(id, ready_or_stopping);
  }
}

template <typename T>
ReadyQueue<T>::ReadyQueue(size_t capacity) {
  size_t size = 1;
  while (size < capacity) size <<= 1;
  cells_ = std::make_unique<Cell[]>(size);
  for (size_t i = 0; i < size; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  mask_ = size - 1;
}

template <typename T>
bool ReadyQueue<T>::Push(T* item) {
  const size_t position = enqueue_.load(std::memory_order_relaxed);
  Cell& cell = cells_[position & mask_];
  // The cell is free once its last consumer has set its sequence to this lap's position.
  if (cell.sequence.load(std::memory_order_acquire) != position) return false;
  cell.item = item;
  cell.sequence.store(position + 1, std::memory_order_release);
  enqueue_.store(position + 1, std::memory_order_seq_cst);
  return true;
}

template <typename T>
T* ReadyQueue<T>::Pop() {
  size_t position = dequeue_.load(std::memory_order_relaxed);
  while (true) {
    Cell& cell = cells_[position & mask_];
    const size_t sequence = cell.sequence.load(std::memory_order_acquire);
    if (sequence == position + 1) {
      // Published for this position: claim it (another consumer may be faster).
      if (dequeue_.compare_exchange_weak(position, position + 1, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
        T* item = cell.item;
        // Free for the producer's next lap.
        cell.sequence.store(position + mask_ + 1, std::memory_order_release);
        return item;
      }
      // position now holds the current dequeue position: try again there.
    } else if (sequence < position + 1) {
      return nullptr;  // not published yet: empty
    } else {
      position = dequeue_.load(std::memory_order_relaxed);  // another consumer took it
    }
  }
}

}  // namespace faultline::internal
