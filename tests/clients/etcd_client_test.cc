// EtcdClient over real sockets against a tiny HTTP listener on 127.0.0.1 that refuses, hangs,
// resets or answers with canned gateway responses: what the client sends, and fail vs info.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "clients/etcd/etcd.h"
#include "clients/etcd/gateway.h"
#include "clients/etcd/http.h"
#include "clients/etcd_listener.h"

namespace faultline::etcd {
namespace {

using testing::ClosedPort;
using testing::Listener;

Test LocalTest(double timeout_s) {
  Test test;
  test.options.nodes = {"n1"};
  test.options.node_addresses = {{"n1", "127.0.0.1"}};
  test.options.operation_timeout_s = timeout_s;
  return test;
}

Op Invoke(const std::string& f, Json value) {
  Op op;
  op.f = f;
  op.value = std::move(value);
  return op;
}

Op Exchange(int port, const Op& invoke, double timeout_s = 2,
            ReadConsistency consistency = ReadConsistency::kLinearizable) {
  EtcdOptions options;
  options.client_port = port;
  options.key_prefix = "t/";
  options.read_consistency = consistency;
  EtcdClient client(options);
  faultline::Test test = LocalTest(timeout_s);
  EXPECT_TRUE(client.Open(test, "n1").ok());
  Op completion = client.Invoke(test, invoke);
  client.Close(test);
  return completion;
}

std::string Body(const std::string& request) {
  return request.substr(request.find("\r\n\r\n") + 4);
}

TEST(EtcdClientTest, ARefusedConnectionIsFailEvenForWrites) {
  ClosedPort closed;
  Op completion = Exchange(closed.port(), Invoke("write", Json::array({1, 2})));
  EXPECT_EQ(completion.type, OpType::kFail);
  EXPECT_FALSE(completion.error.is_null());
}

TEST(EtcdClientTest, ATimeoutAfterSendingIsInfoForWritesAndCas) {
  Listener hang(Listener::Mode::kHang);
  auto start = std::chrono::steady_clock::now();
  Op write = Exchange(hang.port(), Invoke("write", Json::array({1, 2})), 0.3);
  double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(write.type, OpType::kInfo);
  EXPECT_EQ(write.error, "timeout");
  EXPECT_GE(elapsed_s, 0.25);
  EXPECT_LT(elapsed_s, 2.0);  // the per-request timeout bounds it
  ASSERT_EQ(hang.requests().size(), 1u);
  EXPECT_NE(hang.requests()[0].find("POST /v3/kv/put "), std::string::npos);
}

TEST(EtcdClientTest, ATimedOutReadIsFail) {
  Listener hang(Listener::Mode::kHang);
  EXPECT_EQ(Exchange(hang.port(), Invoke("read", Json::array({1, nullptr})), 0.2).type,
            OpType::kFail);
}

TEST(EtcdClientTest, AConnectionResetAfterSendingIsInfo) {
  Listener reset(Listener::Mode::kReset);
  Op cas = Exchange(reset.port(), Invoke("cas", Json::array({1, Json::array({1, 2})})));
  EXPECT_EQ(cas.type, OpType::kInfo);
  EXPECT_EQ(reset.requests().size(), 1u);  // sent once: never resent on a new connection
}

TEST(EtcdClientTest, SendsTheGatewayRequestAndDecodesTheReadValue) {
  std::string range = R"({"header":{"revision":"3"},"kvs":[{"key":"dC81","value":")" +
                      Base64Encode("4") + R"("}],"count":"1"})";
  Listener answer(Listener::Mode::kAnswer, 200, range);
  Op read = Exchange(answer.port(), Invoke("read", Json::array({5, nullptr})), 2,
                     ReadConsistency::kSerializable);
  EXPECT_EQ(read.type, OpType::kOk);
  EXPECT_EQ(read.value, Json::array({5, 4}));
  ASSERT_EQ(answer.requests().size(), 1u);
  std::string request = answer.requests()[0];
  EXPECT_EQ(request.rfind("POST /v3/kv/range HTTP/1.1\r\n", 0), 0u);
  Json body = Json::parse(Body(request));
  EXPECT_EQ(body, Json({{"key", Base64Encode("t/5")}, {"serializable", true}}));
}

