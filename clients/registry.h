// Which databases and workloads `faultline test` can build, by name.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "clients/workloads/txn_workloads.h"
#include "core/status.h"
#include "runner/control/ssh_remote.h"
#include "runner/lifecycle.h"
#include "runner/test.h"

namespace faultline::clients {

struct WorkloadOptions {
  std::string db = "fake";
  std::string workload = "register";
  std::string nemesis = "none";    // a nemesis set: "none", or fault names joined by ',' or '+'
  double nemesis_interval_s = 10;  // between a fault's start and its heal, and between faults
  // --nemesis-targets: what the faults may aim at (nemesis::NemesisOptions::targets); empty: all.
  std::vector<std::string> nemesis_targets;
  // The user's own client (clients/exec/exec.h), run by /bin/sh -c once per client process,
  // speaking the exec protocol (docs/clients.md): for --db exec, and instead of a real
  // database's built-in client.
  std::string client_command;
  // The flags that belong to --db's kind (clients/db_kind.h DbFlag), by name without dashes:
  // the values given, in order (an empty list: not given).
  std::map<std::string, std::vector<std::string>> db_flags;
  int keys_per_thread_group = 0;                  // 0 = default
  // list-append, rw-register, session (docs/workloads.md):
  workloads::TxnWorkloadOptions txn;  // keys, transaction lengths, key distribution
  // list-append, rw-register: the model the isolation checker judges the history against.
  std::string consistency_model = "strict-serializable";
  // Which checkers judge the run (checker/registry.h); empty = the workload's own (register:
  // linearizable; the others their namesake). stats and perf are always added.
  std::vector<std::string> checkers;
  double apdex_t_s = 0.5;     // perf: Apdex's T, seconds
  double plot_window_s = 10;  // perf: the plots' window, seconds
  // Faults need root on the nodes (iptables): true when the SSH user is not root, so the
  // nemesis runs its commands through sudo.
  bool nemesis_sudo = false;
};

// One op of the register workload: a read, a write or a compare-and-set of small values (0..4),
// so that cas often succeeds and reads see real contention.
Op RegisterOp(const gen::Context& context, gen::Rng& rng);

std::vector<std::string> DbNames();  // clients/db_kind.h DbKinds(), by name
// Whether a test with these options and no --nodes runs on node names alone (DbKind).
bool RunsOnNames(const WorkloadOptions& workload);
std::vector<std::string> WorkloadNames();
std::vector<std::string> NemesisNames();
std::vector<std::string> KeyDistributionNames();   // uniform, exponential, zipf
std::vector<std::string> ConsistencyModelNames();  // the isolation checker's models
bool IsWorkload(const std::string& name);
// A nemesis set: fault names joined by '+' (or ","), each one of NemesisNames().
bool IsNemesisSet(const std::string& set);

// A complete test value from the options: db, client factory, generators, checker. With faults,
// the generator is the clients' workload beside the nemesis schedule, bounded by the time limit,
// then the nemesis's final heal (so the heal is in the history). Options that do not fit the db
// and workload (an unknown consistency model, --fake-isolation with the register workload, a
// workload etcd has no client for yet, ...) are InvalidArgument, with the reason.
Result<Test> BuildTest(const TestOptions& options, const WorkloadOptions& workload);

// How the lifecycle reaches the nodes of this db: SSH with `ssh`, or for the fake db a no-op
// remote per node (the fake needs no node, but goes through the same lifecycle).
Connector MakeConnector(const std::string& db, const control::SshOptions& ssh);

}  // namespace faultline::clients
