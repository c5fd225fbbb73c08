#include "reports/perf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace faultline::reports {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

// Histories with explicit times (ns), in the order the ops are added.
class Timeline {
 public:
  Timeline& At(int64_t time_ns, OpType type, int64_t process, std::string f) {
    const auto index = static_cast<int64_t>(history_.ops.size());
    history_.ops.push_back({.index = index,
                            .time_ns = time_ns,
                            .type = type,
                            .process = process,
                            .f = std::move(f),
                            .value = nullptr,
                            .error = nullptr,
                            .extra = nullptr,
                            .line = 0});
    return *this;
  }
  // An op invoked at `invoke_ns` and completed `latency_ns` later, both added at once.
  Timeline& Call(int64_t invoke_ns, int64_t latency_ns, OpType outcome, int64_t process,
                 const std::string& f) {
    At(invoke_ns, OpType::kInvoke, process, f);
    return At(invoke_ns + latency_ns, outcome, process, f);
  }
  Timeline& Nemesis(int64_t time_ns, OpType type, std::string f) {
    return At(time_ns, type, kNemesisProcess, std::move(f));
  }
  const History& history() const { return history_; }

 private:
  History history_;
};

PerfWindows Windows(const History& history, double window_s, double apdex_t_s) {
  Result<PerfWindows> windows = WindowStats(CompletedOps(history), {window_s, apdex_t_s});
  EXPECT_TRUE(windows.ok()) << windows.status().ToString();
  return windows.ok() ? *windows : PerfWindows{};
}

TEST(NearestRankTest, RanksAreCeilOfQTimesNInIntegers) {
  std::vector<int64_t> values(20);
  std::iota(values.begin(), values.end(), 1);  // 1..20
  EXPECT_EQ(NearestRank(values, 500), 10);     // ceil(10) = 10th
  EXPECT_EQ(NearestRank(values, 950), 19);     // ceil(19) = 19th, not the 20th
  EXPECT_EQ(NearestRank(values, 990), 20);     // ceil(19.8)
  EXPECT_EQ(NearestRank(values, 1000), 20);
  values.push_back(21);                     // 1..21
  EXPECT_EQ(NearestRank(values, 500), 11);  // ceil(10.5)
  EXPECT_EQ(NearestRank(values, 950), 20);  // ceil(19.95)
  EXPECT_EQ(NearestRank(values, 990), 21);  // ceil(20.79)
  std::vector<int64_t> hundred(100);
  std::iota(hundred.begin(), hundred.end(), 1);
  EXPECT_EQ(NearestRank(hundred, 990), 99);  // exactly the 99th
  hundred.push_back(101);
  EXPECT_EQ(NearestRank(hundred, 990), 100);  // ceil(99.99)
  EXPECT_EQ(NearestRank(hundred, 500), 51);   // ceil(50.5)
  EXPECT_EQ(NearestRank(std::vector<int64_t>{7, 9}, 500), 7);  // ceil(1): the lower one
  EXPECT_EQ(NearestRank(std::vector<int64_t>{7}, 10), 7);
}

