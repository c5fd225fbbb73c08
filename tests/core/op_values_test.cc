#include "core/op_values.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

Json Parsed(const char* text) { return Json::parse(text); }

TEST(RegisterValueTest, NamesRoundTrip) {
  for (RegisterF f : {RegisterF::kRead, RegisterF::kWrite, RegisterF::kCas}) {
    EXPECT_EQ(ParseRegisterF(ToString(f)), f);
  }
  EXPECT_EQ(ParseRegisterF("append"), std::nullopt);
  EXPECT_EQ(ParseRegisterF("r"), std::nullopt);
}

TEST(RegisterValueTest, KeyedShape) {
  EXPECT_TRUE(IsKeyedRegisterValue("read", Parsed(R"(["x", null])")));
  EXPECT_TRUE(IsKeyedRegisterValue("write", Parsed("[3, 4]")));
  EXPECT_TRUE(IsKeyedRegisterValue("cas", Parsed("[3, [1, 2]]")));
  // A plain cas's [from to] is not a key and its value.
  EXPECT_FALSE(IsKeyedRegisterValue("cas", Parsed("[1, 2]")));
  EXPECT_FALSE(IsKeyedRegisterValue("write", Parsed("3")));
  EXPECT_FALSE(IsKeyedRegisterValue("write", Parsed("[1, 2, 3]")));
  EXPECT_FALSE(IsKeyedRegisterValue("read", Json()));
}

TEST(RegisterValueTest, SplitsKeyedAndUnkeyedValues) {
  Json keyed = Parsed(R"(["x", [1, 2]])");
  Result<RegisterValue> split = SplitRegisterValue(keyed, /*keyed=*/true);
  ASSERT_TRUE(split.ok()) << split.status().message();
  EXPECT_EQ(split->key, &keyed[0]);  // a view, not a copy
  EXPECT_EQ(*split->argument, Parsed("[1, 2]"));

  Json plain = Parsed("[1, 2]");
  Result<RegisterValue> unkeyed = SplitRegisterValue(plain, /*keyed=*/false);
  ASSERT_TRUE(unkeyed.ok());
  EXPECT_EQ(unkeyed->key, nullptr);
  EXPECT_EQ(unkeyed->argument, &plain);

  Result<RegisterValue> bad = SplitRegisterValue(Json(3), /*keyed=*/true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "expected a [key value] tuple, found 3");
  EXPECT_EQ(SplitRegisterValue(Parsed("[1, 2, 3]"), true).status().message(),
            "expected a [key value] tuple, found [1,2,3]");
}

TEST(RegisterValueTest, CasArgument) {
  Json pair = Parsed(R"([1, "two"])");
  Result<CasArgument> cas = ParseCasArgument(pair);
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(*cas->from, Json(1));
  EXPECT_EQ(*cas->to, Json("two"));
  EXPECT_EQ(ParseCasArgument(Json(1)).status().message(), "cas value: expected [from to], found 1");
  EXPECT_EQ(ParseCasArgument(Parsed("[1]")).status().message(),
            "cas value: expected [from to], found [1]");
}

TEST(RegisterValueTest, BuildersMakeWhatTheParsersRead) {
  Json value = KeyedValue("k", CasValue(1, 2));
  EXPECT_EQ(value, Parsed(R"(["k", [1, 2]])"));
  ASSERT_TRUE(IsKeyedRegisterValue("cas", value));
  Result<RegisterValue> split = SplitRegisterValue(value, true);
  ASSERT_TRUE(split.ok());
  Result<CasArgument> cas = ParseCasArgument(*split->argument);
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(*cas->to, Json(2));
}

TEST(MicroOpTest, ParsesEachShape) {
  Json txn = Parsed(R"([["append", "x", 1], ["r", "x", [1]], ["r", "y", null], ["r", "z"],
                        ["w", 5, "v"], ["read", "a", 2], ["write", "a", 3]])");
  Result<std::vector<MicroOp>> parsed = ParseMicroOps(txn, TxnKind::kAny);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 7u);
  const std::vector<MicroOp>& ops = *parsed;
  EXPECT_EQ(ops[0].kind, MicroOpKind::kAppend);
  EXPECT_EQ(*ops[0].key, Json("x"));
  EXPECT_EQ(*ops[0].value, Json(1));
  EXPECT_EQ(ops[1].kind, MicroOpKind::kRead);
  EXPECT_EQ(ops[1].value, &txn[1][2]);  // a view into the transaction
  EXPECT_TRUE(ops[2].value->is_null());
  EXPECT_EQ(ops[3].kind, MicroOpKind::kRead);  // [r k]: the value left out is nil
  EXPECT_TRUE(ops[3].value->is_null());
  EXPECT_EQ(ops[4].kind, MicroOpKind::kWrite);
  EXPECT_EQ(*ops[4].key, Json(5));
  EXPECT_EQ(ops[5].kind, MicroOpKind::kRead);   // Knossos' names
  EXPECT_EQ(ops[6].kind, MicroOpKind::kWrite);
}

