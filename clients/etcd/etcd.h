// etcd: the database lifecycle over SSH (EtcdDb) and a client on etcd's v3 JSON gateway through
// libcurl (EtcdClient), for the `register` and `list-append` workloads. docs/etcd.md has the
// details.
//
// EtcdDb runs one etcd member per node, each with its own directory (data dir, pid file, log)
// under the SSH user's home, started with start-stop-daemon --pidfile so that nodes sharing one
// PID namespace and filesystem (the local cluster) never touch each other's process. Every
// signal is sent only after the pid file's process is checked to be this node's etcd
// (/proc/<pid>/comm and its --data-dir) and alive (not a zombie). Setup, Teardown and the
// process faults (Kill, Start, Pause, Resume) are idempotent.
//
// EtcdClient sends each op as one HTTP request on a fresh connection: read -> /v3/kv/range, write
// -> /v3/kv/put, cas -> /v3/kv/txn comparing the value; a list-append txn -> a /v3/kv/range per
// key, then one /v3/kv/txn comparing mod_revisions. Errors are mapped honestly: a request
// that never left (connection refused, connect timeout) or that etcd rejected before proposing it
// is fail; a request that left and got no answer (timeout, reset) is info. Reads (and read-only
// txns) change nothing, so every read error is fail.
//
// Threads: EtcdDb may be called for different nodes from different threads at once, and from the
// nemesis thread (its only shared state, the resolved directories, is guarded). An EtcdClient
// serves one client thread: one call at a time, from whichever worker runs it (its curl handle
// moves between OS threads, which libcurl allows for a handle not in use elsewhere).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runner/test.h"

typedef void CURL;

namespace faultline::control {
struct Command;
}  // namespace faultline::control

namespace faultline::etcd {

enum class ReadConsistency { kLinearizable, kSerializable };

Result<ReadConsistency> ParseReadConsistency(std::string_view text);  // "linearizable", ...
std::string ToString(ReadConsistency consistency);

struct EtcdOptions {
  ReadConsistency read_consistency = ReadConsistency::kLinearizable;
  int client_port = 2379;
  int peer_port = 2380;
  int heartbeat_interval_ms = 100;  // etcd's defaults
  int election_timeout_ms = 1000;
  // Per node, relative to the SSH user's home (or absolute): data/, etcd.pid, etcd.log.
  std::string directory = "faultline-etcd";
  double start_timeout_s = 30;  // Setup waits this long for the member to report healthy
  // Every key the client writes starts with this, so data a previous run left behind (a run with
  // leave_db_running) never meets this run's registers, which the model assumes start at nil.
  // BuildEtcdTest fills it with a per-run prefix when empty.
  std::string key_prefix;
};

// InvalidArgument for options that cannot work (ports, timeouts, a directory that is "", "/" or
// holds "..": Teardown removes it).
Status ValidateOptions(const EtcdOptions& options);

// The member's pid file on a node, relative to the SSH user's home unless options.directory is
// absolute: what `faultline cluster heal` checks before it continues a paused member.
std::string PidFile(const EtcdOptions& options);

// The base URL of `node`'s client port as the controller reaches it: http://<address>:<port>.
std::string ClientUrl(const TestOptions& test, const std::string& node, int port);

class EtcdDb : public Db {
 public:
  // Whether the member at `base_url` reports healthy; one probe bounded by `timeout_ms`. An
  // error: the node answered something that is not etcd's health response (Setup fails).
  using HealthProbe = std::function<Result<bool>(const std::string& base_url, int64_t timeout_ms)>;

  // `probe` null: GET <url>/health through libcurl, read by ReadHealth (gateway.h).
  explicit EtcdDb(EtcdOptions options, HealthProbe probe = nullptr);

