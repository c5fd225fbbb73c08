// Generators: pure, immutable, seeded schedules of operations, with Jepsen's semantics.
//
// A generator is an immutable value. The interpreter (one thread) repeatedly asks it for the next
// operation given a Context (the time now, which threads are free, the RNG); the answer is an op
// and the generator to use afterwards, "pending" (nothing now, ask again after the next event or
// at `wake_ns`), or "exhausted". Every invocation and completion the interpreter sees is fed back
// through Update, which returns the generator to use afterwards. Generators never block, never
// read clocks and never touch global state: all randomness comes from Context::rng, so a seed and
// the same sequence of events replay the same schedule. Values are shared between threads only as
// const (GenPtr), so they are safe to keep in several places.
//
// The interpreter loop. runner/'s interpreter and gen::Simulate (simulator.h) both run exactly
// this loop, so a schedule seen in a simulator test is the schedule a real run makes:
//
//   gen = the test's generator; now = 0; every thread free; process_of[t] = t
//   loop:
//     handle every completion that has arrived (see below), in arrival order
//     if not generating: stop once nothing is outstanding, else wait for a completion
//     ctx = Context{now, concurrency, free_threads, process_of, &rng, threads = every thread}
//     step = gen->Next(ctx)
//     kOp, step.op.time_ns <= now:
//       gen = step.next
//       invoke = step.op with time_ns = now and the next history index; record it
//       mark ctx.ThreadOf(invoke.process) busy; ctx = the same context with that thread busy
//       gen = gen->Update(ctx, invoke)
//       hand invoke out to be run with that thread's client (or the nemesis). runner/
//       may hold it while it goes round again and records more invocations (at most
//       InterpreterTuning::max_batch, and never while it waits for anything), then writes them
//       to its journal together and hands them all out; the simulator hands each out at once.
//       Either way the generator sees the same calls: only when an op starts running differs.
//     kOp, step.op.time_ns > now:
//       wait until step.op.time_ns or the next completion, whichever comes first, and go round
//       again. step.next is dropped: the generator is asked again with the new context.
//     kPending:
//       gen = step.next (always: a pending step's next carries state such as a sleep's deadline)
//       if step.log is not empty: log it
//       if step.wake_ns != -1 and step.wake_ns <= now: go round again at once (a log step)
//       else wait for the next completion or until step.wake_ns (-1: no deadline); if nothing is
//       outstanding and wake_ns is -1, the generator can never proceed: stop generating
//     kExhausted: stop generating; wait for every outstanding op
//   on a completion (time_ns = now when handled, the next history index):
//     record it; mark its thread free
//     ctx = as above, with the thread free and process_of still naming the completed process
//     gen = gen->Update(ctx, completion)
//     if it is info and the thread is a client thread: process_of[thread] += concurrency
//
// Completions due at the same instant as an op are handled before the generator is asked. Log
// steps are kPending steps with `log` set and wake_ns = ctx.time_ns, so an interpreter that
// follows the loop above logs each message once and carries on at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/op.h"

namespace faultline::gen {

// The nemesis's thread. Client threads are 0 .. concurrency-1.
inline constexpr int kNemesisThread = -1;

// The seeded RNG shared by every generator of a test (owned by the interpreter thread).
using Rng = std::mt19937_64;

struct Context {
  int64_t time_ns = 0;              // now, since the test started
  int concurrency = 0;              // client threads
  std::vector<int> free_threads;    // idle threads, ascending; may contain kNemesisThread
  std::vector<int64_t> process_of;  // client thread -> its current process (grows past infos)
  Rng* rng = nullptr;               // never null while a generator runs
  // Every thread this generator may use, free or busy, ascending; may contain kNemesisThread.
  // The interpreter sets all threads; WithThreads narrows it for routing combinators. Barriers
  // (Phases, Then, Synchronize) wait until all of these are free. Empty means the client threads
  // 0 .. concurrency-1, for contexts built without it.
  std::vector<int> threads;