TEST(CompletedOpsTest, PairsEachClientOpWithItsOutcomeAndLatency) {
  Timeline timeline;
  timeline.At(0, OpType::kInvoke, 0, "read")
      .At(5 * kMs, OpType::kInvoke, 1, "write")
      .Nemesis(6 * kMs, OpType::kInvoke, "start-partition")
      .At(8 * kMs, OpType::kFail, 1, "write")
      .At(10 * kMs, OpType::kOk, 0, "read")
      .Nemesis(11 * kMs, OpType::kOk, "start-partition")
      .At(20 * kMs, OpType::kInvoke, 2, "cas")
      .At(1020 * kMs, OpType::kInfo, 2, "cas")      // the client's timeout
      .At(1030 * kMs, OpType::kInvoke, 7, "cas")    // process 2's thread, as process 2 + 5
      .At(1040 * kMs, OpType::kOk, 7, "cas")
      .At(1500 * kMs, OpType::kInvoke, 3, "read")   // never completed
      .At(-1, OpType::kInvoke, 4, "read")           // no time: left out
      .At(-1, OpType::kFail, 4, "read")
      .Nemesis(2000 * kMs, OpType::kInvoke, "stop-partition");  // the history's end
  LatencyPoints ops = CompletedOps(timeline.history());
  EXPECT_EQ(ops.fs, (std::vector<std::string>{"cas", "read", "write"}));
  EXPECT_EQ(ops.end_ns, 2000 * kMs);
  EXPECT_EQ(ops.untimed, 1);
  ASSERT_EQ(ops.points.size(), 5u);  // client invocations only, in history order

  EXPECT_EQ(ops.points[0].invoke_ns, 0);
  EXPECT_EQ(ops.points[0].latency_ns, 10 * kMs);
  EXPECT_EQ(ops.points[0].f, 1);
  EXPECT_EQ(ops.points[0].outcome, OpType::kOk);
  EXPECT_EQ(ops.points[0].position, 0);

  EXPECT_EQ(ops.points[1].latency_ns, 3 * kMs);
  EXPECT_EQ(ops.points[1].f, 2);
  EXPECT_EQ(ops.points[1].outcome, OpType::kFail);

  // An info op: the time waited before giving up.
  EXPECT_EQ(ops.points[2].latency_ns, 1000 * kMs);
  EXPECT_EQ(ops.points[2].outcome, OpType::kInfo);
  EXPECT_TRUE(ops.points[2].completed);

  // The thread goes on as a new process after the info.
  EXPECT_EQ(ops.points[3].invoke_ns, 1030 * kMs);
  EXPECT_EQ(ops.points[3].latency_ns, 10 * kMs);
  EXPECT_EQ(ops.points[3].outcome, OpType::kOk);
  EXPECT_EQ(ops.points[3].position, 8);

  // Never completed: an info running to the end of the history.
  EXPECT_EQ(ops.points[4].latency_ns, 500 * kMs);
  EXPECT_EQ(ops.points[4].outcome, OpType::kInfo);
  EXPECT_FALSE(ops.points[4].completed);
}

TEST(CompletedOpsTest, AProcessIdReusedAfterItsInfoStillPairsEachOpWithItsOwnCompletion) {
  // A history from elsewhere that breaks Jepsen's rule: process 0 goes on after its info.
  Timeline timeline;
  timeline.Call(0, 100 * kMs, OpType::kInfo, 0, "write")
      .Call(200 * kMs, 30 * kMs, OpType::kOk, 0, "write")
      .Call(300 * kMs, 5 * kMs, OpType::kFail, 0, "write");
  LatencyPoints ops = CompletedOps(timeline.history());
  ASSERT_EQ(ops.points.size(), 3u);
  EXPECT_EQ(ops.points[0].outcome, OpType::kInfo);
  EXPECT_EQ(ops.points[0].latency_ns, 100 * kMs);
  EXPECT_EQ(ops.points[1].outcome, OpType::kOk);
  EXPECT_EQ(ops.points[1].latency_ns, 30 * kMs);
  EXPECT_EQ(ops.points[2].outcome, OpType::kFail);
  EXPECT_EQ(ops.points[2].latency_ns, 5 * kMs);
}

