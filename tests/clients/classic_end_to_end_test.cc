// The classic workloads (counter, set, set-full, unique-ids, bank, queue, total-queue) end to end: through the
// registry, the real interpreter, journal and checker (RunTest), and through `faultline test`.
// Each fake store is valid without its bug and invalid with it, its checker naming what broke.
#include <gtest/gtest.h>

#include <string>

#include "clients/registry.h"
#include "runner/lifecycle.h"
#include "support/command.h"
#include "support/temp_folder.h"

namespace faultline {
namespace {

struct ClassicRun {
  Verdict verdict = Verdict::kUnknown;
  Json result;  // the workload's checker's entry of results.json
  Json description;
};

// The fake store's run of `workload` with `bug`; `checker`: the entry of results.json to return
// (the workload's namesake unless given).
ClassicRun RunFake(const std::string& workload, const std::string& bug, uint64_t seed,
                   const std::string& checker = "", double rate = 0) {
  testing::TempFolder store("faultline_classic_");
  TestOptions options;
  options.name = workload + "-" + bug;
  options.nodes = {"n1", "n2", "n3"};
  options.concurrency = 5;
  options.time_limit_s = 0.7;
  options.seed = seed;
  options.rate = rate;
  options.store_dir = store.path().string();
  clients::WorkloadOptions workload_options;
  workload_options.workload = workload;
  workload_options.db_flags["fake-bug"] = {bug};
  Result<Test> test = clients::BuildTest(options, workload_options);
  EXPECT_TRUE(test.ok()) << test.status().ToString();
  if (!test.ok()) return {};
  RunOutcome outcome = RunTest(*test, clients::MakeConnector("fake", {}), {});
  EXPECT_TRUE(outcome.error.ok()) << outcome.error.ToString();
  return {outcome.verdict, outcome.results["checkers"][checker.empty() ? workload : checker],
          test->checker->Describe()["checkers"][0]};
}

class ClassicCorrect : public ::testing::TestWithParam<std::string> {};

TEST_P(ClassicCorrect, FakeStoreWithoutBugIsValid) {
  ClassicRun run = RunFake(GetParam(), "none", 3);
  EXPECT_EQ(run.description["name"], GetParam());
  EXPECT_EQ(run.verdict, Verdict::kValid) << run.result.dump(2);
  EXPECT_EQ(run.result["valid"], true);
}

INSTANTIATE_TEST_SUITE_P(Workloads, ClassicCorrect,
                         ::testing::Values("counter", "set", "set-full", "unique-ids", "bank",
                                           "total-queue"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ClassicBugs, CounterLostAddsGiveReadsBelowTheirLowerBound) {
  ClassicRun run = RunFake("counter", "lost-writes", 1);
  EXPECT_EQ(run.verdict, Verdict::kInvalid) << run.result.dump(2);
  ASSERT_GT(run.result["error_count"].get<int64_t>(), 0) << run.result.dump(2);
  const Json& error = run.result["errors"][0];
  EXPECT_LT(error["value"].get<int64_t>(), error["lower"].get<int64_t>()) << error.dump();
}

TEST(ClassicBugs, SetLostAddsAreMissingFromTheFinalRead) {
  ClassicRun run = RunFake("set", "lost-writes", 1);
  EXPECT_EQ(run.verdict, Verdict::kInvalid) << run.result.dump(2);
  EXPECT_GT(run.result["lost_count"].get<int64_t>(), 0);
  EXPECT_EQ(run.result["unexpected_count"], 0);
}

TEST(ClassicBugs, SetFullStaleReadsGiveStaleElements) {
  ClassicRun run = RunFake("set-full", "stale-reads", 1);
  EXPECT_EQ(run.verdict, Verdict::kInvalid) << run.result.dump(2);
  EXPECT_GT(run.result["stale_count"].get<int64_t>(), 0) << run.result.dump(2);
  EXPECT_EQ(run.result["unexpected_count"], 0);
}

TEST(ClassicBugs, SetFullLostAddsAreLost) {
  ClassicRun run = RunFake("set-full", "lost-writes", 1);
  EXPECT_EQ(run.verdict, Verdict::kInvalid) << run.result.dump(2);
  EXPECT_GT(run.result["lost_count"].get<int64_t>(), 0) << run.result.dump(2);
  EXPECT_EQ(run.result["stale_count"], 0);
}

TEST(ClassicBugs, DuplicateIdsAreCounted) {
  ClassicRun run = RunFake("unique-ids", "duplicate-ids", 1);
  EXPECT_EQ(run.verdict, Verdict::kInvalid) << run.result.dump(2);
  ASSERT_GT(run.result["duplicated_count"].get<int64_t>(), 0);
  EXPECT_GE(run.result["duplicated"][0]["count"].get<int64_t>(), 2);
}

TEST(ClassicBugs, NonAtomicTransfersBreakTheTotal) {
  ClassicRun run = RunFake("bank", "non-atomic-transfer", 1);
  EXPECT_EQ(run.verdict, Verdict::kInvalid) << run.result.dump(2);
  EXPECT_GT(run.result["error_counts"].value("wrong-total", 0), 0) << run.result.dump(2);
}

TEST(ClassicBugs, TotalQueueLostEnqueuesAreLostAndDuplicateDequeuesDuplicated) {
  ClassicRun lost = RunFake("total-queue", "lost-writes", 5);
  EXPECT_EQ(lost.verdict, Verdict::kInvalid) << lost.result.dump(2);
  EXPECT_GT(lost.result["lost_count"].get<int64_t>(), 0) << lost.result.dump(2);
  EXPECT_EQ(lost.result["duplicated_count"], 0);
  ClassicRun duplicated = RunFake("total-queue", "duplicate-dequeues", 5);
  EXPECT_EQ(duplicated.verdict, Verdict::kInvalid) << duplicated.result.dump(2);
  EXPECT_GT(duplicated.result["duplicated_count"].get<int64_t>(), 0);
  EXPECT_EQ(duplicated.result["lost_count"], 0);
}

// The queue workload is Jepsen's queue: linearizable against an unordered queue.
TEST(ClassicBugs, QueueIsCheckedAsAnUnorderedQueue) {
  // At a bounded rate: a single unordered queue of 100k ops is a long linearizability search.
  constexpr double kRate = 5000;
  ClassicRun valid = RunFake("queue", "none", 3, "linearizable", kRate);
  EXPECT_EQ(valid.description["name"], "linearizable");
  EXPECT_EQ(valid.description["model"]["name"], "unordered-queue") << valid.description.dump();
  EXPECT_EQ(valid.verdict, Verdict::kValid) << valid.result.dump(2);
  for (const char* bug : {"lost-writes", "duplicate-dequeues"}) {
    ClassicRun broken = RunFake("queue", bug, 3, "linearizable", kRate);
    EXPECT_EQ(broken.verdict, Verdict::kInvalid) << bug << "\n" << broken.result.dump(2);
    EXPECT_EQ(broken.result["valid"], false) << bug;
  }
}

TEST(ClassicBugs, ABugAnotherWorkloadTakesIsRefused) {
  TestOptions options;
  options.nodes = {"n1"};
  clients::WorkloadOptions workload;
  workload.workload = "counter";
  workload.db_flags["fake-bug"] = {"duplicate-ids"};
  Result<faultline::Test> test = clients::BuildTest(options, workload);
  ASSERT_FALSE(test.ok());
  EXPECT_NE(test.status().ToString().find("none, lost-writes"), std::string::npos)
      << test.status().ToString();
}

TEST(ClassicCommand, CounterRunsFromTheCommandLine) {
  testing::TempFolder store("faultline_classic_cli_");
  std::string flags = " --time-limit 0.7 --seed 5 --store " + store.path().string();
  testing::CommandOutput valid = testing::Faultline("test --db fake --workload counter" + flags);
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  testing::CommandOutput invalid =
      testing::Faultline("test --db fake --workload counter --fake-bug lost-writes" + flags);
  EXPECT_EQ(invalid.exit_code, 1) << invalid.out;
  EXPECT_NE(invalid.out.find("outside the counter's bounds"), std::string::npos) << invalid.out;
}

}  // namespace
}  // namespace faultline
