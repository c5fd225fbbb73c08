#include "generators/simulator.h"

#include <algorithm>
#include <cassert>
#include <queue>
#include <utility>

namespace faultline::gen {
namespace {

// Steps in a row that neither advance time nor make an event: only log steps do this, and more
// than this many means a generator that logs forever at one instant.
constexpr int64_t kMaxStepsWithoutProgress = 100'000;

struct InFlight {
  int64_t due_ns;
  int64_t sequence;  // breaks ties in invocation order, so equal-time completions are stable
  int thread;
  Op completion;
};

struct LaterFirst {
  bool operator()(const InFlight& a, const InFlight& b) const {
    if (a.due_ns != b.due_ns) return a.due_ns > b.due_ns;
    return a.sequence > b.sequence;
  }
};

class Simulator {
 public:
  Simulator(GenPtr generator, const SimulationOptions& options, const CompletionFunction& complete)
      : generator_(std::move(generator)),
        options_(options),
        complete_(complete),
        rng_(options.seed),
        base_(Context::Initial(options.concurrency, options.nemesis, &rng_)) {
    assert(options.concurrency >= 0 && generator_ && complete_);
    result_.history.header = {
        {"seed", options.seed}, {"concurrency", options.concurrency}, {"nemesis", options.nemesis}};
  }

  Simulation Run() {
    bool generating = true;
    int64_t invocations = 0;
    int64_t steps_without_progress = 0;
    while (true) {
      while (!in_flight_.empty() && in_flight_.top().due_ns <= now_ns_) HandleCompletion();
      if (!generating) {
        if (in_flight_.empty()) break;
        now_ns_ = in_flight_.top().due_ns;
        continue;
      }
      if (invocations >= options_.max_ops) {
        generating = false;
        result_.stop = StopReason::kMaxOps;
        continue;
      }
      if (now_ns_ >= options_.max_time_ns) {
        generating = false;
        result_.stop = StopReason::kMaxTime;
        continue;
      }
      Step step = generator_->Next(MakeContext());
      switch (step.kind) {
        case Step::Kind::kExhausted:
          generating = false;
          result_.stop = StopReason::kExhausted;
          break;
        case Step::Kind::kOp:
          if (step.op.time_ns > now_ns_) {
            // Not due yet: wait, and ask again (the step itself is dropped).
            WaitUntil(step.op.time_ns);
            steps_without_progress = 0;
          } else {
            generator_ = step.next;
            Invoke(std::move(step.op));
            ++invocations;
            steps_without_progress = 0;
          }
          break;
        case Step::Kind::kPending:
          generator_ = step.next;
          if (!step.log.empty()) result_.logs.push_back({now_ns_, step.log});
          if (step.wake_ns >= 0 && step.wake_ns <= now_ns_) {
            if (++steps_without_progress > kMaxStepsWithoutProgress) {
              generating = false;
              result_.stop = StopReason::kStuck;
            }
          } else if (step.wake_ns < 0 && in_flight_.empty()) {
            generating = false;
            result_.stop = StopReason::kStuck;
          } else {
            WaitUntil(step.wake_ns < 0 ? in_flight_.top().due_ns : step.wake_ns);
            steps_without_progress = 0;
          }
          break;
      }
    }
    result_.end_time_ns = now_ns_;
    return std::move(result_);
  }

 private:
  // The context now: base_ kept up to date as threads come and go, with the time set (no copy).
  const Context& MakeContext() {
    base_.time_ns = now_ns_;
    return base_;
  }

  // Advances the clock to target_ns or the next completion, whichever is first, but not past
  // max_time_ns (generation stops there).
  void WaitUntil(int64_t target_ns) {
    int64_t next_ns = target_ns;
    if (!in_flight_.empty()) next_ns = std::min(next_ns, in_flight_.top().due_ns);
    next_ns = std::min(next_ns, options_.max_time_ns);
    now_ns_ = std::max(now_ns_, next_ns);
  }

  void Invoke(Op invoke) {
    const int thread = base_.ThreadOf(invoke.process);
    assert(invoke.type == OpType::kInvoke && "a generator emitted a non-invoke op");
    assert(base_.IsFree(thread) && "a generator emitted an op for a busy or unknown thread");
    assert(invoke.process == base_.ProcessOf(thread) && "stale process for the thread");
    invoke.time_ns = now_ns_;
    invoke.index = static_cast<int64_t>(result_.history.ops.size());
    result_.history.ops.push_back(invoke);
    base_.SetFree(thread, false);
    generator_ = generator_->Update(MakeContext(), invoke);

    Completion completion = complete_(invoke, rng_);
    assert(completion.op.type != OpType::kInvoke && "a completion must be ok, fail or info");
    assert(completion.latency_ns >= 0);
    completion.op.process = invoke.process;
    if (completion.op.f.empty()) completion.op.f = invoke.f;
    in_flight_.push(
        {now_ns_ + completion.latency_ns, next_sequence_++, thread, std::move(completion.op)});
  }

  void HandleCompletion() {
    InFlight done = in_flight_.top();
    in_flight_.pop();
    Op& completion = done.completion;
    completion.time_ns = done.due_ns;
    completion.index = static_cast<int64_t>(result_.history.ops.size());
    result_.history.ops.push_back(completion);
    base_.SetFree(done.thread, true);
    generator_ = generator_->Update(MakeContext(), completion);
    // After an info the thread goes on as a new process (Jepsen): the old one may still be
    // running the op, so it must never be reused.
    if (completion.type == OpType::kInfo && done.thread != kNemesisThread) {
      base_.process_of[done.thread] += options_.concurrency;
    }
  }

  GenPtr generator_;
  const SimulationOptions& options_;
  const CompletionFunction& complete_;
  Rng rng_;
  Context base_;  // everything but the time; rng points at rng_
  int64_t now_ns_ = 0;
  int64_t next_sequence_ = 0;
  std::priority_queue<InFlight, std::vector<InFlight>, LaterFirst> in_flight_;
  Simulation result_;
};

}  // namespace

CompletionFunction AlwaysOk(int64_t latency_ns) {
  return [latency_ns](const Op& invoke, Rng&) {
    Completion completion;
    completion.op = invoke;
    completion.op.type = OpType::kOk;
    completion.latency_ns = latency_ns;
    return completion;
  };
}

std::string_view ToString(StopReason reason) {
  switch (reason) {
    case StopReason::kExhausted:
      return "exhausted";
    case StopReason::kMaxOps:
      return "max-ops";
    case StopReason::kMaxTime:
      return "max-time";
    case StopReason::kStuck:
      return "stuck";
  }
  return "?";
}

Simulation SimulateFully(GenPtr generator, const SimulationOptions& options,
                         const CompletionFunction& complete) {
  // The simulator holds `rng_` and points contexts at it, so it must not move while running.
  Simulator simulator(std::move(generator), options, complete);
  return simulator.Run();
}

History Simulate(GenPtr generator, const SimulationOptions& options,
                 const CompletionFunction& complete) {
  return SimulateFully(std::move(generator), options, complete).history;
}

std::vector<Op> Invocations(const History& history) {
  std::vector<Op> invocations;
  for (const Op& op : history.ops) {
    if (op.is_invoke()) invocations.push_back(op);
  }
  return invocations;
}

std::vector<Op> Completions(const History& history) {
  std::vector<Op> completions;
  for (const Op& op : history.ops) {
    if (op.is_completion()) completions.push_back(op);
  }
  return completions;
}

}  // namespace faultline::gen