TEST(FaultIntervalsTest, StartInvocationToOkStopCompletionPerKindGenericOnTheName) {
  Timeline timeline;
  timeline.Nemesis(1 * kS, OpType::kInvoke, "start-partition")
      .Nemesis(1100 * kMs, OpType::kOk, "start-partition")
      .Nemesis(2 * kS, OpType::kInvoke, "start-pause")
      .Nemesis(2100 * kMs, OpType::kFail, "start-pause")  // did nothing: no interval
      .Call(2500 * kMs, kMs, OpType::kOk, 0, "start-read")  // a client op: not a fault
      .Nemesis(3 * kS, OpType::kInvoke, "stop-partition")
      .Nemesis(3200 * kMs, OpType::kOk, "stop-partition")
      .Nemesis(4 * kS, OpType::kInvoke, "start-clock-skew")  // a fault this file never heard of
      .Nemesis(4100 * kMs, OpType::kOk, "start-clock-skew")
      .Nemesis(4500 * kMs, OpType::kInvoke, "stop-clock-skew")
      .Nemesis(4600 * kMs, OpType::kOk, "stop-clock-skew")
      .Nemesis(5 * kS, OpType::kInvoke, "start-kill")
      .Nemesis(5100 * kMs, OpType::kInfo, "start-kill")  // partly applied: an interval
      .Nemesis(5500 * kMs, OpType::kInvoke, "stop-kill")
      .Nemesis(5600 * kMs, OpType::kInfo, "stop-kill")  // may not have healed: stays open
      .Nemesis(7 * kS, OpType::kInvoke, "stop-partition")  // the final heal, nothing open
      .Nemesis(7100 * kMs, OpType::kOk, "stop-partition")
      .Nemesis(7200 * kMs, OpType::kInvoke, "start")  // Jepsen's classic nemesis, unhealed
      .Nemesis(7300 * kMs, OpType::kInfo, "start")
      .Call(7900 * kMs, 100 * kMs, OpType::kOk, 0, "read");  // the end: 8 s
  std::vector<FaultInterval> faults = FaultIntervals(timeline.history());
  ASSERT_EQ(faults.size(), 4u);

  EXPECT_EQ(faults[0].kind, "partition");
  EXPECT_EQ(faults[0].start_ns, 1 * kS);
  EXPECT_EQ(faults[0].stop_ns, 3200 * kMs);
  EXPECT_TRUE(faults[0].healed);
  EXPECT_EQ(faults[0].start_position, 0);
  EXPECT_EQ(faults[0].stop_position, 7);

  EXPECT_EQ(faults[1].kind, "clock-skew");
  EXPECT_EQ(faults[1].start_ns, 4 * kS);
  EXPECT_EQ(faults[1].stop_ns, 4600 * kMs);

  EXPECT_EQ(faults[2].kind, "kill");
  EXPECT_EQ(faults[2].start_ns, 5 * kS);
  EXPECT_EQ(faults[2].stop_ns, 8 * kS);  // unhealed: to the history's end
  EXPECT_FALSE(faults[2].healed);
  EXPECT_EQ(faults[2].stop_position, -1);

  EXPECT_EQ(faults[3].kind, "nemesis");
  EXPECT_EQ(faults[3].start_ns, 7200 * kMs);
  EXPECT_EQ(faults[3].stop_ns, 8 * kS);
}

TEST(FaultIntervalsTest, ASecondStartExtendsTheOpenIntervalAndItsFailureDoesNotRemoveIt) {
  Timeline timeline;
  timeline.Nemesis(1 * kS, OpType::kInvoke, "start-kill")
      .Nemesis(1 * kS, OpType::kOk, "start-kill")
      .Nemesis(2 * kS, OpType::kInvoke, "start-kill")
      .Nemesis(2 * kS, OpType::kFail, "start-kill")
      .Nemesis(3 * kS, OpType::kOk, "stop-kill");  // an ok stop whose invocation is missing
  std::vector<FaultInterval> faults = FaultIntervals(timeline.history());
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].start_ns, 1 * kS);
  EXPECT_EQ(faults[0].stop_ns, 3 * kS);
  EXPECT_TRUE(faults[0].healed);
}

// Window 0 [0, 1 s): reads of 100, 400 and 401 ms (T = 100 ms: satisfied at exactly T, tolerating
// at exactly 4T, frustrated just above) and a failed write; the 401 ms read is invoked at 0.9 s and
// completes in window 1, yet counts in window 0 (invocation time). Window 1: nothing invoked.
// Window 2 [2 s, 2.5 s): cut at the history's end, one info write.
History ThreeWindows() {
  Timeline timeline;
  timeline.Call(0, 100 * kMs, OpType::kOk, 0, "read")
      .Call(200 * kMs, 50 * kMs, OpType::kFail, 1, "write")
      .Call(500 * kMs, 400 * kMs, OpType::kOk, 0, "read")
      .Call(900 * kMs, 401 * kMs, OpType::kOk, 1, "read")
      .Call(2000 * kMs, 500 * kMs, OpType::kInfo, 2, "write");
  return timeline.history();
}

