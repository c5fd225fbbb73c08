#include "core/history_io.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/edn.h"
#include "core/history_readers.h"
#include "core/json_parser.h"

namespace faultline {
namespace {

History Read(std::string_view text, HistoryFormat format = HistoryFormat::kAuto) {
  ReadOptions options;
  options.format = format;
  Result<History> history = ReadHistoryText(text, "t", options);
  EXPECT_TRUE(history.ok()) << history.status().ToString();
  return history.ok() ? std::move(history).value() : History();
}

std::string ReadError(std::string_view text, HistoryFormat format = HistoryFormat::kAuto) {
  ReadOptions options;
  options.format = format;
  Result<History> history = ReadHistoryText(text, "t", options);
  if (history.ok()) return "no error";
  EXPECT_EQ(history.status().code(), StatusCode::kParseError);
  return history.status().message();
}

// --- EDN values -------------------------------------------------------------------------------

Json Edn(std::string_view text) {
  Result<Json> value = ParseEdn(text);
  EXPECT_TRUE(value.ok()) << value.status().ToString();
  return value.ok() ? *value : Json("parse failed");
}

TEST(EdnTest, Scalars) {
  EXPECT_EQ(Edn("nil"), Json(nullptr));
  EXPECT_EQ(Edn("true"), Json(true));
  EXPECT_EQ(Edn("false"), Json(false));
  EXPECT_EQ(Edn("42"), Json(42));
  EXPECT_EQ(Edn("-7"), Json(-7));
  EXPECT_EQ(Edn("+7"), Json(7));
  EXPECT_EQ(Edn("123N"), Json(123));
  EXPECT_EQ(Edn("-9223372036854775808"), Json(INT64_MIN));
  EXPECT_EQ(Edn("1.5"), Json(1.5));
  EXPECT_EQ(Edn("-2.5e3"), Json(-2500.0));
  EXPECT_EQ(Edn("1.25M"), Json(1.25));
  EXPECT_EQ(Edn(":read"), Json("read"));
  EXPECT_EQ(Edn(":jepsen.history/op"), Json("jepsen.history/op"));
  EXPECT_EQ(Edn("some-symbol"), Json("some-symbol"));
  EXPECT_EQ(Edn("##Inf"), Json("##Inf"));
}

TEST(EdnTest, StringsAndCharacters) {
  EXPECT_EQ(Edn(R"("a\"b\\c\n\t\u00e9")"), Json("a\"b\\c\n\t\u00e9"));
  EXPECT_EQ(Edn(R"("\uD83D\uDE00")"), Json("\U0001F600"));
  EXPECT_EQ(Edn("\"two\nlines\""), Json("two\nlines"));
  EXPECT_EQ(Edn("[\\a \\newline \\space \\tab \\( \\\" \\u0041 \\, \\é]"),
            Json({"a", "\n", " ", "\t", "(", "\"", "A", ",", "é"}));
}

TEST(EdnTest, Collections) {
  EXPECT_EQ(Edn("[1, 2 ,3]"), Json({1, 2, 3}));
  EXPECT_EQ(Edn("(1 (2))"), Json::parse("[1,[2]]"));
  EXPECT_EQ(Edn("#{:a :b}"), Json({"a", "b"}));
  EXPECT_EQ(Edn("{:a 1, \"b\" 2, 3 [4], [5 6] nil}"),
            Json::parse(R"({"a":1,"\"b\"":2,"3":[4],"[5 6]":null})"));
  EXPECT_EQ(Edn("[1 #_ 2 #_#_ 3 4 5]"), Json({1, 5}));
  EXPECT_EQ(Edn("[1 ; comment ]\n 2]"), Json({1, 2}));
  EXPECT_EQ(Edn("#inst \"2020-01-01T00:00:00Z\""), Json("2020-01-01T00:00:00Z"));
  EXPECT_EQ(Edn("#uuid \"abc\""), Json("abc"));
  EXPECT_EQ(Edn("#my.ns.Rec{:a 1}"), Json::parse(R"({"a":1})"));
}

TEST(EdnTest, Errors) {
  const auto error = [](std::string_view text) {
    Result<Json> value = ParseEdn(text, "v");
    return value.ok() ? std::string("no error") : value.status().message();
  };
  EXPECT_EQ(error(""), "v:1:1: expected a value, found end of file");
  EXPECT_EQ(error("[1 2"), "v:1:5: expected ] to close the [ at 1:1, found end of file");
  EXPECT_EQ(error("[1 2}"), "v:1:5: expected a value or ], found }");
  EXPECT_EQ(error("{:a}"), "v:1:4: expected a map value, found }");
  EXPECT_EQ(error("\"ab\\qc\""),
            "v:1:4: expected a string escape (\\\" \\\\ \\n \\t \\r \\b \\f "
            "\\uXXXX), found \\q");
  EXPECT_EQ(error("\n \"abc"),
            "v:2:6: expected \" to end the string that starts at 2:2, "
            "found end of file");
  EXPECT_EQ(error("9223372036854775808"),
            "v:1:1: expected an integer within int64 range, found 9223372036854775808");
  EXPECT_EQ(error("1e999"), "v:1:1: expected a number within double range, found 1e999");
  EXPECT_EQ(error("12abc"), "v:1:1: expected a number, found 12abc");
  EXPECT_EQ(error("\\bogus"),
            "v:1:1: expected a character such as \\a, \\newline or \\u00e9, "
            "found \\bogus");
  EXPECT_EQ(error("#\"re\""),
            "v:1:1: expected #{, #_, ## or a tag such as #inst after #, "
            "found #");
  EXPECT_EQ(error("1 2"), "v:1:3: expected end of file, found 2");
  EXPECT_EQ(error("@x"), "v:1:1: expected a value, found @x");
  EXPECT_EQ(error("\"\xff\""), "v:1:2: expected UTF-8 text, found byte \\xff");
  EXPECT_EQ(error("\"\\uDE00\""),
            "v:1:2: expected a code point, not a lone low surrogate, "
            "found \\uDE00");
}

TEST(EdnTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep(100000, '[');
  Result<Json> value = ParseEdn(deep, "v");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(), "v:1:1001: expected at most 1000 levels of nesting, found [");
  std::string discards;
  for (int i = 0; i < 5000; ++i) discards += "#_";
  EXPECT_FALSE(ParseEdn(discards + "1").ok());
  std::string tags;
  for (int i = 0; i < 5000; ++i) tags += "#a ";
  EXPECT_FALSE(ParseEdn(tags + "1").ok());
  EXPECT_TRUE(ParseEdn(std::string(1000, '[') + std::string(1000, ']')).ok());
}

