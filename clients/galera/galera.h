// MariaDB Galera Cluster: the database lifecycle over SSH (GaleraDb) and a libmariadb client
// (GaleraClient) for the list-append and rw-register transaction workloads. docs/galera.md has
// the details.
//
// GaleraDb runs Debian's mariadbd with the galera-4 provider on every node of the test, each a
// multi-master member of one cluster. Each node has a directory of its own (my.cnf, client.cnf,
// data/, the socket, mariadb.log), owned by the `mysql` system user, which mariadbd runs as.
// Setup bootstraps the first node (--wsrep-new-cluster), makes the `faultline` user (its password
// drawn per test by BuildGaleraTest) and the workloads' tables there, and each other node joins
// once the node before it is Synced (state transfer by rsync, one donor at a time); every node's
// Setup returns once it is Synced and sees all the test's nodes in the cluster. mariadbd is
// started by the scripts (setsid, its own process group), not by systemd; its pid is recorded
// in mariadbd.pid and checked against /proc (its comm and --defaults-file) before any signal.
// Kill, Pause and Resume reach the whole process group (state-transfer helpers included); Start
// brings a killed node back, and it rejoins the cluster (IST, or SST when its state is too old).
// The scripts run as root on the node (through sudo when GaleraOptions::sudo). Setup, Teardown
// and the process faults are idempotent.
//
// GaleraClient connects to its own thread's node (multi-master: every node takes writes), sets
// the session's isolation level once, and runs each transaction as START TRANSACTION; one
// statement per micro-op; COMMIT, each one round trip. Outcomes follow Jepsen's rules
// (docs/clients.md): an error before COMMIT was sent is fail; an error the server answers to
// COMMIT (a certification failure, reported as deadlock 1213) is fail; a lost connection or a
// timeout once COMMIT was sent is info, unless the transaction wrote nothing (then fail).
//
// Threads: GaleraDb may be called for different nodes from different threads at once, and from
// the nemesis thread (its only shared state, the resolved directories, is guarded by
// NodeScripts). A GaleraClient serves one client thread: one call at a time; its MYSQL handle
// moves between OS threads, which libmariadb allows for a handle not in use elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/servers/node_scripts.h"
#include "core/op_values.h"
#include "runner/test.h"

typedef struct st_mysql MYSQL;

