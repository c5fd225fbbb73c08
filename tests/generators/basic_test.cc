// Once, Repeat, Cycle, Limit, Map, Log, Sleep, Concat, Phases/Then barriers and UntilOk, run
// through the simulator so that every expectation is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "generators/combinators.h"
#include "generators/random.h"
#include "generators/simulator.h"
#include "simulation_helpers.h"

namespace faultline::gen {
namespace {

using testing::kMillisecond;
using testing::Options;
using testing::RandomLatency;

std::vector<std::string> Fs(const std::vector<Op>& ops) {
  std::vector<std::string> fs;
  for (const Op& op : ops) fs.push_back(op.f);
  return fs;
}

TEST(OnceTest, EmitsExactlyOneInvocationFromTheTemplate) {
  const Simulation run = SimulateFully(Once("write", 3), Options(2), AlwaysOk(5 * kMillisecond));
  ASSERT_EQ(run.history.ops.size(), 2u);
  const Op& invoke = run.history.ops[0];
  EXPECT_EQ(invoke.type, OpType::kInvoke);
  EXPECT_EQ(invoke.f, "write");
  EXPECT_EQ(invoke.value, Json(3));
  EXPECT_EQ(invoke.time_ns, 0);
  EXPECT_EQ(invoke.index, 0);
  EXPECT_TRUE(invoke.process == 0 || invoke.process == 1);
  const Op& completion = run.history.ops[1];
  EXPECT_EQ(completion.type, OpType::kOk);
  EXPECT_EQ(completion.process, invoke.process);
  EXPECT_EQ(completion.time_ns, 5 * kMillisecond);
  EXPECT_EQ(completion.index, 1);
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

TEST(OnceTest, FunctionMakesTheOpWithTheSeededRng) {
  const GenPtr generator = Once([](const Context& context, Rng& rng) {
    return MakeOp("write", static_cast<int64_t>(UniformBelow(rng, 1000)) + context.time_ns);
  });
  const History first = Simulate(generator, Options(1, 7), AlwaysOk(1));
  const History again = Simulate(generator, Options(1, 7), AlwaysOk(1));
  ASSERT_EQ(Invocations(first).size(), 1u);
  EXPECT_EQ(Invocations(first)[0].value, Invocations(again)[0].value);
}

TEST(OnceTest, OnceOfAGeneratorTakesItsFirstOpOnly) {
  const History history = Simulate(Once(Concat({Once("a"), Once("b")})), Options(1), AlwaysOk(1));
  EXPECT_EQ(Fs(Invocations(history)), std::vector<std::string>{"a"});
}

TEST(LimitTest, LimitOfAnInfiniteRepeatGivesExactlyThatMany) {
  const Simulation run =
      SimulateFully(Limit(3, Repeat("read")), Options(2), AlwaysOk(kMillisecond));
  EXPECT_EQ(Invocations(run.history).size(), 3u);
  EXPECT_EQ(Completions(run.history).size(), 3u);
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

TEST(LimitTest, LimitZeroEmitsNothing) {
  EXPECT_TRUE(Simulate(Limit(0, Repeat("read")), Options(1), AlwaysOk(1)).ops.empty());
}

TEST(RepeatTest, InfiniteRepeatStopsAtMaxOpsAndCompletesWhatItInvoked) {
  SimulationOptions options = Options(3);
  options.max_ops = 50;
  const Simulation run = SimulateFully(Repeat("read"), options, RandomLatency());
  EXPECT_EQ(Invocations(run.history).size(), 50u);
  EXPECT_EQ(Completions(run.history).size(), 50u);
  EXPECT_EQ(run.stop, StopReason::kMaxOps);
}

TEST(RepeatTest, RepeatsTheFirstOpOfAGeneratorWithoutAdvancingIt) {
  const History history =
      Simulate(Repeat(3, Concat({Once("a"), Once("b")})), Options(1), AlwaysOk(1));
  EXPECT_EQ(Fs(Invocations(history)), (std::vector<std::string>{"a", "a", "a"}));
}

TEST(RepeatTest, FunctionIsCalledForEveryOp) {
  // Counting calls is exact here only because every op is due at once (no answer is dropped).
  int64_t counter = 0;
  const GenPtr generator =
      Limit(4, Repeat([&counter](const Context&, Rng&) { return MakeOp("write", counter++); }));
  const History history = Simulate(generator, Options(1), AlwaysOk(1));
  std::vector<Json> values;
  for (const Op& op : Invocations(history)) values.push_back(op.value);
  EXPECT_EQ(values, (std::vector<Json>{0, 1, 2, 3}));
}

TEST(CycleTest, RunsTheGeneratorAgainFromTheStart) {
  const History history =
      Simulate(Cycle(2, Concat({Once("a"), Once("b")})), Options(1), AlwaysOk(1));
  EXPECT_EQ(Fs(Invocations(history)), (std::vector<std::string>{"a", "b", "a", "b"}));
}

TEST(CycleTest, AGeneratorExhaustedAtOnceEndsTheCycle) {
  const Simulation run = SimulateFully(Cycle(Void()), Options(1), AlwaysOk(1));
  EXPECT_TRUE(run.history.ops.empty());
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

TEST(MapTest, RewritesEveryOp) {
  const GenPtr generator = Map(
      [](Op op) {
        op.f = "renamed-" + op.f;
        return op;
      },
      Limit(2, Repeat("read")));
  EXPECT_EQ(Fs(Invocations(Simulate(generator, Options(1), AlwaysOk(1)))),
            (std::vector<std::string>{"renamed-read", "renamed-read"}));
}

TEST(LogTest, LogsOnceInSequenceWithoutAnOp) {
  const GenPtr generator = Concat({Log("starting"), Once("read"), Log("done")});
  const Simulation run = SimulateFully(generator, Options(1), AlwaysOk(4 * kMillisecond));
  EXPECT_EQ(Invocations(run.history).size(), 1u);
  ASSERT_EQ(run.logs.size(), 2u);
  EXPECT_EQ(run.logs[0].message, "starting");
  EXPECT_EQ(run.logs[0].time_ns, 0);
  EXPECT_EQ(run.logs[1].message, "done");
  // "done" comes when the generator after the read is asked: at once, as threads are irrelevant.
  EXPECT_EQ(run.logs[1].time_ns, 0);
}

TEST(SleepTest, NothingForTheDurationFromWhenItIsFirstAsked) {
  const GenPtr generator = Concat({Once("a"), Sleep(5 * kMillisecond), Once("b")});
  const std::vector<Op> invocations =
      Invocations(Simulate(generator, Options(2), AlwaysOk(kMillisecond)));
  ASSERT_EQ(invocations.size(), 2u);
  EXPECT_EQ(invocations[0].time_ns, 0);
  EXPECT_EQ(invocations[1].time_ns, 5 * kMillisecond);
}

TEST(SleepTest, AloneItEndsAtItsDeadline) {
  const Simulation run = SimulateFully(Sleep(7 * kMillisecond), Options(1), AlwaysOk(1));
  EXPECT_TRUE(run.history.ops.empty());
  EXPECT_EQ(run.stop, StopReason::kExhausted);
  EXPECT_EQ(run.end_time_ns, 7 * kMillisecond);
}

TEST(ConcatTest, NoBarrierBetweenGenerators) {
  // The read needs no wait for the slow write: the second thread is free.
  const GenPtr generator = Concat({Once("write"), Once("read")});
  const std::vector<Op> invocations =
      Invocations(Simulate(generator, Options(2), AlwaysOk(100 * kMillisecond)));
  ASSERT_EQ(invocations.size(), 2u);
  EXPECT_EQ(invocations[1].f, "read");
  EXPECT_EQ(invocations[1].time_ns, 0);
}

TEST(ThenTest, BarrierWaitsForTheFirstToComplete) {
  const GenPtr generator = Then(Once("write"), Once("read"));
  const std::vector<Op> invocations =
      Invocations(Simulate(generator, Options(2), AlwaysOk(100 * kMillisecond)));
  ASSERT_EQ(invocations.size(), 2u);
  EXPECT_EQ(invocations[1].f, "read");
  EXPECT_EQ(invocations[1].time_ns, 100 * kMillisecond);
}

TEST(PhasesTest, NoOpOfAPhaseIsInvokedBeforeEveryOpOfThePreviousOneCompleted) {
  const GenPtr generator =
      Phases({Limit(7, Repeat("write")), Limit(5, Repeat("read")), Limit(3, Repeat("cas"))});
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const History history = Simulate(generator, Options(3, seed), RandomLatency());
    const std::vector<std::string> order = {"write", "read", "cas"};
    std::vector<int64_t> last_completion(3, -1);
    std::vector<int64_t> first_invoke(3, -1);
    std::vector<int> counts(3, 0);
    for (const Op& op : history.ops) {
      const size_t phase = std::find(order.begin(), order.end(), op.f) - order.begin();
      ASSERT_LT(phase, order.size());
      if (op.is_invoke()) {
        ++counts[phase];
        if (first_invoke[phase] < 0) first_invoke[phase] = op.index;
      } else {
        last_completion[phase] = op.index;
      }
    }
    EXPECT_EQ(counts, (std::vector<int>{7, 5, 3}));
    EXPECT_GT(first_invoke[1], last_completion[0]) << "seed " << seed;
    EXPECT_GT(first_invoke[2], last_completion[1]) << "seed " << seed;
  }
}

TEST(PhasesTest, BarrierIncludesTheNemesis) {
  SimulationOptions options = Options(2);
  options.nemesis = true;
  const GenPtr generator = Phases({Nemesis(Once("start-partition")), Clients(Once("read"))});
  CompletionFunction complete = [](const Op& invoke, Rng&) {
    Completion completion{invoke, invoke.is_nemesis() ? 50 * kMillisecond : kMillisecond};
    completion.op.type = OpType::kInfo;
    return completion;
  };
  const std::vector<Op> invocations = Invocations(Simulate(generator, options, complete));
  ASSERT_EQ(invocations.size(), 2u);
  EXPECT_EQ(invocations[1].f, "read");
  EXPECT_EQ(invocations[1].time_ns, 50 * kMillisecond);
}

// Reads fail until the `succeed_from`-th op (1-based) of the run.
CompletionFunction FailUntil(int succeed_from) {
  auto count = std::make_shared<int>(0);
  return [count, succeed_from](const Op& invoke, Rng&) {
    Completion completion{invoke, kMillisecond};
    completion.op.type = ++*count >= succeed_from ? OpType::kOk : OpType::kFail;
    return completion;
  };
}

TEST(UntilOkTest, StopsAfterTheFirstOk) {
  const History history = Simulate(UntilOk(Repeat("read")), Options(1), FailUntil(4));
  const std::vector<Op> completions = Completions(history);
  ASSERT_EQ(completions.size(), 4u);
  EXPECT_EQ(completions[3].type, OpType::kOk);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(completions[i].type, OpType::kFail);
}

TEST(UntilOkTest, InfoDoesNotCountAsOk) {
  auto count = std::make_shared<int>(0);
  CompletionFunction complete = [count](const Op& invoke, Rng&) {
    Completion completion{invoke, kMillisecond};
    completion.op.type = ++*count <= 2 ? OpType::kInfo : OpType::kOk;
    return completion;
  };
  const History history = Simulate(UntilOk(Repeat("read")), Options(1), complete);
  // Two infos (the thread goes on as processes 1 and 2), then the ok.
  const std::vector<Op> invocations = Invocations(history);
  ASSERT_EQ(invocations.size(), 3u);
  EXPECT_EQ(invocations[0].process, 0);
  EXPECT_EQ(invocations[1].process, 1);
  EXPECT_EQ(invocations[2].process, 2);
}

TEST(UntilOkTest, OpsAlreadyRunningWhenTheOkArrivesStillComplete) {
  // Three threads invoke at once; the first completion is ok; nothing more is invoked.
  const Simulation run = SimulateFully(UntilOk(Repeat("read")), Options(3), AlwaysOk(kMillisecond));
  EXPECT_EQ(Invocations(run.history).size(), 3u);
  EXPECT_EQ(Completions(run.history).size(), 3u);
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

}  // namespace
}  // namespace faultline::gen
