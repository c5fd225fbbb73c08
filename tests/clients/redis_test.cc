// Redis without a cluster: the commands each op becomes, how an answer is read, the config file,
// how an error becomes fail or info (Jepsen's rules), --db redis's flag and workloads, the exact
// scripts RedisDb sends through control::FakeRemote, and RedisClient against a one-connection fake
// server on 127.0.0.1 (refused, silent, closing).
#include "clients/redis/redis.h"

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
  EXPECT_EQ(Arguments(cas),
            (std::vector<std::string>{"EVAL", kCasScript, "1", "faultline:register:7", "1", "2"}));
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
    EXPECT_EQ(Classify(AFailure(false), writes), OpType::kFail);       // nothing sent
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
  std::string replica =
      ConfigText(options, "/var/lib/faultline-redis-n2", "10.213.0.12", "10.213.0.11");
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
            "--db redis runs the register, set and session workloads, not list-append");
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

// ---- Sentinel: its config, the primary it names, the flag ---------------------------------------

TEST(RedisSentinelTest, TheConfigMonitorsThePrimaryWithAMajorityQuorumAndShortTimeouts) {
  RedisOptions options;
  options.password = "pw123";
  std::string three = SentinelConfigText(options, kDirectory, "10.213.0.12", "10.213.0.11", 3);
  for (const char* line :
       {"bind 10.213.0.12\n", "port 26379\n", "daemonize yes\n",
        "pidfile /var/lib/faultline-redis-n1/sentinel.pid\n",
        "logfile /var/lib/faultline-redis-n1/sentinel.log\n", "dir /var/lib/faultline-redis-n1\n",
        "requirepass pw123\n", "sentinel sentinel-pass pw123\n",
        "sentinel monitor faultline 10.213.0.11 6379 2\n", "sentinel auth-pass faultline pw123\n",
        "sentinel down-after-milliseconds faultline 1000\n",
        "sentinel failover-timeout faultline 3000\n"}) {
    EXPECT_NE(three.find(line), std::string::npos) << line << " missing from\n" << three;
  }
  options.down_after_ms = 2000;
  std::string five = SentinelConfigText(options, kDirectory, "10.213.0.12", "10.213.0.11", 5);
  EXPECT_NE(five.find("sentinel monitor faultline 10.213.0.11 6379 3\n"), std::string::npos);
  EXPECT_NE(five.find("sentinel down-after-milliseconds faultline 2000\n"), std::string::npos);
  options.sentinel_port = options.port;
  EXPECT_EQ(ValidateOptions(options).message(),
            "redis sentinel port must be in 1..65535 and not the port");
  options = RedisOptions();
  options.down_after_ms = 10;
  EXPECT_FALSE(ValidateOptions(options).ok());
}

TEST(RedisSentinelTest, ThePrimaryIsTheHostOfTheSentinelsAnswer) {
  Result<std::string> primary = ParsePrimaryAddress({"10.213.0.13", "6379"}, 6379);
  ASSERT_TRUE(primary.ok()) << primary.status().message();
  EXPECT_EQ(*primary, "10.213.0.13");
  EXPECT_EQ(ParsePrimaryAddress({}, 6379).status().message(),
            "the sentinel names no primary faultline (it answered 0 elements)");
  EXPECT_EQ(ParsePrimaryAddress({""}, 6379).status().message(),
            "the sentinel names no primary faultline (it answered 1 elements)");
  EXPECT_EQ(ParsePrimaryAddress({"10.213.0.13", "6380"}, 6379).status().message(),
            "the sentinel names the primary 10.213.0.13:6380, not on port 6379");
}

