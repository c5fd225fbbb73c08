// TimeLimit, Stagger, Delay and Rate under simulated time.
#include <gtest/gtest.h>

#include <vector>

#include "generators/combinators.h"
#include "generators/simulator.h"
#include "simulation_helpers.h"

namespace faultline::gen {
namespace {

using testing::kMillisecond;
using testing::Options;
using testing::RandomLatency;

std::vector<int64_t> InvokeTimes(const History& history) {
  std::vector<int64_t> times;
  for (const Op& op : Invocations(history)) times.push_back(op.time_ns);
  return times;
}

TEST(TimeLimitTest, CutsAtFirstOpPlusTheLimit) {
  const GenPtr generator = TimeLimit(10 * kMillisecond, Delay(kMillisecond, Repeat("read")));
  const Simulation run = SimulateFully(generator, Options(1), AlwaysOk(0));
  std::vector<int64_t> expected;
  for (int64_t i = 0; i < 10; ++i) expected.push_back(i * kMillisecond);
  EXPECT_EQ(InvokeTimes(run.history), expected);
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

TEST(TimeLimitTest, ClockStartsAtTheFirstOpNotAtTimeZero) {
  const GenPtr generator = Concat(
      {Sleep(5 * kMillisecond), TimeLimit(10 * kMillisecond, Delay(kMillisecond, Repeat("read")))});
  const std::vector<int64_t> times = InvokeTimes(Simulate(generator, Options(1), AlwaysOk(0)));
  ASSERT_EQ(times.size(), 10u);
  EXPECT_EQ(times.front(), 5 * kMillisecond);
  EXPECT_EQ(times.back(), 14 * kMillisecond);
}

TEST(TimeLimitTest, OpsWaitingForAThreadPastTheCutoffAreNotEmitted) {
  // One thread, 3 ms per op: ops at 0, 3, 6, 9; the next would be at 12 >= 10.
  const GenPtr generator = TimeLimit(10 * kMillisecond, Repeat("read"));
  const Simulation run = SimulateFully(generator, Options(1), AlwaysOk(3 * kMillisecond));
  EXPECT_EQ(InvokeTimes(run.history),
            (std::vector<int64_t>{0, 3 * kMillisecond, 6 * kMillisecond, 9 * kMillisecond}));
  EXPECT_EQ(run.end_time_ns, 12 * kMillisecond);
}

TEST(TimeLimitTest, EndsOnTimeWhileItsGeneratorSleeps) {
  // The inner generator would sleep an hour; the limit ends it at 10 ms.
  const GenPtr generator = TimeLimit(
      10 * kMillisecond, Concat({Once("read"), Sleep(3'600'000 * kMillisecond), Once("never")}));
  const Simulation run = SimulateFully(generator, Options(1), AlwaysOk(kMillisecond));
  EXPECT_EQ(Invocations(run.history).size(), 1u);
  EXPECT_EQ(run.stop, StopReason::kExhausted);
  EXPECT_EQ(run.end_time_ns, 10 * kMillisecond);
}

TEST(StaggerTest, GapsAreWithinZeroToTwiceTheMeanAndAverageTheMean) {
  SimulationOptions options = Options(10, 42);
  options.max_ops = 4000;
  const std::vector<int64_t> times =
      InvokeTimes(Simulate(Stagger(10 * kMillisecond, Repeat("read")), options, AlwaysOk(0)));
  ASSERT_EQ(times.size(), 4000u);
  EXPECT_EQ(times.front(), 0);
  for (size_t i = 1; i < times.size(); ++i) {
    const int64_t gap_ns = times[i] - times[i - 1];
    ASSERT_GE(gap_ns, 0);
    ASSERT_LT(gap_ns, 20 * kMillisecond);
  }
  const double mean_ns = static_cast<double>(times.back()) / (times.size() - 1);
  EXPECT_NEAR(mean_ns, 10.0 * kMillisecond, 0.3 * kMillisecond);
}

// A real interpreter sleeps until an op is due and wakes a little late. That lateness must not
// add up: asked 100 us after each due time, 1000 ops still average the mean gap.
TEST(StaggerTest, LateWakeupsDoNotSlowTheRate) {
  Rng rng(5);
  Context context = Context::Initial(1, false, &rng);
  GenPtr generator = Stagger(kMillisecond, Repeat("read"));
  int64_t first_due = -1, last_due = 0;
  for (int i = 0; i < 1000; ++i) {
    Step step = generator->Next(context);
    if (step.op.time_ns > context.time_ns) {  // not due yet: wake late and ask again
      context.time_ns = step.op.time_ns + 100'000;
      step = generator->Next(context);
    }
    ASSERT_TRUE(step.is_op());
    if (first_due < 0) first_due = step.op.time_ns;
    last_due = step.op.time_ns;
    generator = step.next;
  }
  const double mean_ns = static_cast<double>(last_due - first_due) / 999;
  EXPECT_NEAR(mean_ns, 1.0 * kMillisecond, 0.05 * kMillisecond) << "late wakeups must not add up";
}

TEST(StaggerTest, IsATotalRateNotPerThread) {
  // With 10 threads and a 1 ms mean gap, 1000 ops take about one second, not 0.1 s.
  SimulationOptions options = Options(10, 3);
  options.max_ops = 1001;
  const std::vector<int64_t> times =
      InvokeTimes(Simulate(Stagger(kMillisecond, Repeat("read")), options, AlwaysOk(0)));
  EXPECT_NEAR(static_cast<double>(times.back()), 1000.0 * kMillisecond, 60.0 * kMillisecond);
}

TEST(RateTest, IsStaggerByTheInterval) {
  SimulationOptions options = Options(4, 9);
  options.max_ops = 200;
  const History by_rate = Simulate(Rate(100, Repeat("read")), options, AlwaysOk(kMillisecond));
  const History by_stagger =
      Simulate(Stagger(10 * kMillisecond, Repeat("read")), options, AlwaysOk(kMillisecond));
  ASSERT_EQ(by_rate.ops.size(), by_stagger.ops.size());
  for (size_t i = 0; i < by_rate.ops.size(); ++i) {
    EXPECT_EQ(by_rate.ops[i].ToJson(), by_stagger.ops[i].ToJson());
  }
}

TEST(DelayTest, FixedSpacingWhenThreadsAreFree) {
  const GenPtr generator = Limit(5, Delay(5 * kMillisecond, Repeat("read")));
  EXPECT_EQ(InvokeTimes(Simulate(generator, Options(2), AlwaysOk(kMillisecond))),
            (std::vector<int64_t>{0, 5 * kMillisecond, 10 * kMillisecond, 15 * kMillisecond,
                                  20 * kMillisecond}));
}

TEST(DelayTest, DoesNotAccumulateDebtWhenBehind) {
  // The one thread is busy 12 ms per op, longer than the 5 ms spacing: each op goes as soon as
  // the thread is free, and spacing restarts from there.
  const GenPtr generator = Limit(4, Delay(5 * kMillisecond, Repeat("read")));
  EXPECT_EQ(InvokeTimes(Simulate(generator, Options(1), AlwaysOk(12 * kMillisecond))),
            (std::vector<int64_t>{0, 12 * kMillisecond, 24 * kMillisecond, 36 * kMillisecond}));
}

}  // namespace
}  // namespace faultline::gen
