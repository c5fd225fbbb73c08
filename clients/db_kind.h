// A database faultline can test, as a value: its name, what it needs, and how it builds a test's
// db and clients. Each one is made in its own folder (clients/fake/kind.cc, clients/etcd/kind.cc,
// clients/exec/kind.cc) and listed once, in DbKinds() (clients/registry.cc): adding a database is
// its folder plus that one line.
#pragma once

#include <functional>
#include <string>

#include "clients/registry.h"
#include "core/status.h"
#include "runner/test.h"

namespace faultline::clients {

struct DbKind {
  std::string name;     // --db NAME
  std::string summary;  // one line for --help
  // The database runs inside faultline: its nodes are names reached through no-op sessions, never
  // SSH, and it has nothing to partition, kill or pause.
  bool in_process = false;
  // Whether a test with these options and no --nodes runs on node names alone, with no cluster
  // (in-process databases; an exec client that reaches its system itself, with no --db-*
  // commands and no faults). Otherwise it runs on the local cluster.
  std::function<bool(const WorkloadOptions&)> runs_on_names;
  // The test's options, db and client factory for the workload (workload.workload is known to be
  // a workload name; whether this database runs it, and every db-specific flag, is checked here:
  // InvalidArgument with the reason). BuildTest adds the generators and the checker.
  std::function<Result<Test>(const TestOptions&, const WorkloadOptions&)> build;
};

// Every database, in --help order; and the one named (null when none is).
const std::vector<DbKind>& DbKinds();
const DbKind* FindDbKind(const std::string& name);

// The kinds, each made in its folder.
DbKind FakeDbKind();
DbKind EtcdDbKind();
DbKind ExecDbKind();

// A fresh exec client per process running `command` (clients/exec): for --db exec, and for a real
// database whose built-in client the user replaces with --client-command.
std::function<std::unique_ptr<Client>()> ExecClients(const std::string& command);

}  // namespace faultline::clients
