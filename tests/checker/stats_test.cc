// The stats checker: outcome counts per operation kind, and unknown (not valid) when a kind never
// succeeded or nothing completed.
#include "checker/stats/stats.h"

#include <gtest/gtest.h>

#include <string>

namespace faultline {
namespace {

// Appends an invoke and its completion of `f` by `process`.
void Add(History& history, int64_t process, const std::string& f, OpType outcome) {
  Op invoke;
  invoke.process = process;
  invoke.f = f;
  invoke.index = static_cast<int64_t>(history.ops.size());
  history.ops.push_back(invoke);
  Op completion = invoke;
  completion.type = outcome;
  completion.index = invoke.index + 1;
  history.ops.push_back(completion);
}

TEST(Stats, CountsEachKindsOutcomesAndLeavesTheNemesisOut) {
  History history;
  Add(history, 0, "read", OpType::kOk);
  Add(history, 1, "read", OpType::kFail);
  Add(history, 0, "write", OpType::kOk);
  Add(history, 1, "write", OpType::kInfo);
  Add(history, 2, "write", OpType::kInfo);
  Add(history, kNemesisProcess, "start-partition", OpType::kInfo);
  StatsResult stats = CheckStats(history);
  EXPECT_EQ(stats.verdict, Verdict::kValid);
  EXPECT_EQ(stats.all.ok, 2);
  EXPECT_EQ(stats.all.fail, 1);
  EXPECT_EQ(stats.all.info, 2);
  ASSERT_EQ(stats.by_f.size(), 2u);
  EXPECT_EQ(stats.by_f["read"].ok, 1);
  EXPECT_EQ(stats.by_f["read"].fail, 1);
  EXPECT_EQ(stats.by_f["write"].info, 2);
  EXPECT_TRUE(stats.never_succeeded.empty());
  Json json = stats.ToJson();
  EXPECT_EQ(json["valid"], true);
  EXPECT_EQ(json["count"], 5);
  EXPECT_EQ(json["by_f"]["write"]["info_count"], 2);
  EXPECT_EQ(json["by_f"].count("start-partition"), 0u);
}

// The case: the database was down all along, every write failed, the reads saw the
// initial value; the register checker alone would call this valid.
TEST(Stats, AKindThatNeverSucceededMakesTheRunUnknownAndIsNamed) {
  History history;
  for (int i = 0; i < 5; ++i) Add(history, i, "write", OpType::kFail);
  Add(history, 0, "cas", OpType::kInfo);
  Add(history, 1, "read", OpType::kOk);
  StatsResult stats = CheckStats(history);
  EXPECT_EQ(stats.verdict, Verdict::kUnknown);
  EXPECT_EQ(stats.never_succeeded, (std::vector<std::string>{"cas", "write"}));
  EXPECT_EQ(stats.ToJson()["valid"], "unknown");
  EXPECT_EQ(stats.ToJson()["never_succeeded"], Json({"cas", "write"}));
  std::string text = stats.Explain();
  EXPECT_EQ(text.rfind("unknown: no cas or write ever succeeded", 0), 0u) << text;
  EXPECT_NE(text.find("  write: 0 ok, 5 fail, 0 info\n"), std::string::npos) << text;
}

TEST(Stats, AHistoryWithNoClientCompletionTestedNothing) {
  History history;
  Add(history, kNemesisProcess, "start-kill", OpType::kInfo);
  Op pending;
  pending.process = 0;
  pending.f = "read";
  history.ops.push_back(pending);  // invoked, never completed
  StatsResult stats = CheckStats(history);
  EXPECT_EQ(stats.verdict, Verdict::kUnknown);
  EXPECT_EQ(stats.all.total(), 0);
  EXPECT_NE(stats.Explain().find("no client operation completed"), std::string::npos);
}

}  // namespace
}  // namespace faultline