TEST(EtcdClientTest, AFailedCompareIsFailAndAWonCasIsOk) {
  Listener lost(Listener::Mode::kAnswer, 200, R"({"header":{"revision":"3"}})");
  Op invoke = Invoke("cas", Json::array({"k", Json::array({1, 2})}));
  EXPECT_EQ(Exchange(lost.port(), invoke).type, OpType::kFail);
  EXPECT_EQ(Json::parse(Body(lost.requests()[0]))["compare"][0]["value"], Base64Encode("1"));
  Listener won(Listener::Mode::kAnswer, 200, R"({"header":{},"succeeded":true})");
  EXPECT_EQ(Exchange(won.port(), invoke).type, OpType::kOk);
}

TEST(EtcdClientTest, EtcdErrorsMapByWhetherTheyProveNothingHappened) {
  Listener no_leader(Listener::Mode::kAnswer, 503,
                     R"({"error":"etcdserver: no leader","message":"etcdserver: no leader",)"
                     R"("code":14})");
  EXPECT_EQ(Exchange(no_leader.port(), Invoke("write", Json::array({1, 2}))).type, OpType::kFail);
  Listener timed_out(Listener::Mode::kAnswer, 503,
                     R"({"error":"etcdserver: request timed out",)"
                     R"("message":"etcdserver: request timed out","code":14})");
  Op write = Exchange(timed_out.port(), Invoke("write", Json::array({1, 2})));
  EXPECT_EQ(write.type, OpType::kInfo);
  EXPECT_EQ(write.error, "etcdserver: request timed out");
}

// One canned body that reads as a range response (key holding [1] at mod_revision 4) and as a
// won Txn: the listener gives every request the same answer.
std::string RangeAndTxnBody() {
  return R"({"header":{"revision":"9"},"succeeded":true,"kvs":[{"key":"dC8x","value":")" +
         Base64Encode("[1]") + R"(","mod_revision":"4"}],"count":"1"})";
}

const Json kAppendTxn = Json::parse(R"([["r",1,null],["append",1,2],["append",7,3],["r",1,null]])");

TEST(EtcdClientTest, AListAppendTxnIsARangePerKeyThenOneTxn) {
  Listener answer(Listener::Mode::kAnswer, 200, RangeAndTxnBody());
  Op txn = Exchange(answer.port(), Invoke("txn", kAppendTxn));
  EXPECT_EQ(txn.type, OpType::kOk) << txn.error;
  EXPECT_EQ(txn.value, Json::parse(R"([["r",1,[1]],["append",1,2],["append",7,3],["r",1,[1,2]]])"));
  std::vector<std::string> requests = answer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].rfind("POST /v3/kv/range ", 0), 0u);
  EXPECT_EQ(Json::parse(Body(requests[0])), Json({{"key", Base64Encode("t/1")}}));
  EXPECT_EQ(Json::parse(Body(requests[1])), Json({{"key", Base64Encode("t/7")}}));
  EXPECT_EQ(requests[2].rfind("POST /v3/kv/txn ", 0), 0u);
  Json body = Json::parse(Body(requests[2]));
  ASSERT_EQ(body["compare"].size(), 2u);
  EXPECT_EQ(body["compare"][0]["mod_revision"], "4");  // both ranges found the canned key
  EXPECT_EQ(body["compare"][0]["target"], "MOD");
  ASSERT_EQ(body["success"].size(), 2u);
  EXPECT_EQ(Base64Decode(body["success"][0]["request_put"]["value"].get<std::string>()), "[1,2]");
  EXPECT_EQ(Base64Decode(body["success"][1]["request_put"]["value"].get<std::string>()), "[1,3]");
}