  // Installs etcd-server if `etcd` is missing, creates the node's directory and marks it as
  // faultline's (.faultline-etcd; a non-empty directory without the mark is refused), starts the
  // member and waits until it reports healthy (every node's Setup runs at once: a member is
  // healthy only with a quorum). Fails early with the log's tail when the member exits, and at
  // once when the node answers something that is not etcd's health response.
  Status Setup(const Test& test, const std::string& node, control::Remote& remote) override;
  // Kills the member and removes the node's directory when it carries Setup's mark (or is
  // empty); else an error, and nothing is removed.
  Status Teardown(const Test& test, const std::string& node, control::Remote& remote) override;
  std::vector<std::string> LogFiles(const Test& test, const std::string& node) const override;

  // SIGKILL, waiting until the process is gone or a zombie. Ok when it is not running.
  Status Kill(const Test& test, const std::string& node, control::Remote& remote) override;
  // Starts the member with its data (ok when it runs already) and waits until the process runs;
  // not until it is healthy, which needs a quorum the nemesis may be holding down.
  Status Start(const Test& test, const std::string& node, control::Remote& remote) override;
  // SIGSTOP / SIGCONT. Ok when the member is not running (a killed member has nothing to pause).
  Status Pause(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Resume(const Test& test, const std::string& node, control::Remote& remote) override;
  // Amnesia: the member (killed before) is removed from the cluster through the other members
  // (etcdctl member remove, found by its peer URL, so a half-done earlier wipe is found too), its
  // data directory goes, and it is added back (member add); its next Start joins the existing
  // cluster empty (--initial-cluster-state existing) and catches up from the leader. Needs a
  // quorum among the other members.
  bool CanWipe() const override { return true; }
  Status Wipe(const Test& test, const std::string& node, control::Remote& remote) override;
  // `etcd --version`'s number ("3.4.23").
  Result<std::string> Version(const Test& test, const std::string& node,
                              control::Remote& remote) override;

  const EtcdOptions& options() const { return options_; }

 private:
  // The node's directory as an absolute path on the node (created if missing); cached.
  Result<std::string> Directory(const std::string& node, control::Remote& remote);
  // Setup's Directory: creates and marks it, or takes a marked one; refuses any other.
  Result<std::string> Claim(const std::string& node, control::Remote& remote);
  // Runs `script`, which prints the absolute directory, and caches what it printed.
  Result<std::string> Resolve(const std::string& node, control::Remote& remote,
                              const control::Command& script);
  std::vector<std::string> MemberFlags(const Test& test, const std::string& node,
                                       const std::string& directory) const;
  Status Install(control::Remote& remote);
  Status WaitHealthy(const Test& test, const std::string& node, control::Remote& remote,
                     const std::string& directory);
  Status Signal(const std::string& node, control::Remote& remote, const std::string& signal);

  const EtcdOptions options_;
  const HealthProbe probe_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> directories_;  // node -> absolute directory
  std::set<std::string> wiped_;  // nodes re-added by Wipe: they start into the existing cluster
};

struct GatewayRequest;
struct HttpExchange;

class EtcdClient : public Client {
 public:
  explicit EtcdClient(EtcdOptions options);
  ~EtcdClient() override;
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  Status Open(const Test& test, const std::string& node) override;
  // read / write / cas on a bare value or a Jepsen [key value] tuple, like clients/fake; or a
  // list-append txn (f "txn", [["append",k,v],["r",k,null],...]).
  Op Invoke(const Test& test, const Op& invoke) override;
  void Close(const Test&) override;

 private:
  // One request on a fresh connection, bounded by the test's operation timeout.
  HttpExchange Send(const Test& test, const GatewayRequest& request);
  // Optimistic: a range per distinct key (list and mod_revision), then one Txn that puts the
  // appended keys' new lists if no key's mod_revision changed; a failed compare is fail.
  Op InvokeListAppend(const Test& test, const Op& invoke);

  const EtcdOptions options_;
  std::string base_url_;
  CURL* curl_ = nullptr;
};

// The test value for `workload` on etcd: db and client factory. The generator and the checker
// are the caller's (clients/registry.h). "register": per-key cas-registers starting at nil;
// "list-append": Elle-style list-append transactions.
Result<Test> BuildEtcdTest(const TestOptions& options, EtcdOptions etcd,
                           const std::string& workload);

}  // namespace faultline::etcd
