// A database faultline can test, as a value: its name, what it needs, and how it builds a test's
// db and clients. Each one is made in its own folder (clients/fake/kind.cc, clients/etcd/kind.cc,
// clients/postgres/kind.cc, clients/galera/kind.cc, clients/redis/kind.cc, clients/exec/kind.cc)
// and registered once, in clients/registry.cc (its maker declared and listed in DbKinds()):
// adding a database is its folder plus that registration.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "clients/registry.h"
#include "core/status.h"
#include "runner/test.h"

namespace faultline::clients {

// A flag that belongs to one database (--fake-bug, --read-consistency, --db-setup): declared by
// its kind, added to `faultline test` by the CLI, and refused for any other --db.
struct DbFlag {
  std::string name;  // without the dashes: "read-consistency"
  std::string help;  // one line for --help
  // What the kind reads when the flag is not given; none for a repeatable flag (its values
  // are then an empty list).
  std::string default_value;
  std::vector<std::string> choices;  // the values it accepts; empty: any text
  bool repeatable = false;           // given several times, each value counts
};

struct DbKind {
  std::string name;     // --db NAME
  std::string summary;  // one line for --help
  std::vector<DbFlag> flags;
  // The workloads it runs, in --help order; empty: every workload (an exec client says itself
  // which ops it knows).
  std::vector<std::string> workloads;
  // The database runs inside faultline: its nodes are names reached through no-op sessions, never
  // SSH, and it has nothing to partition, kill or pause.
  bool in_process = false;
  // Whether a test with these options and no --nodes runs on node names alone, with no cluster
  // (in-process databases; an exec client that reaches its system itself, with no --db-*
  // commands and no faults). Otherwise it runs on the local cluster.
  std::function<bool(const WorkloadOptions&)> runs_on_names;
  // The test's options, db and client factory for the workload. BuildTest has checked that this
  // kind runs the workload and that workload.db_flags holds only this kind's flags, each value
  // one of its choices, with every flag not given at its default (DbFlagValue reads them); the
  // rest (flags that do not fit together, a workload that needs a flag) is checked here:
  // InvalidArgument with the reason. BuildTest adds the generators and the checker.
  std::function<Result<Test>(const TestOptions&, const WorkloadOptions&)> build;
};

// A flag of the kind being built: its last value (a plain flag) or every value (a repeatable
// one), in the workload DbKind::build is given.
const std::string& DbFlagValue(const WorkloadOptions& workload, const std::string& name);
const std::vector<std::string>& DbFlagValues(const WorkloadOptions& workload,
                                             const std::string& name);

// Every database, in --help order; and the one named (null when none is).
const std::vector<DbKind>& DbKinds();
const DbKind* FindDbKind(const std::string& name);

// A fresh exec client per process running `command` (clients/exec): for --db exec, and for a real
// database whose built-in client the user replaces with --client-command.
std::function<std::unique_ptr<Client>()> ExecClients(const std::string& command);

}  // namespace faultline::clients
