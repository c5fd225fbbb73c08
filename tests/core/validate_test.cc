#include "core/validate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace faultline {
namespace {

// Builds histories op by op; indices, times and lines follow the position unless overridden.
class Builder {
 public:
  Builder& Add(OpType type, int64_t process, std::string f, Json value = nullptr) {
    Op op;
    op.index = static_cast<int64_t>(history_.ops.size());
    op.time_ns = 1000 * static_cast<int64_t>(history_.ops.size());
    op.line = static_cast<int64_t>(history_.ops.size()) + 2;  // line 1 is the header
    op.type = type;
    op.process = process;
    op.f = std::move(f);
    op.value = std::move(value);
    history_.ops.push_back(std::move(op));
    return *this;
  }
  Builder& Invoke(int64_t process, std::string f, Json value = nullptr) {
    return Add(OpType::kInvoke, process, std::move(f), std::move(value));
  }
  Builder& Ok(int64_t process, std::string f, Json value = nullptr) {
    return Add(OpType::kOk, process, std::move(f), std::move(value));
  }
  Builder& Fail(int64_t process, std::string f, Json value = nullptr) {
    return Add(OpType::kFail, process, std::move(f), std::move(value));
  }
  Builder& Info(int64_t process, std::string f, Json value = nullptr) {
    return Add(OpType::kInfo, process, std::move(f), std::move(value));
  }
  Op& Last() { return history_.ops.back(); }
  History Build(std::string source = "h.jsonl") {
    history_.source = std::move(source);
    return history_;
  }

 private:
  History history_;
};

using Partners = std::vector<int64_t>;

Pairing ExpectOk(const History& history, bool lenient) {
  Result<Pairing> result = PairHistory(history, lenient);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  return *result;
}

std::string ExpectMalformed(const History& history) {
  Result<Pairing> result = PairHistory(history, /*lenient=*/false);
  EXPECT_FALSE(result.ok());
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), StatusCode::kMalformedHistory);
  return result.status().message();
}

TEST(PairHistoryTest, EmptyHistory) {
  for (bool lenient : {false, true}) {
    Pairing pairing = ExpectOk(History{}, lenient);
    EXPECT_TRUE(pairing.partner.empty());
    EXPECT_TRUE(pairing.warnings.empty());
  }
}

TEST(PairHistoryTest, PairsInterleavedProcesses) {
  History history = Builder()
                        .Invoke(0, "write", 1)
                        .Invoke(1, "read")
                        .Ok(1, "read", nullptr)
                        .Invoke(2, "cas", Json::array({1, 2}))
                        .Ok(0, "write", 1)
                        .Fail(2, "cas", Json::array({1, 2}))
                        .Build();
  for (bool lenient : {false, true}) {
    Pairing pairing = ExpectOk(history, lenient);
    EXPECT_EQ(pairing.partner, (Partners{4, 2, 1, 5, 0, 3}));
    EXPECT_TRUE(pairing.warnings.empty());
  }
}

TEST(PairHistoryTest, PendingInvokesHaveNoPartner) {
  History history = Builder().Invoke(0, "write", 1).Invoke(1, "read").Ok(1, "read", 1).Build();
  for (bool lenient : {false, true}) {
    Pairing pairing = ExpectOk(history, lenient);
    EXPECT_EQ(pairing.partner, (Partners{-1, 2, 1}));
    EXPECT_TRUE(pairing.warnings.empty());
  }
}

TEST(PairHistoryTest, ProcessReusedAfterOkAndFail) {
  History history = Builder()
                        .Invoke(0, "write", 1)
                        .Ok(0, "write", 1)
                        .Invoke(0, "read")
                        .Fail(0, "read")
                        .Invoke(0, "read")
                        .Ok(0, "read", 1)
                        .Build();
  EXPECT_EQ(ExpectOk(history, false).partner, (Partners{1, 0, 3, 2, 5, 4}));
}