TEST(MicroOpTest, WorkloadsAllowTheirOwnMicroOps) {
  MicroOp op;
  EXPECT_TRUE(ParseMicroOp(Parsed(R"(["append", "x", 1])"), TxnKind::kListAppend, &op).ok());
  EXPECT_TRUE(ParseMicroOp(Parsed(R"(["w", "x", 1])"), TxnKind::kRwRegister, &op).ok());
  // An rw-register read returns a value; a list-append read a list.
  EXPECT_TRUE(ParseMicroOp(Parsed(R"(["r", "x", 1])"), TxnKind::kRwRegister, &op).ok());
  EXPECT_EQ(ParseMicroOp(Parsed(R"(["r", "x", 1])"), TxnKind::kListAppend, &op).message(),
            R"(micro-op ["r","x",1]: expected a list read (or nil))");
  EXPECT_EQ(ParseMicroOp(Parsed(R"(["w", "x", 1])"), TxnKind::kListAppend, &op).message(),
            R"(micro-op ["w","x",1]: expected f append or r (list-append))");
  EXPECT_EQ(ParseMicroOp(Parsed(R"(["append", "x", 1])"), TxnKind::kRwRegister, &op).message(),
            R"(micro-op ["append","x",1]: expected f w or r (rw-register))");
  EXPECT_EQ(ParseMicroOp(Parsed(R"(["incr", "x", 1])"), TxnKind::kAny, &op).message(),
            R"(micro-op ["incr","x",1]: expected f append, w or r)");
}

TEST(MicroOpTest, MalformedMicroOpsSayWhatWasExpected) {
  MicroOp op;
  for (const char* text : {R"("r")", R"(["r"])", R"([1, "x", 2])", R"(["r", "x", 1, 2])", "{}"}) {
    Status status = ParseMicroOp(Parsed(text), TxnKind::kAny, &op);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(status.message(), "micro-op " + Parsed(text).dump() + ": expected [f key value]");
  }
  EXPECT_EQ(ParseMicroOp(Parsed(R"(["append", "x"])"), TxnKind::kAny, &op).message(),
            R"(micro-op ["append","x"]: expected a value other than nil (nil is the initial state))");
  EXPECT_EQ(ParseMicroOp(Parsed(R"(["w", "x", null])"), TxnKind::kAny, &op).message(),
            R"(micro-op ["w","x",null]: expected a value other than nil (nil is the initial state))");
}

TEST(MicroOpTest, TransactionErrorsNameTheMicroOpByPosition) {
  Result<std::vector<MicroOp>> not_list = ParseMicroOps(Json(5), TxnKind::kListAppend);
  ASSERT_FALSE(not_list.ok());
  EXPECT_EQ(not_list.status().message(), "expected a list of micro-ops, found 5");
  Result<std::vector<MicroOp>> second =
      ParseMicroOps(Parsed(R"([["append", "x", 1], ["w", "x", 2], ["r", "x", null]])"),
                    TxnKind::kListAppend);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            R"(micro-op 2 of 3, ["w","x",2]: expected f append or r (list-append))");
  EXPECT_TRUE(ParseMicroOps(Json::array(), TxnKind::kAny)->empty());
}

TEST(MicroOpTest, ForEachStopsAtTheVisitorsError) {
  Json txn = Parsed(R"([["r", "x", null], ["r", "y", null], ["r", "z", null]])");
  std::vector<size_t> seen;
  Status status = ForEachMicroOp(txn, TxnKind::kAny, [&](size_t position, const MicroOp&) {
    seen.push_back(position);
    return position == 1 ? Status::Internal("stop") : Status::Ok();
  });
  EXPECT_EQ(status.message(), "stop");
  EXPECT_EQ(seen, (std::vector<size_t>{0, 1}));
}

TEST(MicroOpTest, BuildersMakeWhatTheParserReads) {
  Json txn = Json::array({MicroOpJson(MicroOpKind::kAppend, "x", 1),
                          MicroOpJson(MicroOpKind::kRead, "x", nullptr),
                          MicroOpJson(MicroOpKind::kWrite, 2, "v")});
  EXPECT_EQ(txn, Parsed(R"([["append", "x", 1], ["r", "x", null], ["w", 2, "v"]])"));
  Result<std::vector<MicroOp>> parsed = ParseMicroOps(txn, TxnKind::kAny);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)[2].kind, MicroOpKind::kWrite);
  EXPECT_EQ(*(*parsed)[2].value, Json("v"));
  EXPECT_EQ(ToString(TxnKind::kListAppend), "list-append");
}

TEST(MicroOpTest, InvalidUtf8InMessagesIsReplacedNotThrown) {
  MicroOp op;
  Json bad = Json::array({"incr", std::string("\xff"), 1});
  Status status = ParseMicroOp(bad, TxnKind::kAny, &op);
  EXPECT_NE(status.message().find("\xEF\xBF\xBD"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace faultline
