// PostgreSQL without a server: the SQL each micro-op becomes, how a server's answer is read, how
// an error becomes fail or info (Jepsen's rules), --db postgres's flag and workloads, and the
// exact commands PostgresDb sends through control::FakeRemote.
#include "clients/postgres/postgres.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "clients/db_kind.h"
#include "runner/control/fake_remote.h"
#include "runner/control/local_remote.h"

namespace faultline::postgres {
namespace {

using control::CommandResult;
using control::FakeRemote;

constexpr char kDirectory[] = "/var/lib/faultline-postgres-n1";

MicroOp Parsed(const Json& micro_op, TxnKind kind) {
  MicroOp parsed;
  Status status = ParseMicroOp(micro_op, kind, &parsed);
  EXPECT_TRUE(status.ok()) << status.message();
  return parsed;
}

TEST(PostgresSqlTest, EachMicroOpIsOneStatementWithTheKeyAndValueAsParameters) {
  Json append = Json::array({"append", 3, 7});
  Result<Statement> statement =
      MicroOpStatement(Parsed(append, TxnKind::kListAppend), TxnKind::kListAppend);
  ASSERT_TRUE(statement.ok()) << statement.status().message();
  EXPECT_EQ(statement->sql,
            "INSERT INTO faultline_lists AS t (k, v) VALUES ($1, ARRAY[$2::bigint]) ON CONFLICT "
            "(k) DO UPDATE SET v = t.v || $2::bigint");
  EXPECT_EQ(statement->parameters, (std::vector<std::string>{"3", "7"}));

  Json write = Json::array({"w", 4, 9});
  statement = MicroOpStatement(Parsed(write, TxnKind::kRwRegister), TxnKind::kRwRegister);
  ASSERT_TRUE(statement.ok());
  EXPECT_EQ(statement->sql,
            "INSERT INTO faultline_registers AS t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO "
            "UPDATE SET v = excluded.v");
  EXPECT_EQ(statement->parameters, (std::vector<std::string>{"4", "9"}));

  Json read = Json::array({"r", 5, nullptr});
  statement = MicroOpStatement(Parsed(read, TxnKind::kListAppend), TxnKind::kListAppend);
  ASSERT_TRUE(statement.ok());
  EXPECT_EQ(statement->sql, "SELECT v FROM faultline_lists WHERE k = $1");
  EXPECT_EQ(statement->parameters, std::vector<std::string>{"5"});
  statement = MicroOpStatement(Parsed(read, TxnKind::kRwRegister), TxnKind::kRwRegister);
  ASSERT_TRUE(statement.ok());
  EXPECT_EQ(statement->sql, "SELECT v FROM faultline_registers WHERE k = $1");
}

TEST(PostgresSqlTest, AKeyOrValueThatIsNoIntegerIsRefusedNamingTheMicroOp) {
  Json text_key = Json::array({"append", "x", 1});
  EXPECT_EQ(MicroOpStatement(Parsed(text_key, TxnKind::kListAppend), TxnKind::kListAppend)
                .status()
                .message(),
            "postgres: the key of micro-op [append, \"x\", 1] is not an integer");
  Json text_value = Json::array({"w", 1, "a"});
  EXPECT_EQ(MicroOpStatement(Parsed(text_value, TxnKind::kRwRegister), TxnKind::kRwRegister)
                .status()
                .message(),
            "postgres: the value of micro-op [w, 1, \"a\"] is not an integer");
}

TEST(PostgresSqlTest, BeginNamesTheIsolationLevelAndTheTablesAreMadeAfresh) {
  EXPECT_EQ(BeginSql(Isolation::kReadCommitted), "BEGIN ISOLATION LEVEL READ COMMITTED");
  EXPECT_EQ(BeginSql(Isolation::kRepeatableRead), "BEGIN ISOLATION LEVEL REPEATABLE READ");
  EXPECT_EQ(BeginSql(Isolation::kSerializable), "BEGIN ISOLATION LEVEL SERIALIZABLE");
  std::string tables = CreateTablesSql();
  EXPECT_NE(tables.find("DROP TABLE IF EXISTS faultline_lists, faultline_registers"),
            std::string::npos);
  EXPECT_NE(tables.find("CREATE TABLE faultline_lists (k bigint PRIMARY KEY, v bigint[]"),
            std::string::npos);
  EXPECT_NE(tables.find("CREATE TABLE faultline_registers (k bigint PRIMARY KEY, v bigint"),
            std::string::npos);
  for (const std::string& name : IsolationNames()) {
    Result<Isolation> parsed = ParseIsolation(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(ToString(*parsed), name);
  }
  EXPECT_FALSE(ParseIsolation("snapshot").ok());
}

TEST(PostgresSqlTest, AReadsValueIsNilAListOrAnInteger) {
  EXPECT_EQ(*ReadValue(TxnKind::kListAppend, std::nullopt), Json(nullptr));
  EXPECT_EQ(*ReadValue(TxnKind::kRwRegister, std::nullopt), Json(nullptr));
  EXPECT_EQ(*ReadValue(TxnKind::kListAppend, "{1,2,30}"), Json::array({1, 2, 30}));
  EXPECT_EQ(*ReadValue(TxnKind::kListAppend, "{}"), Json::array());
  EXPECT_EQ(*ReadValue(TxnKind::kListAppend, "{-4}"), Json::array({-4}));
  EXPECT_EQ(*ReadValue(TxnKind::kRwRegister, "17"), Json(17));
  EXPECT_EQ(ReadValue(TxnKind::kListAppend, "{1,x}").status().message(),
            "postgres: \"x\" is not an integer");
  EXPECT_FALSE(ReadValue(TxnKind::kListAppend, "{1,}").ok());
  EXPECT_FALSE(ReadValue(TxnKind::kListAppend, "1,2").ok());
  EXPECT_FALSE(ReadValue(TxnKind::kRwRegister, "17 ").ok());
  EXPECT_FALSE(ReadValue(TxnKind::kRwRegister, "").ok());
}

Failure AFailure(Stage stage, std::string sqlstate, bool timed_out = false) {
  Failure failure;
  failure.stage = stage;
  failure.answered = !sqlstate.empty();
  failure.sqlstate = std::move(sqlstate);
  failure.timed_out = timed_out;
  failure.message = "m";
  return failure;
}

TEST(PostgresOutcomeTest, OnlyNoAnswerToCommitOfAWritingTransactionIsInfo) {
  // Before COMMIT was sent nothing can have committed, whatever happened.
  for (Stage stage : {Stage::kConnect, Stage::kBody}) {
    EXPECT_EQ(Classify(AFailure(stage, ""), true), OpType::kFail);
    EXPECT_EQ(Classify(AFailure(stage, "", true), true), OpType::kFail);
    EXPECT_EQ(Classify(AFailure(stage, "40001"), true), OpType::kFail);
    EXPECT_EQ(Classify(AFailure(stage, "08006"), true), OpType::kFail);
  }
  // The server answered COMMIT about the transaction: it rolled it back.
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, "40001"), true), OpType::kFail);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, "40P01"), true), OpType::kFail);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, "23505"), true), OpType::kFail);
  // No answer, a timeout, or the connection going away: it may have committed.
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, ""), true), OpType::kInfo);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, "", true), true), OpType::kInfo);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, "08006"), true), OpType::kInfo);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, "57P01"), true), OpType::kInfo);
  // A transaction that writes nothing changes nothing, committed or not.
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, ""), false), OpType::kFail);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, "", true), false), OpType::kFail);
}

