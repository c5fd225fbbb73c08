// MariaDB Galera Cluster without a server: the SQL each micro-op becomes, the node's my.cnf, how an
// answer is read, how an error becomes fail or info (Jepsen's rules), --db galera's flag and
// workloads, and the exact commands GaleraDb sends through control::FakeRemote.
#include "clients/galera/galera.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "clients/db_kind.h"
#include "generators/combinators.h"
#include "runner/control/fake_remote.h"
#include "runner/control/local_remote.h"

namespace faultline::galera {
namespace {

using control::CommandResult;
using control::FakeRemote;

constexpr char kDirectory[] = "/var/lib/faultline-galera-n1";

MicroOp Parsed(const Json& micro_op, TxnKind kind) {
  MicroOp parsed;
  Status status = ParseMicroOp(micro_op, kind, &parsed);
  EXPECT_TRUE(status.ok()) << status.message();
  return parsed;
}

std::string Sql(const Json& micro_op, TxnKind kind) {
  Result<std::string> sql = MicroOpSql(Parsed(micro_op, kind), kind);
  EXPECT_TRUE(sql.ok()) << sql.status().message();
  return sql.ok() ? *sql : "";
}

TEST(GaleraSqlTest, EachMicroOpIsOneStatementWithIntegerLiterals) {
  EXPECT_EQ(Sql(Json::array({"append", 3, 7}), TxnKind::kListAppend),
            "INSERT INTO lists (k, v) VALUES (3, '7') ON DUPLICATE KEY UPDATE v = CONCAT(v, "
            "',7')");
  EXPECT_EQ(Sql(Json::array({"append", -2, 11}), TxnKind::kListAppend),
            "INSERT INTO lists (k, v) VALUES (-2, '11') ON DUPLICATE KEY UPDATE v = CONCAT(v, "
            "',11')");
  EXPECT_EQ(Sql(Json::array({"w", 4, 9}), TxnKind::kRwRegister),
            "INSERT INTO registers (k, v) VALUES (4, 9) ON DUPLICATE KEY UPDATE v = VALUES(v)");
  EXPECT_EQ(Sql(Json::array({"r", 5, nullptr}), TxnKind::kListAppend),
            "SELECT v FROM lists WHERE k = 5");
  EXPECT_EQ(Sql(Json::array({"r", 5, nullptr}), TxnKind::kRwRegister),
            "SELECT v FROM registers WHERE k = 5");
}

// Keys and values are written into the statement: anything but an integer is refused before a
// byte is sent, naming the micro-op.
TEST(GaleraSqlTest, AKeyOrValueThatIsNoIntegerIsRefusedNamingTheMicroOp) {
  Json text_key = Json::array({"append", "x'; DROP TABLE lists; --", 1});
  EXPECT_EQ(MicroOpSql(Parsed(text_key, TxnKind::kListAppend), TxnKind::kListAppend)
                .status()
                .message(),
            "galera: the key of micro-op [append, \"x'; DROP TABLE lists; --\", 1] is not an "
            "integer");
  Json text_value = Json::array({"w", 1, "a"});
  EXPECT_EQ(MicroOpSql(Parsed(text_value, TxnKind::kRwRegister), TxnKind::kRwRegister)
                .status()
                .message(),
            "galera: the value of micro-op [w, 1, \"a\"] is not an integer");
  Json real_value = Json::array({"append", 1, 1.5});
  EXPECT_FALSE(MicroOpSql(Parsed(real_value, TxnKind::kListAppend), TxnKind::kListAppend).ok());
}

TEST(GaleraSqlTest, IsolationLevelsAndTheSetupSql) {
  EXPECT_EQ(IsolationSql(Isolation::kReadUncommitted),
            "SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
  EXPECT_EQ(IsolationSql(Isolation::kReadCommitted),
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  EXPECT_EQ(IsolationSql(Isolation::kRepeatableRead),
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  EXPECT_EQ(IsolationSql(Isolation::kSerializable),
            "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE");
  EXPECT_EQ(IsolationNames(), (std::vector<std::string>{"read-uncommitted", "read-committed",
                                                        "repeatable-read", "serializable"}));
  for (const std::string& name : IsolationNames()) {
    Result<Isolation> parsed = ParseIsolation(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(ToString(*parsed), name);
  }
  EXPECT_FALSE(ParseIsolation("snapshot").ok());

  GaleraOptions options;
  options.password = "pw123";
  const std::string sql = SetupSql(options);
  EXPECT_NE(sql.find("CREATE USER IF NOT EXISTS 'faultline'@'%' IDENTIFIED BY 'pw123';"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("GRANT ALL ON *.* TO 'faultline'@'%';"), std::string::npos) << sql;
  EXPECT_NE(sql.find("DROP TABLE IF EXISTS faultline.lists, faultline.registers;"),
            std::string::npos)
      << sql;
  // Galera replicates InnoDB tables with a primary key only.
  EXPECT_NE(sql.find("CREATE TABLE faultline.lists (k BIGINT PRIMARY KEY, v TEXT NOT NULL) "
                     "ENGINE=InnoDB;"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("CREATE TABLE faultline.registers (k BIGINT PRIMARY KEY, v BIGINT NOT NULL) "
                     "ENGINE=InnoDB;"),
            std::string::npos)
      << sql;
}

TEST(GaleraSqlTest, AReadsValueIsNilAListOrAnInteger) {
  EXPECT_EQ(*ReadValue(TxnKind::kListAppend, std::nullopt), Json(nullptr));
  EXPECT_EQ(*ReadValue(TxnKind::kRwRegister, std::nullopt), Json(nullptr));
  EXPECT_EQ(*ReadValue(TxnKind::kListAppend, "1,2,30"), Json::array({1, 2, 30}));
  EXPECT_EQ(*ReadValue(TxnKind::kListAppend, "-4"), Json::array({-4}));
  EXPECT_EQ(*ReadValue(TxnKind::kRwRegister, "17"), Json(17));
  EXPECT_EQ(ReadValue(TxnKind::kListAppend, "1,x").status().message(),
            "galera: \"x\" is not an integer");
  EXPECT_FALSE(ReadValue(TxnKind::kListAppend, "1,").ok());
  EXPECT_FALSE(ReadValue(TxnKind::kListAppend, ",1").ok());
  EXPECT_FALSE(ReadValue(TxnKind::kListAppend, "").ok());
  EXPECT_FALSE(ReadValue(TxnKind::kRwRegister, "17 ").ok());
}

TEST(GaleraBankTest, TheTableReadsAndWritesAreIntegerStatements) {
  const std::string setup = SetupSql(GaleraOptions());
  EXPECT_NE(setup.find("CREATE TABLE faultline.bank (id BIGINT PRIMARY KEY, balance BIGINT NOT "
                       "NULL) ENGINE=InnoDB;\nINSERT INTO faultline.bank VALUES (0, 10), (1, 10), "
                       "(2, 10), (3, 10), (4, 10), (5, 10), (6, 10), (7, 10);"),
            std::string::npos)
      << setup;
  EXPECT_EQ(BankReadSql(),
            "SELECT GROUP_CONCAT(CONCAT(id, ':', balance) ORDER BY id) FROM faultline.bank");
  EXPECT_EQ(BankBalanceSql(3), "SELECT balance FROM faultline.bank WHERE id = 3");
  EXPECT_EQ(BankWriteSql(3, -2), "UPDATE faultline.bank SET balance = -2 WHERE id = 3");
  Result<Json> balances = BankBalances(std::string("0:10,1:7,2:-3"));
  ASSERT_TRUE(balances.ok()) << balances.status().message();
  EXPECT_EQ(*balances, Json({{"0", 10}, {"1", 7}, {"2", -3}}));
  EXPECT_FALSE(BankBalances(std::nullopt).ok());
  EXPECT_EQ(BankBalances(std::string("0:10,1")).status().message(),
            "galera: a bank row without ':' in \"0:10,1\"");
  EXPECT_EQ(*BankBalance(std::string("12")), 12);
  EXPECT_EQ(BankBalance(std::nullopt).status().message(), "galera: no such account");
}

TEST(GaleraBankTest, ATransferIsBetweenTwoAccountsOfAPositiveAmount) {
  Op transfer = gen::MakeOp("transfer", Json{{"from", 2}, {"to", 5}, {"amount", 3}});
  Result<BankTransfer> parsed = ParseTransfer(transfer);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->from, 2);
  EXPECT_EQ(parsed->to, 5);
  EXPECT_EQ(parsed->amount, 3);
  for (const Json& bad : {Json{{"from", 2}, {"to", 2}, {"amount", 3}},
                          Json{{"from", 2}, {"to", 8}, {"amount", 3}},
                          Json{{"from", 2}, {"to", 5}, {"amount", 0}}}) {
    EXPECT_EQ(ParseTransfer(gen::MakeOp("transfer", bad)).status().message(),
              "galera: not a transfer between two accounts of 0..7: " + bad.dump());
  }
  EXPECT_EQ(ParseTransfer(gen::MakeOp("transfer", Json{{"from", 1}})).status().message(),
            "galera: a bank op is a read or a transfer of integers {from, to, amount}, not "
            "transfer {\"from\":1}");
  EXPECT_FALSE(ParseTransfer(gen::MakeOp("withdraw", Json::object())).ok());
}

// Every line the node's my.cnf must hold for Galera, with the node's own files and address.
TEST(GaleraConfigTest, TheNodesConfigHasWhatGaleraRequires) {
  GaleraOptions options;
  const std::string config =
      ConfigText(options, kDirectory, "n1", "10.213.0.11",
                 {"10.213.0.11", "10.213.0.12", "10.213.0.13"});
  for (const char* line :
       {"[mysqld]\n", "user = mysql\n", "datadir = /var/lib/faultline-galera-n1/data\n",
        "socket = /var/lib/faultline-galera-n1/mysqld.sock\n",
        "log-error = /var/lib/faultline-galera-n1/mariadb.log\n", "bind-address = 10.213.0.11\n",
        "port = 3306\n", "binlog_format = ROW\n", "default_storage_engine = InnoDB\n",
        "innodb_autoinc_lock_mode = 2\n", "wsrep_on = ON\n",
        "wsrep_provider = /usr/lib/galera/libgalera_smm.so\n",
        "wsrep_cluster_address = gcomm://10.213.0.11,10.213.0.12,10.213.0.13\n",
        "wsrep_node_address = 10.213.0.11\n", "wsrep_node_name = n1\n",
        "wsrep_sst_method = rsync\n"}) {
    EXPECT_NE(config.find(line), std::string::npos) << line << "\n" << config;
  }
  EXPECT_EQ(config.find("pw"), std::string::npos);  // no password in my.cnf
}

Failure AFailure(Stage stage, unsigned code, bool timed_out = false) {
  Failure failure;
  failure.stage = stage;
  failure.code = code;
  failure.timed_out = timed_out;
  failure.message = "m";
  return failure;
}

TEST(GaleraOutcomeTest, OnlyNoAnswerToCommitOfAWritingTransactionIsInfo) {
  // Before COMMIT was sent nothing can have committed, whatever happened.
  for (Stage stage : {Stage::kConnect, Stage::kBody}) {
    for (unsigned code : {0u, kDeadlock, kLockWaitTimeout, kNotReady, 2013u, 2003u}) {
      EXPECT_EQ(Classify(AFailure(stage, code), true), OpType::kFail) << code;
    }
    EXPECT_EQ(Classify(AFailure(stage, 2013, true), true), OpType::kFail);
  }
  // The server answered COMMIT about the transaction: a certification failure or deadlock.
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, kDeadlock), true), OpType::kFail);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, kNotReady), true), OpType::kFail);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, 1062), true), OpType::kFail);
  // No answer: the connection was lost (2013), the server went away (2006, 1053, 1927), or a
  // timeout: it may have committed.
  for (unsigned code : {2013u, 2006u, 2055u, 1053u, 1927u, 1160u}) {
    EXPECT_EQ(Classify(AFailure(Stage::kCommit, code), true), OpType::kInfo) << code;
  }
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, 2013, true), true), OpType::kInfo);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, 0, true), true), OpType::kInfo);
  // A transaction that writes nothing changes nothing, committed or not.
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, 2013), false), OpType::kFail);
  EXPECT_EQ(Classify(AFailure(Stage::kCommit, 0, true), false), OpType::kFail);
}

