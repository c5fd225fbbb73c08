// The etcd client's pure parts: base64, gateway requests for each op and list-append txn,
// responses and errors as completions, options. No network.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "clients/etcd/etcd.h"
#include "clients/etcd/gateway.h"

namespace faultline::etcd {
namespace {

Op Invoke(const std::string& f, Json value) {
  Op op;
  op.process = 3;
  op.f = f;
  op.value = std::move(value);
  return op;
}

RegisterOp Parsed(const Op& invoke) {
  Result<RegisterOp> op = ParseRegisterOp(invoke, "p/");
  EXPECT_TRUE(op.ok()) << op.status().message();
  return op.ok() ? *op : RegisterOp();
}

HttpExchange Response(long status, std::string body) {
  HttpExchange exchange;
  exchange.stage = HttpExchange::Stage::kResponded;
  exchange.status = status;
  exchange.body = std::move(body);
  return exchange;
}

constexpr char kHeader[] = R"("header":{"cluster_id":"1","member_id":"2","revision":"7"})";

TEST(EtcdGatewayTest, Base64RoundTripsEveryLengthAndMatchesKnownVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes += static_cast<char>(i * 37 % 256);
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes) << "length " << bytes.size();
  }
  EXPECT_EQ(Base64Decode("Zm9vYg"), "foob");  // padding is optional
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(EtcdGatewayTest, ParsesKeyedAndBareOpsLikeTheFakeClient) {
  RegisterOp read = Parsed(Invoke("read", Json::array({4, nullptr})));
  EXPECT_TRUE(read.keyed);
  EXPECT_EQ(read.key, 4);
  EXPECT_EQ(read.etcd_key, "p/4");
  RegisterOp cas = Parsed(Invoke("cas", Json::array({"k", Json::array({1, 2})})));
  EXPECT_TRUE(cas.keyed);
  EXPECT_EQ(cas.etcd_key, "p/k");
  EXPECT_EQ(cas.argument, Json::array({1, 2}));
  RegisterOp bare_cas = Parsed(Invoke("cas", Json::array({1, 2})));
  EXPECT_FALSE(bare_cas.keyed);
  EXPECT_EQ(bare_cas.etcd_key, "p/register");
  EXPECT_EQ(ParseRegisterOp(Invoke("append", 1), "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegisterOp(Invoke("cas", Json::array({1, 2, 3})), "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EtcdGatewayTest, ReadsAreRangesSerializableOnlyWhenAsked) {
  RegisterOp read = Parsed(Invoke("read", Json::array({4, nullptr})));
  GatewayRequest linearizable = BuildRequest(read, ReadConsistency::kLinearizable);
  EXPECT_EQ(linearizable.path, "/v3/kv/range");
  EXPECT_EQ(linearizable.body, Json({{"key", Base64Encode("p/4")}}));
  GatewayRequest serializable = BuildRequest(read, ReadConsistency::kSerializable);
  EXPECT_EQ(serializable.body, Json({{"key", Base64Encode("p/4")}, {"serializable", true}}));
}

TEST(EtcdGatewayTest, WritesPutTheValuesJsonText) {
  GatewayRequest put =
      BuildRequest(Parsed(Invoke("write", Json::array({4, "x"}))), ReadConsistency::kLinearizable);
  EXPECT_EQ(put.path, "/v3/kv/put");
  EXPECT_EQ(put.body, Json({{"key", Base64Encode("p/4")}, {"value", Base64Encode("\"x\"")}}));
}

TEST(EtcdGatewayTest, CasIsATxnComparingTheValueThenPutting) {
  GatewayRequest txn = BuildRequest(Parsed(Invoke("cas", Json::array({4, Json::array({1, 2})}))),
                                    ReadConsistency::kLinearizable);
  EXPECT_EQ(txn.path, "/v3/kv/txn");
  Json key = Base64Encode("p/4");
  Json expected = Json::parse(R"({
    "compare": [{"key": )" + key.dump() +
                              R"(, "target": "VALUE", "result": "EQUAL",
                 "value": "MQ=="}],
    "success": [{"request_put": {"key": )" +
                              key.dump() + R"(, "value": "Mg=="}}]})");
  EXPECT_EQ(txn.body, expected);
  EXPECT_FALSE(txn.body.contains("failure"));
}

TEST(EtcdGatewayTest, ReadCompletionsCarryTheDecodedValueOrNil) {
  Op invoke = Invoke("read", Json::array({4, nullptr}));
  RegisterOp op = Parsed(invoke);
  std::string found = std::string("{") + kHeader + R"(,"kvs":[{"key":"cC80","value":")" +
                      Base64Encode("3") + R"(","mod_revision":"5"}],"count":"1"})";
  Op ok = Complete(invoke, op, Response(200, found));
  EXPECT_EQ(ok.type, OpType::kOk);
  EXPECT_EQ(ok.value, Json::array({4, 3}));
  EXPECT_TRUE(ok.error.is_null());
  Op missing = Complete(invoke, op, Response(200, std::string("{") + kHeader + "}"));
  EXPECT_EQ(missing.type, OpType::kOk);
  EXPECT_EQ(missing.value, Json::array({4, nullptr}));
  Op bare =
      Complete(Invoke("read", nullptr), Parsed(Invoke("read", nullptr)), Response(200, found));
  EXPECT_EQ(bare.value, 3);
}

