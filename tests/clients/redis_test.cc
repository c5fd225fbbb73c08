// Redis without a cluster: the commands each op becomes, how an answer is read, the config file,
// how an error becomes fail or info (Jepsen's rules), --db redis's flag and workloads, the exact
// scripts RedisDb sends through control::FakeRemote, and RedisClient against a one-connection fake
// server on 127.0.0.1 (refused, silent, closing).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "clients/db_kind.h"
#include "clients/redis/redis.h"
#include "core/op_values.h"
#include "runner/control/fake_remote.h"
#include "runner/control/local_remote.h"

namespace faultline::redis {
namespace {

using control::CommandResult;
using control::FakeRemote;

constexpr char kDirectory[] = "/var/lib/faultline-redis-n1";

Op Invocation(const std::string& f, Json value) {
  Op op;
  op.type = OpType::kInvoke;
  op.f = f;
  op.value = std::move(value);
  return op;
}

std::string ErrorOf(const Op& op) {
  return op.error.is_string() ? op.error.get<std::string>() : "";
}

std::vector<std::string> Arguments(const Result<Command>& command) {
  EXPECT_TRUE(command.ok()) << command.status().message();
  return command.ok() ? command->arguments : std::vector<std::string>{};
}

TEST(RedisCommandTest, KeyedRegisterOpsAreGetSetAndTheCasScript) {
  Result<Command> read = RegisterCommand(Invocation("read", Json::array({3, nullptr})));
  EXPECT_EQ(Arguments(read), (std::vector<std::string>{"GET", "faultline:register:3"}));
  EXPECT_FALSE(read->writes);
  Result<Command> write = RegisterCommand(Invocation("write", KeyedValue(3, 4)));
  EXPECT_EQ(Arguments(write), (std::vector<std::string>{"SET", "faultline:register:3", "4"}));
  EXPECT_TRUE(write->writes);
  Result<Command> cas = RegisterCommand(Invocation("cas", KeyedValue(7, CasValue(1, 2))));
  EXPECT_EQ(Arguments(cas), (std::vector<std::string>{"EVAL", kCasScript, "1",
                                                      "faultline:register:7", "1", "2"}));
  EXPECT_TRUE(cas->writes);
  // Unkeyed: the whole value is the argument.
  EXPECT_EQ(Arguments(RegisterCommand(Invocation("write", 2))),
            (std::vector<std::string>{"SET", "faultline:register", "2"}));
  EXPECT_EQ(Arguments(RegisterCommand(Invocation("cas", CasValue(0, 1)))),
            (std::vector<std::string>{"EVAL", kCasScript, "1", "faultline:register", "0", "1"}));
}

TEST(RedisCommandTest, OtherOpsAndMalformedValuesAreRefused) {
  EXPECT_EQ(RegisterCommand(Invocation("add", 1)).status().message(),
            "redis: the register workload has no op add");
  EXPECT_EQ(RegisterCommand(Invocation("cas", 5)).status().message(),
            "cas value: expected [from to], found 5");
  EXPECT_EQ(SetCommand(Invocation("add", "x")).status().message(),
            "redis: the set's element \"x\" is not an integer");
  EXPECT_EQ(SetCommand(Invocation("cas", 1)).status().message(),
            "redis: the set workload has no op cas");
}

TEST(RedisCommandTest, SetOpsAreSaddAndSmembers) {
  Result<Command> add = SetCommand(Invocation("add", 12));
  EXPECT_EQ(Arguments(add), (std::vector<std::string>{"SADD", "faultline:set", "12"}));
  EXPECT_TRUE(add->writes);
  Result<Command> read = SetCommand(Invocation("read", nullptr));
  EXPECT_EQ(Arguments(read), (std::vector<std::string>{"SMEMBERS", "faultline:set"}));
  EXPECT_FALSE(read->writes);
}

TEST(RedisCommandTest, ReadsAreNilJsonOrSortedIntegers) {
  EXPECT_EQ(*RegisterValue(std::nullopt), Json(nullptr));
  EXPECT_EQ(*RegisterValue(std::string("4")), Json(4));
  EXPECT_EQ(RegisterValue(std::string("{oops")).status().message(),
            "redis: the register holds \"{oops\", not JSON");
  EXPECT_EQ(*SetValue({"10", "2", "7"}), Json::array({2, 7, 10}));
  EXPECT_EQ(*SetValue({}), Json::array());
  EXPECT_EQ(SetValue({"1", "two"}).status().message(), "redis: \"two\" is not an integer");
}

// ---- outcomes -----------------------------------------------------------------------------------

Failure AFailure(bool sent, bool answered = false, bool timed_out = false) {
  Failure failure;
  failure.sent = sent;
  failure.answered = answered;
  failure.timed_out = timed_out;
  failure.message = "m";
  return failure;
}

TEST(RedisOutcomeTest, OnlyAWriteWithNoAnswerIsInfo) {
  for (bool writes : {true, false}) {
    EXPECT_EQ(Classify(AFailure(false), writes), OpType::kFail);  // nothing sent
    EXPECT_EQ(Classify(AFailure(true, true), writes), OpType::kFail);  // Redis refused it
  }
  EXPECT_EQ(Classify(AFailure(true, false, true), true), OpType::kInfo);
  EXPECT_EQ(Classify(AFailure(true), true), OpType::kInfo);
  EXPECT_EQ(Classify(AFailure(true, false, true), false), OpType::kFail);
  EXPECT_EQ(Classify(AFailure(true), false), OpType::kFail);
  EXPECT_EQ(ErrorText(AFailure(true, false, true)), "timeout: m");
  EXPECT_EQ(ErrorText(AFailure(true)), "connection: m");
  EXPECT_EQ(ErrorText(AFailure(true, true)), "m");
}

// ---- options and the config file ----------------------------------------------------------------

TEST(RedisOptionsTest, TheDirectoryIsPerNodeAbsoluteAndRemovable) {
  RedisOptions options;
  EXPECT_EQ(NodeDirectory(options, "n1"), kDirectory);
  options.password = "abc_1";
  EXPECT_TRUE(ValidateOptions(options).ok());
  for (const char* directory : {"", "/", "relative/{node}", "/var/lib/../{node}", "//.", "/a b"}) {
    options.directory = directory;
    EXPECT_FALSE(ValidateOptions(options).ok()) << directory;
  }
  options = RedisOptions();
  options.password = "a b";
  EXPECT_FALSE(ValidateOptions(options).ok());
  options = RedisOptions();
  options.port = 70000;
  EXPECT_FALSE(ValidateOptions(options).ok());
}

TEST(RedisOptionsTest, TheConfigBindsTheNodeAndMakesOtherNodesReplicas) {
  RedisOptions options;
  options.password = "pw123";
  std::string primary = ConfigText(options, kDirectory, "10.213.0.11", "");
  for (const char* line :
       {"bind 10.213.0.11\n", "port 6379\n", "protected-mode no\n", "daemonize yes\n",
        "pidfile /var/lib/faultline-redis-n1/redis.pid\n",
        "logfile /var/lib/faultline-redis-n1/redis.log\n", "dir /var/lib/faultline-redis-n1\n",
        "appendonly yes\n", "requirepass pw123\n", "masterauth pw123\n"}) {
    EXPECT_NE(primary.find(line), std::string::npos) << line << " missing from\n" << primary;
  }
  EXPECT_EQ(primary.find("replicaof"), std::string::npos);
  std::string replica = ConfigText(options, "/var/lib/faultline-redis-n2", "10.213.0.12",
                                   "10.213.0.11");
  EXPECT_NE(replica.find("bind 10.213.0.12\n"), std::string::npos);
  EXPECT_NE(replica.find("replicaof 10.213.0.11 6379\n"), std::string::npos);
}

// ---- --db redis ---------------------------------------------------------------------------------

TestOptions ThreeNodeOptions() {
  TestOptions options;
  options.nodes = {"n1", "n2", "n3"};
  options.node_addresses = {{"n1", "10.213.0.11"}, {"n2", "10.213.0.12"}, {"n3", "10.213.0.13"}};
  options.concurrency = 3;
  return options;
}

clients::WorkloadOptions RedisWorkload(const std::string& workload) {
  clients::WorkloadOptions options;
  options.db = "redis";
  options.workload = workload;
  return options;
}

const RedisDb& DbOf(const faultline::Test& test) { return dynamic_cast<const RedisDb&>(*test.db); }

TEST(RedisKindTest, ReadsGoToThePrimaryByDefaultAndEachTestHasItsPassword) {
  Result<faultline::Test> test = clients::BuildTest(ThreeNodeOptions(), RedisWorkload("register"));
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().read_from, ReadFrom::kPrimary);
  EXPECT_EQ(DbOf(*test).options().password.size(), 24u);
  Result<faultline::Test> other = clients::BuildTest(ThreeNodeOptions(), RedisWorkload("set"));
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_NE(DbOf(*other).options().password, DbOf(*test).options().password);
  clients::WorkloadOptions workload = RedisWorkload("set");
  workload.db_flags["read-from"] = {"replica"};
  test = clients::BuildTest(ThreeNodeOptions(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().read_from, ReadFrom::kReplica);
  ASSERT_TRUE(test->new_client);
  EXPECT_NE(dynamic_cast<RedisClient*>(test->new_client().get()), nullptr);
}

TEST(RedisKindTest, BadValuesOtherWorkloadsAndAReplicaWithOneNodeAreRefused) {
  clients::WorkloadOptions workload = RedisWorkload("register");
  workload.db_flags["read-from"] = {"any"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--read-from: expected primary or replica, found \"any\"");
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), RedisWorkload("list-append")).status().message(),
            "--db redis runs the register and set workloads, not list-append");
  workload = RedisWorkload("register");
  workload.db_flags["isolation"] = {"serializable"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--isolation applies to --db postgres or --db galera, not --db redis");
  workload = RedisWorkload("register");
  workload.db_flags["read-from"] = {"replica"};
  TestOptions one = ThreeNodeOptions();
  one.nodes = {"n1"};
  EXPECT_EQ(clients::BuildTest(one, workload).status().message(),
            "--read-from replica needs at least two nodes (a primary and a replica)");
}