TEST(GaleraOutcomeTest, TheErrorNamesWhatHappened) {
  EXPECT_EQ(ErrorText(AFailure(Stage::kCommit, kDeadlock)), "deadlock: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kBody, kLockWaitTimeout)), "lock-wait-timeout: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kBody, kNotReady)), "not-ready: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kCommit, 2013, true)), "timeout: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kCommit, 2013)), "connection: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kConnect, 0)), "connection: m");
  EXPECT_EQ(ErrorText(AFailure(Stage::kBody, 1062)), "1062: m");
  EXPECT_TRUE(IsConnectionError(2003));
  EXPECT_FALSE(IsConnectionError(kDeadlock));
  EXPECT_FALSE(IsConnectionError(3024));  // a server error (query timeout), not the library's
}

TEST(GaleraOptionsTest, TheDirectoryIsPerNodeAbsoluteAndRemovable) {
  GaleraOptions options;
  EXPECT_EQ(NodeDirectory(options, "n1"), kDirectory);
  options.password = "abc";
  EXPECT_TRUE(ValidateOptions(options).ok());
  for (const char* directory : {"", "/", "relative/{node}", "/var/lib/../{node}"}) {
    options.directory = directory;
    EXPECT_FALSE(ValidateOptions(options).ok()) << directory;
  }
  options = GaleraOptions();
  options.password = "a'b";  // would end the SQL literal
  EXPECT_FALSE(ValidateOptions(options).ok());
  options = GaleraOptions();
  options.user = "root@x";
  EXPECT_FALSE(ValidateOptions(options).ok());
  options = GaleraOptions();
  options.port = 70000;
  EXPECT_FALSE(ValidateOptions(options).ok());
}

