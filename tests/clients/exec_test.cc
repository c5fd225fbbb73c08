// The exec protocol's client (clients/exec/exec.h) against real child processes: small shell
// clients that answer, crash, print garbage, hang or refuse the hello.
#include "clients/exec/exec.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json_parser.h"
#include "support/temp_folder.h"

namespace faultline::clients::exec {
namespace {

namespace fs = std::filesystem;

Op Invocation(const std::string& f, Json value, int64_t process = 3, int64_t index = 17) {
  Op op;
  op.type = OpType::kInvoke;
  op.f = f;
  op.value = std::move(value);
  op.process = process;
  op.index = index;
  return op;
}

// Whether `pid` is gone or a zombie within a second (SIGKILL takes effect asynchronously).
bool Gone(pid_t pid) {
  for (int tries = 0; tries < 100; ++tries) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string skip, state;
    if (!(stat >> skip >> skip >> state) || state == "Z") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string ErrorText(const Op& op) {
  return op.error.is_string() ? op.error.get<std::string>() : op.error.dump();
}

class ExecClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_.options.name = "exec-test";
    test_.options.nodes = {"n1", "n2"};
    test_.options.operation_timeout_s = 5;
    test_.workload = "register";
    test_.log = [this](const std::string& line) {
      std::lock_guard lock(mutex_);
      log_.push_back(line);
    };
  }
  // A client running `script` (sh), opened on n2.
  std::unique_ptr<ExecClient> Client(const std::string& script, double op_timeout_s = 0) {
    const fs::path file = temp_.path() / ("client" + std::to_string(scripts_++) + ".sh");
    std::ofstream(file) << script;
    ExecOptions options;
    options.command = "sh " + file.string();
    options.op_timeout_s = op_timeout_s;
    options.start_timeout_s = 2;
    auto client = std::make_unique<ExecClient>(options);
    EXPECT_TRUE(client->Open(test_, "n2").ok());
    return client;
  }
  std::vector<std::string> Log() {
    std::lock_guard lock(mutex_);
    return log_;
  }

  testing::TempFolder temp_{"faultline_exec_"};
  faultline::Test test_;
  int scripts_ = 0;
  std::mutex mutex_;
  std::vector<std::string> log_;
};

// A client that answers every invocation with ok and, as its value, the line it was sent; the
// first answer carries the hello too.
constexpr char kEcho[] = R"(read hello
echo '{"type":"ready"}'
while read line; do
  printf '{"type":"ok","value":{"hello":%s,"op":%s}}\n' "$hello" "$line"
  hello=null
done
)";

TEST_F(ExecClientTest, SaysHelloThenSendsEachInvocationAndReadsItsCompletion) {
  auto client = Client(kEcho);
  const Op first = client->Invoke(test_, Invocation("write", Json::array({4, 2})));
  ASSERT_EQ(first.type, OpType::kOk) << ErrorText(first);
  const Json& hello = first.value["hello"];
  EXPECT_EQ(hello["type"], "hello");
  EXPECT_EQ(hello["protocol"], kProtocolVersion);
  EXPECT_EQ(hello["node"], "n2");
  EXPECT_EQ(hello["nodes"], Json::array({"n1", "n2"}));
  EXPECT_EQ(hello["process"], 3);
  EXPECT_EQ(hello["test"]["name"], "exec-test");
  EXPECT_EQ(hello["test"]["workload"], "register");
  EXPECT_EQ(first.value["op"], Json::parse(R"({"type":"invoke","f":"write","value":[4,2],
                                               "process":3,"index":17})"));
  const Op second = client->Invoke(test_, Invocation("read", nullptr, 3, 19));
  ASSERT_EQ(second.type, OpType::kOk) << ErrorText(second);
  EXPECT_TRUE(second.value["hello"].is_null());  // one hello per client process
  EXPECT_EQ(second.value["op"]["index"], 19);
  client->Close(test_);
}

TEST(ParseCompletionTest, TypesValuesAndErrors) {
  const Op invoke = Invocation("cas", Json::array({1, 2}));
  Result<Op> ok = ParseCompletion(R"({"type":"ok"})", invoke);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->type, OpType::kOk);
  EXPECT_EQ(ok->value, Json::array({1, 2}));  // no value: the invocation's
  Result<Op> failed = ParseCompletion(R"({"type":"fail","value":null,"error":"mismatch"})", invoke);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->type, OpType::kFail);
  EXPECT_TRUE(failed->value.is_null());
  EXPECT_EQ(failed->error, "mismatch");
  Result<Op> info = ParseCompletion(R"({"type":"info","error":["timeout",3]})", invoke);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->type, OpType::kInfo);
  EXPECT_EQ(info->error, Json::parse(R"(["timeout",3])"));
  for (const char* bad : {R"({"type":"invoke"})", R"({"value":1})", R"([1])", "ok", ""}) {
    Result<Op> parsed = ParseCompletion(bad, invoke);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("expected a completion"), std::string::npos);
    EXPECT_NE(parsed.status().message().find(Quoted(bad)), std::string::npos)
        << parsed.status().message();
  }
  EXPECT_EQ(Quoted(std::string(300, 'x')).substr(0, 4), "\"xxx");
  EXPECT_NE(Quoted(std::string(300, 'x')).find("(300 bytes)"), std::string::npos);
  // What a client printed is quoted exactly, as text: no raw control byte or invalid UTF-8.
  EXPECT_EQ(Quoted("bad \xff\xfe \x01 caf\xc3\xa9"), "\"bad \\xff\\xfe \\x01 caf\xc3\xa9\"");
}

