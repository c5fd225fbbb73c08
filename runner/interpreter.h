// The interpreter: runs a generator against the test's clients and nemesis and records the
// history (Jepsen's jepsen.generator.interpreter).
//
// Threads: the thread that calls Run owns the generator, the RNG and the journal. There is one
// worker thread per client thread plus one for the nemesis; each owns its Client (or uses the
// test's Nemesis) and handles one op at a time, so every queue is bounded by the number of
// workers. After an info completion (or an exception from the client) a client thread continues
// as a new process (process + concurrency) with a fresh client, as Jepsen does. Worker i talks to
// node i mod n.
//
// Handoff (runner/handoff.h): each worker has a one-op mailbox; finished workers go on one
// lock-free stack that the interpreter empties at the top of every turn of its loop. A worker
// that finds nothing in its mailbox may spin for a while (InterpreterTuning), then sleeps on a
// futex. A batch of ops is published to its workers' mailboxes at once; sleeping ones are woken
// along a tree (wake_fanout): the interpreter wakes the first few, and every worker, before it
// runs its own op, wakes a few more, so a blocking client never delays the rest of its batch.
// The interpreter, when it must wait for a completion, may spin, then sleeps until a worker or
// its deadline wakes it.
//
// Journal (runner/journal.h): invocations the generator gives in a row (up to max_batch, while
// threads are free and ops are due) are recorded, written with one write(2) together with the
// completions recorded before them, and only then handed to their workers. So every invocation
// is in the kernel before its client runs it; a completion reaches the kernel at the next such
// write, before the interpreter waits for anything, or when Run returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"
#include "runner/handoff.h"
#include "runner/journal.h"
#include "runner/test.h"

namespace faultline {

struct InterpreterStats {
  int64_t invoked = 0, ok = 0, failed = 0, info = 0;
  // How the handoff went: sleeping workers the interpreter woke (a futex wake each), sleeping
  // workers other workers woke for it (wake_fanout), and times the interpreter slept waiting
  // for a completion (a futex wait).
  int64_t woke_workers = 0, workers_woken_by_workers = 0, slept = 0;
};

// How the interpreter hands ops over; the defaults are what runs use (docs/performance.md,
// "Runner throughput", has the measurements behind them).
struct InterpreterTuning {
  // How long a worker keeps looking at its mailbox after an op before it sleeps, and how many
  // workers may do so at once (-1: one less than the CPUs, at least one), so that spinning
  // workers never crowd out the interpreter and the workers that have ops to run.
  int64_t worker_spin_ns = 0;
  int max_spinning_workers = -1;
  // How long the interpreter keeps looking for a completion before it sleeps.
  int64_t interpreter_spin_ns = 0;
  // Invocations recorded (and written to the journal) in a row before they are handed out.
  int max_batch = 16;
  // Who wakes the sleeping workers of a batch. 0: the interpreter wakes each one. k (1 to
  // kMaxWakeFanout): the interpreter wakes the batch's first k workers only; each worker, when
  // it takes its op and before it runs it, wakes k more (a k-ary tree in batch order), so most
  // futex calls run on the workers' CPUs instead of the interpreter's, and the last op of a
  // batch of n starts after about log_k(n) wake-ups.
  int wake_fanout = 2;
  static constexpr int kMaxWakeFanout = 4;
};

class Interpreter {
 public:
  // `journal` (may be null) receives every op as it happens; `stop` (may be null) ends the
  // current generator early when set (SIGINT). Workers start here and stop in the destructor.
  Interpreter(const Test& test, Journal* journal, const std::atomic<bool>* stop, uint64_t seed,
              InterpreterTuning tuning = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Runs the generator until it is exhausted (or stop is set), then waits for the ops in flight:
  // up to the test's operation timeout; ops still running after that stay without completion
  // (the checkers treat them as info; the destructor still waits for their clients to return,
  // which the Client contract bounds). Can be called again (the final generator) with the same
  // clients and process numbers. Every recorded op is in the journal when it returns. A journal
  // error ends it at once with that error (invocations recorded but not yet handed out then
  // never run and stay without completion).
  Status Run(gen::GenPtr generator);

  const History& history() const { return history_; }
  History TakeHistory() { return std::move(history_); }
  InterpreterStats stats() const;
  int64_t NowNs() const;

  // Called (on the interpreter thread) for every recorded op; for progress lines and logs.
  void OnOp(std::function<void(const Op&)> callback) { on_op_ = std::move(callback); }
  // Called with the messages of gen::Log steps.
  void OnLog(std::function<void(const std::string&)> callback) { on_log_ = std::move(callback); }

 private:
  struct Worker;

  void WorkerLoop(Worker* worker);
  Op Execute(Worker* worker, const Op& invoke);
  Op ExecuteClient(Worker* worker, const Op& invoke);
  Worker& WorkerFor(int thread);
  size_t SlotOf(int thread) const;
  // The context now: context_, kept up to date as threads come and go, with the time set.
  const gen::Context& ContextNow();
  void SetFree(int thread, bool free);
  void Record(Op op);
  // Records the invocation and queues it for its worker (HandOut sends it).
  void Dispatch(Op invoke, gen::GenPtr* generator);
  // Writes the journal's buffer, then hands every queued invocation to its worker.
  Status HandOut();
  void Complete(Worker* worker, gen::GenPtr* generator);
  // Handles every completion that has arrived, oldest first; returns how many.
  int DrainCompletions(gen::GenPtr* generator);
  // Hands out what is queued, then waits for a completion until `deadline_ns` (test time) and
  // handles every one that arrived.
  Status AwaitCompletions(int64_t deadline_ns, gen::GenPtr* generator);
  bool Busy() const { return busy_count_ > 0; }

  const Test& test_;
  Journal* journal_;
  const std::atomic<bool>* stop_;
  const InterpreterTuning tuning_;
  gen::Rng rng_;
  std::chrono::steady_clock::time_point start_;
  int64_t start_monotonic_ns_;  // start_ as internal::MonotonicNowNs time
  History history_;
  std::vector<std::unique_ptr<Worker>> workers_;  // client threads 0..n-1, then the nemesis
  std::vector<bool> busy_;                        // by worker slot
  int busy_count_ = 0;
  gen::Context context_;         // threads, free threads, processes; time set by ContextNow
  std::vector<Worker*> queued_;  // recorded invocations not yet handed to their workers
  std::vector<Worker*> asleep_;  // HandOut's scratch
  std::shared_ptr<Nemesis> nemesis_;
  std::function<void(const Op&)> on_op_;
  std::function<void(const std::string&)> on_log_;
  InterpreterStats stats_;

  int max_spinning_workers_;              // tuning_'s, resolved
  std::atomic<int> spinning_workers_{0};  // workers spinning on their mailboxes now
  internal::CompletionStack<Worker> completed_;
  internal::Parker parker_;  // the interpreter sleeps here while it waits for completions
};

}  // namespace faultline
