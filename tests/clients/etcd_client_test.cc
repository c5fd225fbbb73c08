// EtcdClient over real sockets against a tiny HTTP listener on 127.0.0.1 that refuses, hangs,
// resets or answers with canned gateway responses: what the client sends, and fail vs info.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/etcd/etcd.h"
#include "clients/etcd/gateway.h"

namespace faultline::etcd {
namespace {

// One listening socket on 127.0.0.1 and a thread serving each connection as `mode` says.
class Listener {
 public:
  enum class Mode { kAnswer, kHang, kReset };

  // The first `answered_first` connections are answered whatever `mode` says.
  Listener(Mode mode, int status = 200, std::string body = "", int answered_first = 0)
      : mode_(mode), status_(status), body_(std::move(body)), answered_first_(answered_first) {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    EXPECT_EQ(::listen(socket_, 16), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Listener() {
    stop_ = true;
    thread_.join();
    ::close(socket_);
  }

  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  bool Readable(int fd, int timeout_ms) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, timeout_ms) > 0;
  }

  // Reads headers and the Content-Length body.
  std::string ReadRequest(int fd) {
    std::string request;
    char buffer[4096];
    while (!stop_) {
      if (!Readable(fd, 20)) continue;
      ssize_t got = ::read(fd, buffer, sizeof(buffer));
      if (got <= 0) break;
      request.append(buffer, got);
      size_t end = request.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      size_t length_at = request.find("Content-Length: ");
      size_t length =
          length_at == std::string::npos ? 0 : std::stoul(request.substr(length_at + 16));
      if (request.size() >= end + 4 + length) break;
    }
    return request;
  }

  void Answer(int fd) {
    std::string response =
        "HTTP/1.1 " + std::to_string(status_) +
        " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body_.size()) +
        "\r\nConnection: close\r\n\r\n" + body_;
    (void)!::write(fd, response.data(), response.size());
  }

  void Serve() {
    while (!stop_) {
      if (!Readable(socket_, 20)) continue;
      int fd = ::accept(socket_, nullptr, nullptr);
      if (fd < 0) continue;
      std::string request = ReadRequest(fd);
      Mode mode = mode_;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        if (static_cast<int>(requests_.size()) <= answered_first_) mode = Mode::kAnswer;
      }
      if (mode == Mode::kAnswer) Answer(fd);
      if (mode == Mode::kHang) {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (mode == Mode::kReset) {
        linger reset{1, 0};  // close with RST instead of FIN
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
      }
      ::close(fd);
    }
  }

  const Mode mode_;
  const int status_;
  const std::string body_;
  const int answered_first_;
  int socket_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

// A port on 127.0.0.1 that nothing listens on: bound (so no one else takes it) but not listening.
class ClosedPort {
 public:
  ClosedPort() {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~ClosedPort() { ::close(socket_); }
  int port() const { return port_; }

 private:
  int socket_ = -1;
  int port_ = 0;
};

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

}  // namespace
}  // namespace faultline::etcd