TEST(EtcdGatewayTest, CasSucceedsOnlyWhenTheTxnSays) {
  Op invoke = Invoke("cas", Json::array({4, Json::array({1, 2})}));
  RegisterOp op = Parsed(invoke);
  std::string won = std::string("{") + kHeader + R"(,"succeeded":true,"responses":[]})";
  EXPECT_EQ(Complete(invoke, op, Response(200, won)).type, OpType::kOk);
  Op lost = Complete(invoke, op, Response(200, std::string("{") + kHeader + "}"));
  EXPECT_EQ(lost.type, OpType::kFail);
  EXPECT_EQ(lost.error, "compare failed");
  EXPECT_EQ(lost.value, invoke.value);
}

TEST(EtcdGatewayTest, TransportFailuresAreFailBeforeSendingAndInfoAfter) {
  Op write = Invoke("write", Json::array({1, 2}));
  Op read = Invoke("read", Json::array({1, nullptr}));
  HttpExchange refused;
  refused.stage = HttpExchange::Stage::kNotSent;
  refused.error = "Couldn't connect to server";
  EXPECT_EQ(Complete(write, Parsed(write), refused).type, OpType::kFail);
  EXPECT_EQ(Complete(write, Parsed(write), refused).error, "Couldn't connect to server");
  HttpExchange timeout;
  timeout.stage = HttpExchange::Stage::kNoResponse;
  timeout.timed_out = true;
  Op unsure = Complete(write, Parsed(write), timeout);
  EXPECT_EQ(unsure.type, OpType::kInfo);
  EXPECT_EQ(unsure.error, "timeout");
  EXPECT_EQ(Complete(read, Parsed(read), timeout).type, OpType::kFail);  // a read changes nothing
}