// ---- --db galera --------------------------------------------------------------------------------

TestOptions ThreeNodeOptions() {
  TestOptions options;
  options.nodes = {"n1", "n2", "n3"};
  options.node_addresses = {{"n1", "10.213.0.11"}, {"n2", "10.213.0.12"}, {"n3", "10.213.0.13"}};
  options.concurrency = 3;
  return options;
}

clients::WorkloadOptions GaleraWorkload(const std::string& workload) {
  clients::WorkloadOptions options;
  options.db = "galera";
  options.workload = workload;
  return options;
}

const GaleraDb& DbOf(const faultline::Test& test) {
  return dynamic_cast<const GaleraDb&>(*test.db);
}

TEST(GaleraKindTest, IsolationDefaultsToRepeatableReadAndReachesTheDb) {
  Result<faultline::Test> test =
      clients::BuildTest(ThreeNodeOptions(), GaleraWorkload("list-append"));
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().isolation, Isolation::kRepeatableRead);
  EXPECT_EQ(DbOf(*test).options().password.size(), 24u);  // drawn per test
  clients::WorkloadOptions workload = GaleraWorkload("rw-register");
  workload.db_flags["isolation"] = {"read-uncommitted"};  // MariaDB's, not postgres's
  test = clients::BuildTest(ThreeNodeOptions(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(DbOf(*test).options().isolation, Isolation::kReadUncommitted);
  ASSERT_TRUE(test->new_client);
  EXPECT_NE(dynamic_cast<GaleraClient*>(test->new_client().get()), nullptr);
}

TEST(GaleraKindTest, BadValuesAndOtherWorkloadsAreRefused) {
  clients::WorkloadOptions workload = GaleraWorkload("list-append");
  workload.db_flags["isolation"] = {"snapshot"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--isolation: expected read-uncommitted, read-committed, repeatable-read or "
            "serializable, found \"snapshot\"");
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), GaleraWorkload("register")).status().message(),
            "--db galera runs the list-append, rw-register and bank workloads, not register");
  workload = GaleraWorkload("list-append");
  workload.db_flags["replicas"] = {"1"};
  EXPECT_EQ(clients::BuildTest(ThreeNodeOptions(), workload).status().message(),
            "--replicas applies to --db postgres, not --db galera");
  // postgres keeps its own choices: read-uncommitted is MariaDB's only.
  clients::WorkloadOptions postgres;
  postgres.db = "postgres";
  postgres.workload = "list-append";
  postgres.db_flags["isolation"] = {"read-uncommitted"};
  EXPECT_FALSE(clients::BuildTest(ThreeNodeOptions(), postgres).ok());
}

