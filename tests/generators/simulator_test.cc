// The simulator itself: replay, ordering, processes after info, bounds, stuck generators, and the
// context contract it shares with the interpreter.
#include "generators/simulator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "generators/combinators.h"
#include "generators/random.h"
#include "simulation_helpers.h"

namespace faultline::gen {
namespace {

using testing::kMillisecond;
using testing::Options;
using testing::RandomLatency;

// Random latency and outcome: mostly ok, some fail, some info.
CompletionFunction Chaotic() {
  return [](const Op& invoke, Rng& rng) {
    Completion completion{invoke, UniformDuration(rng, 20 * kMillisecond)};
    const uint64_t draw = UniformBelow(rng, 10);
    completion.op.type = draw < 7 ? OpType::kOk : draw < 9 ? OpType::kFail : OpType::kInfo;
    return completion;
  };
}

GenPtr Workload() {
  return Clients(Stagger(2 * kMillisecond, Mix({Repeat("read"), Repeat("write", 1),
                                                Repeat("cas", Json::array({1, 2}))})),
                 Stagger(50 * kMillisecond, Cycle(Concat({Once("start"), Once("stop")}))));
}

std::vector<Json> AsJson(const History& history) {
  std::vector<Json> ops;
  for (const Op& op : history.ops) ops.push_back(op.ToJson());
  return ops;
}

TEST(SimulatorTest, SameSeedReplaysTheSameHistory) {
  SimulationOptions options = Options(5, 1234, true);
  options.max_ops = 500;
  const History first = Simulate(Workload(), options, Chaotic());
  const History again = Simulate(Workload(), options, Chaotic());
  EXPECT_EQ(first.ops.size(), 1000u);
  EXPECT_EQ(AsJson(first), AsJson(again));
  EXPECT_EQ(first.header["seed"], Json(1234));
}

TEST(SimulatorTest, DifferentSeedGivesADifferentHistory) {
  SimulationOptions options = Options(5, 1234, true);
  options.max_ops = 200;
  const History first = Simulate(Workload(), options, Chaotic());
  options.seed = 1235;
  const History other = Simulate(Workload(), options, Chaotic());
  EXPECT_NE(AsJson(first), AsJson(other));
}

TEST(SimulatorTest, HistoryIsInTimeOrderWithIndicesAndPairedCompletions) {
  SimulationOptions options = Options(4, 8, true);
  options.max_ops = 400;
  const History history = Simulate(Workload(), options, Chaotic());
  std::map<int64_t, int64_t> open_since;  // process -> index of its open invoke
  int64_t previous_ns = 0;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Op& op = history.ops[i];
    EXPECT_EQ(op.index, static_cast<int64_t>(i));
    EXPECT_GE(op.time_ns, previous_ns);
    previous_ns = op.time_ns;
    if (op.is_invoke()) {
      EXPECT_EQ(open_since.count(op.process), 0u) << "process " << op.process << " reused";
      open_since[op.process] = op.index;
    } else {
      ASSERT_EQ(open_since.count(op.process), 1u);
      EXPECT_EQ(history.ops[open_since[op.process]].f, op.f);
      open_since.erase(op.process);
    }
  }
  EXPECT_TRUE(open_since.empty());
}

TEST(SimulatorTest, InfoMovesTheThreadToANewProcess) {
  CompletionFunction info = [](const Op& invoke, Rng&) {
    Completion completion{invoke, kMillisecond};
    completion.op.type = OpType::kInfo;
    return completion;
  };
  const History history = Simulate(Limit(6, Repeat("read")), Options(2), info);
  std::vector<int64_t> processes;
  for (const Op& op : Invocations(history)) processes.push_back(op.process);
  std::sort(processes.begin(), processes.end());
  EXPECT_EQ(processes, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(SimulatorTest, NemesisInfoKeepsTheNemesisProcess) {
  CompletionFunction info = [](const Op& invoke, Rng&) {
    Completion completion{invoke, kMillisecond};
    completion.op.type = OpType::kInfo;
    return completion;
  };
  const History history = Simulate(Nemesis(Limit(3, Repeat("kill"))), Options(2, 1, true), info);
  for (const Op& op : history.ops) EXPECT_EQ(op.process, kNemesisProcess);
}

TEST(SimulatorTest, MaxTimeStopsAnInfiniteGenerator) {
  SimulationOptions options = Options(1);
  options.max_time_ns = 10 * kMillisecond;
  const Simulation run =
      SimulateFully(Delay(kMillisecond, Repeat("read")), options, AlwaysOk(30 * kMillisecond));
  // One thread busy 30 ms: only the op at 0 fits before 10 ms; it still completes at 30 ms.
  EXPECT_EQ(Invocations(run.history).size(), 1u);
  EXPECT_EQ(Completions(run.history).size(), 1u);
  EXPECT_EQ(run.stop, StopReason::kMaxTime);
  EXPECT_EQ(run.end_time_ns, 30 * kMillisecond);
}

TEST(SimulatorTest, MaxTimeCutsStrictlyBeforeTheLimit) {
  SimulationOptions options = Options(2);
  options.max_time_ns = 10 * kMillisecond;
  const History history = Simulate(Delay(kMillisecond, Repeat("read")), options, AlwaysOk(0));
  const std::vector<Op> invocations = Invocations(history);
  ASSERT_EQ(invocations.size(), 10u);
  EXPECT_EQ(invocations.back().time_ns, 9 * kMillisecond);
}

// Pending forever with no wake time.
class Stuck : public Generator {
 public:
  Step Next(const Context&) const override { return Step::Pending(shared_from_this()); }
};

TEST(SimulatorTest, AGeneratorThatCanNeverProceedStopsAsStuck) {
  const Simulation run = SimulateFully(Concat({Once("read"), std::make_shared<Stuck>()}),
                                       Options(1), AlwaysOk(kMillisecond));
  EXPECT_EQ(Invocations(run.history).size(), 1u);
  EXPECT_EQ(Completions(run.history).size(), 1u);
  EXPECT_EQ(run.stop, StopReason::kStuck);
}

TEST(SimulatorTest, EndlessLogsAtOneInstantStopAsStuck) {
  const Simulation run = SimulateFully(Cycle(Log("again")), Options(1), AlwaysOk(1));
  EXPECT_EQ(run.stop, StopReason::kStuck);
}

// Records, for every Update, whether the event's thread was free and which process the context
// said the thread ran (a test probe: the recording is the only mutation).
struct UpdateRecord {
  OpType type;
  bool thread_free;
  bool process_matches;
  int64_t time_ns;
  int64_t event_time_ns;
};

class ContextProbe : public Generator {
 public:
  ContextProbe(GenPtr generator, std::shared_ptr<std::vector<UpdateRecord>> records)
      : generator_(std::move(generator)), records_(std::move(records)) {}

  Step Next(const Context& context) const override {
    Step step = generator_->Next(context);
    if (!step.is_exhausted()) step.next = std::make_shared<ContextProbe>(step.next, records_);
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    const int thread = context.ThreadOf(event.process);
    records_->push_back({event.type, context.IsFree(thread),
                         context.ProcessOf(thread) == event.process, context.time_ns,
                         event.time_ns});
    return std::make_shared<ContextProbe>(generator_->Update(context, event), records_);
  }

 private:
  GenPtr generator_;
  std::shared_ptr<std::vector<UpdateRecord>> records_;
};

TEST(SimulatorTest, UpdateContextsFollowTheContract) {
  auto records = std::make_shared<std::vector<UpdateRecord>>();
  const GenPtr generator = std::make_shared<ContextProbe>(Limit(40, Repeat("read")), records);
  Simulate(generator, Options(3, 4), Chaotic());
  ASSERT_EQ(records->size(), 80u);
  for (const UpdateRecord& record : *records) {
    EXPECT_EQ(record.thread_free, record.type != OpType::kInvoke);
    EXPECT_TRUE(record.process_matches);
    EXPECT_EQ(record.time_ns, record.event_time_ns);
  }
}

TEST(ContextTest, InitialAndRestrictedContexts) {
  Rng rng(1);
  const Context context = Context::Initial(3, true, &rng);
  EXPECT_EQ(context.threads, (std::vector<int>{kNemesisThread, 0, 1, 2}));
  EXPECT_EQ(context.free_threads, context.threads);
  EXPECT_TRUE(context.AllThreadsFree());
  EXPECT_EQ(context.ProcessOf(kNemesisThread), kNemesisProcess);
  EXPECT_EQ(context.ThreadOf(kNemesisProcess), kNemesisThread);
  EXPECT_EQ(context.ThreadOf(7), 1);

  Context busy = context;
  busy.free_threads = {kNemesisThread, 0, 2};
  EXPECT_FALSE(busy.AllThreadsFree());
  const Context clients = busy.WithThreads([](int thread) { return thread != kNemesisThread; });
  EXPECT_EQ(clients.threads, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(clients.free_threads, (std::vector<int>{0, 2}));
  const Context even = busy.WithThreads([](int thread) { return thread == 0 || thread == 2; });
  EXPECT_TRUE(even.AllThreadsFree());
  for (int i = 0; i < 20; ++i) {
    const std::optional<int> thread = even.SomeFreeThread();
    ASSERT_TRUE(thread.has_value());
    EXPECT_TRUE(*thread == 0 || *thread == 2);
  }

  // RestrictInto is WithThreads into reused storage: stale contents are replaced, not merged.
  Context reused = Context::Initial(8, true, &rng);
  reused.time_ns = 99;
  busy.time_ns = 7;
  busy.RestrictInto([](int thread) { return thread != 1; }, &reused);
  const Context fresh = busy.WithThreads([](int thread) { return thread != 1; });
  EXPECT_EQ(reused.threads, fresh.threads);
  EXPECT_EQ(reused.threads, (std::vector<int>{kNemesisThread, 0, 2}));
  EXPECT_EQ(reused.free_threads, fresh.free_threads);
  EXPECT_EQ(reused.process_of, fresh.process_of);
  EXPECT_EQ(reused.concurrency, 3);
  EXPECT_EQ(reused.time_ns, 7);

  Context legacy;  // built without `threads`: the client threads
  legacy.concurrency = 2;
  EXPECT_EQ(legacy.AllThreads(), (std::vector<int>{0, 1}));
  EXPECT_FALSE(legacy.SomeFreeThread().has_value());
}

TEST(StepTest, StepKindsAnInterpreterSees) {
  Rng rng(1);
  Context context = Context::Initial(2, false, &rng);
  context.time_ns = 42;

  const Step log = Log("hello")->Next(context);
  EXPECT_TRUE(log.is_pending());
  EXPECT_TRUE(log.is_log());
  EXPECT_EQ(log.log, "hello");
  EXPECT_EQ(log.wake_ns, 42);
  EXPECT_TRUE(log.next->Next(context).is_exhausted());

  const Step op = Once("read")->Next(context);
  ASSERT_TRUE(op.is_op());
  EXPECT_EQ(op.op.type, OpType::kInvoke);
  EXPECT_EQ(op.op.time_ns, 42);
  EXPECT_TRUE(op.op.process == 0 || op.op.process == 1);
  EXPECT_TRUE(op.next->Next(context).is_exhausted());

  Context busy = context;
  busy.free_threads.clear();
  const Step waiting = Once("read")->Next(busy);
  EXPECT_TRUE(waiting.is_pending());
  EXPECT_FALSE(waiting.is_log());
  EXPECT_EQ(waiting.wake_ns, -1);

  const Step sleeping = Sleep(8)->Next(context);
  EXPECT_TRUE(sleeping.is_pending());
  EXPECT_EQ(sleeping.wake_ns, 50);
  context.time_ns = 50;
  EXPECT_TRUE(sleeping.next->Next(context).is_exhausted());
}

TEST(RandomTest, UniformBelowIsInRangeAndCoversIt) {
  Rng rng(5);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t draw = UniformBelow(rng, 7);
    ASSERT_LT(draw, 7u);
    seen.insert(draw);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(UniformDuration(rng, 0), 0);
  const double unit = UniformUnit(rng);
  EXPECT_GE(unit, 0.0);
  EXPECT_LT(unit, 1.0);
}

}  // namespace
}  // namespace faultline::gen