namespace faultline::galera {

// The levels MariaDB's InnoDB offers. Repeatable read is InnoDB's: reads see the transaction's
// first snapshot, but writes (and locking reads) act on the latest committed row, so a
// read-modify-write may overwrite a write it never saw (lost update); Galera certifies only
// write-write conflicts between nodes.
enum class Isolation { kReadUncommitted, kReadCommitted, kRepeatableRead, kSerializable };

// read-uncommitted, read-committed, repeatable-read, serializable
std::vector<std::string> IsolationNames();
Result<Isolation> ParseIsolation(std::string_view text);
std::string ToString(Isolation isolation);

struct GaleraOptions {
  Isolation isolation = Isolation::kRepeatableRead;  // what Jepsen tested
  int port = 3306;
  // The node's directory: "{node}" is replaced by the node's name, so that nodes sharing one
  // filesystem (the local cluster) never share it. Absolute: the mysql user must reach it.
  // Teardown removes it.
  std::string directory = "/var/lib/faultline-galera-{node}";
  std::string user = "faultline";  // made by Setup on the first node, allowed from anywhere
  std::string password;            // BuildGaleraTest draws one when empty
  // How long a node's start may take: waiting for the node before it to be Synced, and then for
  // itself (state transfer included); also the wait for the whole cluster in Setup.
  double start_timeout_s = 90;
  bool sudo = false;  // the SSH user is not root: run the scripts through sudo
};

// InvalidArgument for options that cannot work (a port, a timeout, a directory that is relative,
// "/" or holds "..": Teardown removes it; a user or password the SQL or the config cannot carry
// as they are).
Status ValidateOptions(const GaleraOptions& options);

// options.directory for `node`.
std::string NodeDirectory(const GaleraOptions& options, const std::string& node);

// ---- the configuration and the SQL (pure; tested without a server) -----------------------------

// The node's my.cnf ([mysqld] and the same for the SST scripts, which read it): its files in
// `directory`, listening on `address`, a member of the cluster of `peers` (gcomm://a,b,c), with
// what Galera requires (binlog_format ROW, InnoDB, innodb_autoinc_lock_mode 2) and state
// transfer by rsync (the start script switches to mariabackup on a node without rsync).
std::string ConfigText(const GaleraOptions& options, const std::string& directory,
                       const std::string& node, const std::string& address,
                       const std::vector<std::string>& peers);

// The database, and tables the workloads use, dropped and made again by Setup: a run never sees
// an earlier run's data (the checkers assume every key starts at nil).
inline constexpr char kDatabase[] = "faultline";
inline constexpr char kListTable[] = "lists";
inline constexpr char kRegisterTable[] = "registers";
inline constexpr char kBankTable[] = "bank";  // (id, balance): BankOptions' accounts at setup
// Run as root over the first node's socket: the user (with the password), the database, the
// tables. Holds the password: sent on stdin only.
std::string SetupSql(const GaleraOptions& options);

// "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", sent once per connection.
std::string IsolationSql(Isolation isolation);

// The statement for `micro_op` of a `kind` transaction, keys and values written as integer
// literals: append -> an upsert that adds ",v" to the key's text list; w -> an upsert of the
// register; r -> a select of the key's row. Keys and values must be integers: InvalidArgument
// naming the micro-op otherwise.
Result<std::string> MicroOpSql(const MicroOp& micro_op, TxnKind kind);

// A read's value from the text of the selected column: no row -> nil (null); list-append: "1,2,3"
// -> [1,2,3]; rw-register: "3" -> 3. InvalidArgument for anything else.
Result<Json> ReadValue(TxnKind kind, const std::optional<std::string>& text);

// The bank workload (checker/workloads/workloads.h BankOptions: accounts 0..7 of 10 each).
// A read: every balance in one statement, "0:10,1:10,..." (GROUP_CONCAT by id).
std::string BankReadSql();
// That text as the read's value, {"0": 10, "1": 10, ...}; InvalidArgument for anything else.
Result<Json> BankBalances(const std::optional<std::string>& text);
// One account's balance, and writing one (integer literals).
std::string BankBalanceSql(int64_t account);
std::string BankWriteSql(int64_t account, int64_t balance);
// A selected balance; InvalidArgument when there is no row or it is not an integer.
Result<int64_t> BankBalance(const std::optional<std::string>& text);
// A transfer's value {"from", "to", "amount"}: accounts of the bank, a positive amount, from and
// to different; InvalidArgument naming what is wrong otherwise.
struct BankTransfer {
  int64_t from = 0, to = 0, amount = 0;
};
Result<BankTransfer> ParseTransfer(const Op& invoke);

// ---- outcomes -----------------------------------------------------------------------------------

// How far a transaction got before it went wrong.
enum class Stage {
  kConnect,  // no connection: nothing was sent
  kBody,     // START TRANSACTION or a micro-op's statement (before COMMIT was sent)
  kCommit,   // COMMIT was sent
};

// MariaDB's error numbers that matter here.
inline constexpr unsigned kLockWaitTimeout = 1205;  // ER_LOCK_WAIT_TIMEOUT
inline constexpr unsigned kDeadlock = 1213;  // ER_LOCK_DEADLOCK; Galera's certification failures
inline constexpr unsigned kNotReady = 1047;  // ER_UNKNOWN_COM_ERROR: "WSREP has not yet prepared"

// What went wrong: an error number (the server's, 1000..1999 and above 3000, or the client
// library's, 2000..2999), or none when the operation timed out.
struct Failure {
  Stage stage = Stage::kBody;
  unsigned code = 0;
  bool timed_out = false;  // no answer within the operation timeout
  std::string message;     // for the op's error
};

// Whether `code` says there is no answer about the transaction: the client library's own errors
// (2000..2999: lost connection, server gone, cannot connect) and the server going away
// (shutdown 1053, connection killed 1927, network errors 1158..1161).
bool IsConnectionError(unsigned code);

// fail or info, by Jepsen's rules: nothing can have committed before COMMIT was sent, nor when
// the server answered COMMIT with an error about the transaction (a deadlock or certification
// failure, 1213), nor for a transaction that writes nothing; otherwise (no answer to COMMIT,
// a timeout, or a connection error) it may have committed: info.
OpType Classify(const Failure& failure, bool writes);

// The op's error text: "deadlock: <message>" (1213, certification failures included),
// "lock-wait-timeout: ..." (1205), "not-ready: ..." (1047), "timeout: ...", "connection: ..."
// or "<code>: ...".
std::string ErrorText(const Failure& failure);

// ---- the database and the client ---------------------------------------------------------------

class GaleraDb : public Db {
 public:
  explicit GaleraDb(GaleraOptions options);