// --- JSON values ------------------------------------------------------------------------------

TEST(JsonParserTest, MatchesNlohmannOnValidInput) {
  for (std::string_view text : {R"({"a":[1,2.5,-3e2,true,false,null,"x\u00e9\n"],"b":{}})", R"([])",
                                R"("\ud83d\ude00")", R"(-0)", R"(0.1)"}) {
    Result<Json> value = ParseJson(text);
    ASSERT_TRUE(value.ok()) << text << ": " << value.status().ToString();
    EXPECT_EQ(*value, Json::parse(text)) << text;
  }
}

TEST(JsonParserTest, Errors) {
  const auto error = [](std::string_view text) {
    Result<Json> value = ParseJson(text, "j");
    return value.ok() ? std::string("no error") : value.status().message();
  };
  EXPECT_EQ(error("[1,]"), "j:1:4: expected a JSON value, found ]");
  EXPECT_EQ(error("{\"a\" 1}"), "j:1:6: expected :, found 1");
  EXPECT_EQ(error("{\"a\":1"), "j:1:7: expected , or }, found end of file");
  EXPECT_EQ(error("01"), "j:1:1: expected a number, found 01");
  EXPECT_EQ(error("18446744073709551616"),
            "j:1:1: expected an integer within int64 range, found 18446744073709551616");
  EXPECT_EQ(error("\"a\tb\""),
            "j:1:3: expected an escape (\\u0001) for the control character, "
            "found byte \\x09");
  EXPECT_EQ(error("\"a\\x\""),
            "j:1:3: expected a JSON escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t "
            "\\uXXXX), found \\x");
  EXPECT_EQ(error("nul"), "j:1:1: expected a JSON value, found nul");
  EXPECT_EQ(error(std::string(2000, '[')),
            "j:1:1001: expected at most 1000 levels of nesting, found [");
}

// --- Histories: each format -------------------------------------------------------------------

