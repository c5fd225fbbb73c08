// A test: one value that composes the database, clients, nemesis, generators and checker
// (Jepsen's test map, DESIGN.md principle 1), and the small interfaces it is made of.
//
// Threads: the generators, the RNG and the journal belong to the interpreter's role, held by one
// thread at a time (runner/interpreter.h). Each client thread's Client is called by one worker
// at a time; the Nemesis is called for the nemesis thread's ops, one at a time. Db methods run on
// the lifecycle thread, one node at a time per Remote. A Test is immutable while it runs: share
// it as const.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"

namespace faultline {

namespace control {
class Remote;
}

struct Test;

// A node's database: install, start, stop, and where its logs are. Setup is idempotent;
// Teardown leaves the node clean.
class Db {
 public:
  virtual ~Db() = default;
  virtual Status Setup(const Test& test, const std::string& node, control::Remote& remote) = 0;
  virtual Status Teardown(const Test& test, const std::string& node, control::Remote& remote) = 0;
  virtual std::vector<std::string> LogFiles(const Test&, const std::string&) const { return {}; }

  // The version of the server `node` runs, as its program reports it ("15.10", "7.0.15"), asked
  // after Setup: the lifecycle logs it, records it in test.json and checks it against
  // TestOptions::db_version before the workload. Empty when this database does not say.
  virtual Result<std::string> Version(const Test&, const std::string&, control::Remote&) {
    return std::string();
  }

  // Process faults (Jepsen's db/Kill and db/Pause), called by the nemesis on its own thread
  // through the lifecycle's sessions. Kill stops the node's server abruptly (SIGKILL), Start
  // brings a killed server back with its data; Pause stops it with SIGSTOP, Resume continues it.
  // Each is idempotent (killing a dead server is ok). A Db without these says Unsupported, and a
  // nemesis asked for kill or pause refuses to start.
  virtual Status Kill(const Test&, const std::string& node, control::Remote&) {
    return Status::Unsupported("this database cannot kill " + node);
  }
  virtual Status Start(const Test&, const std::string& node, control::Remote&) {
    return Status::Unsupported("this database cannot start " + node);
  }
  virtual Status Pause(const Test&, const std::string& node, control::Remote&) {
    return Status::Unsupported("this database cannot pause " + node);
  }
  virtual Status Resume(const Test&, const std::string& node, control::Remote&) {
    return Status::Unsupported("this database cannot resume " + node);
  }
  // Whether `node` serves writes now, as the database itself says (Redis: ROLE is master), for
  // faults aimed at the primaries. A database with a fixed leader or none says HasPrimaries
  // false, and the faults do not offer that target.
  virtual bool HasPrimaries() const { return false; }
  virtual Result<bool> IsPrimary(const Test&, const std::string& node, control::Remote&) {
    return Status::Unsupported("this database cannot say whether " + node + " is a primary");
  }
  // Crash with amnesia (the amnesia fault): the node's server, killed beforehand, loses all its
  // data, so that its next Start brings it back empty, rejoining with whatever membership steps
  // the system needs (etcd: member remove and add through the live members). CanWipe says
  // whether this database can, so that a nemesis asked for amnesia refuses at setup.
  virtual bool CanWipe() const { return false; }
  virtual Status Wipe(const Test&, const std::string& node, control::Remote&) {
    return Status::Unsupported("this database cannot wipe " + node);
  }
};

// Sessions to the test's nodes, index-aligned with TestOptions::nodes (null where none was
// opened: the fake db). The lifecycle owns them; each serializes its commands, so the nemesis
// thread and the lifecycle thread may share one. Valid from Nemesis::Setup until Teardown returns.
using NodeRemotes = std::vector<control::Remote*>;

// One client connection, for one client thread (a logical thread: runner/interpreter.h). Its
// calls never overlap and each happens-before the next, but they may come from different OS
// threads (the interpreter's workers). Invoke turns an invocation into its completion: ok (it
// happened), fail (it certainly did not), or info (unknown). A client that is unsure must say
// info; an exception thrown from Invoke is recorded as info too.
class Client {
 public:
  virtual ~Client() = default;
  virtual Status Open(const Test& test, const std::string& node) = 0;
  virtual Op Invoke(const Test& test, const Op& invoke) = 0;
  virtual void Close(const Test&) {}
};

// Faults. Invoke applies the fault an op names and returns its completion (value = what was
// done to which nodes). Teardown heals everything this nemesis broke, whatever state it is in.
class Nemesis {
 public:
  virtual ~Nemesis() = default;
  virtual Status Setup(const Test&, const NodeRemotes&) { return Status::Ok(); }
  virtual Op Invoke(const Test& test, const Op& invoke) = 0;
  virtual Status Teardown(const Test& test) = 0;
};

// A nemesis that does nothing: every op completes info with value "noop".
class NoopNemesis : public Nemesis {
 public:
  Op Invoke(const Test& test, const Op& invoke) override;
  Status Teardown(const Test&) override { return Status::Ok(); }
};

struct TestOptions {
  std::string name = "test";
  std::vector<std::string> nodes;
  // The address (IP or DNS name) the controller uses for a node whose name alone does not
  // resolve on the controller (the local cluster's n1..nN); other nodes are reached by name.
  std::map<std::string, std::string> node_addresses;
  int concurrency = 5;       // client threads
  double time_limit_s = 10;  // the workload phase
  // The clients stop after this many ops (Jepsen's gen/limit); 0 = no limit. The workload phase
  // still ends at time_limit_s at the latest; faults go on until then.
  int64_t op_limit = 0;
  double rate = 0;           // total ops per second; 0 = as fast as clients go
  uint64_t seed = 0;
  double operation_timeout_s = 5;  // a client op running longer is recorded as info
  double recovery_s = 0;           // wait after the final heal, before the final generator
  bool leave_db_running = false;
  // --db-version: the server version every node must run, as a number ("15.10") or its first
  // components ("15" takes 15.10 and 15.2, not 150.1); empty takes any. Checked after Setup,
  // before the workload: a node with another version, or whose version cannot be read, fails
  // the run with both versions named.
  std::string db_version;
  std::string store_dir = "store";
};

// Where the controller reaches `node`: its entry in node_addresses, else the name itself.
inline const std::string& NodeAddress(const TestOptions& options, const std::string& node) {
  auto found = options.node_addresses.find(node);
  return found == options.node_addresses.end() ? node : found->second;
}

struct Test {
  TestOptions options;
  std::shared_ptr<Db> db;                               // null: no database lifecycle
  std::function<std::unique_ptr<Client>()> new_client;  // a fresh client per process
  std::shared_ptr<Nemesis> nemesis;                     // null: no faults
  gen::GenPtr generator;                                // workload (clients and nemesis)
  gen::GenPtr final_generator;                          // after heal and recovery; may be null
  // Judges the history at the end (usually the workload's checkers composed with stats and perf:
  // checker/registry.h's MakeRunChecker); test.json records its Describe().
  CheckerPtr checker;
  std::string workload;
  // The run's log (run.log): RunTest sets it on the copy of the test it runs, so that clients can
  // log (an exec client's stderr). Callable from any thread; may be empty.
  std::function<void(const std::string&)> log;
};

}  // namespace faultline