  // Installs mariadb-server, galera-4 and rsync when mariadbd or the provider is missing, claims
  // and marks the directory (.faultline-galera; a non-empty directory without the mark is
  // refused), writes my.cnf and client.cnf, runs mariadb-install-db once, and starts mariadbd:
  // the first node bootstraps a new cluster and then makes the user and the tables; every other
  // node waits until the node before it is Synced and joins. Returns once the node is Synced and
  // the cluster has all the test's nodes.
  Status Setup(const Test& test, const std::string& node, control::Remote& remote) override;
  // Kills mariadbd (by its recorded pid, with its process group) and removes the directory when
  // it carries Setup's mark; else an error, and nothing is removed.
  Status Teardown(const Test& test, const std::string& node, control::Remote& remote) override;
  std::vector<std::string> LogFiles(const Test& test, const std::string& node) const override;

  // SIGKILL to mariadbd's process group, waiting until it is gone or a zombie. Ok when nothing
  // runs.
  Status Kill(const Test& test, const std::string& node, control::Remote& remote) override;
  // Starts mariadbd on its data, joining the cluster (never bootstrapping: with every node down
  // the cluster needs a bootstrap by hand, as Galera does), and waits until it is Synced.
  Status Start(const Test& test, const std::string& node, control::Remote& remote) override;
  // SIGSTOP / SIGCONT to mariadbd's process group. Ok when nothing runs.
  Status Pause(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Resume(const Test& test, const std::string& node, control::Remote& remote) override;
  // `mariadbd --version`'s number ("10.11.19").
  Result<std::string> Version(const Test& test, const std::string& node,
                              control::Remote& remote) override;

  const GaleraOptions& options() const { return options_; }

 private:
  // Starts the node's mariadbd: bootstrapping a new cluster, or joining once `previous` (an
  // address; none when empty) is a Synced member.
  Status StartNode(const Test& test, const std::string& node, control::Remote& remote,
                   bool bootstrap, const std::string& previous);
  Status Signal(const Test& test, const std::string& node, control::Remote& remote,
                const std::string& signal);

  const GaleraOptions options_;
  // faultline-galera-<what>, and the nodes' directories.
  clients::NodeScripts scripts_;
};

// How long an op that could not connect waits before it fails.
inline constexpr std::chrono::milliseconds kReconnectPause{200};

class GaleraClient : public Client {
 public:
  // `bank`: the bank workload's read and transfer ops instead of txns of `kind`.
  GaleraClient(GaleraOptions options, TxnKind kind, bool bank = false);
  ~GaleraClient() override;
  GaleraClient(const GaleraClient&) = delete;
  GaleraClient& operator=(const GaleraClient&) = delete;

  // Connects to `node`'s server (the thread's own node).
  Status Open(const Test& test, const std::string& node) override;
  // A txn (f "txn") of list-append or rw-register micro-ops, as one transaction; or a bank
  // read or transfer, as one transaction.
  Op Invoke(const Test& test, const Op& invoke) override;
  void Close(const Test&) override;

 private:
  struct Answer;
  // Sends one statement and reads its answer (its first row's first column).
  Answer Execute(const std::string& sql);
  Op InvokeBank(const Test& test, const Op& invoke);
  // START TRANSACTION, `body` (statements through Execute; it sets the completion's value, or
  // returns what failed), COMMIT; a failure is fail or info by Classify, and rolled back.
  Op RunTransaction(const Test& test, const Op& invoke, bool writes,
                    const std::function<std::optional<Failure>(Json*)>& body);
  // Connects when there is no connection (or a broken one), and sets the isolation level.
  Status Connect(const Test& test);
  void Disconnect();

  const GaleraOptions options_;
  const TxnKind kind_;
  const bool bank_;
  std::string host_;  // the node's address
  MYSQL* connection_ = nullptr;
  double timeout_s_ = 5;  // the test's operation timeout, for telling a timeout from a loss
};

// The test value for `workload` (list-append, rw-register or bank) on Galera: db and client factory.
// The generator and the checker are the caller's (clients/registry.h).
Result<Test> BuildGaleraTest(const TestOptions& options, GaleraOptions galera,
                             const std::string& workload);

}  // namespace faultline::galera