TEST(HistoryIoTest, EdnVectorOfOps) {
  const History history = Read(
      "; a comment\n"
      "[{:process 0, :type :invoke, :f :cas, :value [1 2], :time 5}\n"
      " {:process 0, :type :fail, :f :cas, :value [1 2], :error :timeout, :index 7}\n"
      " {:process :nemesis, :type :info, :f :start, :value \"cut\", :node/name \"n1\"}]\n");
  ASSERT_EQ(history.ops.size(), 3u);
  const Op& first = history.ops[0];
  EXPECT_EQ(first.index, 0);
  EXPECT_EQ(first.time_ns, 5);
  EXPECT_EQ(first.type, OpType::kInvoke);
  EXPECT_EQ(first.process, 0);
  EXPECT_EQ(first.f, "cas");
  EXPECT_EQ(first.value, Json({1, 2}));
  EXPECT_TRUE(first.error.is_null());
  EXPECT_TRUE(first.extra.is_null());
  EXPECT_EQ(first.line, 2);
  EXPECT_EQ(history.ops[1].index, 7);
  EXPECT_EQ(history.ops[1].time_ns, -1);
  EXPECT_EQ(history.ops[1].error, Json("timeout"));
  EXPECT_EQ(history.ops[2].index, 2);
  EXPECT_TRUE(history.ops[2].is_nemesis());
  EXPECT_EQ(history.ops[2].extra, Json::parse(R"({"node/name":"n1"})"));
  EXPECT_EQ(history.ops[2].line, 4);
  EXPECT_EQ(history.source, "t");
}

TEST(HistoryIoTest, EdnBareSequenceListsAndRecords) {
  const History bare = Read(
      "{:process 1, :type :invoke, :f :get, :key \"6\", :value nil}\n"
      "{:process 1, :type :ok, :f :get, :key \"6\", :value \"x 1\"}");
  ASSERT_EQ(bare.ops.size(), 2u);
  EXPECT_EQ(bare.ops[0].extra, Json::parse(R"({"key":"6"})"));
  EXPECT_EQ(bare.ops[1].value, Json("x 1"));
  EXPECT_EQ(bare.ops[1].line, 2);
  const History list = Read("({:type :invoke, :f :read, :process 3})");
  ASSERT_EQ(list.ops.size(), 1u);
  EXPECT_EQ(list.ops[0].process, 3);
  const History records = Read(
      "[#jepsen.history.Op{:index 4, :time 10, :type :invoke, :process 0, :f :read, "
      ":value nil}\n #jepsen.history.Op{:index 5, :time 11, :type :ok, :process 0, :f :read, "
      ":value 3}]");
  ASSERT_EQ(records.ops.size(), 2u);
  EXPECT_EQ(records.ops[1].index, 5);
  EXPECT_EQ(records.ops[1].value, Json(3));
  EXPECT_EQ(Read("#_ {:bogus 1} {:process 0 :type :ok}").ops.size(), 1u);
  EXPECT_TRUE(Read("[]", HistoryFormat::kEdn).ops.empty());
}

TEST(HistoryIoTest, Jsonl) {
  const History history =
      Read(R"({"faultline_history":1,"test":"etcd","seed":42})"
           "\n"
           R"({"index":0,"time":1200345,"type":"invoke","process":0,"f":"write","value":3})"
           "\n"
           R"({"index":1,"type":"invoke","process":"nemesis","f":"start","value":null})"
           "\n"
           R"({"type":"info","process":0,"f":"write","value":3,"error":"timeout","key":"k"})"
           "\n");
  EXPECT_EQ(history.header, Json::parse(R"({"faultline_history":1,"test":"etcd","seed":42})"));
  ASSERT_EQ(history.ops.size(), 3u);
  EXPECT_EQ(history.ops[0].time_ns, 1200345);
  EXPECT_EQ(history.ops[0].line, 2);
  EXPECT_TRUE(history.ops[1].is_nemesis());
  EXPECT_EQ(history.ops[1].time_ns, -1);
  EXPECT_EQ(history.ops[2].index, 2);
  EXPECT_EQ(history.ops[2].error, Json("timeout"));
  EXPECT_EQ(history.ops[2].extra, Json::parse(R"({"key":"k"})"));
  const History headless = Read(R"({"type":"ok","process":2,"f":"read","value":[1]})");
  EXPECT_EQ(headless.header, Json::object());
  ASSERT_EQ(headless.ops.size(), 1u);
  EXPECT_EQ(headless.ops[0].index, 0);
  EXPECT_EQ(headless.ops[0].line, 1);
  EXPECT_TRUE(Read(R"({"faultline_history":1})").ops.empty());
}