TEST(EtcdGatewayTest, ErrorResponsesAreFailOnlyWhenEtcdRefusedBeforeProposing) {
  Op cas = Invoke("cas", Json::array({1, Json::array({1, 2})}));
  auto error = [](int code, const std::string& message) {
    return Json({{"error", message}, {"message", message}, {"code", code}}).dump();
  };
  Op no_leader = Complete(cas, Parsed(cas), Response(503, error(14, "etcdserver: no leader")));
  EXPECT_EQ(no_leader.type, OpType::kFail);
  EXPECT_EQ(no_leader.error, "etcdserver: no leader");
  EXPECT_EQ(Complete(cas, Parsed(cas), Response(400, error(3, "key is not provided"))).type,
            OpType::kFail);
  Op timed_out =
      Complete(cas, Parsed(cas), Response(503, error(14, "etcdserver: request timed out")));
  EXPECT_EQ(timed_out.type, OpType::kInfo);
  EXPECT_EQ(timed_out.error, "etcdserver: request timed out");
  EXPECT_EQ(Complete(cas, Parsed(cas), Response(503, error(14, "etcdserver: leader changed"))).type,
            OpType::kInfo);
  Op garbage = Complete(cas, Parsed(cas), Response(502, "<html>bad gateway</html>"));
  EXPECT_EQ(garbage.type, OpType::kInfo);
  EXPECT_EQ(garbage.error, "HTTP 502");
  Op read = Invoke("read", Json::array({1, nullptr}));
  EXPECT_EQ(Complete(read, Parsed(read), Response(503, error(4, "timed out"))).type, OpType::kFail);
}

TEST(EtcdGatewayTest, AnUnreadableSuccessIsInfoForWritesAndFailForReads) {
  Op write = Invoke("write", Json::array({1, 2}));
  EXPECT_EQ(Complete(write, Parsed(write), Response(200, "{not json")).type, OpType::kInfo);
  Op read = Invoke("read", Json::array({1, nullptr}));
  EXPECT_EQ(Complete(read, Parsed(read), Response(200, "{}")).type, OpType::kFail);
}

// A body with the gateway's header and `fields` (JSON members, "" for none).
std::string Gateway(const std::string& fields) {
  return std::string("{") + kHeader + (fields.empty() ? "" : "," + fields) + "}";
}

// A node answering with the wrong JSON types gets an op with a clear error, never an exception:
// fail for reads (nothing happened), info for a cas that may have been applied.
TEST(EtcdGatewayTest, WrongJsonTypesInARangeAreFailWithWhatWasWrong) {
  Op read = Invoke("read", Json::array({4, nullptr}));
  const std::pair<std::string, std::string> cases[] = {
      {Gateway(R"("kvs":[{"key":"cC80","value":5}])"), R"(a key-value's "value" is not a string)"},
      {Gateway(R"("kvs":[{"key":"cC80","value":true}])"),
       R"(a key-value's "value" is not a string)"},
      {Gateway(R"("kvs":[{"key":"cC80","value":"!!"}])"), R"(a key-value's "value" is not base64)"},
      {Gateway(R"("kvs":{})"), R"("kvs" is not a list)"},
      {Gateway(R"("kvs":"cC80")"), R"("kvs" is not a list)"},
      {Gateway(R"("kvs":[5])"), R"("kvs" holds something that is not a key-value)"},
  };
  for (const auto& [body, reason] : cases) {
    Op completion = Complete(read, Parsed(read), Response(200, body));
    EXPECT_EQ(completion.type, OpType::kFail) << body;
    EXPECT_EQ(completion.error, "unexpected range response: " + reason) << body;
  }
  Op headless = Complete(read, Parsed(read), Response(200, R"({"header":5,"kvs":[]})"));
  EXPECT_EQ(headless.type, OpType::kFail);
  EXPECT_EQ(headless.error, "unexpected response: not an etcd gateway response (no header object)");
  // A value left out is an empty value (protobuf's default), not an error: "" is not JSON.
  Op empty = Complete(read, Parsed(read), Response(200, Gateway(R"("kvs":[{"key":"cC80"}])")));
  EXPECT_EQ(empty.type, OpType::kOk);
  EXPECT_EQ(empty.value, Json::array({4, ""}));
}