  // A context at time 0 with every thread free and thread t running process t; with_nemesis adds
  // kNemesisThread. The interpreter and the simulator start from this.
  static Context Initial(int concurrency, bool with_nemesis, Rng* rng);

  bool IsFree(int thread) const;
  // Marks a thread free or busy (the interpreter and the simulator, as ops start and finish),
  // keeping free_threads ascending. The thread must be busy, or free, before.
  void SetFree(int thread, bool free);
  int64_t ProcessOf(int thread) const;  // kNemesisProcess for the nemesis thread
  // The thread a process runs on: process mod concurrency, or kNemesisThread.
  int ThreadOf(int64_t process) const;
  // A copy restricted to the given threads (for reserve/each-thread/clients/nemesis routing).
  Context WithThreads(const std::function<bool(int)>& keep) const;
  // The same restriction written into *out, reusing its vectors' storage (no allocation once
  // they are large enough): what the routing combinators use on every Next and Update.
  template <typename Keep>
  void RestrictInto(const Keep& keep, Context* out) const;

  // `threads`, or 0 .. concurrency-1 when it is empty.
  std::vector<int> AllThreads() const;
  // Whether every thread of AllThreads() is free (the barrier condition).
  bool AllThreadsFree() const;
  // A free thread drawn uniformly with rng, or nullopt. (Jepsen's context documents a random
  // free process and rotates through the free threads from a moving index; either spreads ops
  // over threads, and so over nodes. docs/generators.md.)
  std::optional<int> SomeFreeThread() const;
};

template <typename Keep>
void Context::RestrictInto(const Keep& keep, Context* out) const {
  out->time_ns = time_ns;
  out->concurrency = concurrency;
  out->process_of.assign(process_of.begin(), process_of.end());
  out->rng = rng;
  out->free_threads.clear();
  for (int thread : free_threads) {
    if (keep(thread)) out->free_threads.push_back(thread);
  }
  out->threads.clear();
  if (!threads.empty()) {
    for (int thread : threads) {
      if (keep(thread)) out->threads.push_back(thread);
    }
  } else {
    for (int thread = 0; thread < concurrency; ++thread) {
      if (keep(thread)) out->threads.push_back(thread);
    }
  }
}

class Generator;
using GenPtr = std::shared_ptr<const Generator>;

struct Step {
  enum class Kind { kOp, kPending, kExhausted };
  Kind kind = Kind::kExhausted;
  // kOp: an invocation (type invoke) with process set to a free thread's process, f, value, and
  // time_ns = when it is due (>= ctx.time_ns; the interpreter waits until then).
  Op op;
  GenPtr next;           // kOp: the generator after this op. kPending: the generator to keep.
  int64_t wake_ns = -1;  // kPending: ask again at this time even without an event; -1 = none
  std::string log;       // a message to log when this step is taken (gen::Log), else empty

  static Step Exhausted() { return {}; }
  // The step that emits `op` and continues with `next`.
  static Step Emit(Op op, GenPtr next);
  // Nothing to do now; keep `next`; ask again after the next event or at wake_ns (-1: no time).
  static Step Pending(GenPtr next, int64_t wake_ns = -1);
  // Log `message` now and continue with `next` at once (kPending, wake_ns = now_ns).
  static Step LogLine(std::string message, GenPtr next, int64_t now_ns);

  bool is_op() const { return kind == Kind::kOp; }
  bool is_pending() const { return kind == Kind::kPending; }
  bool is_exhausted() const { return kind == Kind::kExhausted; }
  bool is_log() const { return kind == Kind::kPending && !log.empty(); }
};

class Generator : public std::enable_shared_from_this<Generator> {
 public:
  virtual ~Generator() = default;
  virtual Step Next(const Context& ctx) const = 0;
  // Called with every invocation and completion; default: unchanged. The context is the one
  // after the event: an invoke's thread is busy, a completion's thread is free, and process_of
  // still maps that thread to event.process.
  virtual GenPtr Update(const Context& ctx, const Op& event) const;
};

}  // namespace faultline::gen