TEST(WindowStatsTest, CountsThroughputAvailabilityAndApdexPerWindowByInvocationTime) {
  PerfWindows perf = Windows(ThreeWindows(), 1, 0.1);
  EXPECT_EQ(perf.width_ns, kS);
  EXPECT_EQ(perf.apdex_t_ns, 100 * kMs);
  ASSERT_EQ(perf.windows.size(), 3u);

  const PerfWindow& first = perf.windows[0];
  EXPECT_EQ(first.start_ns, 0);
  EXPECT_EQ(first.end_ns, kS);
  EXPECT_EQ(first.counts.ok, 3);
  EXPECT_EQ(first.counts.fail, 1);
  EXPECT_EQ(first.counts.info, 0);
  EXPECT_EQ(first.counts_by_f[0].ok, 3);    // read
  EXPECT_EQ(first.counts_by_f[1].fail, 1);  // write
  EXPECT_DOUBLE_EQ(first.ok_per_s, 3);
  EXPECT_DOUBLE_EQ(first.fail_per_s, 1);
  EXPECT_DOUBLE_EQ(first.info_per_s, 0);
  EXPECT_DOUBLE_EQ(*first.availability, 0.75);
  EXPECT_DOUBLE_EQ(*first.apdex, (1 + 0.5) / 4);

  const PerfWindow& empty = perf.windows[1];  // the 401 ms read completed here: not counted
  EXPECT_EQ(empty.start_ns, kS);
  EXPECT_EQ(empty.end_ns, 2 * kS);
  EXPECT_EQ(empty.counts.total(), 0);
  EXPECT_DOUBLE_EQ(empty.ok_per_s, 0);
  EXPECT_FALSE(empty.availability.has_value());
  EXPECT_FALSE(empty.apdex.has_value());
  EXPECT_EQ(empty.latency_by_f[0].count, 0);

  const PerfWindow& last = perf.windows[2];
  EXPECT_EQ(last.start_ns, 2 * kS);
  EXPECT_EQ(last.end_ns, 2500 * kMs);  // cut at the end: its rate is per 0.5 s
  EXPECT_EQ(last.counts.info, 1);
  EXPECT_DOUBLE_EQ(last.info_per_s, 2);
  EXPECT_DOUBLE_EQ(*last.availability, 0);
  EXPECT_DOUBLE_EQ(*last.apdex, 0);
}

TEST(WindowStatsTest, QuantilesAreOfOkOpsPerKindAndWindow) {
  PerfWindows perf = Windows(ThreeWindows(), 1, 0.1);
  ASSERT_EQ(perf.windows.size(), 3u);
  const LatencyQuantiles& reads = perf.windows[0].latency_by_f[0];
  EXPECT_EQ(reads.count, 3);
  EXPECT_EQ(reads.p50_ns, 400 * kMs);  // ceil(1.5) = 2nd of 100, 400, 401
  EXPECT_EQ(reads.p95_ns, 401 * kMs);
  EXPECT_EQ(reads.p99_ns, 401 * kMs);
  EXPECT_EQ(reads.max_ns, 401 * kMs);
  EXPECT_EQ(perf.windows[0].latency_by_f[1].count, 0);  // the write failed: no latency
  EXPECT_EQ(perf.windows[2].latency_by_f[1].count, 0);  // an info: none either

  // 20 reads of 1..20 ms in shuffled order in one window: p95 is the 19th exactly.
  std::vector<int64_t> latencies_ms(20);
  std::iota(latencies_ms.begin(), latencies_ms.end(), 1);
  std::shuffle(latencies_ms.begin(), latencies_ms.end(), std::mt19937(7));
  Timeline timeline;
  for (size_t i = 0; i < latencies_ms.size(); ++i) {
    timeline.Call(static_cast<int64_t>(i) * 30 * kMs, latencies_ms[i] * kMs, OpType::kOk, 0,
                  "read");
  }
  perf = Windows(timeline.history(), 10, 1);
  ASSERT_EQ(perf.windows.size(), 1u);
  const LatencyQuantiles& twenty = perf.windows[0].latency_by_f[0];
  EXPECT_EQ(twenty.count, 20);
  EXPECT_EQ(twenty.p50_ns, 10 * kMs);
  EXPECT_EQ(twenty.p95_ns, 19 * kMs);
  EXPECT_EQ(twenty.p99_ns, 20 * kMs);
  EXPECT_EQ(twenty.max_ns, 20 * kMs);
}