TEST(EtcdGatewayTest, ACasWhoseSucceededIsNotABooleanIsInfo) {
  Op cas = Invoke("cas", Json::array({4, Json::array({1, 2})}));
  for (const char* succeeded : {R"("true")", "1", "null", "{}"}) {
    Op completion = Complete(cas, Parsed(cas),
                             Response(200, Gateway(std::string("\"succeeded\":") + succeeded)));
    EXPECT_EQ(completion.type, OpType::kInfo) << succeeded;
    EXPECT_EQ(completion.error, R"(unexpected response: "succeeded" is not true or false)");
  }
  Op write = Invoke("write", Json::array({1, 2}));
  Op headless = Complete(write, Parsed(write), Response(200, R"({"header":[]})"));
  EXPECT_EQ(headless.type, OpType::kInfo);
  EXPECT_EQ(headless.error, "unexpected response: not an etcd gateway response (no header object)");
}

// Bytes another writer stored that are neither JSON nor UTF-8 read as a string whose bad bytes
// are U+FFFD: the op can be written, logged and checked like any other.
TEST(EtcdGatewayTest, AValueThatIsNotUtf8ReadsAsAPrintableString) {
  Op read = Invoke("read", Json::array({4, nullptr}));
  std::string body =
      Gateway(R"("kvs":[{"key":"cC80","value":")" + Base64Encode("a\xff\xfe") + R"("}])");
  Op completion = Complete(read, Parsed(read), Response(200, body));
  EXPECT_EQ(completion.type, OpType::kOk);
  EXPECT_EQ(completion.value, Json::array({4, "a\xef\xbf\xbd\xef\xbf\xbd"}));
  EXPECT_NO_THROW((void)completion.value.dump());
}

TEST(EtcdGatewayTest, HealthIsTheStringTrueAndAnythingElseFromA200IsAClearError) {
  EXPECT_TRUE(*ReadHealth(Response(200, R"({"health":"true","reason":""})")));
  EXPECT_FALSE(*ReadHealth(Response(200, R"({"health":"false"})")));
  EXPECT_FALSE(*ReadHealth(Response(503, R"({"health":"false"})")));
  EXPECT_FALSE(*ReadHealth(Response(503, R"({"health":true})")));  // not ready: asked again
  HttpExchange refused;
  refused.stage = HttpExchange::Stage::kNotSent;
  EXPECT_FALSE(*ReadHealth(refused));
  for (const char* body : {R"({"health":true})", R"({"health":1})", R"({"health":"yes"})",
                           R"({"status":"ok"})", R"(["health"])", "<html>ok</html>"}) {
    Result<bool> health = ReadHealth(Response(200, body));
    ASSERT_FALSE(health.ok()) << body;
    EXPECT_NE(health.status().message().find("answered " + Json(body).dump() +
                                             ", which is not etcd's health response"),
              std::string::npos)
        << health.status().message();
  }
  HttpExchange huge;
  huge.stage = HttpExchange::Stage::kNoResponse;
  huge.too_large = true;
  huge.error = "response body over 4194304 bytes";
  ASSERT_FALSE(ReadHealth(huge).ok());
  EXPECT_EQ(ReadHealth(huge).status().message(), "answered with response body over 4194304 bytes");
  // What a message quotes of a body is bounded and printable.
  EXPECT_EQ(BodyExcerpt(std::string(300, 'x')), "\"" + std::string(200, 'x') + "...\"");
  EXPECT_EQ(BodyExcerpt("\xff"), "\"\xef\xbf\xbd\"");
}

// A list-append txn: the micro-ops and the versions its ranges found.
Op Txn(Json mops) { return Invoke("txn", std::move(mops)); }

ListAppendTxn ParsedTxn(const Op& invoke) {
  Result<ListAppendTxn> txn = ParseListAppendTxn(invoke, "p/");
  EXPECT_TRUE(txn.ok()) << txn.status().message();
  return txn.ok() ? *txn : ListAppendTxn();
}

KeyVersion Version(Json list, int64_t mod_revision) { return {std::move(list), mod_revision}; }

std::string RangeBody(const std::string& etcd_key, const std::string& value,
                      const std::string& mod_revision) {
  return std::string("{") + kHeader + R"(,"kvs":[{"key":")" + Base64Encode(etcd_key) +
         R"(","value":")" + Base64Encode(value) + R"(","create_revision":"2","mod_revision":")" +
         mod_revision + R"(","version":"1"}],"count":"1"})";
}