// A server that refuses the connection fails the op, after a pause. Port 1 on the loopback
// refuses at once.
TEST(GaleraClientTest, AnOpThatCannotConnectFailsAfterThePause) {
  faultline::Test test;
  test.options.nodes = {"n1"};
  test.options.node_addresses = {{"n1", "127.0.0.1"}};
  test.options.operation_timeout_s = 1;
  GaleraOptions options;
  options.port = 1;
  options.password = "pw";
  GaleraClient client(options, TxnKind::kListAppend);
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
  EXPECT_EQ(completion.error.get<std::string>().rfind("connection: galera at 127.0.0.1:1: ", 0),
            0u)
      << completion.error;
  // A micro-op the client cannot write is refused before anything is sent.
  invoke.value = Json::array({Json::array({"append", "k", 2})});
  completion = client.Invoke(test, invoke);
  EXPECT_EQ(completion.type, OpType::kFail);
  EXPECT_EQ(completion.error, "galera: the key of micro-op [append, \"k\", 2] is not an integer");
}

// ---- GaleraDb through FakeRemote --------------------------------------------------------------

faultline::Test ThreeNodes() {
  faultline::Test test;
  test.options = ThreeNodeOptions();
  return test;
}

GaleraOptions WithPassword() {
  GaleraOptions options;
  options.password = "pw123";
  return options;
}

