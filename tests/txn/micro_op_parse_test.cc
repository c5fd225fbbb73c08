// The isolation checker reads micro-ops by core's rules (core/op_values.h): what it accepts and
// how it says what is wrong.
#include <gtest/gtest.h>

#include "checker/txn/txn.h"

namespace faultline {
namespace {

History OneTxn(const Json& invoke_value, const Json& ok_value) {
  History history;
  history.source = "h.jsonl";
  Op invoke;
  invoke.index = 0;
  invoke.f = "txn";
  invoke.value = invoke_value;
  invoke.line = 1;
  Op ok = invoke;
  ok.index = 1;
  ok.type = OpType::kOk;
  ok.value = ok_value;
  ok.line = 2;
  history.ops = {invoke, ok};
  return history;
}

TxnOptions Workload(TxnWorkload workload) {
  TxnOptions options;
  options.workload = workload;
  return options;
}

// Two transactions, one after the other (the first completes before the second is invoked).
History TwoTxns(const Json& first, const Json& second) {
  History history = OneTxn(first, first);
  History next = OneTxn(second, second);
  for (Op op : next.ops) {
    op.index += 2;
    op.process = 1;
    history.ops.push_back(op);
  }
  return history;
}

TEST(TxnMicroOpParseTest, AShortReadIsAReadOfNil) {
  // The second transaction's [r x] read nil after the append of 1 had completed: the read is
  // taken as nil, so the history is not strict-serializable.
  History history = TwoTxns(Json::parse(R"([["append", "x", 1]])"), Json::parse(R"([["r", "x"]])"));
  Result<TxnResult> result = CheckTransactions(history, Workload(TxnWorkload::kListAppend));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->verdict, Verdict::kInvalid) << result->ToText();
  EXPECT_EQ(result->transactions, 2u);
}

TEST(TxnMicroOpParseTest, KnossosNamesAreRAndW) {
  // ["read" x 1] observed ["write" x 1]: a wr edge, so the names were understood.
  History history = TwoTxns(Json::parse(R"([["write", "x", 1]])"),
                            Json::parse(R"([["read", "x", 1]])"));
  Result<TxnResult> result = CheckTransactions(history, Workload(TxnWorkload::kRwRegister));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->verdict, Verdict::kValid) << result->ToText();
  EXPECT_GT(result->edges, 0u);
}

TEST(TxnMicroOpParseTest, ErrorsNameTheOpTheMicroOpAndWhatWasExpected) {
  struct Case {
    const char* value;
    TxnWorkload workload;
    const char* message;
  };
  const Case cases[] = {
      {R"([["append", "x", 1], ["w", "x", 2]])", TxnWorkload::kListAppend,
       R"(h.jsonl:2 (op index 1): micro-op 2 of 2, ["w","x",2]: expected f append or r )"
       R"((list-append))"},
      {R"([["append", "x", 1]])", TxnWorkload::kRwRegister,
       R"(h.jsonl:2 (op index 1): micro-op 1 of 1, ["append","x",1]: expected f w or r )"
       R"((rw-register))"},
      {R"([["r", "x", 3]])", TxnWorkload::kListAppend,
       R"(h.jsonl:2 (op index 1): micro-op 1 of 1, ["r","x",3]: expected a list read (or nil))"},
      {R"([["append", "x", null]])", TxnWorkload::kListAppend,
       R"(h.jsonl:2 (op index 1): micro-op 1 of 1, ["append","x",null]: expected a value other )"
       R"(than nil (nil is the initial state))"},
      {R"([["r"]])", TxnWorkload::kListAppend,
       R"(h.jsonl:2 (op index 1): micro-op 1 of 1, ["r"]: expected [f key value])"},
      {R"(5)", TxnWorkload::kListAppend,
       R"(h.jsonl:2 (op index 1): expected a list of micro-ops, found 5)"},
  };
  for (const Case& c : cases) {
    Json value = Json::parse(c.value);
    Result<TxnResult> result = CheckTransactions(OneTxn(value, value), Workload(c.workload));
    ASSERT_FALSE(result.ok()) << c.value;
    EXPECT_EQ(result.status().code(), StatusCode::kParseError) << c.value;
    EXPECT_EQ(result.status().message(), c.message) << c.value;
  }
}

}  // namespace
}  // namespace faultline
