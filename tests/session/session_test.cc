// Hand-written histories: each guarantee on each data type, satisfied and violated, with the
// witness asserted; session modes; ambiguous values; bad input.
#include "checker/session/session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "session/history_builder.h"

namespace faultline {
namespace {

using testing::HistoryBuilder;

SessionResult Check(const History& history, SessionOptions options = {}) {
  Result<SessionResult> result = CheckSessions(history, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : SessionResult{};
}

const GuaranteeResult& Get(const SessionResult& result, const std::string& name) {
  for (const GuaranteeResult& guarantee : result.guarantees) {
    if (guarantee.guarantee == name) return guarantee;
  }
  ADD_FAILURE() << "no result for " << name;
  static const GuaranteeResult kNone;
  return kNone;
}

std::vector<int64_t> Indices(const SessionWitness& witness) {
  std::vector<int64_t> indices;
  for (const SessionWitnessOp& op : witness.ops) indices.push_back(op.index);
  return indices;
}

// Only `name` is violated, once, and its witness is returned.
SessionWitness OnlyViolation(const SessionResult& result, const std::string& name) {
  EXPECT_EQ(result.verdict, Verdict::kInvalid) << result.ToText();
  for (const GuaranteeResult& guarantee : result.guarantees) {
    if (guarantee.guarantee != name) {
      EXPECT_EQ(guarantee.violations, 0u) << guarantee.guarantee << "\n" << result.ToText();
    }
  }
  const GuaranteeResult& violated = Get(result, name);
  EXPECT_EQ(violated.verdict, Verdict::kInvalid);
  EXPECT_EQ(violated.violations, 1u) << result.ToText();
  if (violated.witnesses.size() != 1) return {};
  return violated.witnesses[0];
}

void ExpectValid(const SessionResult& result) {
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.ToText();
}

// ---------------------------------------------------------------- list-append

TEST(SessionListAppend, ReadYourWrites) {
  HistoryBuilder h;
  int64_t append = h.Append(0, "x", 1);
  h.Append(1, "x", 2);
  int64_t read = h.ReadList(0, "x", {2});
  SessionResult result = Check(h.history());
  EXPECT_EQ(result.data_type, "list-append");
  SessionWitness witness = OnlyViolation(result, "read-your-writes");
  EXPECT_EQ(witness.session, 0);
  EXPECT_EQ(witness.key, "x");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{append, read}));
  EXPECT_EQ(witness.missed, Json(1));
  EXPECT_EQ(witness.ToText(),
            "session 0 (process 0): op 1 (process 0, ok at t=0.001 ms) appended 1 to x, then op 5 "
            "(process 0, ok at t=0.005 ms) read x = [2], without 1: read-your-writes violated");

  HistoryBuilder fine;
  fine.Append(0, "x", 1);
  fine.Append(1, "x", 2);
  fine.ReadList(0, "x", {2, 1});
  SessionResult valid = Check(fine.history());
  ExpectValid(valid);
  EXPECT_EQ(Get(valid, "read-your-writes").checked, 1u);
}

TEST(SessionListAppend, MonotonicReads) {
  HistoryBuilder h;
  h.Append(1, "x", 1);
  h.Append(1, "x", 2);
  int64_t first = h.ReadList(0, "x", {1, 2});
  int64_t second = h.ReadList(0, "x", {1});
  SessionWitness witness = OnlyViolation(Check(h.history()), "monotonic-reads");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{first, second}));
  EXPECT_EQ(witness.missed, Json(2));
  EXPECT_EQ(witness.conclusion, "without 2, which the earlier read saw");

  HistoryBuilder fine;
  fine.Append(1, "x", 1);
  fine.ReadList(0, "x", {1});
  fine.Append(1, "x", 2);
  fine.ReadList(0, "x", {1, 2});
  SessionResult valid = Check(fine.history());
  ExpectValid(valid);
  EXPECT_EQ(Get(valid, "monotonic-reads").checked, 1u);
}

TEST(SessionListAppend, MonotonicWrites) {
  HistoryBuilder h;
  int64_t first = h.Append(1, "x", 1);
  int64_t second = h.Append(1, "x", 2);
  int64_t read = h.ReadList(0, "x", {2});
  SessionWitness witness = OnlyViolation(Check(h.history()), "monotonic-writes");
  EXPECT_EQ(witness.session, 1);  // the writer's guarantee
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{first, second, read}));
  EXPECT_EQ(witness.conclusion, "without 1 before 2");

  HistoryBuilder reordered;
  reordered.Append(1, "x", 1);
  reordered.Append(1, "x", 2);
  reordered.ReadList(0, "x", {2, 1});
  EXPECT_EQ(OnlyViolation(Check(reordered.history()), "monotonic-writes").conclusion,
            "with 1 after 2");

  HistoryBuilder fine;
  fine.Append(1, "x", 1);
  fine.Append(1, "x", 2);
  fine.ReadList(0, "x", {1, 2});
  ExpectValid(Check(fine.history()));
}

