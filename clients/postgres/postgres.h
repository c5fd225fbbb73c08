// PostgreSQL: the database lifecycle over SSH (PostgresDb) and a libpq client (PostgresClient)
// for the list-append and rw-register transaction workloads. docs/postgres.md has the details.
//
// PostgresDb runs one primary, on the test's first node; the other nodes run nothing (standbys
// are not made yet). The primary uses Debian's binaries (/usr/lib/postgresql/<version>/bin, the
// newest version installed), a directory of its own on the node (data/, postgres.log, the unix
// socket), and runs as the `postgres` system user (initdb and the server refuse root). The scripts
// run as root on the node (through sudo when PostgresOptions::sudo). The server listens on the
// node's address with password (scram-sha-256) authentication for the user `faultline`, whose
// password BuildPostgresTest draws per test. Every signal goes to the postmaster whose pid its
// postmaster.pid names, after checking that the process is this directory's postmaster (its
// /proc/<pid>/comm and -D argument) and alive (not a zombie); Kill and Pause reach its children
// (the backends) too, as a crash or a frozen machine would. Setup, Teardown and the process
// faults are idempotent.
//
// PostgresClient runs each transaction as BEGIN ISOLATION LEVEL ...; one statement per
// micro-op; COMMIT, each statement one round trip, all of them within the test's operation
// timeout. Outcomes follow Jepsen's rules (docs/clients.md): an error before COMMIT was sent is
// fail (nothing committed); an error the server answers to COMMIT (a serialization failure) is
// fail; a lost connection or a timeout once COMMIT was sent is info, unless the transaction
// wrote nothing (then nothing can have happened: fail).
//
// Threads: PostgresDb may be called for different nodes from different threads at once, and from
// the nemesis thread (its only shared state, the resolved directories, is guarded by
// NodeScripts). A PostgresClient serves one client thread: one call at a time; its libpq
// connection moves between OS threads, which libpq allows for a connection not in use elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/op_values.h"
#include "clients/servers/node_scripts.h"
#include "runner/test.h"

typedef struct pg_conn PGconn;

namespace faultline::postgres {

// The SQL standard's levels as PostgreSQL implements them: repeatable read is snapshot isolation.
enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

std::vector<std::string> IsolationNames();  // read-committed, repeatable-read, serializable
Result<Isolation> ParseIsolation(std::string_view text);
std::string ToString(Isolation isolation);

struct PostgresOptions {
  Isolation isolation = Isolation::kSerializable;
  int port = 5432;
  // The node's directory: "{node}" is replaced by the node's name, so that nodes sharing one
  // filesystem (the local cluster) never share it. Absolute: the postgres user must reach it,
  // which a home such as /root (mode 700) does not allow. Teardown removes it.
  std::string directory = "/var/lib/faultline-postgres-{node}";
  std::string user = "faultline";  // the database superuser initdb makes; the client logs in
  std::string password;            // BuildPostgresTest draws one when empty
  double start_timeout_s = 60;     // pg_ctl start -w waits this long for connections
  bool sudo = false;               // the SSH user is not root: run the scripts through sudo
  // Streaming-replication standbys on the nodes after the first (nodes[1..replicas]), each a
  // pg_basebackup of the primary, replicating asynchronously (PostgreSQL's default).
  int replicas = 0;
  // Transactions that only read go to a standby (the client thread's node when it runs one,
  // else the first standby); every other one to the primary. Needs replicas >= 1.
  bool read_from_replica = false;
};

// What a node runs: the primary (the first node), a standby (the next `replicas` nodes) or
// nothing.
enum class Role { kPrimary, kStandby, kNone };
Role NodeRole(const PostgresOptions& options, const TestOptions& test, const std::string& node);

// InvalidArgument for options that cannot work (a port, a timeout, a directory that is relative,
// "/" or holds "..": Teardown removes it; a user or password libpq or the scripts cannot carry).
Status ValidateOptions(const PostgresOptions& options);

// options.directory for `node`.
std::string NodeDirectory(const PostgresOptions& options, const std::string& node);

// ---- the SQL the client sends (pure; tested without a server) ----------------------------------

// The tables the workloads use, dropped and made again by Setup: a run never sees an earlier
// run's data (the checkers assume every key starts at nil).
inline constexpr char kListTable[] = "faultline_lists";
inline constexpr char kRegisterTable[] = "faultline_registers";
std::string CreateTablesSql();

std::string BeginSql(Isolation isolation);  // "BEGIN ISOLATION LEVEL SERIALIZABLE"

// One micro-op as a statement with its parameters ($1 the key, $2 the value), as libpq sends them.
struct Statement {
  std::string sql;
  std::vector<std::string> parameters;
};

// The statement for `micro_op` of a `kind` transaction: append -> an upsert that adds the value
// to the key's array; w -> an upsert of the register; r -> a select of the key's row. Keys and
// values must be integers: InvalidArgument naming the micro-op otherwise.
Result<Statement> MicroOpStatement(const MicroOp& micro_op, TxnKind kind);

// A read's value from the text of the selected column: no row -> nil (null); list-append: the
// array "{1,2,3}" -> [1,2,3]; rw-register: "3" -> 3. InvalidArgument for anything else.
Result<Json> ReadValue(TxnKind kind, const std::optional<std::string>& text);

// ---- outcomes -----------------------------------------------------------------------------------

// How far a transaction got before it went wrong.
enum class Stage {
  kConnect,  // no connection: nothing was sent
  kBody,     // BEGIN or a micro-op's statement (before COMMIT was sent)
  kCommit,   // COMMIT was sent
};

// What went wrong: an error the server answered (its SQLSTATE), or no answer at all (the
// connection broke, or the operation timed out).
struct Failure {
  Stage stage = Stage::kBody;
  std::string sqlstate;    // "40001"; empty when the server did not answer
  bool answered = false;   // the server answered with an error (sqlstate set)
  bool timed_out = false;  // no answer within the operation timeout
  std::string message;     // for the op's error
};

// Whether SQLSTATE says the connection or the server is going away (class 08, 57P01..57P03): an
// error that is no answer about the transaction itself.
bool IsConnectionState(std::string_view sqlstate);

// fail or info, by Jepsen's rules: nothing can have committed before COMMIT was sent, nor when
// the server answered COMMIT with an error about the transaction (a serialization failure,
// 40001; a deadlock, 40P01; ...), nor for a transaction that writes nothing; otherwise (no answer
// to COMMIT, or a connection error in answer) it may have committed: info.
OpType Classify(const Failure& failure, bool writes);

// The op's error text: "serialization-failure: <message>" (40001), "deadlock: ..." (40P01),
// "timeout: ...", "connection: ..." or "<sqlstate>: ...".
std::string ErrorText(const Failure& failure);

// ---- the database and the client ---------------------------------------------------------------

class PostgresDb : public Db {
 public:
  explicit PostgresDb(PostgresOptions options);