TEST(PairHistoryTest, InfoThenNewProcessIsFine) {
  // Concurrency 2: process 0 crashes and its thread continues as process 2.
  History history = Builder()
                        .Invoke(0, "write", 1)
                        .Info(0, "write", 1)
                        .Invoke(2, "read")
                        .Ok(2, "read", 1)
                        .Build();
  EXPECT_EQ(ExpectOk(history, false).partner, (Partners{1, 0, 3, 2}));
}

TEST(PairHistoryTest, StrictRejectsSecondOutstandingInvoke) {
  History history = Builder().Invoke(3, "write", 1).Invoke(3, "read").Build();
  EXPECT_EQ(ExpectMalformed(history),
            "h.jsonl:3: process 3 invoked while its op 0 is still outstanding, op 1 (process 3, "
            "f read)");
}

TEST(PairHistoryTest, StrictRejectsInvokeAfterInfo) {
  History history = Builder()
                        .Invoke(1, "write", 1)
                        .Info(1, "write", 1)
                        .Invoke(1, "read")
                        .Ok(1, "read", 1)
                        .Build();
  EXPECT_EQ(ExpectMalformed(history),
            "h.jsonl:4: process 1 invoked again after its info completion (op 1), op 2 "
            "(process 1, f read)");
}

TEST(PairHistoryTest, StrictRejectsCompletionWithoutInvoke) {
  History history = Builder().Invoke(0, "read").Ok(0, "read", 1).Ok(0, "read", 1).Build();
  EXPECT_EQ(ExpectMalformed(history),
            "h.jsonl:4: completion with no outstanding invocation of process 0, op 2 "
            "(process 0, f read)");
}

TEST(PairHistoryTest, StrictRejectsCompletionAfterInfo) {
  History history = Builder().Invoke(0, "read").Info(0, "read").Ok(0, "read", 1).Build();
  EXPECT_NE(ExpectMalformed(history).find("completion with no outstanding invocation"),
            std::string::npos);
}

TEST(PairHistoryTest, StrictRejectsMismatchedF) {
  History history = Builder().Invoke(0, "write", 1).Ok(0, "read", 1).Build();
  EXPECT_EQ(ExpectMalformed(history),
            "h.jsonl:3: completion's f read does not match its invocation's f write (op 0), op 1 "
            "(process 0, f read)");
}

TEST(PairHistoryTest, StrictRejectsNonIncreasingIndex) {
  Builder builder;
  builder.Invoke(0, "read").Ok(0, "read", 1).Invoke(0, "read");
  builder.Last().index = 1;
  EXPECT_EQ(ExpectMalformed(builder.Build()),
            "h.jsonl:4: index 1 does not increase (previous index 1), op 1 (process 0, f read)");
}

TEST(PairHistoryTest, IndicesMayHaveGaps) {
  Builder builder;
  builder.Invoke(0, "read").Ok(0, "read", 1);
  builder.Last().index = 10;
  EXPECT_EQ(ExpectOk(builder.Build(), false).partner, (Partners{1, 0}));
}

TEST(PairHistoryTest, DecreasingTimeIsAWarningInBothModes) {
  Builder builder;
  builder.Invoke(0, "read").Invoke(1, "read").Ok(0, "read", 1);
  builder.Last().time_ns = 500;
  builder.Ok(1, "read", 2);
  builder.Last().time_ns = 400;
  for (bool lenient : {false, true}) {
    Pairing pairing = ExpectOk(builder.Build(), lenient);
    ASSERT_EQ(pairing.warnings.size(), 1u);  // reported once, not for every later op
    EXPECT_EQ(pairing.warnings[0],
              "h.jsonl:4: time 500 ns is before the previous op's time 1000 ns (later ones not "
              "reported; file order is used), op 2 (process 0, f read)");
    EXPECT_EQ(pairing.partner, (Partners{2, 3, 0, 1}));
  }
}

TEST(PairHistoryTest, EqualTimesAreFine) {
  Builder builder;
  builder.Invoke(0, "read").Ok(0, "read", 1);
  builder.Last().time_ns = 0;
  EXPECT_TRUE(ExpectOk(builder.Build(), false).warnings.empty());
}