TEST(EtcdClientTest, ATxnTimingOutAfterItsRangesIsInfoWhenItAppendsAndFailWhenItOnlyReads) {
  Listener hang(Listener::Mode::kHang, 200, RangeAndTxnBody(), /*answered_first=*/2);
  Op unsure = Exchange(hang.port(), Invoke("txn", kAppendTxn), 0.3);
  EXPECT_EQ(unsure.type, OpType::kInfo);
  EXPECT_EQ(unsure.error, "timeout");
  EXPECT_EQ(unsure.value, kAppendTxn);
  ASSERT_EQ(hang.requests().size(), 3u);
  EXPECT_EQ(hang.requests()[2].rfind("POST /v3/kv/txn ", 0), 0u);
  Listener hang_reads(Listener::Mode::kHang, 200, RangeAndTxnBody(), /*answered_first=*/1);
  Op reads = Exchange(hang_reads.port(), Invoke("txn", Json::parse(R"([["r",1,null]])")), 0.3);
  EXPECT_EQ(reads.type, OpType::kFail);
  EXPECT_EQ(hang_reads.requests().size(), 2u);
}

TEST(EtcdClientTest, ATxnWhoseRangeFailsIsFailAndSendsNoTxn) {
  Listener hang(Listener::Mode::kHang, 200, RangeAndTxnBody(), /*answered_first=*/1);
  Op txn = Exchange(hang.port(), Invoke("txn", kAppendTxn), 0.3);
  EXPECT_EQ(txn.type, OpType::kFail);
  EXPECT_EQ(hang.requests().size(), 2u);  // the second range hung: no Txn was sent
  ClosedPort closed;
  EXPECT_EQ(Exchange(closed.port(), Invoke("txn", kAppendTxn)).type, OpType::kFail);
  Listener reset(Listener::Mode::kReset, 200, RangeAndTxnBody(), /*answered_first=*/2);
  Op reset_txn = Exchange(reset.port(), Invoke("txn", kAppendTxn));
  EXPECT_EQ(reset_txn.type, OpType::kInfo);  // the Txn left and the connection was reset
  EXPECT_EQ(reset.requests().size(), 3u);
}

TEST(EtcdClientTest, ALostCompareIsFail) {
  // A range of an absent key, then a Txn without "succeeded": the compare failed.
  Listener lost(Listener::Mode::kAnswer, 200, R"({"header":{"revision":"9"}})");
  Op txn = Exchange(lost.port(), Invoke("txn", kAppendTxn));
  EXPECT_EQ(txn.type, OpType::kFail);
  EXPECT_EQ(txn.error, "compare failed");
  ASSERT_EQ(lost.requests().size(), 3u);
  EXPECT_EQ(Json::parse(Body(lost.requests()[2]))["compare"][1]["mod_revision"], "0");
}

TEST(EtcdClientTest, AnUnknownOpFailsWithoutSendingAnything) {
  Listener answer(Listener::Mode::kAnswer, 200, "{}");
  Op append = Exchange(answer.port(), Invoke("append", Json::array({1, 2})));
  EXPECT_EQ(append.type, OpType::kFail);
  Op rw_register = Exchange(answer.port(), Invoke("txn", Json::parse(R"([["w",1,2]])")));
  EXPECT_EQ(rw_register.type, OpType::kFail);
  EXPECT_TRUE(answer.requests().empty());
}