TEST_F(ExecClientTest, AClientThatExitsGivesInfoWithItsStatusAndStderr) {
  auto client = Client(R"(read hello
echo '{"type":"ready"}'
read op
echo "lost my connection" >&2
exit 3
)");
  const Op op = client->Invoke(test_, Invocation("write", 1));
  EXPECT_EQ(op.type, OpType::kInfo);
  const std::string error = ErrorText(op);
  EXPECT_NE(error.find("closed its output"), std::string::npos) << error;
  EXPECT_NE(error.find("exited with status 3"), std::string::npos) << error;
  EXPECT_NE(error.find("\"lost my connection\""), std::string::npos) << error;
  client->Close(test_);
  // Its stderr reached the run's log, with the node.
  const std::vector<std::string> log = Log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back(), "client on n2: lost my connection");
}

TEST_F(ExecClientTest, GarbageIsInfoQuotingWhatWasPrinted) {
  auto client = Client(R"(read hello
echo '{"type":"ready"}'
while read op; do echo 'Traceback (most recent call last):'; done
)");
  const Op op = client->Invoke(test_, Invocation("read", nullptr));
  EXPECT_EQ(op.type, OpType::kInfo);
  EXPECT_NE(ErrorText(op).find("expected a completion"), std::string::npos) << ErrorText(op);
  EXPECT_NE(ErrorText(op).find("\"Traceback (most recent call last):\""), std::string::npos)
      << ErrorText(op);
}

TEST_F(ExecClientTest, AHangingClientIsInfoAfterTheTimeoutAndIsKilledWithItsChildren) {
  const fs::path pids = temp_.path() / "pids";
  auto client = Client("read hello\necho '{\"type\":\"ready\"}'\nsleep 300 &\necho $$ $! > " +
                           pids.string() + "\nwhile read op; do sleep 300; done\n",
                       0.3);
  const auto start = std::chrono::steady_clock::now();
  const Op op = client->Invoke(test_, Invocation("write", 1));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(op.type, OpType::kInfo);
  EXPECT_NE(ErrorText(op).find("no answer within 0.3 s"), std::string::npos) << ErrorText(op);
  EXPECT_LT(took, 3.0);
  client->Close(test_);
  pid_t shell = 0, sleeper = 0;
  std::ifstream(pids) >> shell >> sleeper;
  ASSERT_GT(shell, 0);
  ASSERT_GT(sleeper, 0);
  // The whole group is killed: the client's shell and its background sleep are gone (at most
  // zombies until their parent reaps them, which kill(0) still finds, so look at their state).
  for (pid_t pid : {shell, sleeper}) EXPECT_TRUE(Gone(pid)) << "process " << pid << " still runs";
}

TEST_F(ExecClientTest, ARefusedHelloFailsTheOpAndTheNextOpStartsAFreshClient) {
  const fs::path starts = temp_.path() / "starts";
  // The first start refuses; later ones answer.
  auto client = Client("echo start >> " + starts.string() + "\nread hello\n"
                       "if [ $(wc -l < " + starts.string() + ") -eq 1 ]; then\n"
                       "  echo '{\"type\":\"error\",\"error\":\"no cluster\"}'; exit 1; fi\n"
                       "echo '{\"type\":\"ready\"}'\n"
                       "while read op; do echo '{\"type\":\"ok\"}'; done\n");
  const Op refused = client->Invoke(test_, Invocation("write", 1));
  EXPECT_EQ(refused.type, OpType::kFail);  // never sent: certainly did not happen
  EXPECT_NE(ErrorText(refused).find("refused the hello: \"no cluster\""), std::string::npos)
      << ErrorText(refused);
  const Op next = client->Invoke(test_, Invocation("write", 2));
  EXPECT_EQ(next.type, OpType::kOk) << ErrorText(next);
  client->Close(test_);
  std::ifstream lines(starts);
  int count = 0;
  for (std::string line; std::getline(lines, line);) ++count;
  EXPECT_EQ(count, 2);
}

TEST_F(ExecClientTest, ACommandThatIsNotAClientFailsAtTheHello) {
  auto client = Client("exit 0\n");
  const Op op = client->Invoke(test_, Invocation("read", nullptr));
  EXPECT_EQ(op.type, OpType::kFail);
  EXPECT_NE(ErrorText(op).find("exited with status 0"), std::string::npos) << ErrorText(op);
}

}  // namespace
}  // namespace faultline::clients::exec