TEST(PairHistoryTest, UnknownIndexAndTimeAreNotCompared) {
  // Jepsen's old EDN histories carry neither :index nor :time.
  Builder builder;
  builder.Invoke(0, "read").Invoke(1, "read").Ok(1, "read", 1).Ok(0, "read", 1);
  History history = builder.Build();
  for (Op& op : history.ops) {
    op.index = -1;
    op.time_ns = -1;
  }
  EXPECT_EQ(ExpectOk(history, false).partner, (Partners{3, 2, 1, 0}));
  // An unknown time between known ones still compares the known ones.
  history.ops[0].time_ns = 50;
  history.ops[2].time_ns = 40;
  Pairing pairing = ExpectOk(history, false);
  ASSERT_EQ(pairing.warnings.size(), 1u);
  EXPECT_NE(pairing.warnings[0].find("time 40 ns is before the previous op's time 50 ns"),
            std::string::npos);
}

TEST(PairHistoryTest, MessageOmitsWhatIsUnknown) {
  History history = Builder().Invoke(0, "write", 1).Ok(0, "read", 1).Build("");
  EXPECT_EQ(ExpectMalformed(history),
            "line 3: completion's f read does not match its invocation's f write (op 0), op 1 "
            "(process 0, f read)");
  history.source = "x.edn";
  for (Op& op : history.ops) {
    op.line = 0;
    op.index = -1;
  }
  EXPECT_EQ(ExpectMalformed(history),
            "x.edn: completion's f read does not match its invocation's f write (op at position "
            "0), op at position 1 (process 0, f read)");
  history.source = "";
  EXPECT_EQ(ExpectMalformed(history),
            "completion's f read does not match its invocation's f write (op at position 0), op "
            "at position 1 (process 0, f read)");
}

TEST(PairHistoryTest, StrictReportsFirstViolation) {
  Builder builder;
  builder.Invoke(0, "read").Invoke(0, "write", 2).Ok(5, "read", 1);
  EXPECT_NE(ExpectMalformed(builder.Build()).find("op 1 (process 0"), std::string::npos);
}

TEST(PairHistoryTest, NemesisMayOverlapItsOwnOps) {
  History history = Builder()
                        .Invoke(kNemesisProcess, "start-partition", "majority")
                        .Invoke(kNemesisProcess, "kill")
                        .Info(kNemesisProcess, "kill")
                        .Info(kNemesisProcess, "start-partition", "majority")
                        .Invoke(kNemesisProcess, "stop-partition")
                        .Build();
  for (bool lenient : {false, true}) {
    Pairing pairing = ExpectOk(history, lenient);
    EXPECT_EQ(pairing.partner, (Partners{3, 2, 1, 0, -1}));
    EXPECT_TRUE(pairing.warnings.empty());
  }
}

TEST(PairHistoryTest, NemesisInfoDoesNotEndTheNemesis) {
  History history = Builder()
                        .Invoke(kNemesisProcess, "start")
                        .Info(kNemesisProcess, "start")
                        .Invoke(kNemesisProcess, "stop")
                        .Info(kNemesisProcess, "stop")
                        .Build();
  EXPECT_EQ(ExpectOk(history, false).partner, (Partners{1, 0, 3, 2}));
}

TEST(PairHistoryTest, NemesisOddCompletionsAreTolerated) {
  // An orphan completion, and one whose f matches no outstanding invoke: paired as best we can.
  History history = Builder()
                        .Info(kNemesisProcess, "stop")
                        .Invoke(kNemesisProcess, "start")
                        .Info(kNemesisProcess, "stop")
                        .Build();
  for (bool lenient : {false, true}) {
    Pairing pairing = ExpectOk(history, lenient);
    EXPECT_EQ(pairing.partner, (Partners{-1, 2, 1}));
    EXPECT_TRUE(pairing.warnings.empty());
  }
}

TEST(PairHistoryTest, NemesisStillHasOrderedIndicesAndTimes) {
  Builder builder;
  builder.Invoke(kNemesisProcess, "start").Info(kNemesisProcess, "start");
  builder.Last().index = 0;
  EXPECT_NE(ExpectMalformed(builder.Build()).find("index 0 does not increase"), std::string::npos);
}