  // On the first node: installs PostgreSQL if no /usr/lib/postgresql/*/bin/postgres exists,
  // claims and marks the directory (.faultline-postgres; a non-empty directory without the mark is
  // refused), runs initdb there once (as postgres, the password from stdin), configures the
  // address, port and pg_hba.conf, starts the server with pg_ctl -w, waits until it accepts
  // connections and makes the workloads' tables. Other nodes: nothing.
  Status Setup(const Test& test, const std::string& node, control::Remote& remote) override;
  // Stops the server (pg_ctl stop -m immediate, else SIGKILL) and removes the directory when it
  // carries Setup's mark; else an error, and nothing is removed.
  Status Teardown(const Test& test, const std::string& node, control::Remote& remote) override;
  std::vector<std::string> LogFiles(const Test& test, const std::string& node) const override;

  // SIGKILL to the postmaster and its children (stopped first, so it forks none meanwhile),
  // waiting until they are gone or zombies. Ok when nothing runs.
  Status Kill(const Test& test, const std::string& node, control::Remote& remote) override;
  // Starts the server on its data (ok when it runs) and waits until it accepts connections
  // (crash recovery included).
  Status Start(const Test& test, const std::string& node, control::Remote& remote) override;
  // SIGSTOP / SIGCONT to the postmaster and its children. Ok when nothing runs.
  Status Pause(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Resume(const Test& test, const std::string& node, control::Remote& remote) override;
  // The primary's and each standby's `postgres --version` number ("15.10"); empty on a node
  // that runs no server.
  Result<std::string> Version(const Test& test, const std::string& node,
                              control::Remote& remote) override;

  const PostgresOptions& options() const { return options_; }

 private:
  Role RoleOf(const Test& test, const std::string& node) const;
  Status Signal(const Test& test, const std::string& node, control::Remote& remote,
                const std::string& signal);

  const PostgresOptions options_;
  // faultline-postgres-<what>, and the nodes' directories. Claim (Setup's) marks a new directory
  // and refuses an unmarked one that holds something.
  clients::NodeScripts scripts_;
};

// How long an op that could not connect waits before it fails.
inline constexpr std::chrono::milliseconds kReconnectPause{200};

class PostgresClient : public Client {
 public:
  explicit PostgresClient(PostgresOptions options, TxnKind kind);
  ~PostgresClient() override;
  PostgresClient(const PostgresClient&) = delete;
  PostgresClient& operator=(const PostgresClient&) = delete;

  // Connects to the primary (the test's first node), whichever node the thread was given.
  Status Open(const Test& test, const std::string& node) override;
  // A txn (f "txn") of list-append or rw-register micro-ops, as one transaction.
  Op Invoke(const Test& test, const Op& invoke) override;
  void Close(const Test&) override;

 private:
  struct Answer;
  // Sends one statement and waits for its answer until `deadline_ms` (steady clock).
  Answer Execute(const std::string& sql, const std::vector<std::string>& parameters,
                 int64_t deadline_ms);
  // Makes the connection to `host` the current one (connection_), connecting when it has none
  // or a broken one.
  Status Connect(const Test& test, const std::string& host);
  void Disconnect();     // the current connection, closed and forgotten
  void DisconnectAll();  // every connection
  std::string PrimaryHost(const Test& test) const;
  // The thread's node when it runs a standby, else the first standby's.
  std::string ReplicaHost(const Test& test) const;

  const PostgresOptions options_;
  const TxnKind kind_;
  std::string host_;                            // where connection_ goes
  PGconn* connection_ = nullptr;                // to the primary or, for a read, a standby
  std::map<std::string, PGconn*> connections_;  // host -> its open connection
  std::string node_;                            // the node the client's thread was given
};

// The test value for `workload` (list-append or rw-register) on PostgreSQL: db and client
// factory. The generator and the checker are the caller's (clients/registry.h).
Result<Test> BuildPostgresTest(const TestOptions& options, PostgresOptions postgres,
                               const std::string& workload);

}  // namespace faultline::postgres