// Reads key 1 (holding [1,2]), appends 5 to it, appends 6 to key 2 (absent), reads key 2, and
// reads key 3 (absent, never appended).
const Json kMixedTxn = Json::parse(
    R"([["r",1,null],["append",1,5],["append",2,6],["r",2,null],["r",1,null],["r",3,null]])");
const std::vector<KeyVersion> kMixedVersions = {Version(Json::array({1, 2}), 7),
                                                Version(nullptr, 0), Version(nullptr, 0)};

TEST(EtcdListAppendTest, ParsesDistinctKeysInFirstTouchOrder) {
  ListAppendTxn txn = ParsedTxn(Txn(kMixedTxn));
  ASSERT_EQ(txn.keys.size(), 3u);
  EXPECT_EQ(txn.keys[0].etcd_key, "p/1");
  EXPECT_TRUE(txn.keys[0].appended);
  EXPECT_EQ(txn.keys[1].key, 2);
  EXPECT_TRUE(txn.keys[1].appended);
  EXPECT_FALSE(txn.keys[2].appended);
  ASSERT_EQ(txn.mops.size(), 6u);
  EXPECT_EQ(txn.mops[4].key, 0u);
  EXPECT_TRUE(txn.writes());
  EXPECT_FALSE(ParsedTxn(Txn(Json::parse(R"([["r",1,null],["r",1,null]])"))).writes());
  for (const char* bad : {R"([["w",1,2]])", R"([["append",1,null]])", R"([["r",1,2]])", R"(3)"}) {
    EXPECT_EQ(ParseListAppendTxn(Txn(Json::parse(bad)), "p/").status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ParseListAppendTxn(Txn(Json::parse(R"([["r",1,null],["w",1,2]])")), "p/")
                .status()
                .message(),
            R"(a list-append txn: micro-op 2 of 2, ["w",1,2]: expected f append or r (list-append))");
  // A read may leave its value out (core/op_values.h), as the checkers accept.
  ListAppendTxn short_read = ParsedTxn(Txn(Json::parse(R"([["r",1]])")));
  ASSERT_EQ(short_read.mops.size(), 1u);
  EXPECT_FALSE(short_read.mops[0].append);
  EXPECT_FALSE(ParseListAppendTxn(Invoke("read", Json::array({1, nullptr})), "p/").ok());
}

TEST(EtcdListAppendTest, ARangeGivesTheListAndModRevisionOrNothingForAnAbsentKey) {
  Op invoke = Txn(kMixedTxn);
  KeyVersion found;
  EXPECT_FALSE(ReadKeyVersion(invoke, Response(200, RangeBody("p/1", "[1,2]", "9")), &found));
  EXPECT_EQ(found.list, Json::array({1, 2}));
  EXPECT_EQ(found.mod_revision, 9);
  KeyVersion absent = Version(Json::array({4}), 3);
  EXPECT_FALSE(ReadKeyVersion(invoke, Response(200, std::string("{") + kHeader + "}"), &absent));
  EXPECT_TRUE(absent.list.is_null());
  EXPECT_EQ(absent.mod_revision, 0);
  GatewayRequest range = BuildRangeRequest("p/1", ReadConsistency::kLinearizable);
  EXPECT_EQ(range.path, "/v3/kv/range");
  EXPECT_EQ(range.body, Json({{"key", Base64Encode("p/1")}}));
  EXPECT_EQ(BuildRangeRequest("p/1", ReadConsistency::kSerializable).body["serializable"], true);
}

TEST(EtcdListAppendTest, AFailedRangeIsFailEvenForATxnThatAppends) {
  Op invoke = Txn(kMixedTxn);
  KeyVersion version;
  HttpExchange timeout;
  timeout.stage = HttpExchange::Stage::kNoResponse;
  timeout.timed_out = true;
  std::optional<Op> timed_out = ReadKeyVersion(invoke, timeout, &version);
  ASSERT_TRUE(timed_out);
  EXPECT_EQ(timed_out->type, OpType::kFail);
  EXPECT_EQ(timed_out->error, "timeout");
  EXPECT_EQ(timed_out->value, kMixedTxn);
  std::optional<Op> error = ReadKeyVersion(
      invoke, Response(503, R"({"message":"etcdserver: request timed out","code":14})"), &version);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, OpType::kFail);
  std::optional<Op> not_a_list =
      ReadKeyVersion(invoke, Response(200, RangeBody("p/1", "3", "9")), &version);
  ASSERT_TRUE(not_a_list);
  EXPECT_EQ(not_a_list->type, OpType::kFail);
  EXPECT_EQ(not_a_list->error, "key holds 3, not a list");
  std::optional<Op> garbage = ReadKeyVersion(invoke, Response(200, "{}"), &version);
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->type, OpType::kFail);
}