void ScriptNode(FakeRemote& remote, const std::string& directory) {
  remote.When("faultline-galera-dir", CommandResult{0, directory + "\n", ""});
  remote.When("faultline-galera-claim", CommandResult{0, directory + "\n", ""});
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

// The first node bootstraps, then makes the user and tables, then waits for all three nodes.
TEST(GaleraDbTest, TheFirstNodeBootstrapsMakesTheTablesAndWaitsForTheCluster) {
  GaleraDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote first("n1");
  ScriptNode(first, kDirectory);
  ASSERT_TRUE(db.Setup(test, "n1", first).ok());
  EXPECT_EQ(ScriptNames(first),
            (std::vector<std::string>{"faultline-galera-install", "faultline-galera-claim",
                                      "faultline-galera-start", "faultline-galera-sql",
                                      "faultline-galera-cluster"}));
  std::vector<FakeRemote::Record> records = first.records();
  // The directory belongs to mysql, which mariadbd runs as.
  EXPECT_EQ(Arguments(records[1].command),
            (std::vector<std::string>{kDirectory, ".faultline-galera", "galera", "mysql"}));
  // Bootstrap, no node to wait for, the port, the timeout, the user; the password and my.cnf on
  // stdin only.
  EXPECT_EQ(Arguments(records[2].command),
            (std::vector<std::string>{kDirectory, "1", "", "3306", "90", "faultline"}));
  EXPECT_EQ(records[2].command.stdin_data,
            "pw123\n" + ConfigText(WithPassword(), kDirectory, "n1", "10.213.0.11",
                                   {"10.213.0.11", "10.213.0.12", "10.213.0.13"}));
  EXPECT_EQ(records[2].command_line.find("pw123"), std::string::npos);
  EXPECT_EQ(Arguments(records[3].command), std::vector<std::string>{kDirectory});
  EXPECT_EQ(records[3].command.stdin_data, SetupSql(WithPassword()));
  EXPECT_EQ(records[3].command_line.find("pw123"), std::string::npos);
  // Three nodes, up to a start timeout each.
  EXPECT_EQ(Arguments(records[4].command), (std::vector<std::string>{kDirectory, "3", "270"}));
  for (const FakeRemote::Record& record : records) EXPECT_FALSE(record.command.sudo);
  EXPECT_EQ(db.LogFiles(test, "n1"),
            std::vector<std::string>{std::string(kDirectory) + "/mariadb.log"});
}

// Every other node joins after the node before it, and makes no tables.
TEST(GaleraDbTest, TheOtherNodesJoinAfterTheNodeBeforeThem) {
  GaleraDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  const std::string directory = "/var/lib/faultline-galera-n3";
  FakeRemote third("n3");
  ScriptNode(third, directory);
  ASSERT_TRUE(db.Setup(test, "n3", third).ok());
  EXPECT_EQ(ScriptNames(third),
            (std::vector<std::string>{"faultline-galera-install", "faultline-galera-claim",
                                      "faultline-galera-start", "faultline-galera-cluster"}));
  const std::vector<FakeRemote::Record> records = third.records();
  EXPECT_EQ(Arguments(records[2].command),
            (std::vector<std::string>{directory, "0", "10.213.0.12", "3306", "90", "faultline"}));
  EXPECT_NE(records[2].command.stdin_data.find("bind-address = 10.213.0.13\n"),
            std::string::npos);
  EXPECT_EQ(db.LogFiles(test, "n3"), std::vector<std::string>{directory + "/mariadb.log"});
  // A node that is not the test's is refused.
  FakeRemote other("n9");
  EXPECT_FALSE(db.Setup(test, "n9", other).ok());
  EXPECT_EQ(other.command_count(), 0u);
}

// A restart joins the cluster (never bootstraps), waiting for no one; faults and teardown reach
// the node's directory, through sudo when asked.
TEST(GaleraDbTest, FaultsRestartAndTeardownGoToTheNodesDirectory) {
  GaleraOptions options = WithPassword();
  options.sudo = true;
  GaleraDb db(options);
  faultline::Test test = ThreeNodes();
  FakeRemote first("n1");
  ScriptNode(first, kDirectory);
  ASSERT_TRUE(db.Kill(test, "n1", first).ok());
  ASSERT_TRUE(db.Start(test, "n1", first).ok());
  ASSERT_TRUE(db.Pause(test, "n1", first).ok());
  ASSERT_TRUE(db.Resume(test, "n1", first).ok());
  ASSERT_TRUE(db.Teardown(test, "n1", first).ok());
  EXPECT_EQ(ScriptNames(first),
            (std::vector<std::string>{"faultline-galera-dir", "faultline-galera-kill",
                                      "faultline-galera-start", "faultline-galera-signal",
                                      "faultline-galera-signal", "faultline-galera-kill",
                                      "faultline-galera-teardown"}));
  std::vector<FakeRemote::Record> records = first.records();
  EXPECT_EQ(Arguments(records[2].command),
            (std::vector<std::string>{kDirectory, "0", "", "3306", "90", "faultline"}));
  EXPECT_EQ(Arguments(records[3].command), (std::vector<std::string>{kDirectory, "STOP"}));
  EXPECT_EQ(Arguments(records[4].command), (std::vector<std::string>{kDirectory, "CONT"}));
  for (const FakeRemote::Record& record : records) {
    EXPECT_TRUE(record.command.sudo) << record.command_line;
    EXPECT_EQ(record.command_line.rfind("sudo -n", 0), 0u) << record.command_line;
  }
}

TEST(GaleraDbTest, AFailedKillKeepsTheDirectoryAndAFailedStartReportsTheLog) {
  GaleraDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote first("n1");
  ScriptNode(first, kDirectory);
  first.When("faultline-galera-kill", CommandResult{1, "", "mariadbd 7 still alive"});
  Status torn_down = db.Teardown(test, "n1", first);
  EXPECT_NE(torn_down.message().find("mariadbd 7 still alive"), std::string::npos)
      << torn_down.message();
  EXPECT_EQ(ScriptNames(first).back(), "faultline-galera-kill");  // nothing removed

  FakeRemote second("n2");
  ScriptNode(second, "/var/lib/faultline-galera-n2");
  second.When("faultline-galera-start",
              CommandResult{1, "", "10.213.0.11:3306 was no Synced Galera node within 90 s"});
  Status setup = db.Setup(test, "n2", second);
  EXPECT_NE(setup.message().find("was no Synced Galera node"), std::string::npos)
      << setup.message();
  EXPECT_EQ(ScriptNames(second).back(), "faultline-galera-start");  // no wait for the cluster
}

TEST(GaleraDbTest, EveryScriptIsValidShell) {
  GaleraDb db(WithPassword());
  faultline::Test test = ThreeNodes();
  FakeRemote remote("n1");
  ScriptNode(remote, kDirectory);
  ASSERT_TRUE(db.Setup(test, "n1", remote).ok());
  ASSERT_TRUE(db.Pause(test, "n1", remote).ok());
  GaleraDb fresh(WithPassword());  // has not resolved the directory yet: dir runs
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
  // install, claim, start, sql, cluster, signal, dir, kill, teardown
  EXPECT_EQ(names.size(), 9u);
}

}  // namespace
}  // namespace faultline::galera