TEST(HistoryIoTest, ElleJson) {
  const History history = Read(R"([
    {"process":0,"type":"invoke","f":"txn","value":[["append","x",1],["r","y",null]]},
    {"process":0,"type":"ok","f":"txn","value":[["append","x",1],["r","y",[1,2]]]}
  ])");
  ASSERT_EQ(history.ops.size(), 2u);
  EXPECT_EQ(history.ops[1].value, Json::parse(R"([["append","x",1],["r","y",[1,2]]])"));
  EXPECT_EQ(history.ops[1].line, 3);
  EXPECT_TRUE(Read("[]", HistoryFormat::kElleJson).ops.empty());
}

TEST(HistoryIoTest, JepsenLog) {
  const History history = Read(
      "lein test jepsen.system.etcd-test\n"
      "INFO  jepsen.os.debian - :n3 setting up debian\n"
      "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]\n"
      "INFO  jepsen.util - :nemesis\t:info\t:start\t\"Cut off {:n1 #{:n2}}\"\n"
      "3\t:invoke\t:read\tnil\n"
      "INFO  jepsen.util - 4   :fail   :read   :timed-out\n"
      "INFO  jepsen.util - 3\t:info\t:cas\t[1 2]\t:timed-out\r\n"
      "INFO  jepsen.util - 5\t:invoke\t:read\n"
      "INFO  jepsen.util - Worker 3 done\n"
      "2020-05-25 10:44:34,590{GMT}\tINFO\t[jepsen worker 2] jepsen.util: 2\t:ok\t:read\t4\n");
  ASSERT_EQ(history.ops.size(), 6u);
  EXPECT_EQ(history.ops[0].process, 3);
  EXPECT_EQ(history.ops[0].f, "cas");
  EXPECT_EQ(history.ops[0].value, Json({1, 2}));
  EXPECT_EQ(history.ops[0].line, 3);
  EXPECT_EQ(history.ops[0].time_ns, -1);
  EXPECT_TRUE(history.ops[1].is_nemesis());
  EXPECT_EQ(history.ops[1].value, Json("Cut off {:n1 #{:n2}}"));
  EXPECT_EQ(history.ops[2].type, OpType::kFail);
  EXPECT_EQ(history.ops[2].value, Json("timed-out"));
  EXPECT_EQ(history.ops[3].error, Json("timed-out"));
  EXPECT_TRUE(history.ops[4].value.is_null());
  EXPECT_EQ(history.ops[5].value, Json(4));
  for (size_t i = 0; i < history.ops.size(); ++i) EXPECT_EQ(history.ops[i].index, int64_t(i));
}

// --- Format detection -------------------------------------------------------------------------

TEST(HistoryIoTest, DetectFormat) {
  EXPECT_EQ(DetectFormat("[{:process 0}]"), HistoryFormat::kEdn);
  EXPECT_EQ(DetectFormat("[\n {:process 0}]"), HistoryFormat::kEdn);
  EXPECT_EQ(DetectFormat("[#jepsen.history.Op{:index 0}]"), HistoryFormat::kEdn);
  EXPECT_EQ(DetectFormat("#jepsen.history.Op{:index 0}"), HistoryFormat::kEdn);
  EXPECT_EQ(DetectFormat("({:process 0})"), HistoryFormat::kEdn);
  EXPECT_EQ(DetectFormat("; comment\n[{\"a\" 1}]"), HistoryFormat::kEdn);
  EXPECT_EQ(DetectFormat("{:process 0}\n{:process 1}"), HistoryFormat::kEdn);
  EXPECT_EQ(DetectFormat("[ {\"process\":0}]"), HistoryFormat::kElleJson);
  EXPECT_EQ(DetectFormat("{\"faultline_history\":1}"), HistoryFormat::kJsonl);
  EXPECT_EQ(DetectFormat("\xEF\xBB\xBF{ \"type\":\"ok\"}"), HistoryFormat::kJsonl);
  EXPECT_EQ(DetectFormat("INFO  jepsen.util - 0\t:invoke\t:read\tnil"), HistoryFormat::kJepsenLog);
  EXPECT_EQ(DetectFormat("\nlein test foo"), HistoryFormat::kJepsenLog);
  EXPECT_EQ(DetectFormat("hello"), HistoryFormat::kEdn);
}

TEST(HistoryIoTest, FormatNames) {
  for (HistoryFormat format : {HistoryFormat::kAuto, HistoryFormat::kJsonl, HistoryFormat::kEdn,
                               HistoryFormat::kJepsenLog, HistoryFormat::kElleJson}) {
    EXPECT_EQ(ParseHistoryFormat(ToString(format)), format);
  }
  EXPECT_EQ(ParseHistoryFormat("xml"), std::nullopt);
}

