// Unit tests of the linearizability search and its models on small hand-built histories.
#include "checker/linearizable/linearizable.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

// Builds a history from (process, type, f, value) rows; index = position.
class HistoryBuilder {
 public:
  HistoryBuilder& Add(int64_t process, OpType type, std::string f, Json value = Json(),
                      Json extra = Json()) {
    Op op;
    op.index = static_cast<int64_t>(history_.ops.size());
    op.process = process;
    op.type = type;
    op.f = std::move(f);
    op.value = std::move(value);
    op.extra = std::move(extra);
    history_.ops.push_back(std::move(op));
    return *this;
  }
  HistoryBuilder& Invoke(int64_t p, std::string f, Json v = Json()) {
    return Add(p, OpType::kInvoke, std::move(f), std::move(v));
  }
  HistoryBuilder& Ok(int64_t p, std::string f, Json v = Json()) {
    return Add(p, OpType::kOk, std::move(f), std::move(v));
  }
  HistoryBuilder& Fail(int64_t p, std::string f, Json v = Json()) {
    return Add(p, OpType::kFail, std::move(f), std::move(v));
  }
  HistoryBuilder& Info(int64_t p, std::string f, Json v = Json()) {
    return Add(p, OpType::kInfo, std::move(f), std::move(v));
  }
  const History& history() const { return history_; }

 private:
  History history_;
};

