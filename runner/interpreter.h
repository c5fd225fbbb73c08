// The interpreter: runs a generator against the test's clients and nemesis and records the
// history (Jepsen's jepsen.generator.interpreter).
//
// Threads: the thread that calls Run owns the generator, the RNG and the journal. There is one
// worker thread per client thread plus one for the nemesis; each owns its Client (or uses the
// test's Nemesis) and handles one op at a time, so every queue is bounded by the number of
// workers. After an info completion (or an exception from the client) a client thread continues
// as a new process (process + concurrency) with a fresh client, as Jepsen does. Worker i talks to
// node i mod n.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"
#include "runner/journal.h"
#include "runner/test.h"

namespace faultline {

struct InterpreterStats {
  int64_t invoked = 0, ok = 0, failed = 0, info = 0;
};

class Interpreter {
 public:
  // `journal` (may be null) receives every op as it happens; `stop` (may be null) ends the
  // current generator early when set (SIGINT). Workers start here and stop in the destructor.
  Interpreter(const Test& test, Journal* journal, const std::atomic<bool>* stop, uint64_t seed);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Runs the generator until it is exhausted (or stop is set), then waits for the ops in flight:
  // up to the test's operation timeout; ops still running after that stay without completion
  // (the checkers treat them as info; the destructor still waits for their clients to return,
  // which the Client contract bounds). Can be called again (the final generator) with the same
  // clients and process numbers.
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
  struct Completion {
    int thread;
    Op op;
  };

  void WorkerLoop(Worker* worker);
  Op Execute(Worker* worker, const Op& invoke);
  Op ExecuteClient(Worker* worker, const Op& invoke);
  Worker& WorkerFor(int thread);
  gen::Context MakeContext() const;
  Status Record(Op op);
  Status Dispatch(Op invoke, gen::GenPtr* generator);
  Status Complete(const Completion& completion, gen::GenPtr* generator);
  // Waits for one completion until `deadline_ns` (test time); handles every one that arrived.
  Status AwaitCompletions(int64_t deadline_ns, gen::GenPtr* generator);
  bool Busy() const;

  const Test& test_;
  Journal* journal_;
  const std::atomic<bool>* stop_;
  gen::Rng rng_;
  std::chrono::steady_clock::time_point start_;
  History history_;
  std::vector<std::unique_ptr<Worker>> workers_;  // client threads 0..n-1, then the nemesis
  std::vector<int64_t> process_of_;               // client thread -> current process
  std::vector<bool> busy_;                        // by worker slot
  std::shared_ptr<Nemesis> nemesis_;
  std::function<void(const Op&)> on_op_;
  std::function<void(const std::string&)> on_log_;
  InterpreterStats stats_;

  std::mutex completions_mutex_;
  std::condition_variable completions_ready_;
  std::deque<Completion> completions_;
};

}  // namespace faultline