TEST(PairHistoryLenientTest, WarnsAndPairsOldestWithSameF) {
  History history = Builder()
                        .Invoke(0, "write", 1)  // 0
                        .Invoke(0, "read")      // 1: second outstanding
                        .Invoke(0, "write", 2)  // 2: third outstanding
                        .Ok(0, "read", 1)       // 3 -> 1 (same f)
                        .Ok(0, "write", 1)      // 4 -> 0 (oldest write)
                        .Ok(0, "write", 2)      // 5 -> 2
                        .Build();
  Pairing pairing = ExpectOk(history, true);
  EXPECT_EQ(pairing.partner, (Partners{4, 3, 5, 1, 0, 2}));
  ASSERT_EQ(pairing.warnings.size(), 2u);
  EXPECT_EQ(pairing.warnings[0],
            "h.jsonl:3: process 0 invoked while its op 0 is still outstanding, op 1 (process 0, "
            "f read)");
  EXPECT_NE(pairing.warnings[1].find("op 2 (process 0, f write)"), std::string::npos);
}

TEST(PairHistoryLenientTest, FallsBackToOldestOutstanding) {
  History history = Builder()
                        .Invoke(0, "write", 1)
                        .Invoke(0, "cas", Json::array({1, 2}))
                        .Ok(0, "read", 1)  // no read outstanding: oldest, the write
                        .Ok(0, "cas")
                        .Build();
  Pairing pairing = ExpectOk(history, true);
  EXPECT_EQ(pairing.partner, (Partners{2, 3, 0, 1}));
  ASSERT_EQ(pairing.warnings.size(), 2u);
  EXPECT_NE(pairing.warnings[1].find("completion's f read does not match its invocation's f "
                                     "write (op 0)"),
            std::string::npos);
}

TEST(PairHistoryLenientTest, SkipsInvokesAlreadyPairedThroughTheOtherQueue) {
  History history = Builder()
                        .Invoke(0, "write", 1)  // 0
                        .Invoke(0, "write", 2)  // 1
                        .Ok(0, "read")          // 2 -> 0 (oldest; no read outstanding)
                        .Ok(0, "write", 2)      // 3 -> 1: 0 is taken though first in its f queue
                        .Ok(0, "write")         // 4: orphan
                        .Build();
  Pairing pairing = ExpectOk(history, true);
  EXPECT_EQ(pairing.partner, (Partners{2, 3, 0, 1, -1}));
  EXPECT_EQ(pairing.warnings.size(), 3u);
}

TEST(PairHistoryLenientTest, OrphanCompletion) {
  History history = Builder().Ok(4, "read", 1).Invoke(4, "read").Ok(4, "read", 2).Build();
  Pairing pairing = ExpectOk(history, true);
  EXPECT_EQ(pairing.partner, (Partners{-1, 2, 1}));
  ASSERT_EQ(pairing.warnings.size(), 1u);
  EXPECT_EQ(pairing.warnings[0],
            "h.jsonl:2: completion with no outstanding invocation of process 4, op 0 (process "
            "4, f read)");
}

TEST(PairHistoryLenientTest, InvokeAfterInfoIsPairedAnyway) {
  History history = Builder()
                        .Invoke(1, "write", 1)
                        .Info(1, "write", 1)
                        .Invoke(1, "read")
                        .Ok(1, "read", 1)
                        .Build();
  Pairing pairing = ExpectOk(history, true);
  EXPECT_EQ(pairing.partner, (Partners{1, 0, 3, 2}));
  ASSERT_EQ(pairing.warnings.size(), 1u);
  EXPECT_NE(pairing.warnings[0].find("invoked again after its info completion (op 1)"),
            std::string::npos);
}