TEST(PostgresOutcomeTest, TheErrorNamesWhatHappened) {
  EXPECT_EQ(ErrorText(AFailure(Stage::kCommit, "40001")), "serialization-failure: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kBody, "40P01")), "deadlock: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kBody, "57014")), "timeout: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kCommit, "", true)), "timeout: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kCommit, "")), "connection: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kCommit, "57P01")), "connection: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kBody, "23505")), "23505: m");
  EXPECT_TRUE(IsConnectionState("08001"));
  EXPECT_FALSE(IsConnectionState("40001"));
}

TEST(PostgresOptionsTest, TheDirectoryIsPerNodeAbsoluteAndRemovable) {
  PostgresOptions options;
  EXPECT_EQ(NodeDirectory(options, "n1"), kDirectory);
  options.password = "abc";
  EXPECT_TRUE(ValidateOptions(options).ok());
  for (const char* directory : {"", "/", "relative/{node}", "/var/lib/../{node}", "//."}) {
    options.directory = directory;
    EXPECT_FALSE(ValidateOptions(options).ok()) << directory;
  }
  options = PostgresOptions();
  options.password = "a'b";
  EXPECT_FALSE(ValidateOptions(options).ok());
  options = PostgresOptions();
  options.port = 0;
  EXPECT_FALSE(ValidateOptions(options).ok());
}