// --- Errors: "FILE:LINE:COLUMN: expected WHAT, found WHAT" --------------------------------------

struct ErrorCase {
  std::string_view text;
  HistoryFormat format;
  std::string_view message;
};

TEST(HistoryIoTest, ErrorsNameLineColumnAndToken) {
  using F = HistoryFormat;
  const std::vector<ErrorCase> cases = {
      {"", F::kAuto, "t:1:1: expected a history, found end of file"},
      {"\n  \n", F::kJsonl, "t:3:1: expected a history, found end of file"},
      {"; only a comment\n", F::kEdn, "t:2:1: expected a history, found end of file"},
      {"[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok", F::kEdn,
       "t:2:24: expected } to close the { at 2:2, found end of file"},
      {"[{:process 0, :type :invoke, :f :read}\n", F::kEdn,
       "t:2:1: expected ] to close the [ at 1:1, found end of file"},
      {"[{:process 0, :type :bogus}]", F::kEdn,
       "t:1:21: expected one of :invoke :ok :fail :info, found :bogus"},
      {"[{:process :n1, :type :ok}]", F::kEdn,
       "t:1:12: expected a process (an integer >= 0 or :nemesis), found :n1"},
      {"[{:process -1, :type :ok}]", F::kEdn,
       "t:1:12: expected a process (an integer >= 0 or :nemesis), found -1"},
      {"[{:process \"0\", :type :ok}]", F::kEdn,
       "t:1:12: expected a process (an integer >= 0 or :nemesis), found \"0\""},
      {"[{:process 0, :f :read}]", F::kEdn, "t:1:2: expected key :type, found an op without it"},
      {"\n\n  {:type :ok, :f :read}", F::kEdn,
       "t:3:3: expected key :process, found an op without it"},
      {"[{:process 0, :type :ok} 3]", F::kEdn, "t:1:26: expected an op map, found 3"},
      {"[{:process 0, :type :ok}] x", F::kEdn, "t:1:27: expected end of file, found x"},
      {"[{:process 0, :type :ok, :index 1.5}]", F::kEdn,
       "t:1:33: expected an integer :index, found 1.5"},
      {"[{:process 0, :type :ok, :time 99999999999999999999}]", F::kEdn,
       "t:1:32: expected an integer within int64 range, found 99999999999999999999"},
      {"[{:process 0, :type :ok, :value \"a\\zb\"}]", F::kEdn,
       "t:1:35: expected a string escape (\\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX), found \\z"},
      {"[{:process 0, :type :ok, :f 3}]", F::kEdn,
       "t:1:29: expected an operation name such as :read, found 3"},
      {"[{:process 0, :type :ok, :value}]", F::kEdn,
       "t:1:32: expected a value for key :value, found }"},
      {"[{:process 0 :type :ok}]", F::kJsonl, "t:1:3: expected a string key, found :process"},
      {"3", F::kJsonl, "t:1:1: expected a header or op object, found 3"},
      {R"({"faultline_history":2})", F::kJsonl,
       "t:1:1: expected a header with \"faultline_history\":1, found \"faultline_history\":2"},
      {"{\"faultline_history\":1}\n{\"type\":\"invoke\",\"process\":0,\"f\":\"w\"", F::kJsonl,
       "t:2:37: expected , or }, found end of file"},
      {"{\"faultline_history\":1}\n{\"type\":\"bogus\",\"process\":0}", F::kJsonl,
       "t:2:9: expected one of \"invoke\" \"ok\" \"fail\" \"info\", found \"bogus\""},
      {"{\"faultline_history\":1}\n{\"type\":\"ok\",\"process\":\"n1\"}", F::kJsonl,
       "t:2:24: expected a process (an integer >= 0 or \"nemesis\"), found \"n1\""},
      {"{\"faultline_history\":1}\n{\"type\":\"ok\",\"f\":\"read\"}", F::kJsonl,
       "t:2:1: expected key \"process\", found an op without it"},
      {"{\"process\":0,\"f\":\"read\"}", F::kJsonl,
       "t:1:1: expected key \"type\", found an op without it"},
      {"{\"faultline_history\":1}\n[1]", F::kJsonl, "t:2:1: expected an op object, found ["},
      {"{\"faultline_history\":1}\n{\"type\":\"ok\",\"process\":0,\"value\":\"a\nb\"}", F::kJsonl,
       "t:2:36: expected \" to end the string that starts at 2:34, found end of line"},
      {"[{\"type\":\"ok\",\"process\":0}", F::kElleJson,
       "t:1:27: expected , or ], found end of file"},
      {"[{\"type\":\"ok\",\"process\":0},]", F::kElleJson,
       "t:1:28: expected an op object, found ]"},
      {"[{\"type\":\"ok\",\"process\":0}] []", F::kElleJson,
       "t:1:29: expected end of file, found ["},
      {"INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2\n", F::kJepsenLog,
       "t:1:40: expected ] to close the [ at 1:36, found end of line"},
      {"INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]\t:x\t:y\n", F::kJepsenLog,
       "t:1:45: expected end of line, found :y"},
      {"INFO  jepsen.util - 3\t:invoke\n", F::kJepsenLog,
       "t:1:30: expected an operation name such as :read, found end of line"},
      {"INFO  jepsen.util - 99999999999999999999\t:invoke\t:read\tnil", F::kJepsenLog,
       "t:1:21: expected a process within int64 range, found 99999999999999999999"},
      {"lein test\nINFO  jepsen.core - nothing happened\n", F::kJepsenLog,
       "t:3:1: expected a jepsen.util history line, found end of file"},
      {"hello", F::kAuto, "t:1:1: expected an op map, found hello"},
      {"{:process 0, :type :ok, index 3}", F::kEdn,
       "t:1:25: expected a keyword key :index, found index"},
      {"{:process 0, :type :ok, :time -5}", F::kEdn,
       "t:1:31: expected a :time >= 0 (nanoseconds since the start), found -5"},
      {"{\"process\":0,\"type\":\"ok\",\"time\":-5}", F::kJsonl,
       "t:1:33: expected a \"time\" >= 0 (nanoseconds since the start), found -5"},
  };
  for (const ErrorCase& error_case : cases) {
    EXPECT_EQ(ReadError(error_case.text, error_case.format), error_case.message) << error_case.text;
  }
}