TEST(WindowStatsTest, AnOpInvokedAtTheEndGoesToTheLastWindow) {
  Timeline timeline;
  timeline.Call(0, kS, OpType::kOk, 0, "read").At(3 * kS, OpType::kInvoke, 1, "read");
  PerfWindows perf = Windows(timeline.history(), 1, 0.1);
  ASSERT_EQ(perf.windows.size(), 3u);  // [0, 3 s): the instant 3 s belongs to the last
  EXPECT_EQ(perf.windows[2].counts.info, 1);
  EXPECT_EQ(perf.windows[0].counts.ok, 1);
  EXPECT_DOUBLE_EQ(*perf.windows[0].apdex, 0);  // 1 s is above 4T = 0.4 s: frustrated
}

TEST(WindowStatsTest, AHistoryAtTimeZeroHasOneFullWindowAndAnEmptyOneNone) {
  Timeline timeline;
  timeline.Call(0, 0, OpType::kOk, 0, "read").Call(0, 0, OpType::kOk, 1, "read");
  PerfWindows perf = Windows(timeline.history(), 2, 0.1);
  ASSERT_EQ(perf.windows.size(), 1u);
  EXPECT_EQ(perf.windows[0].end_ns, 2 * kS);
  EXPECT_DOUBLE_EQ(perf.windows[0].ok_per_s, 1);
  EXPECT_DOUBLE_EQ(*perf.windows[0].apdex, 1);
  EXPECT_TRUE(Windows(History{}, 1, 0.1).windows.empty());
}

TEST(WindowStatsTest, RejectsWidthsAndThresholdsThatAreNotPositiveOrFarTooNarrow) {
  const LatencyPoints ops = CompletedOps(ThreeWindows());
  for (double bad : {0.0, -1.0, std::nan(""), double{INFINITY}, 1e-12}) {
    EXPECT_FALSE(WindowStats(ops, {bad, 0.1}).ok()) << bad;
    EXPECT_FALSE(WindowStats(ops, {1, bad}).ok()) << bad;
  }
  Result<PerfWindows> narrow = WindowStats(ops, {1e-9, 0.1});  // 2.5e9 windows
  ASSERT_FALSE(narrow.ok());
  EXPECT_EQ(narrow.status().code(), StatusCode::kInvalidArgument);
}

// Not a timing: the bucketing keeps one latency array for every window and kind (O(n) to fill,
// then one sort per bucket), so a large history gives the same figures as the bucket it fills.
TEST(WindowStatsTest, ManyOpsAcrossManyWindowsKeepEachWindowsOwnLatencies) {
  Timeline timeline;
  constexpr int64_t kWindows = 100;
  constexpr int64_t kPerWindow = 1000;
  for (int64_t window = 0; window < kWindows; ++window) {
    for (int64_t i = 0; i < kPerWindow; ++i) {
      // Latency (window + 1) * (i + 1) us, invoked inside the window.
      const int64_t start = window * kS + i * kMs / 2;
      timeline.Call(start, (window + 1) * (i + 1) * 1000, OpType::kOk, 0, i % 2 ? "b" : "a");
    }
  }
  PerfWindows perf = Windows(timeline.history(), 1, 0.1);
  ASSERT_EQ(perf.windows.size(), static_cast<size_t>(kWindows));
  for (int64_t window = 0; window < kWindows; window += 33) {
    const LatencyQuantiles& a = perf.windows[static_cast<size_t>(window)].latency_by_f[0];
    EXPECT_EQ(a.count, kPerWindow / 2);
    // "a" holds i = 0, 2, ..., 998: the 250th of 500 is i = 498.
    EXPECT_EQ(a.p50_ns, (window + 1) * 499 * 1000);
    EXPECT_EQ(a.max_ns, (window + 1) * 999 * 1000);
  }
}

}  // namespace
}  // namespace faultline::reports