TEST(RedisSentinelTest, TheFailoverFlagChoosesSentinelAndWaitsForItAfterTheHeal) {
  clients::WorkloadOptions workload = RedisWorkload("set");
  Result<faultline::Test> test = clients::BuildTest(ThreeNodeOptions(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().failover, Failover::kNone);
  workload.db_flags["failover"] = {"sentinel"};
  test = clients::BuildTest(ThreeNodeOptions(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().failover, Failover::kSentinel);
  EXPECT_EQ(test->options.recovery_s, 0);  // no fault, nothing to recover from
  workload.nemesis = "partition";
  test = clients::BuildTest(ThreeNodeOptions(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(test->options.recovery_s, 12);
  workload.db_flags["failover"] = {"raft"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--failover: expected none or sentinel, found \"raft\"");
}

// ---- the session workload's transactions
// ---------------------------------------------------------

TEST(RedisSessionTest, AppendsReadsAndReadThenAppendAreOneCommandEach) {
  Json append = Json::array({MicroOpJson(MicroOpKind::kAppend, 4, 7)});
  Result<Command> push = SessionCommand(Invocation("txn", append));
  EXPECT_EQ(Arguments(push), (std::vector<std::string>{"RPUSH", "faultline:list:4", "7"}));
  EXPECT_TRUE(push->writes);
  Json read = Json::array({MicroOpJson(MicroOpKind::kRead, 4, nullptr)});
  Result<Command> range = SessionCommand(Invocation("txn", read));
  EXPECT_EQ(Arguments(range), (std::vector<std::string>{"LRANGE", "faultline:list:4", "0", "-1"}));
  EXPECT_FALSE(range->writes);  // so it may go to a replica
  Json both = Json::array(
      {MicroOpJson(MicroOpKind::kRead, 4, nullptr), MicroOpJson(MicroOpKind::kAppend, 4, 8)});
  Result<Command> script = SessionCommand(Invocation("txn", both));
  EXPECT_EQ(Arguments(script),
            (std::vector<std::string>{"EVAL", kReadAppendScript, "1", "faultline:list:4", "8"}));
  EXPECT_TRUE(script->writes);

  Result<Json> value = SessionValue(both, {"1", "3"});
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(*value, Json::array({MicroOpJson(MicroOpKind::kRead, 4, Json::array({1, 3})),
                                 MicroOpJson(MicroOpKind::kAppend, 4, 8)}));
  EXPECT_EQ(*SessionValue(read, {}),
            Json::array({MicroOpJson(MicroOpKind::kRead, 4, Json::array())}));
  EXPECT_EQ(*SessionValue(append, {}), append);
  EXPECT_EQ(SessionValue(read, {"x"}).status().message(), "redis: \"x\" is not an integer");
}

TEST(RedisSessionTest, OtherShapesAreRefused) {
  Json two_keys = Json::array(
      {MicroOpJson(MicroOpKind::kRead, 4, nullptr), MicroOpJson(MicroOpKind::kAppend, 5, 8)});
  EXPECT_EQ(SessionCommand(Invocation("txn", two_keys)).status().message(),
            "redis: the session workload runs an append, a read, or a read then an append of one "
            "key, not " +
                two_keys.dump());
  EXPECT_EQ(SessionCommand(Invocation("read", nullptr)).status().message(),
            "redis: the session workload has no op read");
  EXPECT_EQ(
      SessionCommand(Invocation("txn", Json::array({MicroOpJson(MicroOpKind::kAppend, 4, "x")})))
          .status()
          .message(),
      "redis: the appended \"x\" is not an integer");
  EXPECT_FALSE(SessionCommand(Invocation("txn", 3)).ok());
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
  EXPECT_EQ(ScriptArguments(records[2].command), (std::vector<std::string>{kDirectory, "1", "30"}));
  EXPECT_EQ(records[2].command.stdin_data, ConfigText(db.options(), kDirectory, "10.213.0.11", ""));
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

RedisOptions WithSentinel() {
  RedisOptions options = WithPassword();
  options.failover = Failover::kSentinel;
  return options;
}

TEST(RedisDbTest, WithSentinelEveryNodeStartsASentinelOnceThePrimaryHasItsReplicas) {
  RedisDb db(WithSentinel());
  faultline::Test test = ThreeNodes();
  FakeRemote replica("n2");
  ScriptNode(replica, "n2");
  ASSERT_TRUE(db.Setup(test, "n2", replica).ok());
  EXPECT_EQ(ScriptNames(replica),
            (std::vector<std::string>{"faultline-redis-install", "faultline-redis-claim",
                                      "faultline-redis-start", "faultline-redis-link",
                                      "faultline-redis-sentinel"}));
  std::vector<FakeRemote::Record> records = replica.records();
  // The primary's address and port, the sentinel's port, the replicas (and other sentinels) it
  // waits for, the name it monitors, the timeout.
  EXPECT_EQ(ScriptArguments(records[4].command),
            (std::vector<std::string>{DirectoryOf("n2"), "10.213.0.11", "6379", "26379", "2",
                                      "faultline", "30"}));
  EXPECT_EQ(records[4].command.stdin_data,
            SentinelConfigText(db.options(), DirectoryOf("n2"), "10.213.0.12", "10.213.0.11", 3));
  for (const FakeRemote::Record& record : records) {
    EXPECT_EQ(record.command_line.find("pw123"), std::string::npos) << record.command_line;
  }
  EXPECT_EQ(db.LogFiles(test, "n2"),
            (std::vector<std::string>{DirectoryOf("n2") + "/redis.log",
                                      DirectoryOf("n2") + "/sentinel.log"}));
  replica.When("faultline-redis-sentinel",
               CommandResult{1, "", "the sentinel in /x does not know 2 replicas"});
  Status failed = db.Setup(test, "n2", replica);
  EXPECT_NE(failed.message().find("does not know 2 replicas"), std::string::npos)
      << failed.message();
}

TEST(RedisDbTest, WithSentinelARestartFollowsThePrimaryTheSentinelNames) {
  RedisDb db(WithSentinel());
  faultline::Test test = ThreeNodes();
  FakeRemote old_primary("n1");
  ScriptNode(old_primary, "n1");
  old_primary.When("faultline-redis-primary", CommandResult{0, "10.213.0.13\n6379\n", ""});
  ASSERT_TRUE(db.Kill(test, "n1", old_primary).ok());
  ASSERT_TRUE(db.Start(test, "n1", old_primary).ok());
  ASSERT_TRUE(db.Teardown(test, "n1", old_primary).ok());
  EXPECT_EQ(ScriptNames(old_primary),
            (std::vector<std::string>{"faultline-redis-dir", "faultline-redis-kill",
                                      "faultline-redis-primary", "faultline-redis-start",
                                      "faultline-redis-kill", "faultline-redis-kill",
                                      "faultline-redis-teardown"}));
  std::vector<FakeRemote::Record> records = old_primary.records();
  EXPECT_EQ(ScriptArguments(records[1].command),
            (std::vector<std::string>{kDirectory, "redis-server"}));
  EXPECT_EQ(ScriptArguments(records[2].command),
            (std::vector<std::string>{kDirectory, "26379", "faultline"}));
  // n1 comes back as a replica of n3, which Sentinel promoted.
  EXPECT_EQ(records[3].command.stdin_data,
            ConfigText(db.options(), kDirectory, "10.213.0.11", "10.213.0.13"));
  EXPECT_EQ(ScriptArguments(records[4].command),
            (std::vector<std::string>{kDirectory, "redis-sentinel"}));
  EXPECT_EQ(ScriptArguments(records[5].command),
            (std::vector<std::string>{kDirectory, "redis-server"}));

  // A sentinel naming this node, or none: the config it had (the primary, here).
  FakeRemote primary("n1");
  ScriptNode(primary, "n1");
  primary.When("faultline-redis-primary", CommandResult{1, "", "Could not connect"});
  ASSERT_TRUE(db.Start(test, "n1", primary).ok());
  EXPECT_EQ(primary.records().back().command.stdin_data,
            ConfigText(db.options(), kDirectory, "10.213.0.11", ""));
}

TEST(RedisDbTest, EveryScriptIsValidShell) {
  RedisDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote remote("n2");
  ScriptNode(remote, "n2");
  ASSERT_TRUE(db.Setup(test, "n2", remote).ok());
  ASSERT_TRUE(db.Pause(test, "n2", remote).ok());
  RedisDb fresh(WithSentinel());  // has not resolved the directory yet: dir runs
  ASSERT_TRUE(fresh.Setup(test, "n2", remote).ok());
  ASSERT_TRUE(fresh.Start(test, "n2", remote).ok());
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
  // install, claim, start, link, signal, sentinel, primary, kill, teardown
  EXPECT_EQ(names.size(), 9u);
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
    Op read =
        RunOne(Workload::kRegister, server.port(), Invocation("read", Json::array({5, nullptr})));
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
    Op read =
        RunOne(Workload::kRegister, server.port(), Invocation("read", Json::array({1, nullptr})));
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

TEST(RedisClientTest, WithSentinelWritesGoToThePrimaryASentinelNames) {
  OneConnectionServer primary(OneConnectionServer::Then::kReply, ":1\r\n");
  std::string port = std::to_string(primary.port());
  OneConnectionServer sentinel(
      OneConnectionServer::Then::kReply,
      "*2\r\n$9\r\n127.0.0.1\r\n$" + std::to_string(port.size()) + "\r\n" + port + "\r\n");
  RedisOptions options = WithSentinel();
  options.port = primary.port();
  options.sentinel_port = sentinel.port();
  RedisClient client(options, Workload::kSet);
  faultline::Test test = LoopbackTest();
  test.options.node_addresses["n1"] = "127.0.0.2";  // the first node is not the primary
  ASSERT_TRUE(client.Open(test, "n2").ok());
  Op add = client.Invoke(test, Invocation("add", 4));
  EXPECT_EQ(add.type, OpType::kOk) << add.error;
  client.Close(test);
}

TEST(RedisClientTest, WithSentinelNoSentinelAnsweringIsFail) {
  RedisOptions options = WithSentinel();
  options.port = 1;
  options.sentinel_port = 2;  // nothing listens on 127.0.0.1:2
  RedisClient client(options, Workload::kSet);
  faultline::Test test = LoopbackTest();
  ASSERT_TRUE(client.Open(test, "n1").ok());
  Op add = client.Invoke(test, Invocation("add", 4));
  EXPECT_EQ(add.type, OpType::kFail);
  EXPECT_EQ(ErrorOf(add).rfind("connection: no sentinel named the primary (127.0.0.1: ", 0), 0u)
      << add.error;
}

}  // namespace
}  // namespace faultline::redis