TEST(HistoryIoTest, DeeplyNestedValueIsAnError) {
  const std::string text = "{:process 0, :type :ok, :value " + std::string(5000, '[') + "}";
  EXPECT_EQ(ReadError(text), "t:1:1032: expected at most 1000 levels of nesting, found [");
  const std::string json = R"({"type":"ok","process":0,"value":)" + std::string(5000, '[');
  EXPECT_EQ(ReadError(json), "t:1:1034: expected at most 1000 levels of nesting, found [");
}

// --- Values kept as text (ValueForm::kText) ---------------------------------------------------

Result<History> ReadAsText(std::string_view text, HistoryFormat format = HistoryFormat::kAuto) {
  ReadOptions options;
  options.format = format;
  options.value_form = ValueForm::kText;
  return ReadHistoryText(text, "t", options);
}

TEST(ValueTextTest, JsonValuesAreTheFilesOwnTextAndParseBackToTheTrees) {
  const std::string text =
      "{\"faultline_history\":1}\n"
      R"({"index":0,"process":0,"type":"invoke","f":"txn","value":[["append",3,7],["r",4,null]]})"
      "\n"
      R"({"index":1,"process":0,"type":"ok","f":"txn","value":[["append", 3, 7],["r",4,[1,2]]],)"
      R"("error":{"why":"<\u00e9>"}})"
      "\n"
      R"({"index":2,"process":"nemesis","type":"info","f":"start","value":null,"key":[1]})"
      "\n";
  Result<History> texts = ReadAsText(text);
  ASSERT_TRUE(texts.ok()) << texts.status().ToString();
  const History trees = Read(text);
  ASSERT_EQ(texts->ops.size(), 3u);
  EXPECT_EQ(texts->ops[0].value, R"([["append",3,7],["r",4,null]])");
  EXPECT_EQ(texts->ops[1].value, R"([["append", 3, 7],["r",4,[1,2]]])");  // spaces kept
  EXPECT_EQ(texts->ops[1].error, R"({"why":"<\u00e9>"})");                 // escapes kept
  EXPECT_TRUE(texts->ops[2].value.is_null());  // null is an absent value, as for trees
  EXPECT_EQ(texts->ops[2].extra, trees.ops[2].extra);  // other keys stay trees
  for (size_t i = 0; i < trees.ops.size(); ++i) {
    Op op = texts->ops[i];
    ASSERT_TRUE(ParseValueTexts(&op).ok());
    EXPECT_EQ(op.ToJson(), trees.ops[i].ToJson()) << i;
  }
}