TEST(SessionListAppend, WritesFollowReads) {
  HistoryBuilder h;
  h.Append(1, "x", 1);
  int64_t saw = h.ReadList(2, "x", {1});
  int64_t append = h.Append(2, "x", 2);
  int64_t read = h.ReadList(0, "x", {2});
  SessionWitness witness = OnlyViolation(Check(h.history()), "writes-follow-reads");
  EXPECT_EQ(witness.session, 2);
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{saw, append, read}));
  EXPECT_EQ(witness.missed, Json(1));

  HistoryBuilder fine;
  fine.Append(1, "x", 1);
  fine.ReadList(2, "x", {1});
  fine.Append(2, "x", 2);
  fine.ReadList(0, "x", {1, 2});
  SessionResult valid = Check(fine.history());
  ExpectValid(valid);
  EXPECT_EQ(Get(valid, "writes-follow-reads").checked, 1u);
}

TEST(SessionListAppend, InfoAppendsCountOnlyWhenObserved) {
  HistoryBuilder h;
  h.Append(0, "x", 1, OpType::kInfo);  // may never have happened: its absence is no evidence
  h.ReadList(1, "x", {});
  h.Append(1, "x", 3);
  h.ReadList(1, "x", {3});
  ExpectValid(Check(h.history()));

  // An observed info append happened: a list with it and without the appender's earlier ok
  // append breaks monotonic writes.
  HistoryBuilder observed;
  int64_t first = observed.Append(2, "y", 1);
  int64_t second = observed.Append(2, "y", 2, OpType::kInfo);
  int64_t read = observed.ReadList(0, "y", {2});
  SessionWitness witness = OnlyViolation(Check(observed.history()), "monotonic-writes");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{first, second, read}));
  EXPECT_EQ(witness.ops[1].outcome, "info");
}

// ---------------------------------------------------------------- session modes

TEST(SessionModes, ChainSpansAnInfoBoundary) {
  HistoryBuilder h(/*concurrency=*/2);
  int64_t append = h.Append(0, "x", 1);
  h.Append(0, "x", 9, OpType::kInfo);  // process 0 ends; its thread goes on as process 2
  int64_t read = h.ReadList(2, "x", {});
  SessionResult chained = Check(h.history());
  EXPECT_EQ(chained.session_mode, "chain");
  EXPECT_EQ(chained.concurrency, 2);
  SessionWitness witness = OnlyViolation(chained, "read-your-writes");
  EXPECT_EQ(witness.session, 0);
  EXPECT_EQ(witness.processes, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{append, read}));
  EXPECT_EQ(witness.missed, Json(1));  // never the info append 9

  SessionOptions per_process;
  per_process.concurrency = -1;
  SessionResult separate = Check(h.history(), per_process);
  EXPECT_EQ(separate.session_mode, "process");
  EXPECT_EQ(separate.sessions, 2u);
  ExpectValid(separate);
}

TEST(SessionModes, ExplicitConcurrencyAndMissingHeader) {
  HistoryBuilder h;  // no concurrency in the header
  h.Append(1, "x", 1);
  h.Append(1, "x", 2, OpType::kInfo);
  h.ReadList(4, "x", {});
  SessionResult fallback = Check(h.history());
  EXPECT_EQ(fallback.session_mode, "process");
  ExpectValid(fallback);
  ASSERT_FALSE(fallback.warnings.empty());
  EXPECT_NE(fallback.warnings[0].find("no concurrency"), std::string::npos);

  SessionOptions chains;
  chains.concurrency = 3;  // process 4 continues process 1's thread
  SessionWitness witness = OnlyViolation(Check(h.history(), chains), "read-your-writes");
  EXPECT_EQ(witness.session, 1);
  EXPECT_EQ(witness.processes, (std::vector<int64_t>{1, 4}));
}

// ---------------------------------------------------------------- registers

// The same scenarios in the three register-like dialects.
class RegisterDialect : public ::testing::TestWithParam<std::string> {
 protected:
  int64_t Write(HistoryBuilder& h, int64_t process, int value) {
    const std::string& type = GetParam();
    if (type == "register") return h.Call(process, "write", value, value);
    if (type == "kv")
      return h.Call(process, "write", Json::array({"x", value}), Json::array({"x", value}));
    Json txn = Json::array({Json::array({"w", "x", value})});
    return h.Call(process, "txn", txn, txn);
  }
  int64_t Read(HistoryBuilder& h, int64_t process, const Json& value) {
    const std::string& type = GetParam();
    if (type == "register") return h.Call(process, "read", nullptr, value);
    if (type == "kv") {
      return h.Call(process, "read", Json::array({"x", nullptr}), Json::array({"x", value}));
    }
    return h.Call(process, "txn", Json::array({Json::array({"r", "x", nullptr})}),
                  Json::array({Json::array({"r", "x", value})}));
  }
  SessionResult CheckTyped(const History& history) {
    SessionResult result = Check(history);
    EXPECT_EQ(result.data_type, GetParam());
    return result;
  }
};