TEST(EtcdListAppendTest, WrongJsonTypesInARangeAreFailWithWhatWasWrong) {
  Op invoke = Txn(kMixedTxn);
  const std::pair<std::string, std::string> cases[] = {
      {Gateway(R"("kvs":[{"value":[1],"mod_revision":"3"}])"),
       R"(a key-value's "value" is not a string)"},
      {Gateway(R"("kvs":{"value":"WzFd"})"), R"("kvs" is not a list)"},
      {Gateway(R"("kvs":[{"value":"WzFd","mod_revision":{}}])"),
       R"(a key-value's "mod_revision" is not a revision)"},
      {Gateway(R"("kvs":[{"value":"WzFd","mod_revision":true}])"),
       R"(a key-value's "mod_revision" is not a revision)"},
      {Gateway(R"("kvs":[{"value":"WzFd","mod_revision":"-2"}])"),
       R"(a key-value's "mod_revision" is not a revision)"},
      {Gateway(R"("kvs":[{"value":"WzFd"}])"),
       R"(a key-value's "mod_revision" and "value" disagree)"},
  };
  for (const auto& [body, reason] : cases) {
    KeyVersion version;
    std::optional<Op> failed = ReadKeyVersion(invoke, Response(200, body), &version);
    ASSERT_TRUE(failed) << body;
    EXPECT_EQ(failed->type, OpType::kFail) << body;
    EXPECT_EQ(failed->error, "unexpected range response: " + reason) << body;
  }
}

TEST(EtcdListAppendTest, ATxnWhoseSucceededIsNotABooleanIsInfoWhenItWrites) {
  Op appends = Txn(kMixedTxn);
  Op reads = Txn(Json::parse(R"([["r",1,null],["r",3,null]])"));
  std::vector<KeyVersion> read_versions = {Version(Json::array({1}), 4), Version(nullptr, 0)};
  HttpExchange odd = Response(200, Gateway(R"("succeeded":"true")"));
  Op unsure = CompleteTxn(appends, ParsedTxn(appends), kMixedVersions, odd);
  EXPECT_EQ(unsure.type, OpType::kInfo);
  EXPECT_EQ(unsure.error, R"(unexpected response: "succeeded" is not true or false)");
  EXPECT_EQ(CompleteTxn(reads, ParsedTxn(reads), read_versions, odd).type, OpType::kFail);
  EXPECT_EQ(CompleteTxn(appends, ParsedTxn(appends), kMixedVersions,
                        Response(200, R"({"header":"x","succeeded":true})"))
                .type,
            OpType::kInfo);
}