TEST(ValueTextTest, AMalformedValueIsTheSameErrorAsForTrees) {
  for (std::string_view value :
       {"[1,]", "18446744073709551616", "\"a\\x\"", "nul", "{\"a\" 1}", "[1 2]", "\"\xff\""}) {
    const std::string text = "{\"faultline_history\":1}\n{\"type\":\"ok\",\"process\":0,\"value\":" +
                              std::string(value) + "}\n";
    Result<History> texts = ReadAsText(text);
    ASSERT_FALSE(texts.ok()) << value;
    EXPECT_EQ(texts.status().message(), ReadError(text)) << value;
  }
  const std::string deep =
      R"({"type":"ok","process":0,"value":)" + std::string(5000, '[') + "}";
  EXPECT_EQ(ReadAsText(deep).status().message(), ReadError(deep));
}

TEST(ValueTextTest, OtherFormatsWriteTheirValuesAsCompactJson) {
  Result<History> edn = ReadAsText("[{:process 0, :type :ok, :f :txn, :value [[:append 1 2] [:r 1 nil]]"
                                   ", :error :timeout} {:process 1, :type :invoke, :f :read}]");
  ASSERT_TRUE(edn.ok()) << edn.status().ToString();
  EXPECT_EQ(edn->ops[0].value, R"([["append",1,2],["r",1,null]])");
  EXPECT_EQ(edn->ops[0].error, "\"timeout\"");
  EXPECT_TRUE(edn->ops[1].value.is_null());
}

// Cut into chunks parsed on several threads, a text-valued read is the serial one.
TEST(ValueTextTest, ChunkedReadsEqualTheSerialRead) {
  std::string text = "{\"faultline_history\":1}\n";
  for (int i = 0; i < 2000; ++i) {
    text += "{\"index\":" + std::to_string(i) + ",\"process\":" + std::to_string(i % 7) +
            ",\"type\":\"" + (i % 2 ? "ok" : "invoke") + "\",\"f\":\"txn\",\"value\":[[\"r\"," +
            std::to_string(i % 13) + ",[" + std::to_string(i) + "]]]}\n";
  }
  bool parsed_in_chunks = false;
  Result<History> chunked = internal::ReadHistoryChunked(
      text, "t", HistoryFormat::kJsonl, 8, 0, 2, &parsed_in_chunks, ValueForm::kText);
  Result<History> serial = internal::ReadHistoryChunked(text, "t", HistoryFormat::kJsonl, 1, 0, 1,
                                                        nullptr, ValueForm::kText);
  ASSERT_TRUE(chunked.ok() && serial.ok());
  EXPECT_TRUE(parsed_in_chunks);
  ASSERT_EQ(chunked->ops.size(), 2000u);
  for (size_t i = 0; i < serial->ops.size(); ++i) {
    EXPECT_EQ(chunked->ops[i].ToJson(), serial->ops[i].ToJson()) << i;
  }
  EXPECT_EQ(chunked->ops[1999].value, "[[\"r\",10,[1999]]]");
}

TEST(HistoryIoTest, ByteOrderMarkIsSkipped) {
  const History history = Read("\xEF\xBB\xBF[{:process 0 :type :ok}]");
  ASSERT_EQ(history.ops.size(), 1u);
  EXPECT_EQ(history.ops[0].line, 1);
  EXPECT_EQ(Read("\xEF\xBB\xBF{\"type\":\"ok\",\"process\":1}").ops.size(), 1u);
}

TEST(HistoryIoTest, EmptyFileIsAParseError) {
  const std::string path = ::testing::TempDir() + "/history_io_test_empty.edn";
  { std::ofstream out(path); }
  Result<History> history = ReadHistoryFile(path);
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.status().message(), path + ":1:1: expected a history, found end of file");
}

// A run killed mid-write leaves a torn last line: dropped on request (analyze, report), an error
// otherwise; a file without one is read whole either way.
TEST(HistoryIoTest, ATornLastLineIsDroppedOnlyWhenAsked) {
  const std::string path = ::testing::TempDir() + "/history_io_test_torn.jsonl";
  const std::string whole =
      "{\"faultline_history\":1}\n"
      "{\"index\":0,\"time\":1,\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null}\n";
  { std::ofstream(path) << whole << "{\"index\":1,\"time\":2,\"type\":\"o"; }
  ReadOptions options;
  options.format = HistoryFormat::kJsonl;
  EXPECT_FALSE(ReadHistoryFile(path, options).ok());
  options.drop_torn_last_line = true;
  Result<History> history = ReadHistoryFile(path, options);
  ASSERT_TRUE(history.ok()) << history.status().message();
  EXPECT_EQ(history->ops.size(), 1u);
  { std::ofstream(path) << whole; }
  history = ReadHistoryFile(path, options);
  ASSERT_TRUE(history.ok()) << history.status().message();
  EXPECT_EQ(history->ops.size(), 1u);
  std::remove(path.c_str());
}