TEST_P(RegisterDialect, ReadYourWritesInitialValue) {
  HistoryBuilder h;
  int64_t write = Write(h, 0, 1);
  int64_t read = Read(h, 0, nullptr);
  SessionWitness witness = OnlyViolation(CheckTyped(h.history()), "read-your-writes");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{write, read}));
  EXPECT_EQ(witness.missed, Json(1));
  EXPECT_EQ(witness.conclusion, "the initial value, without 1");
}

TEST_P(RegisterDialect, ReadYourWritesOlderOwnValue) {
  HistoryBuilder h;
  int64_t older = Write(h, 0, 1);
  int64_t newer = Write(h, 0, 2);
  int64_t read = Read(h, 0, 1);
  SessionWitness witness = OnlyViolation(CheckTyped(h.history()), "read-your-writes");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{older, newer, read}));
  EXPECT_EQ(witness.conclusion, "the older value 1, without 2");
}

TEST_P(RegisterDialect, ReadYourWritesSatisfiedOrUnjudged) {
  HistoryBuilder h;
  Write(h, 0, 1);
  Write(h, 1, 2);
  Read(h, 0, 2);  // another session's write: its order against 1 is unknown
  Read(h, 0, 1);
  SessionResult result = CheckTyped(h.history());
  ExpectValid(result);
  EXPECT_EQ(Get(result, "read-your-writes").checked, 1u);
  EXPECT_EQ(Get(result, "read-your-writes").unjudged, 1u);
}

TEST_P(RegisterDialect, AmbiguousValuesAreNotReported) {
  HistoryBuilder h;
  Write(h, 0, 1);
  Write(h, 1, 1);  // 1 now names no single write
  Write(h, 0, 2);
  Read(h, 0, 1);  // could be process 1's write, ordered after 2
  SessionResult result = CheckTyped(h.history());
  // Nothing reported; and as the only case could not be judged, the guarantee is unknown.
  EXPECT_EQ(result.verdict, Verdict::kUnknown) << result.ToText();
  EXPECT_EQ(Get(result, "read-your-writes").violations, 0u);
  EXPECT_EQ(Get(result, "read-your-writes").verdict, Verdict::kUnknown);
  EXPECT_EQ(Get(result, "read-your-writes").unjudged, 1u);
  EXPECT_EQ(Get(result, "monotonic-reads").verdict, Verdict::kValid);
  bool warned = false;
  for (const std::string& warning : result.warnings) {
    warned |= warning.find("written more than once") != std::string::npos;
  }
  EXPECT_TRUE(warned);
}

TEST_P(RegisterDialect, MonotonicReadsReturnToAValue) {
  HistoryBuilder h;
  Write(h, 1, 1);
  Write(h, 2, 2);
  int64_t first = Read(h, 0, 1);
  int64_t away = Read(h, 0, 2);
  int64_t back = Read(h, 0, 1);
  SessionWitness witness = OnlyViolation(CheckTyped(h.history()), "monotonic-reads");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{first, away, back}));
  EXPECT_EQ(witness.conclusion, "returned 1 again after 2");
}

TEST_P(RegisterDialect, MonotonicReadsBackToInitial) {
  HistoryBuilder h;
  Write(h, 1, 1);
  int64_t saw = Read(h, 0, 1);
  int64_t initial = Read(h, 0, nullptr);
  SessionWitness witness = OnlyViolation(CheckTyped(h.history()), "monotonic-reads");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{saw, initial}));

  HistoryBuilder fine;
  Write(fine, 1, 1);
  Write(fine, 2, 2);
  Read(fine, 0, nullptr);
  Read(fine, 0, 1);
  Read(fine, 0, 2);
  Read(fine, 0, 2);
  ExpectValid(CheckTyped(fine.history()));
}

TEST_P(RegisterDialect, MonotonicWrites) {
  HistoryBuilder h;
  int64_t first = Write(h, 1, 1);
  int64_t second = Write(h, 1, 2);
  int64_t saw_second = Read(h, 0, 2);
  int64_t saw_first = Read(h, 0, 1);
  SessionWitness witness = OnlyViolation(CheckTyped(h.history()), "monotonic-writes");
  EXPECT_EQ(witness.session, 1);
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{first, second, saw_second, saw_first}));
  EXPECT_EQ(witness.missed, Json(2));

  HistoryBuilder fine;
  Write(fine, 1, 1);
  Write(fine, 1, 2);
  Read(fine, 0, 1);
  Read(fine, 0, 2);
  SessionResult valid = CheckTyped(fine.history());
  ExpectValid(valid);
  EXPECT_EQ(Get(valid, "monotonic-writes").checked, 1u);
}