// ---- RedisDb through FakeRemote -----------------------------------------------------------------

faultline::Test ThreeNodes() {
  faultline::Test test;
  test.options = ThreeNodeOptions();
  return test;
}

RedisOptions WithPassword() {
  RedisOptions options;
  options.password = "pw123";
  return options;
}

std::string DirectoryOf(const std::string& node) { return "/var/lib/faultline-redis-" + node; }

void ScriptNode(FakeRemote& remote, const std::string& node) {
  remote.When("faultline-redis-dir", CommandResult{0, DirectoryOf(node) + "\n", ""});
  remote.When("faultline-redis-claim", CommandResult{0, DirectoryOf(node) + "\n", ""});
}

std::vector<std::string> ScriptNames(const FakeRemote& remote) {
  std::vector<std::string> names;
  for (const FakeRemote::Record& record : remote.records()) {
    names.push_back(record.command.argv.size() >= 4 ? record.command.argv[3] : "?");
  }
  return names;
}

std::vector<std::string> ScriptArguments(const control::Command& command) {
  return std::vector<std::string>(command.argv.begin() + 4, command.argv.end());
}

TEST(RedisDbTest, SetupStartsAPrimaryAndReplicasThatWaitForTheirLink) {
  RedisDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote primary("n1");
  ScriptNode(primary, "n1");
  ASSERT_TRUE(db.Setup(test, "n1", primary).ok());
  EXPECT_EQ(ScriptNames(primary),
            (std::vector<std::string>{"faultline-redis-install", "faultline-redis-claim",
                                      "faultline-redis-start"}));
  std::vector<FakeRemote::Record> records = primary.records();
  // The claim: the directory, its marker, the database, and no owner (redis runs as root).
  EXPECT_EQ(ScriptArguments(records[1].command),
            (std::vector<std::string>{kDirectory, ".faultline-redis", "redis", ""}));
  // A fresh start (earlier data removed); the config, password included, on stdin only.
  EXPECT_EQ(ScriptArguments(records[2].command),
            (std::vector<std::string>{kDirectory, "1", "30"}));
  EXPECT_EQ(records[2].command.stdin_data,
            ConfigText(db.options(), kDirectory, "10.213.0.11", ""));
  for (const FakeRemote::Record& record : records) {
    EXPECT_EQ(record.command_line.find("pw123"), std::string::npos) << record.command_line;
  }
  EXPECT_EQ(db.LogFiles(test, "n1"),
            std::vector<std::string>{std::string(kDirectory) + "/redis.log"});

  FakeRemote replica("n2");
  ScriptNode(replica, "n2");
  ASSERT_TRUE(db.Setup(test, "n2", replica).ok());
  EXPECT_EQ(ScriptNames(replica),
            (std::vector<std::string>{"faultline-redis-install", "faultline-redis-claim",
                                      "faultline-redis-start", "faultline-redis-link"}));
  records = replica.records();
  EXPECT_EQ(records[2].command.stdin_data,
            ConfigText(db.options(), DirectoryOf("n2"), "10.213.0.12", "10.213.0.11"));
  EXPECT_EQ(ScriptArguments(records[3].command),
            (std::vector<std::string>{DirectoryOf("n2"), "30"}));
}

