// Simulate: runs a generator against a fake completion function under simulated time.
//
// The simulator runs exactly the interpreter loop written down in generator.h, with a simulated
// clock instead of a real one: time jumps to the next completion or due op, never sleeps. So a
// combinator's behaviour can be tested exactly and deterministically: the same generator, options
// (seed included) and completion function give the same history, op for op.
//
// One seeded RNG drives everything: the generators' draws (free threads, Mix, Stagger, ties) and
// the completion function's. The seed is written first, into the history's header.
//
// Bounded: generation stops at max_ops invocations or at max_time_ns, even for infinite
// generators; ops already invoked then still complete (their completions may come later than
// max_time_ns), so the history has no dangling invocations. Pure function; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/op.h"
#include "generators/generator.h"

namespace faultline::gen {

struct SimulationOptions {
  int concurrency = 1;  // client threads 0 .. concurrency-1
  uint64_t seed = 0;
  bool nemesis = false;                     // whether a nemesis thread (kNemesisThread) exists
  int64_t max_ops = 10'000;                 // invocations at most
  int64_t max_time_ns = 3'600'000'000'000;  // nothing is invoked at or after this time
};

// What the fake system does with an invocation: its completion (type ok, fail or info; value,
// error and extra as the system returns them; f defaults to the invoke's) after latency_ns.
struct Completion {
  Op op;
  int64_t latency_ns = 0;
};
using CompletionFunction = std::function<Completion(const Op& invoke, Rng& rng)>;

// Every op completes ok with its own value after latency_ns.
CompletionFunction AlwaysOk(int64_t latency_ns);

enum class StopReason {
  kExhausted,  // the generator was exhausted
  kMaxOps,     // max_ops invocations were made
  kMaxTime,    // max_time_ns was reached
  kStuck,      // pending with nothing outstanding and no wake time (or a log loop): it can never
               // proceed; a real interpreter would hang, so the simulator says so instead
};
std::string_view ToString(StopReason reason);

struct LogLine {
  int64_t time_ns = 0;
  std::string message;
};

struct Simulation {
  History history;  // header {"seed", "concurrency", "nemesis"}; ops with index and time_ns set
  std::vector<LogLine> logs;  // messages of log steps (gen::Log), in order
  StopReason stop = StopReason::kExhausted;
  int64_t end_time_ns = 0;  // the time of the last event
};

Simulation SimulateFully(GenPtr generator, const SimulationOptions& options,
                         const CompletionFunction& complete);

// The history only.
History Simulate(GenPtr generator, const SimulationOptions& options,
                 const CompletionFunction& complete);

// Helpers for reading simulated histories in tests.
std::vector<Op> Invocations(const History& history);
std::vector<Op> Completions(const History& history);

}  // namespace faultline::gen