// A node answering the wrong JSON types: the op completes with the reason, the client does not
// throw (an exception would also cost the thread its client and process).
TEST(EtcdClientTest, WrongJsonTypesFromTheNodeAreFailOrInfoWithTheReason) {
  Listener wrong_value(Listener::Mode::kAnswer, 200,
                       R"({"header":{},"kvs":[{"key":"dC8x","value":5,"mod_revision":"3"}]})");
  Op read = Exchange(wrong_value.port(), Invoke("read", Json::array({1, nullptr})));
  EXPECT_EQ(read.type, OpType::kFail);
  EXPECT_EQ(read.error, R"(unexpected range response: a key-value's "value" is not a string)");
  Op txn = Exchange(wrong_value.port(), Invoke("txn", kAppendTxn));
  EXPECT_EQ(txn.type, OpType::kFail);  // the first range failed: nothing was sent to change
  EXPECT_EQ(wrong_value.requests().size(), 2u);
  Listener wrong_succeeded(Listener::Mode::kAnswer, 200, R"({"header":{},"succeeded":"true"})");
  Op cas = Exchange(wrong_succeeded.port(), Invoke("cas", Json::array({1, Json::array({2, 3})})));
  EXPECT_EQ(cas.type, OpType::kInfo);
  EXPECT_EQ(cas.error, R"(unexpected response: "succeeded" is not true or false)");
}

// A body over the cap ends the exchange like a lost answer: the request reached the node.
TEST(EtcdClientTest, AResponseBodyOverTheCapIsInfoForWritesAndFailForReads) {
  std::string huge = R"({"header":{},"kvs":[{"value":")" + std::string(5 << 20, 'A') + R"("}]})";
  for (bool with_length : {true, false}) {
    Listener answer([&](const std::string&) { return Listener::Answer{200, huge, with_length}; });
    Op write = Exchange(answer.port(), Invoke("write", Json::array({1, 2})));
    EXPECT_EQ(write.type, OpType::kInfo) << with_length;
    EXPECT_EQ(write.error, "response body over 4194304 bytes") << with_length;
    Op read = Exchange(answer.port(), Invoke("read", Json::array({1, nullptr})));
    EXPECT_EQ(read.type, OpType::kFail) << with_length;
    EXPECT_EQ(read.error, "response body over 4194304 bytes") << with_length;
  }
}

// Sets an environment variable for one scope.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const std::string& value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A proxy may resend a request on a connection of its own: the client never uses one, even when
// the environment names one.
TEST(EtcdClientTest, RequestsGoStraightToTheNodeWhateverTheProxyEnvironmentSays) {
  Listener proxy(Listener::Mode::kAnswer, 200, R"({"header":{}})");
  Listener node(Listener::Mode::kAnswer, 200, R"({"header":{}})");
  std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  ScopedEnvironment http_proxy("http_proxy", proxy_url);
  ScopedEnvironment all_proxy("ALL_PROXY", proxy_url);
  ScopedEnvironment no_proxy("no_proxy", "");
  Op write = Exchange(node.port(), Invoke("write", Json::array({1, 2})));
  EXPECT_EQ(write.type, OpType::kOk) << write.error.dump();
  EXPECT_EQ(node.requests().size(), 1u);
  EXPECT_TRUE(proxy.requests().empty());
}

TEST(EtcdClientTest, OnlyPlainHttpIsSpokenAndRedirectsAreNotFollowed) {
  CURL* curl = NewCurlHandle();
  HttpExchange file = HttpExchangeOnce(curl, "file:///etc/hostname", "", 1000);
  EXPECT_EQ(file.stage, HttpExchange::Stage::kNotSent);
  EXPECT_TRUE(file.body.empty());
  Listener target(Listener::Mode::kAnswer, 200, R"({"header":{}})");
  Listener redirect([&](const std::string&) {
    return Listener::Answer{
        307, "", true,
        "Location: http://127.0.0.1:" + std::to_string(target.port()) + "/v3/kv/put\r\n"};
  });
  HttpExchange moved = HttpExchangeOnce(
      curl, "http://127.0.0.1:" + std::to_string(redirect.port()) + "/v3/kv/put", "{}", 1000);
  EXPECT_EQ(moved.stage, HttpExchange::Stage::kResponded);
  EXPECT_EQ(moved.status, 307);
  EXPECT_TRUE(target.requests().empty());
  curl_easy_cleanup(curl);
}

}  // namespace
}  // namespace faultline::etcd