LinearizableResult Check(const History& history, const std::string& model, Json initial = Json(),
                         LinearizableOptions options = {}) {
  Result<LinearizableResult> result = CheckLinearizable(history, {model, initial}, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : LinearizableResult{};
}

TEST(Linearizable, EmptyHistoryIsValid) {
  EXPECT_EQ(Check(History{}, "cas-register").verdict, Verdict::kValid);
}

TEST(Linearizable, SequentialRegister) {
  HistoryBuilder h;
  h.Invoke(0, "write", 1).Ok(0, "write", 1).Invoke(1, "read").Ok(1, "read", 1);
  EXPECT_EQ(Check(h.history(), "register").verdict, Verdict::kValid);
}

TEST(Linearizable, StaleReadAfterWriteCompletedIsInvalid) {
  HistoryBuilder h;
  h.Invoke(0, "write", 1).Ok(0, "write", 1).Invoke(1, "read").Ok(1, "read", Json());
  LinearizableResult result = Check(h.history(), "register");
  ASSERT_EQ(result.verdict, Verdict::kInvalid);
  ASSERT_TRUE(result.failed_op.has_value());
  EXPECT_EQ(result.failed_op->index, 3);
  ASSERT_EQ(result.longest_prefix.size(), 1u);
  EXPECT_EQ(result.longest_prefix[0].state_after, "1");
  EXPECT_EQ(result.initial_state, "null");
}

TEST(Linearizable, ConcurrentReadMaySeeEitherValue) {
  HistoryBuilder h;
  h.Invoke(0, "write", 1).Invoke(1, "read").Ok(1, "read", Json()).Ok(0, "write", 1);
  EXPECT_EQ(Check(h.history(), "register").verdict, Verdict::kValid);
  HistoryBuilder g;
  g.Invoke(0, "write", 1).Invoke(1, "read").Ok(1, "read", 1).Ok(0, "write", 1);
  EXPECT_EQ(Check(g.history(), "register").verdict, Verdict::kValid);
}

TEST(Linearizable, InfoWriteMayHappenLaterOrNever) {
  // The crashed write of 2 may take effect after the read of 1, or never.
  HistoryBuilder h;
  h.Invoke(0, "write", 1).Ok(0, "write", 1).Invoke(1, "write", 2).Info(1, "write", 2);
  h.Invoke(2, "read").Ok(2, "read", 1).Invoke(3, "read").Ok(3, "read", 2);
  EXPECT_EQ(Check(h.history(), "register").verdict, Verdict::kValid);
  HistoryBuilder never;
  never.Invoke(0, "write", 1).Ok(0, "write", 1).Invoke(1, "write", 2).Info(1, "write", 2);
  never.Invoke(2, "read").Ok(2, "read", 1);
  EXPECT_EQ(Check(never.history(), "register").verdict, Verdict::kValid);
}

TEST(Linearizable, InfoWriteCannotTakeEffectBeforeItsInvoke) {
  HistoryBuilder h;
  h.Invoke(2, "read").Ok(2, "read", 2).Invoke(1, "write", 2).Info(1, "write", 2);
  EXPECT_EQ(Check(h.history(), "register").verdict, Verdict::kInvalid);
}

TEST(Linearizable, PendingInvokeIsTreatedAsInfo) {
  HistoryBuilder h;
  h.Invoke(1, "write", 5).Invoke(2, "read").Ok(2, "read", 5);
  EXPECT_EQ(Check(h.history(), "register").verdict, Verdict::kValid);
}

TEST(Linearizable, FailedOpsDidNotHappen) {
  HistoryBuilder h;
  h.Invoke(1, "write", 5).Fail(1, "write", 5).Invoke(2, "read").Ok(2, "read", 5);
  EXPECT_EQ(Check(h.history(), "register").verdict, Verdict::kInvalid);
}

TEST(Linearizable, CasRegisterWithInitialValue) {
  HistoryBuilder h;
  h.Invoke(0, "cas", Json::array({0, 3})).Ok(0, "cas", Json::array({0, 3}));
  h.Invoke(1, "read").Ok(1, "read", 3);
  EXPECT_EQ(Check(h.history(), "cas-register", 0).verdict, Verdict::kValid);
  EXPECT_EQ(Check(h.history(), "cas-register").verdict, Verdict::kInvalid);  // starts at nil
}

TEST(Linearizable, CasFromWrongValueIsInvalid) {
  HistoryBuilder h;
  h.Invoke(0, "write", 1).Ok(0, "write", 1);
  h.Invoke(0, "cas", Json::array({2, 3})).Ok(0, "cas", Json::array({2, 3}));
  EXPECT_EQ(Check(h.history(), "cas-register").verdict, Verdict::kInvalid);
}

TEST(Linearizable, RegisterRejectsCas) {
  HistoryBuilder h;
  h.Invoke(0, "cas", Json::array({0, 3})).Ok(0, "cas", Json::array({0, 3}));
  Result<LinearizableResult> result = CheckLinearizable(h.history(), {"register", Json()}, {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("expected read or write"), std::string::npos)
      << result.status().message();
}

TEST(Linearizable, MalformedValuesSayWhatWasExpected) {
  HistoryBuilder cas;
  cas.Invoke(0, "cas", 3).Ok(0, "cas", 3);
  Result<LinearizableResult> result = CheckLinearizable(cas.history(), {"cas-register", Json()}, {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("cas value: expected [from to], found 3"),
            std::string::npos)
      << result.status().message();

  HistoryBuilder txn;
  Json value = Json::array({Json::array({"read", "x", nullptr}), Json::array({"append", "x", 1})});
  txn.Invoke(0, "txn", value).Ok(0, "txn", value);
  result = CheckLinearizable(txn.history(), {"multi-register", Json()}, {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find(
                R"(txn value: micro-op 2 of 2, ["append","x",1]: expected f w or r (rw-register))"),
            std::string::npos)
      << result.status().message();
}

TEST(Linearizable, UnknownModelIsAnError) {
  Result<LinearizableResult> result = CheckLinearizable(History{}, {"nope", Json()}, {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("cas-register"), std::string::npos);
}

TEST(Linearizable, IndependentKeysAsTuplesArePartitioned) {
  HistoryBuilder h;
  h.Invoke(0, "write", Json::array({"x", 1})).Ok(0, "write", Json::array({"x", 1}));
  h.Invoke(1, "write", Json::array({"y", 2})).Ok(1, "write", Json::array({"y", 2}));
  h.Invoke(2, "read", Json::array({"x", nullptr})).Ok(2, "read", Json::array({"x", 1}));
  h.Invoke(3, "read", Json::array({"y", nullptr})).Ok(3, "read", Json::array({"y", 1}));
  LinearizableResult result = Check(h.history(), "register");
  EXPECT_EQ(result.partitions, 2u);
  ASSERT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.partition_key, "y");
}

TEST(Linearizable, CasTuplesAreNotMistakenForKeys) {
  HistoryBuilder h;
  h.Invoke(0, "cas", Json::array({1, 2})).Ok(0, "cas", Json::array({1, 2}));
  EXPECT_EQ(Check(h.history(), "cas-register", 1).partitions, 1u);
}

TEST(Linearizable, KvWithKeyFieldAndAppend) {
  HistoryBuilder h;
  h.Add(0, OpType::kInvoke, "put", "a", {{"key", "k1"}})
      .Add(0, OpType::kOk, "put", "a", {{"key", "k1"}});
  h.Add(1, OpType::kInvoke, "append", "b", {{"key", "k1"}});
  h.Add(2, OpType::kInvoke, "get", nullptr, {{"key", "k1"}});
  h.Add(2, OpType::kOk, "get", "ab", {{"key", "k1"}});
  h.Add(1, OpType::kOk, "append", "b", {{"key", "k1"}});
  h.Add(3, OpType::kInvoke, "get", nullptr, {{"key", "k2"}});
  h.Add(3, OpType::kOk, "get", "", {{"key", "k2"}});
  LinearizableResult result = Check(h.history(), "kv");
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.ToText();
  EXPECT_EQ(result.partitions, 2u);
}

TEST(Linearizable, KvLostAppendIsInvalid) {
  HistoryBuilder h;
  h.Invoke(0, "append", Json::array({"k", "x"})).Ok(0, "append", Json::array({"k", "x"}));
  h.Invoke(0, "append", Json::array({"k", "y"})).Ok(0, "append", Json::array({"k", "y"}));
  h.Invoke(1, "get", Json::array({"k", nullptr})).Ok(1, "get", Json::array({"k", "y"}));
  LinearizableResult result = Check(h.history(), "kv");
  ASSERT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.longest_prefix.back().state_after, "\"xy\"");
}

TEST(Linearizable, MutexDoubleAcquireIsInvalid) {
  HistoryBuilder h;
  h.Invoke(0, "acquire").Ok(0, "acquire").Invoke(1, "acquire").Ok(1, "acquire");
  EXPECT_EQ(Check(h.history(), "mutex").verdict, Verdict::kInvalid);
  HistoryBuilder g;
  g.Invoke(0, "acquire").Ok(0, "acquire").Invoke(1, "acquire").Invoke(0, "release");
  g.Ok(0, "release").Ok(1, "acquire");
  EXPECT_EQ(Check(g.history(), "mutex").verdict, Verdict::kValid);
}

TEST(Linearizable, CrashedAcquireNeedNotHappen) {
  HistoryBuilder h;
  h.Invoke(0, "acquire").Ok(0, "acquire").Invoke(1, "acquire").Info(1, "acquire");
  EXPECT_EQ(Check(h.history(), "mutex").verdict, Verdict::kValid);
}

TEST(Linearizable, SetReadsMustSeeCompletedAdds) {
  HistoryBuilder h;
  h.Invoke(0, "add", 1).Ok(0, "add", 1).Invoke(1, "add", 2).Invoke(2, "read");
  h.Ok(2, "read", Json::array({2, 1})).Ok(1, "add", 2);
  EXPECT_EQ(Check(h.history(), "set").verdict, Verdict::kValid);
  HistoryBuilder g;
  g.Invoke(0, "add", 1).Ok(0, "add", 1).Invoke(2, "read").Ok(2, "read", Json::array({2}));
  EXPECT_EQ(Check(g.history(), "set").verdict, Verdict::kInvalid);
}

TEST(Linearizable, FifoQueueOrder) {
  HistoryBuilder h;
  h.Invoke(0, "enqueue", 1).Ok(0, "enqueue", 1).Invoke(0, "enqueue", 2).Ok(0, "enqueue", 2);
  h.Invoke(1, "dequeue").Ok(1, "dequeue", 2);
  EXPECT_EQ(Check(h.history(), "fifo-queue").verdict, Verdict::kInvalid);
  EXPECT_EQ(Check(h.history(), "unordered-queue").verdict, Verdict::kValid);
}

TEST(Linearizable, MultiRegisterTransactions) {
  HistoryBuilder h;
  Json write = Json::array({Json::array({"write", "x", 1}), Json::array({"write", "y", 1})});
  h.Invoke(0, "txn", write).Ok(0, "txn", write);
  Json read_torn = Json::array({Json::array({"read", "x", 1}), Json::array({"read", "y", 0})});
  h.Invoke(1, "txn", read_torn).Ok(1, "txn", read_torn);
  EXPECT_EQ(Check(h.history(), "multi-register", 0).verdict, Verdict::kInvalid);
  HistoryBuilder g;
  Json read = Json::array({Json::array({"read", "x", 0}), Json::array({"read", "y", 0})});
  g.Invoke(1, "txn", read).Invoke(0, "txn", write).Ok(0, "txn", write).Ok(1, "txn", read);
  EXPECT_EQ(Check(g.history(), "multi-register", Json{{"x", 0}, {"y", 0}}).verdict,
            Verdict::kValid);
}

TEST(Linearizable, NemesisOpsAreIgnored) {
  HistoryBuilder h;
  h.Invoke(kNemesisProcess, "start-partition").Invoke(0, "write", 1);
  h.Info(kNemesisProcess, "start-partition").Ok(0, "write", 1);
  EXPECT_EQ(Check(h.history(), "register").verdict, Verdict::kValid);
}

TEST(Linearizable, ManyPartitionsInParallelFindTheBadKey) {
  HistoryBuilder h;
  for (int key = 0; key < 200; ++key) {
    int read = key == 137 ? 99 : key;
    h.Invoke(key % 7, "write", Json::array({key, key}))
        .Ok(key % 7, "write", Json::array({key, key}));
    h.Invoke(key % 7, "read", Json::array({key, nullptr}))
        .Ok(key % 7, "read", Json::array({key, read}));
  }
  LinearizableOptions options;
  options.threads = 4;
  LinearizableResult result = Check(h.history(), "register", Json(), options);
  ASSERT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.partition_key, "137");
  EXPECT_EQ(result.partitions, 200u);
}

// Many concurrent crashed writes and never-completing reads make the search space huge; a
// small budget must give "unknown" promptly instead of hanging or exhausting memory.
History Pathological(int writers) {
  HistoryBuilder h;
  for (int p = 0; p < writers; ++p) h.Invoke(p, "write", p).Info(p, "write", p);
  // Reads that each pin a different order of the crashed writes, then one impossible read.
  for (int p = 0; p < writers; ++p) {
    h.Invoke(writers + p, "read");
  }
  for (int p = 0; p < writers; ++p) h.Ok(writers + p, "read", (p * 7) % writers);
  h.Invoke(1000, "read").Ok(1000, "read", -1);
  return h.history();
}

TEST(LinearizableBudget, TimeLimitGivesUnknown) {
  LinearizableOptions options;
  options.time_limit_s = 0.2;
  auto started = std::chrono::steady_clock::now();
  LinearizableResult result = Check(Pathological(40), "register", Json(), options);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(result.verdict, Verdict::kUnknown) << result.ToText();
  EXPECT_NE(result.reason.find("time limit"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("0 of 1 partitions decided"), std::string::npos) << result.reason;
  EXPECT_LT(seconds, 5.0);  // generous: the point is "bounded", not a speed target
}

TEST(LinearizableBudget, MemoryLimitGivesUnknown) {
  LinearizableOptions options;
  options.memory_limit_bytes = 1 << 20;
  LinearizableResult result = Check(Pathological(40), "register", Json(), options);
  EXPECT_EQ(result.verdict, Verdict::kUnknown) << result.ToText();
  EXPECT_NE(result.reason.find("memory limit"), std::string::npos) << result.reason;
}

// Crashed writes nobody observed, and crashed reads, cannot matter; left in, 60 of them would
// give the search 2^60 subsets to consider. With them left out the check is immediate.
TEST(LinearizableRedundant, UnobservedCrashedOpsDoNotBlowUpTheSearch) {
  for (const std::string model : {"register", "kv"}) {
    HistoryBuilder h;
    for (int p = 0; p < 60; ++p) {
      h.Invoke(p, "write", "w" + std::to_string(p)).Info(p, "write", "w" + std::to_string(p));
      h.Invoke(100 + p, "read").Info(100 + p, "read");
    }
    h.Invoke(200, "write", "seen").Ok(200, "write", "seen");
    h.Invoke(201, "read").Ok(201, "read", "seen");
    h.Invoke(202, "read").Ok(202, "read", "w7");  // w7 was observed: its write must stay
    LinearizableOptions options;
    options.time_limit_s = 10;
    LinearizableResult result = Check(h.history(), model, Json(), options);
    EXPECT_EQ(result.verdict, Verdict::kValid) << model << "\n" << result.ToText();
    h.Invoke(203, "read").Ok(203, "read", "seen");  // w7 cannot be undone: invalid
    result = Check(h.history(), model, Json(), options);
    EXPECT_EQ(result.verdict, Verdict::kInvalid) << model << "\n" << result.ToText();
  }
}

TEST(LinearizableResultText, InvalidResultExplainsItself) {
  HistoryBuilder h;
  h.Invoke(0, "write", 1).Ok(0, "write", 1).Invoke(1, "read").Ok(1, "read", 2);
  LinearizableResult result = Check(h.history(), "register");
  std::string text = result.ToText();
  EXPECT_NE(text.find("cannot linearize: process 1 ok read 2 (index 3)"), std::string::npos)
      << text;
  Json json = result.ToJson();
  EXPECT_EQ(json["valid"], false);
  EXPECT_EQ(json["op"]["index"], 3);
  EXPECT_EQ(json["longest_linearizable_prefix"].size(), 1u);
  EXPECT_GE(json["configurations"].get<size_t>(), 1u);  // the write was placed once
}

}  // namespace
}  // namespace faultline