TEST(RedisDbTest, FaultsAndTeardownGoToTheNodesDirectory) {
  RedisOptions options = WithPassword();
  options.sudo = true;
  RedisDb db(options);
  faultline::Test test = ThreeNodes();
  FakeRemote node("n2");
  ScriptNode(node, "n2");
  ASSERT_TRUE(db.Kill(test, "n2", node).ok());
  ASSERT_TRUE(db.Start(test, "n2", node).ok());
  ASSERT_TRUE(db.Pause(test, "n2", node).ok());
  ASSERT_TRUE(db.Resume(test, "n2", node).ok());
  ASSERT_TRUE(db.Teardown(test, "n2", node).ok());
  EXPECT_EQ(ScriptNames(node),
            (std::vector<std::string>{"faultline-redis-dir", "faultline-redis-kill",
                                      "faultline-redis-start", "faultline-redis-signal",
                                      "faultline-redis-signal", "faultline-redis-kill",
                                      "faultline-redis-teardown"}));
  std::vector<FakeRemote::Record> records = node.records();
  // A restart keeps the data.
  EXPECT_EQ(ScriptArguments(records[2].command),
            (std::vector<std::string>{DirectoryOf("n2"), "0", "30"}));
  EXPECT_EQ(ScriptArguments(records[3].command),
            (std::vector<std::string>{DirectoryOf("n2"), "STOP"}));
  EXPECT_EQ(ScriptArguments(records[4].command),
            (std::vector<std::string>{DirectoryOf("n2"), "CONT"}));
  for (const FakeRemote::Record& record : records) {
    EXPECT_EQ(record.command_line.rfind("sudo -n", 0), 0u) << record.command_line;
  }
}