TEST(HistoryIoTest, MissingFileIsAnIoError) {
  Result<History> history = ReadHistoryFile("/nonexistent/history.edn");
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.status().code(), StatusCode::kIoError);
}

// --- Writer -----------------------------------------------------------------------------------

void ExpectSameOps(const History& a, const History& b) {
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t i = 0; i < a.ops.size(); ++i) {
    EXPECT_EQ(a.ops[i].ToJson(), b.ops[i].ToJson()) << "op " << i;
  }
}

TEST(HistoryIoTest, WriteJsonlPutsTheVersionFirst) {
  History history;
  history.header = Json::parse(R"({"test":"etcd","concurrency":5})");
  Op op;
  op.index = 0;
  op.f = "read";
  history.ops.push_back(op);
  std::ostringstream out;
  WriteJsonl(history, out);
  EXPECT_EQ(out.str(),
            "{\"faultline_history\":1,\"concurrency\":5,\"test\":\"etcd\"}\n"
            "{\"f\":\"read\",\"index\":0,\"process\":0,\"type\":\"invoke\",\"value\":null}\n");
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(HistoryIoTest, WriteJsonlLinesAreOpToJson) {
  History history = Read(
      "[{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]], :time 7, :a 1, :zz 2}\n"
      " {:process :nemesis, :type :info, :f \"kill\\n\u00e9\", :value nil, :error [:t]}\n"
      " {:process 3, :type :ok, :f :read, :value {:b 2}, :g 1, :ka \"k\", :tz 0, :v 1}]");
  Op odd;  // extra keys that an op's own fields use, as ToJson resolves them
  odd.index = 9;
  odd.extra = Json::parse(R"({"time":5,"index":1,"error":"e","":0,"\u00e9":1})");
  history.ops.push_back(odd);
  Op values;  // every kind of JSON value, and strings needing every kind of escape
  values.f = "\xff bad UTF-8";
  values.value = {{"s", "a\"b\\c\x01\x1f\x7f\b\f\n\r\t/\u00e9"},
                  {"big", UINT64_MAX},
                  {"neg", INT64_MIN},
                  {"d", 1.5},
                  {"e", 1e300},
                  {"nested", Json::parse("[[], {}, [null, true, false, 0.1]]")},
                  {"bad\xfe", "\xc3"}};
  values.error = Json::array({-0.0, 3});
  history.ops.push_back(values);
  std::ostringstream out;
  WriteJsonl(history, out);
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), history.ops.size() + 1);
  for (size_t i = 0; i < history.ops.size(); ++i) {
    EXPECT_EQ(lines[i + 1],
              history.ops[i].ToJson().dump(-1, ' ', false, Json::error_handler_t::replace))
        << i;
  }
}

TEST(HistoryIoTest, RoundTripEdnToJsonl) {
  const History edn = Read(
      "[{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]], :time 7}\n"
      " {:process :nemesis, :type :info, :f :kill, :value #{:n1}, :error [:timeout \"t\"]}\n"
      " {:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y [1 2.5]]], :key 3, "
      "\"odd\" {:a 1}}]");
  std::ostringstream out;
  WriteJsonl(edn, out);
  const History jsonl = Read(out.str(), HistoryFormat::kAuto);
  EXPECT_EQ(jsonl.header, Json::parse(R"({"faultline_history":1})"));
  ExpectSameOps(edn, jsonl);
  EXPECT_EQ(jsonl.ops[2].extra, Json::parse(R"({"key":3,"\"odd\"":{"a":1}})"));
}

TEST(HistoryIoTest, WriteJsonlFileRoundTrips) {
  const History edn = Read("{:process 1, :type :invoke, :f :get, :key \"6\", :value nil}");
  const std::string path = ::testing::TempDir() + "/history_io_test.jsonl";
  ASSERT_TRUE(WriteJsonlFile(edn, path).ok());
  Result<History> back = ReadHistoryFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameOps(edn, *back);
  EXPECT_EQ(back->source, path);
  EXPECT_EQ(WriteJsonlFile(edn, "/nonexistent/dir/x.jsonl").code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace faultline