TEST(EtcdListAppendTest, TheTxnComparesEveryKeysModRevisionAndPutsTheAppendedLists) {
  GatewayRequest txn = BuildTxnRequest(ParsedTxn(Txn(kMixedTxn)), kMixedVersions);
  EXPECT_EQ(txn.path, "/v3/kv/txn");
  auto compare = [](const std::string& key, const std::string& revision) {
    return Json({{"key", Base64Encode(key)},
                 {"target", "MOD"},
                 {"result", "EQUAL"},
                 {"mod_revision", revision}});
  };
  auto put = [](const std::string& key, const std::string& list) {
    return Json({{"request_put", {{"key", Base64Encode(key)}, {"value", Base64Encode(list)}}}});
  };
  Json expected = {
      {"compare", Json::array({compare("p/1", "7"), compare("p/2", "0"), compare("p/3", "0")})},
      {"success", Json::array({put("p/1", "[1,2,5]"), put("p/2", "[6]")})}};
  EXPECT_EQ(txn.body, expected);
  EXPECT_FALSE(txn.body.contains("failure"));
  GatewayRequest read_only =
      BuildTxnRequest(ParsedTxn(Txn(Json::parse(R"([["r",4,null]])"))), {Version(nullptr, 0)});
  EXPECT_EQ(read_only.body,
            Json({{"compare", Json::array({compare("p/4", "0")})}, {"success", Json::array()}}));
}

TEST(EtcdListAppendTest, ReadsSeeTheVersionsReadAndTheTxnsOwnEarlierAppends) {
  Op invoke = Txn(kMixedTxn);
  std::string won = std::string("{") + kHeader + R"(,"succeeded":true,"responses":[]})";
  Op ok = CompleteTxn(invoke, ParsedTxn(invoke), kMixedVersions, Response(200, won));
  EXPECT_EQ(ok.type, OpType::kOk);
  EXPECT_TRUE(ok.error.is_null());
  EXPECT_EQ(ok.value, Json::parse(R"([["r",1,[1,2]],["append",1,5],["append",2,6],)"
                                  R"(["r",2,[6]],["r",1,[1,2,5]],["r",3,null]])"));
}

TEST(EtcdListAppendTest, AFailedCompareIsFailWithTheReadsLeftUnknown) {
  Op invoke = Txn(kMixedTxn);
  Op lost = CompleteTxn(invoke, ParsedTxn(invoke), kMixedVersions,
                        Response(200, std::string("{") + kHeader + "}"));
  EXPECT_EQ(lost.type, OpType::kFail);
  EXPECT_EQ(lost.error, "compare failed");
  EXPECT_EQ(lost.value, kMixedTxn);
}

TEST(EtcdListAppendTest, TxnErrorsAreInfoOnlyWhenTheTxnWritesAndMayHaveHappened) {
  Op appends = Txn(kMixedTxn);
  Op reads = Txn(Json::parse(R"([["r",1,null],["r",3,null]])"));
  std::vector<KeyVersion> read_versions = {Version(Json::array({1}), 4), Version(nullptr, 0)};
  auto complete = [&](const Op& invoke, const HttpExchange& exchange) {
    return CompleteTxn(invoke, ParsedTxn(invoke),
                       invoke.value == kMixedTxn ? kMixedVersions : read_versions, exchange);
  };
  HttpExchange refused;
  refused.stage = HttpExchange::Stage::kNotSent;
  refused.error = "Couldn't connect to server";
  EXPECT_EQ(complete(appends, refused).type, OpType::kFail);
  HttpExchange timeout;
  timeout.stage = HttpExchange::Stage::kNoResponse;
  timeout.timed_out = true;
  Op unsure = complete(appends, timeout);
  EXPECT_EQ(unsure.type, OpType::kInfo);
  EXPECT_EQ(unsure.error, "timeout");
  EXPECT_EQ(unsure.value, kMixedTxn);
  EXPECT_EQ(complete(reads, timeout).type, OpType::kFail);
  HttpExchange reset;
  reset.stage = HttpExchange::Stage::kNoResponse;
  reset.error = "Recv failure: Connection reset by peer";
  EXPECT_EQ(complete(appends, reset).type, OpType::kInfo);
  EXPECT_EQ(complete(reads, reset).type, OpType::kFail);
  auto error = [](int code, const std::string& message) {
    return Response(503, Json({{"error", message}, {"message", message}, {"code", code}}).dump());
  };
  EXPECT_EQ(complete(appends, error(14, "etcdserver: no leader")).type, OpType::kFail);
  EXPECT_EQ(complete(appends, error(3, "etcdserver: too many operations in txn request")).type,
            OpType::kFail);
  EXPECT_EQ(complete(appends, error(14, "etcdserver: request timed out")).type, OpType::kInfo);
  EXPECT_EQ(complete(reads, error(14, "etcdserver: request timed out")).type, OpType::kFail);
  EXPECT_EQ(complete(appends, Response(200, "{not json")).type, OpType::kInfo);
  EXPECT_EQ(complete(reads, Response(200, "{not json")).type, OpType::kFail);
}