TEST(RedisDbTest, AFailedStartOrLinkIsAnErrorWithTheNodesOutput) {
  RedisDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote replica("n2");
  ScriptNode(replica, "n2");
  replica.When("faultline-redis-link",
               CommandResult{1, "", "the replica has no link to its primary after 30 s"});
  Status setup = db.Setup(test, "n2", replica);
  EXPECT_FALSE(setup.ok());
  EXPECT_NE(setup.message().find("no link to its primary"), std::string::npos) << setup.message();
  FakeRemote primary("n1");
  ScriptNode(primary, "n1");
  primary.When("faultline-redis-start", CommandResult{1, "", "Address already in use"});
  setup = db.Setup(test, "n1", primary);
  EXPECT_NE(setup.message().find("Address already in use"), std::string::npos);
}

TEST(RedisDbTest, EveryScriptIsValidShell) {
  RedisDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote remote("n2");
  ScriptNode(remote, "n2");
  ASSERT_TRUE(db.Setup(test, "n2", remote).ok());
  ASSERT_TRUE(db.Pause(test, "n2", remote).ok());
  RedisDb fresh(WithPassword());  // has not resolved the directory yet: dir runs
  ASSERT_TRUE(fresh.Teardown(test, "n2", remote).ok());
  std::set<std::string> names;
  control::LocalRemote local;
  for (const FakeRemote::Record& record : remote.records()) {
    names.insert(record.command.argv[3]);
    control::Command check = record.command;
    check.argv.insert(check.argv.begin() + 1, "-n");  // parse only
    check.stdin_data.clear();
    Result<CommandResult> parsed = control::Run(local, check);
    EXPECT_TRUE(parsed.ok()) << record.command.argv[3] << ": " << parsed.status().message();
  }
  // install, claim, start, link, signal, dir, kill, teardown
  EXPECT_EQ(names.size(), 8u);
}

// ---- RedisClient against a fake server ----------------------------------------------------------

// Listens on 127.0.0.1 and serves one connection: answers its AUTH with +OK, then answers the
// next command with `reply`, or closes the connection (close_after_auth), or says nothing until
// the client goes away.
class OneConnectionServer {
 public:
  enum class Then { kReply, kClose, kSilence };

  OneConnectionServer(Then then, std::string reply = "") {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, then, reply] {
      int connection = ::accept(listener_, nullptr, nullptr);
      if (connection < 0) return;
      char buffer[4096];
      if (::recv(connection, buffer, sizeof(buffer), 0) > 0) {
        ::send(connection, "+OK\r\n", 5, MSG_NOSIGNAL);
        if (::recv(connection, buffer, sizeof(buffer), 0) > 0) {
          if (then == Then::kReply) ::send(connection, reply.data(), reply.size(), MSG_NOSIGNAL);
          if (then == Then::kSilence) {
            while (::recv(connection, buffer, sizeof(buffer), 0) > 0) {
            }
          }
        }
      }
      ::close(connection);
    });
  }
  ~OneConnectionServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