TEST_P(RegisterDialect, WritesFollowReads) {
  HistoryBuilder h;
  Write(h, 1, 1);
  int64_t saw = Read(h, 2, 1);
  int64_t write = Write(h, 2, 2);
  int64_t saw_write = Read(h, 0, 2);
  int64_t stale = Read(h, 0, 1);
  SessionWitness witness = OnlyViolation(CheckTyped(h.history()), "writes-follow-reads");
  EXPECT_EQ(witness.session, 2);
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{saw, write, saw_write, stale}));

  HistoryBuilder fine;
  Write(fine, 1, 1);
  Read(fine, 2, 1);
  Write(fine, 2, 2);
  Read(fine, 0, 1);
  Read(fine, 0, 2);
  SessionResult valid = CheckTyped(fine.history());
  ExpectValid(valid);
  EXPECT_EQ(Get(valid, "writes-follow-reads").checked, 0u);  // nothing read after 2
}

INSTANTIATE_TEST_SUITE_P(Types, RegisterDialect, ::testing::Values("register", "kv", "rw-register"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::erase(name, '-');
                           return name;
                         });

TEST(SessionRegister, CasReadsAndWrites) {
  HistoryBuilder h;
  int64_t write = h.Call(0, "write", 1, 1);
  int64_t cas = h.Call(0, "cas", Json::array({1, 2}), Json::array({1, 2}));
  int64_t read = h.Call(0, "read", nullptr, 1);
  SessionWitness witness = OnlyViolation(Check(h.history()), "read-your-writes");
  EXPECT_EQ(Indices(witness), (std::vector<int64_t>{write, cas, read}));
}

// ---------------------------------------------------------------- options and bad input

TEST(SessionOptionsTest, SelectedGuaranteesOnly) {
  HistoryBuilder h;
  h.Append(0, "x", 1);
  h.ReadList(0, "x", {});
  SessionOptions options;
  options.guarantees = {"monotonic-reads"};
  SessionResult result = Check(h.history(), options);
  ASSERT_EQ(result.guarantees.size(), 1u);
  ExpectValid(result);
}

TEST(SessionOptionsTest, WitnessesAreCappedButCounted) {
  HistoryBuilder h;
  h.Append(0, "x", 1);
  for (int i = 0; i < 5; ++i) h.ReadList(0, "x", {});
  SessionOptions options;
  options.max_witnesses = 2;
  SessionResult result = Check(h.history(), options);
  const GuaranteeResult& ryw = Get(result, "read-your-writes");
  EXPECT_EQ(ryw.violations, 5u);
  ASSERT_EQ(ryw.witnesses.size(), 2u);
  EXPECT_EQ(ryw.witnesses[0].ops[1].index, 3);  // the first ones in history order
  EXPECT_EQ(ryw.witnesses[1].ops[1].index, 5);
  EXPECT_NE(result.ToText().find("... and 3 more"), std::string::npos);
  Json json = result.ToJson();
  EXPECT_EQ(json["valid"], false);
  EXPECT_EQ(json["guarantees"]["read-your-writes"]["violations"], 5);
  EXPECT_EQ(json["guarantees"]["read-your-writes"]["witnesses"].size(), 2u);
}

TEST(SessionOptionsTest, BadInput) {
  HistoryBuilder h;
  h.Append(0, "x", 1);
  SessionOptions unknown;
  unknown.guarantees = {"read-my-writes"};
  EXPECT_EQ(CheckSessions(h.history(), unknown).status().code(), StatusCode::kInvalidArgument);
  SessionOptions type;
  type.data_type = "queue";
  EXPECT_EQ(CheckSessions(h.history(), type).status().code(), StatusCode::kInvalidArgument);

  HistoryBuilder malformed;
  malformed.Call(0, "txn", Json::array({Json::array({"append", "x"})}), nullptr);
  Result<SessionResult> result = CheckSessions(malformed.history());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find(
                R"(micro-op 1 of 1, ["append","x"]: expected a value other than nil)"),
            std::string::npos)
      << result.status().message();

  HistoryBuilder unpaired;
  unpaired.Invoke(0, "txn", Json::array());
  unpaired.Invoke(0, "txn", Json::array());
  EXPECT_EQ(CheckSessions(unpaired.history()).status().code(), StatusCode::kMalformedHistory);
}

TEST(SessionOptionsTest, EmptyHistoryIsValid) {
  SessionResult result = Check(History{});
  ExpectValid(result);
  EXPECT_EQ(result.operations, 0u);
}

}  // namespace
}  // namespace faultline
