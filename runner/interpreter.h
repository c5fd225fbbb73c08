// The interpreter: runs a generator against the test's clients and nemesis and records the
// history (Jepsen's jepsen.generator.interpreter).
//
// Threads: each client thread (Jepsen's "thread", a logical one) and the nemesis's has a slot:
// its client, its process and its op in flight, so it runs one op at a time. After an info
// completion (or an exception from the client) a client thread continues as a new process
// (process + concurrency) with a fresh client, as Jepsen does. Thread i talks to node i mod n.
//
// Workers (runner/handoff.h): as many OS threads as slots run the ops. Ready ops go on one
// queue, and whichever worker is idle and awake takes the next. Sleeping workers are woken one
// at a time, only when no idle worker is awake, and a worker that takes an op with more ready
// behind it and nobody else looking wakes one more before it calls its client, so a blocking
// client never holds up the ops behind it. A client is used by one worker at a time, but not
// always the same one (the Client contract). An idle worker may spin for a while before it
// sleeps (InterpreterTuning).
//
// The interpreter is a role, not a thread: the generator, the RNG, the context, the history and
// the journal belong to whoever holds it (see Advance). A worker that has just finished an op
// takes it if it is free, records its completion and hands out what the generator gives next;
// so a fast client's op costs no sleep and no wake-up. The thread that calls Run only keeps
// time: it takes the role when a generator waits for a time, for the end-of-run timeout and
// every kPollNs (the stop flag), and sleeps otherwise. Callbacks (OnOp, OnLog) run on whichever
// thread holds the role, one at a time.
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
#include <exception>
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
  // How the handoff went: sleeping workers woken when ops were handed out (a futex wake each),
  // sleeping workers other workers woke (to take ops left ready behind theirs), and times the
  // Run thread slept waiting for time or the end of the run (a futex wait).
  int64_t woke_workers = 0, workers_woken_by_workers = 0, slept = 0;
};

// How the interpreter hands ops over; the defaults are what runs use (docs/performance.md,
// "Runner throughput", has the measurements behind them).
struct InterpreterTuning {
  // How long an idle worker keeps looking at the ready queue before it sleeps, and how many
  // workers may do so at once (-1: one less than the CPUs, at least one), so that spinning
  // workers never crowd out the interpreter and the workers that have ops to run.
  int64_t worker_spin_ns = 0;
  int max_spinning_workers = -1;
  // Invocations recorded (and written to the journal) in a row before they are handed out.
  int max_batch = 16;
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

  // Called (by the role's holder) for every recorded op; for progress lines and logs.
  void OnOp(std::function<void(const Op&)> callback) { on_op_ = std::move(callback); }
  // Called with the messages of gen::Log steps.
  void OnLog(std::function<void(const std::string&)> callback) { on_log_ = std::move(callback); }

 private:
  struct Slot;

  void WorkerLoop(size_t id);
  Op Execute(Slot* slot, const Op& invoke);
  Op ExecuteClient(Slot* slot, const Op& invoke);
  size_t SlotOf(int thread) const;
  // The context now: context_, kept up to date as threads come and go, with the time set.
  const gen::Context& ContextNow();
  void Record(Op op);
  // Records the invocation and queues it for its worker (HandOut sends it).
  void Dispatch(Op invoke, gen::GenPtr* generator);
  // Writes the journal's buffer, then puts every queued invocation on the ready queue.
  Status HandOut();
  void Complete(Slot* done, gen::GenPtr* generator);
  // Handles every completion that has arrived, oldest first; returns how many.
  int DrainCompletions(gen::GenPtr* generator);
  bool Busy() const { return busy_count_ > 0; }

  // The interpreter role: whoever holds it (the Run thread, or a worker that has just finished
  // an op) records completions, asks the generator and hands out ops; everything below and the
  // state it touches are the holder's. Advance runs until it has to wait and returns the test
  // time to be woken at, kAgain never, kWaitForCompletion for "a completion", or kStopped once
  // the phase is kDone.
  static constexpr int64_t kAgain = -2, kWaitForCompletion = -1, kStopped = -3;
  int64_t Advance();
  // Advance, with an exception caught and kept for Run to rethrow (the run ends).
  int64_t AdvanceCatching();
  // Hands out what is queued; on a journal error ends the run (false).
  bool HandOutOrStop();
  // The generator is done (or stopped): wait for the ops in flight, up to the operation timeout.
  void Finish();
  // Hands out what is queued; kAgain if there is something to do at once, else wake_ns.
  int64_t WaitUntil(int64_t wake_ns);
  bool TryTakeRole();
  void ReleaseRole();
  // A worker, after pushing its completion: advances if nobody holds the role.
  void AdvanceOnWorker();
  // The Run thread, holding the role: lets it go and sleeps until it holds it again with
  // something to do, or deadline_ns (test time) has passed.
  void AwaitTurn(int64_t deadline_ns);

  const Test& test_;
  Journal* journal_;
  const std::atomic<bool>* stop_;
  const InterpreterTuning tuning_;
  gen::Rng rng_;
  std::chrono::steady_clock::time_point start_;
  int64_t start_monotonic_ns_;  // start_ as internal::MonotonicNowNs time
  History history_;
  std::vector<std::unique_ptr<Slot>> slots_;  // client threads 0..n-1, then the nemesis
  std::vector<bool> busy_;                    // by slot
  int busy_count_ = 0;
  gen::Context context_;       // threads, free threads, processes; time set by ContextNow
  std::vector<Slot*> queued_;  // recorded invocations not yet on the ready queue
  std::shared_ptr<Nemesis> nemesis_;
  std::function<void(const Op&)> on_op_;
  std::function<void(const std::string&)> on_log_;
  InterpreterStats stats_;

  internal::ReadyQueue<Slot> ready_;  // handed out, not yet taken by a worker
  internal::IdleWorkers idle_;
  std::atomic<bool> stopping_{false};  // the destructor's: workers end once nothing is ready
  std::atomic<int64_t> wakes_by_workers_{0};
  internal::CompletionStack<Slot> completed_;

  // The role (see Advance) and what its holder owns besides the above.
  enum class Phase { kGenerate, kFinish, kDone };
  std::atomic<bool> role_{false};
  bool running_ = false;  // inside Run: workers may advance
  Phase phase_ = Phase::kDone;
  gen::GenPtr generator_;
  int64_t give_up_ns_ = 0;  // kFinish: when to stop waiting for ops in flight
  Status error_;
  std::exception_ptr failure_;  // thrown by Advance; Run rethrows it
  // The Run thread sleeps on parker_ until run_deadline_ (test time). A worker that lets the
  // role go asks it to wake earlier (requested_wake_) or says the run is over (finished_).
  static constexpr int64_t kNever = INT64_MAX;
  static constexpr int64_t kPollNs = 100'000'000;
  internal::Parker parker_;
  std::atomic<int64_t> run_deadline_{kNever};
  std::atomic<int64_t> requested_wake_{kNever};
  std::atomic<bool> finished_{false};
  std::atomic<int64_t> slept_{0};
  std::vector<std::thread> workers_;  // last: they start after everything they use
};

}  // namespace faultline