faultline::Test LoopbackTest() {
  faultline::Test test;
  test.options.nodes = {"n1", "n2"};
  test.options.node_addresses = {{"n1", "127.0.0.1"}, {"n2", "127.0.0.1"}};
  test.options.operation_timeout_s = 0.3;
  return test;
}

Op RunOne(Workload workload, int port, const Op& invoke) {
  RedisOptions options = WithPassword();
  options.port = port;
  RedisClient client(options, workload);
  faultline::Test test = LoopbackTest();
  EXPECT_TRUE(client.Open(test, "n1").ok());
  Op completion = client.Invoke(test, invoke);
  client.Close(test);
  return completion;
}

TEST(RedisClientTest, AnswersBecomeOkFailOrTheValueRead) {
  {
    OneConnectionServer server(OneConnectionServer::Then::kReply, "$1\r\n3\r\n");
    Op read = RunOne(Workload::kRegister, server.port(),
                     Invocation("read", Json::array({5, nullptr})));
    EXPECT_EQ(read.type, OpType::kOk) << read.error;
    EXPECT_EQ(read.value, Json::array({5, 3}));
  }
  {
    OneConnectionServer server(OneConnectionServer::Then::kReply, ":0\r\n");
    Op cas = RunOne(Workload::kRegister, server.port(),
                    Invocation("cas", KeyedValue(5, CasValue(1, 2))));
    EXPECT_EQ(cas.type, OpType::kFail);
    EXPECT_EQ(cas.error, "compare failed");
  }
  {
    OneConnectionServer server(OneConnectionServer::Then::kReply,
                               "-READONLY You can't write against a read only replica.\r\n");
    Op add = RunOne(Workload::kSet, server.port(), Invocation("add", 4));
    EXPECT_EQ(add.type, OpType::kFail);
    EXPECT_EQ(add.error, "READONLY You can't write against a read only replica.");
  }
  {
    OneConnectionServer server(OneConnectionServer::Then::kReply,
                               "*3\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n7\r\n");
    Op read = RunOne(Workload::kSet, server.port(), Invocation("read", nullptr));
    EXPECT_EQ(read.type, OpType::kOk) << read.error;
    EXPECT_EQ(read.value, Json::array({2, 7, 10}));
  }
}

TEST(RedisClientTest, NoAnswerIsInfoForAWriteAndFailForARead) {
  {
    OneConnectionServer server(OneConnectionServer::Then::kSilence);
    Op write = RunOne(Workload::kRegister, server.port(), Invocation("write", KeyedValue(1, 2)));
    EXPECT_EQ(write.type, OpType::kInfo);
    EXPECT_EQ(write.error, "timeout: no answer within the operation timeout");
  }
  {
    OneConnectionServer server(OneConnectionServer::Then::kSilence);
    Op read = RunOne(Workload::kRegister, server.port(),
                     Invocation("read", Json::array({1, nullptr})));
    EXPECT_EQ(read.type, OpType::kFail);
    EXPECT_EQ(ErrorOf(read).rfind("timeout: ", 0), 0u) << read.error;
  }
  {
    OneConnectionServer server(OneConnectionServer::Then::kClose);
    Op add = RunOne(Workload::kSet, server.port(), Invocation("add", 9));
    EXPECT_EQ(add.type, OpType::kInfo);
    EXPECT_EQ(ErrorOf(add).rfind("connection: ", 0), 0u) << add.error;
  }
}

TEST(RedisClientTest, ARefusedConnectionIsFailEvenForAWrite) {
  int port = 0;
  {
    OneConnectionServer server(OneConnectionServer::Then::kClose);  // a port nobody then uses
    port = server.port();
    int connection = ::socket(AF_INET, SOCK_STREAM, 0);  // lets the server's thread end
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    ::connect(connection, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::close(connection);
  }
  Op write = RunOne(Workload::kRegister, port, Invocation("write", KeyedValue(1, 2)));
  EXPECT_EQ(write.type, OpType::kFail);
  EXPECT_NE(ErrorOf(write).find("Connection refused"), std::string::npos) << write.error;
}

}  // namespace
}  // namespace faultline::redis