// ---- --db postgres
// -------------------------------------------------------------------------------

TestOptions ThreeNodeOptions() {
  TestOptions options;
  options.nodes = {"n1", "n2", "n3"};
  options.node_addresses = {{"n1", "10.213.0.11"}, {"n2", "10.213.0.12"}, {"n3", "10.213.0.13"}};
  options.concurrency = 3;
  return options;
}

clients::WorkloadOptions PostgresWorkload(const std::string& workload) {
  clients::WorkloadOptions options;
  options.db = "postgres";
  options.workload = workload;
  return options;
}

const PostgresDb& DbOf(const faultline::Test& test) {
  return dynamic_cast<const PostgresDb&>(*test.db);
}

TEST(PostgresKindTest, IsolationDefaultsToSerializableAndReachesTheDb) {
  Result<faultline::Test> test =
      clients::BuildTest(ThreeNodeOptions(), PostgresWorkload("list-append"));
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().isolation, Isolation::kSerializable);
  // A password per test, made of characters the connection string carries as they are.
  EXPECT_EQ(DbOf(*test).options().password.size(), 24u);
  clients::WorkloadOptions workload = PostgresWorkload("rw-register");
  workload.db_flags["isolation"] = {"repeatable-read"};
  test = clients::BuildTest(ThreeNodeOptions(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().isolation, Isolation::kRepeatableRead);
  ASSERT_TRUE(test->new_client);
  EXPECT_NE(dynamic_cast<PostgresClient*>(test->new_client().get()), nullptr);
}

// A server that cannot be reached fails the op, after a pause, so that a thread does not fail
// thousands of ops a second while the primary is down. The "address" is a socket directory that
// does not exist: libpq fails at once, with no network traffic.
TEST(PostgresClientTest, AnOpThatCannotConnectFailsAfterThePause) {
  faultline::Test test;
  test.options.nodes = {"n1"};
  test.options.node_addresses = {{"n1", "/nonexistent-faultline-socket-directory"}};
  test.options.operation_timeout_s = 1;
  PostgresClient client(PostgresOptions{}, TxnKind::kListAppend);
  EXPECT_FALSE(client.Open(test, "n1").ok());
  Op invoke;
  invoke.type = OpType::kInvoke;
  invoke.process = 0;
  invoke.f = "txn";
  invoke.value = Json::array({Json::array({"append", 1, 2})});
  const auto started = std::chrono::steady_clock::now();
  Op completion = client.Invoke(test, invoke);
  EXPECT_GE(std::chrono::steady_clock::now() - started, kReconnectPause);
  EXPECT_EQ(completion.type, OpType::kFail);
  EXPECT_EQ(completion.error.get<std::string>().rfind("connection: ", 0), 0u) << completion.error;
}

TEST(PostgresKindTest, BadValuesOtherWorkloadsAndOtherDatabasesFlagsAreRefused) {
  clients::WorkloadOptions workload = PostgresWorkload("list-append");
  workload.db_flags["isolation"] = {"snapshot"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--isolation: expected read-committed, repeatable-read or serializable, found "
            "\"snapshot\"");
  workload = PostgresWorkload("register");
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--db postgres runs the list-append, rw-register and session workloads, not register");
  workload = PostgresWorkload("list-append");
  workload.db_flags["read-consistency"] = {"serializable"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--read-consistency applies to --db etcd, not --db postgres");
  clients::WorkloadOptions etcd;
  etcd.db = "etcd";
  etcd.db_flags["isolation"] = {"serializable"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), etcd).status().message(),
            "--isolation applies to --db postgres or --db galera, not --db etcd");
}