TEST(PairHistoryLenientTest, OrderViolationsAreWarnings) {
  Builder builder;
  builder.Invoke(0, "read").Ok(0, "read", 1);
  builder.Last().index = 0;
  builder.Last().time_ns = 0;
  builder.Invoke(1, "read");
  builder.Last().time_ns = 0;  // equal to the previous: fine
  Pairing pairing = ExpectOk(builder.Build(), true);
  EXPECT_EQ(pairing.partner, (Partners{1, 0, -1}));
  ASSERT_EQ(pairing.warnings.size(), 1u);
  EXPECT_NE(pairing.warnings[0].find("index 0 does not increase"), std::string::npos);

  builder.Last().time_ns = -1;
  History history = builder.Build();
  history.ops[1].index = 1;
  history.ops[1].time_ns = 500;
  history.ops[2].time_ns = 400;
  pairing = ExpectOk(history, true);
  ASSERT_EQ(pairing.warnings.size(), 1u);
  EXPECT_NE(pairing.warnings[0].find("time 400 ns is before"), std::string::npos);
}

TEST(PairHistoryLenientTest, CapsStoredWarnings) {
  Builder builder;
  for (int i = 0; i < 250; ++i) builder.Ok(0, "read", i);  // 250 orphans
  Pairing pairing = ExpectOk(builder.Build(), true);
  ASSERT_EQ(pairing.warnings.size(), 101u);
  EXPECT_NE(pairing.warnings[0].find("op 0 "), std::string::npos);
  EXPECT_NE(pairing.warnings[99].find("op 99 "), std::string::npos);
  EXPECT_EQ(pairing.warnings[100], "and 150 more warnings");
  EXPECT_EQ(pairing.partner, Partners(250, -1));
}

TEST(PairHistoryTest, StrictModeHasNoWarnings) {
  History history = Builder().Invoke(0, "read").Ok(0, "read").Build();
  EXPECT_TRUE(ExpectOk(history, false).warnings.empty());
}

// Millions of ops must pair in linear time, in both modes, including the lenient worst case of
// one process with a huge number of outstanding invokes of different fs.
TEST(PairHistoryTest, LargeHistoriesPairQuickly) {
  constexpr int kProcesses = 50;
  constexpr int kOpsPerProcess = 20000;
  History history;
  history.ops.reserve(2 * kProcesses * kOpsPerProcess);
  int64_t crashes = 0;
  std::vector<int64_t> process(kProcesses);
  for (int p = 0; p < kProcesses; ++p) process[p] = p;
  for (int round = 0; round < kOpsPerProcess; ++round) {
    for (int phase = 0; phase < 2; ++phase) {
      for (int p = 0; p < kProcesses; ++p) {
        Op op;
        op.index = static_cast<int64_t>(history.ops.size());
        op.time_ns = op.index;
        op.process = process[p];
        op.f = (round % 3 == 0) ? "write" : "read";
        const bool crash = phase == 1 && (round * kProcesses + p) % 97 == 0;
        op.type = phase == 0 ? OpType::kInvoke : (crash ? OpType::kInfo : OpType::kOk);
        history.ops.push_back(std::move(op));
        if (crash) {
          process[p] += kProcesses;
          ++crashes;
        }
      }
    }
  }
  for (bool lenient : {false, true}) {
    const auto start = std::chrono::steady_clock::now();
    Pairing pairing = ExpectOk(history, lenient);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0);
    EXPECT_TRUE(pairing.warnings.empty());
    EXPECT_EQ(pairing.partner[0], kProcesses);
  }
  EXPECT_GT(crashes, 0);

  History lopsided;
  constexpr int kOutstanding = 200000;
  for (int i = 0; i < 2 * kOutstanding; ++i) {
    Op op;
    op.index = i;
    op.process = 0;
    op.f = "f" + std::to_string(i % kOutstanding % 1000);
    op.type = i < kOutstanding ? OpType::kInvoke : OpType::kOk;
    lopsided.ops.push_back(std::move(op));
  }
  // Complete the invokes newest-f-first so that every completion searches: pairing must still
  // take each by its own f, not scan.
  for (int i = 0; i < kOutstanding; ++i) {
    lopsided.ops[kOutstanding + i].f = lopsided.ops[kOutstanding - 1 - i].f;
  }
  const auto start = std::chrono::steady_clock::now();
  Pairing pairing = ExpectOk(lopsided, true);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
  EXPECT_EQ(pairing.warnings.size(), 101u);
  for (int i = 0; i < 2 * kOutstanding; ++i) ASSERT_NE(pairing.partner[i], -1) << i;
}

}  // namespace
}  // namespace faultline