TEST(EtcdOptionsTest, ReadConsistencyParsesBothNamesAndRejectsOthers) {
  EXPECT_EQ(*ParseReadConsistency("linearizable"), ReadConsistency::kLinearizable);
  EXPECT_EQ(*ParseReadConsistency("serializable"), ReadConsistency::kSerializable);
  EXPECT_EQ(ToString(ReadConsistency::kSerializable), "serializable");
  Result<ReadConsistency> bad = ParseReadConsistency("sequential");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sequential"), std::string::npos);
}

TEST(EtcdOptionsTest, RejectsDirectoriesTeardownMustNotRemoveAndBadTimings) {
  EtcdOptions options;
  EXPECT_TRUE(ValidateOptions(options).ok());
  for (std::string directory : {"", "/", ".", "./", "a/../..", "//"}) {
    options.directory = directory;
    EXPECT_EQ(ValidateOptions(options).code(), StatusCode::kInvalidArgument) << directory;
  }
  options = EtcdOptions();
  options.election_timeout_ms = 400;  // < 5 heartbeats of 100 ms
  EXPECT_FALSE(ValidateOptions(options).ok());
  options = EtcdOptions();
  options.peer_port = options.client_port;
  EXPECT_FALSE(ValidateOptions(options).ok());
}

// The checker is the caller's (clients/registry.h; tests/clients/txn_end_to_end_test.cc).
TEST(EtcdOptionsTest, BuildsARegisterTestWithAFreshKeyPrefix) {
  TestOptions options;
  options.nodes = {"n1", "n2", "n3"};
  options.node_addresses = {{"n1", "10.213.0.11"}};
  Result<faultline::Test> test = BuildEtcdTest(options, EtcdOptions(), "register");
  ASSERT_TRUE(test.ok()) << test.status().message();
  ASSERT_NE(test->db, nullptr);
  ASSERT_TRUE(test->new_client);
  EXPECT_NE(test->new_client(), nullptr);
  auto* db = dynamic_cast<EtcdDb*>(test->db.get());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->options().key_prefix.rfind("faultline/", 0), 0u);
  EXPECT_EQ(BuildEtcdTest(options, EtcdOptions(), "bank").status().code(),
            StatusCode::kInvalidArgument);
  Result<faultline::Test> list_append = BuildEtcdTest(options, EtcdOptions(), "list-append");
  ASSERT_TRUE(list_append.ok()) << list_append.status().message();
  EXPECT_NE(list_append->new_client(), nullptr);
  EXPECT_FALSE(BuildEtcdTest(options, EtcdOptions(), "rw-register").ok());
  options.nodes.clear();
  EXPECT_FALSE(BuildEtcdTest(options, EtcdOptions(), "register").ok());
  EXPECT_EQ(ClientUrl(test->options, "n1", 2379), "http://10.213.0.11:2379");
  EXPECT_EQ(ClientUrl(test->options, "n2", 2379), "http://n2:2379");
}

}  // namespace
}  // namespace faultline::etcd