// --replicas counts the nodes after the primary; --read-from replica needs one.
TEST(PostgresKindTest, ReplicasAndReadFromReachTheOptionsWithinTheNodes) {
  clients::WorkloadOptions workload = PostgresWorkload("session");
  workload.db_flags["replicas"] = {"2"};
  workload.db_flags["read-from"] = {"replica"};
  Result<faultline::Test> test = clients::BuildTest(ThreeNodeOptions(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().replicas, 2);
  EXPECT_TRUE(DbOf(*test).options().read_from_replica);
  workload.db_flags["replicas"] = {"3"};  // three nodes: at most two standbys
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--replicas: expected 0..2 (the nodes after the primary), found \"3\"");
  workload.db_flags["replicas"] = {"0"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--read-from replica needs --replicas 1 or more");
}

TEST(PostgresOptionsTest, TheFirstNodeIsThePrimaryTheNextReplicasAreStandbys) {
  PostgresOptions options;
  options.replicas = 1;
  const TestOptions nodes = ThreeNodeOptions();
  EXPECT_EQ(NodeRole(options, nodes, "n1"), Role::kPrimary);
  EXPECT_EQ(NodeRole(options, nodes, "n2"), Role::kStandby);
  EXPECT_EQ(NodeRole(options, nodes, "n3"), Role::kNone);
  EXPECT_EQ(NodeRole(options, nodes, "n9"), Role::kNone);
}

// ---- PostgresDb through FakeRemote
// -------------------------------------------------------------------

faultline::Test ThreeNodes() {
  faultline::Test test;
  test.options = ThreeNodeOptions();
  return test;
}

PostgresOptions WithPassword() {
  PostgresOptions options;
  options.password = "pw123";
  return options;
}

void ScriptNode(FakeRemote& remote) {
  remote.When("faultline-postgres-dir", CommandResult{0, std::string(kDirectory) + "\n", ""});
  remote.When("faultline-postgres-claim", CommandResult{0, std::string(kDirectory) + "\n", ""});
}

std::vector<std::string> ScriptNames(const FakeRemote& remote) {
  std::vector<std::string> names;
  for (const FakeRemote::Record& record : remote.records()) {
    names.push_back(record.command.argv.size() >= 4 ? record.command.argv[3] : "?");
  }
  return names;
}

std::vector<std::string> Arguments(const control::Command& command) {
  return std::vector<std::string>(command.argv.begin() + 4, command.argv.end());
}

TEST(PostgresDbTest, SetupStartsThePrimaryOnTheFirstNodeAndMakesTheTables) {
  PostgresDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote primary("n1");
  ScriptNode(primary);
  ASSERT_TRUE(db.Setup(test, "n1", primary).ok());
  EXPECT_EQ(ScriptNames(primary),
            (std::vector<std::string>{"faultline-postgres-install", "faultline-postgres-claim",
                                      "faultline-postgres-start", "faultline-postgres-tables"}));
  std::vector<FakeRemote::Record> records = primary.records();
  // The claim: the directory, its marker, the database, and postgres as its owner.
  EXPECT_EQ(Arguments(records[1].command),
            (std::vector<std::string>{kDirectory, ".faultline-postgres", "postgres", "postgres"}));
  // The node's address and port, the user, the start timeout; the password on stdin only.
  EXPECT_EQ(Arguments(records[2].command),
            (std::vector<std::string>{kDirectory, "5432", "10.213.0.11", "faultline", "60", ""}));
  EXPECT_EQ(records[2].command.stdin_data, "pw123\n");
  EXPECT_EQ(records[2].command_line.find("pw123"), std::string::npos);
  EXPECT_EQ(Arguments(records[3].command),
            (std::vector<std::string>{kDirectory, "5432", "faultline", CreateTablesSql()}));
  for (const FakeRemote::Record& record : records) EXPECT_FALSE(record.command.sudo);
  EXPECT_EQ(db.LogFiles(test, "n1"),
            std::vector<std::string>{std::string(kDirectory) + "/postgres.log"});

  // The other nodes run nothing, and have nothing to fault or download.
  FakeRemote other("n2");
  ASSERT_TRUE(db.Setup(test, "n2", other).ok());
  ASSERT_TRUE(db.Kill(test, "n2", other).ok());
  ASSERT_TRUE(db.Pause(test, "n2", other).ok());
  ASSERT_TRUE(db.Teardown(test, "n2", other).ok());
  EXPECT_EQ(other.command_count(), 0u);
  EXPECT_TRUE(db.LogFiles(test, "n2").empty());
}

// A standby is set up from the primary: the start script gets the primary's address (it waits
// for it and takes a base backup), and no tables are made there.
TEST(PostgresDbTest, AStandbyStartsFromThePrimaryAndMakesNoTables) {
  PostgresOptions options = WithPassword();
  options.replicas = 1;
  PostgresDb db(options);
  faultline::Test test = ThreeNodes();
  FakeRemote standby("n2");
  ScriptNode(standby);
  ASSERT_TRUE(db.Setup(test, "n2", standby).ok());
  EXPECT_EQ(ScriptNames(standby),
            (std::vector<std::string>{"faultline-postgres-install", "faultline-postgres-claim",
                                      "faultline-postgres-start"}));
  const std::vector<FakeRemote::Record> records = standby.records();
  const std::vector<std::string> arguments = Arguments(records[2].command);
  ASSERT_EQ(arguments.size(), 6u);
  EXPECT_EQ(arguments[2], "10.213.0.12");  // it listens on its own address
  EXPECT_EQ(arguments[5], "10.213.0.11");  // and replicates from the primary's
  EXPECT_EQ(records[2].command.stdin_data, "pw123\n");
  EXPECT_EQ(db.LogFiles(test, "n2").size(), 1u);
}

TEST(PostgresDbTest, FaultsAndTeardownGoToThePrimarysDirectory) {
  PostgresOptions options = WithPassword();
  options.sudo = true;
  PostgresDb db(options);
  faultline::Test test = ThreeNodes();
  FakeRemote primary("n1");
  ScriptNode(primary);
  ASSERT_TRUE(db.Kill(test, "n1", primary).ok());
  ASSERT_TRUE(db.Start(test, "n1", primary).ok());
  ASSERT_TRUE(db.Pause(test, "n1", primary).ok());
  ASSERT_TRUE(db.Resume(test, "n1", primary).ok());
  ASSERT_TRUE(db.Teardown(test, "n1", primary).ok());
  EXPECT_EQ(ScriptNames(primary),
            (std::vector<std::string>{"faultline-postgres-dir", "faultline-postgres-kill",
                                      "faultline-postgres-start", "faultline-postgres-signal",
                                      "faultline-postgres-signal", "faultline-postgres-stop",
                                      "faultline-postgres-teardown"}));
  std::vector<FakeRemote::Record> records = primary.records();
  EXPECT_EQ(Arguments(records[3].command), (std::vector<std::string>{kDirectory, "STOP"}));
  EXPECT_EQ(Arguments(records[4].command), (std::vector<std::string>{kDirectory, "CONT"}));
  for (const FakeRemote::Record& record : records) {
    EXPECT_TRUE(record.command.sudo) << record.command_line;
    EXPECT_EQ(record.command_line.rfind("sudo -n", 0), 0u) << record.command_line;
  }
}

TEST(PostgresDbTest, ATeardownWhoseStopFailsKillsAndAFailedKillStopsIt) {
  PostgresDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote primary("n1");
  ScriptNode(primary);
  primary.When("faultline-postgres-stop", CommandResult{1, "", "pg_ctl stop failed"});
  primary.When("faultline-postgres-kill", CommandResult{1, "", "postgres 7 still alive"});
  Status torn_down = db.Teardown(test, "n1", primary);
  EXPECT_FALSE(torn_down.ok());
  EXPECT_NE(torn_down.message().find("postgres 7 still alive"), std::string::npos)
      << torn_down.message();
  EXPECT_EQ(ScriptNames(primary),
            (std::vector<std::string>{"faultline-postgres-dir", "faultline-postgres-stop",
                                      "faultline-postgres-kill"}));
}

TEST(PostgresDbTest, AFailedStartIsAnErrorWithTheNodesOutput) {
  PostgresDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote primary("n1");
  ScriptNode(primary);
  primary.When("faultline-postgres-start",
               CommandResult{1, "", "initdb failed; the end of initdb.log:\nno space left"});
  Status setup = db.Setup(test, "n1", primary);
  EXPECT_FALSE(setup.ok());
  EXPECT_NE(setup.message().find("no space left"), std::string::npos) << setup.message();
  EXPECT_EQ(ScriptNames(primary).back(), "faultline-postgres-start");  // no tables after it
}

TEST(PostgresDbTest, EveryScriptIsValidShell) {
  PostgresDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote remote("n1");
  ScriptNode(remote);
  ASSERT_TRUE(db.Setup(test, "n1", remote).ok());
  ASSERT_TRUE(db.Kill(test, "n1", remote).ok());
  ASSERT_TRUE(db.Pause(test, "n1", remote).ok());
  PostgresDb fresh(WithPassword());  // has not resolved the directory yet: dir runs
  ASSERT_TRUE(fresh.Teardown(test, "n1", remote).ok());
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
  // install, claim, start, tables, kill, signal, dir, stop, teardown
  EXPECT_EQ(names.size(), 9u);
}

}  // namespace
}  // namespace faultline::postgres
