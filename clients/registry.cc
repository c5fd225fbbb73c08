#include "clients/registry.h"

#include <algorithm>

#include "checker/registry.h"
#include "checker/txn/models.h"
#include "clients/etcd/etcd.h"
#include "clients/exec/exec.h"
#include "clients/fake/classic_stores.h"
#include "clients/fake/fake.h"
#include "clients/fake/txn_store.h"
#include "clients/workloads/classic_workloads.h"
#include "generators/combinators.h"
#include "nemesis/nemesis.h"
#include "runner/cluster/cluster.h"
#include "runner/control/fake_remote.h"

namespace faultline::clients {
namespace {

constexpr int64_t kOpsPerKey = 200;  // keeps each key's history small for the checker

// Jepsen's independent groups need the client threads to split evenly: the largest divisor of
// the concurrency that is at most 10.
int ThreadsPerKey(int concurrency) {
  for (int group = std::min(concurrency, 10); group > 1; --group) {
    if (concurrency % group == 0) return group;
  }
  return 1;
}

// The clients' part of the workload, unbounded: the caller adds the nemesis and the time limit.
gen::GenPtr RegisterWorkload(const TestOptions& options) {
  gen::KeyFunction keys = [](int64_t position) -> std::optional<Json> { return Json(position); };
  gen::GenPtr generator =
      gen::Independent(keys, ThreadsPerKey(options.concurrency), kOpsPerKey,
                       [](const Json&) { return gen::Repeat(gen::OpFunction(RegisterOp)); });
  generator = gen::Clients(generator);
  if (options.rate > 0) generator = gen::Rate(options.rate, generator);
  return generator;
}

bool IsTxnWorkload(const std::string& name) {
  return name != "register" && !workloads::IsClassicWorkload(name);
}

// The classic workloads' fake store (counter, set, ...), with its --fake-bug.
Result<Test> BuildFakeClassicTest(const TestOptions& options, const WorkloadOptions& workload) {
  Result<std::shared_ptr<fake::ClassicStore>> store =
      fake::MakeClassicStore(workload.workload, workload.fake_bug, options.seed);
  if (!store.ok()) return store.status();
  Test test;
  test.options = options;
  test.db = std::make_shared<fake::FakeDb>();
  test.new_client = [store = *store] { return std::make_unique<fake::ClassicClient>(store); };
  return test;
}

// The transactional workloads' part of the test: the store, its clients and the checker.
Result<Test> BuildFakeTxnTest(const TestOptions& options, const WorkloadOptions& workload) {
  std::optional<fake::Isolation> isolation = fake::ParseIsolation(workload.fake_isolation);
  if (!isolation) {
    return Status::InvalidArgument("unknown --fake-isolation " + workload.fake_isolation +
                                   " (expected serializable, snapshot-isolation, read-committed "
                                   "or replica-read)");
  }
  if (workload.fake_bug != "none") {
    return Status::InvalidArgument("--fake-bug applies to the register workload; the " +
                                   workload.workload +
                                   " workload's fake store takes --fake-isolation");
  }
  fake::TxnStoreOptions store_options;
  store_options.isolation = *isolation;
  store_options.seed = options.seed;
  auto store = std::make_shared<fake::TxnStore>(store_options);
  Test test;
  test.options = options;
  test.db = std::make_shared<fake::FakeDb>();
  test.new_client = [store] { return std::make_unique<fake::TxnClient>(store); };
  return test;
}

Result<Test> BuildFakeTest(const TestOptions& options, const WorkloadOptions& workload) {
  if (IsTxnWorkload(workload.workload)) return BuildFakeTxnTest(options, workload);
  if (workload.fake_isolation != "serializable") {
    return Status::InvalidArgument(
        "--fake-isolation applies to the list-append, rw-register and session workloads; the " +
        workload.workload + " workload's fake store takes --fake-bug");
  }
  if (workloads::IsClassicWorkload(workload.workload)) {
    return BuildFakeClassicTest(options, workload);
  }
  std::optional<fake::Bug> bug = fake::ParseBug(workload.fake_bug);
  if (!bug) return Status::InvalidArgument("unknown fake bug " + workload.fake_bug);
  Test test;
  test.options = options;
  auto store = std::make_shared<fake::FakeStore>(*bug, options.seed);
  test.db = std::make_shared<fake::FakeDb>();
  test.new_client = [store] { return std::make_unique<fake::FakeClient>(store); };
  return test;
}

// A system faultline knows nothing about, driven by the user's client command.
Result<Test> BuildExecTest(const TestOptions& options, const WorkloadOptions& workload) {
  if (workload.client_command.empty()) {
    return Status::InvalidArgument(
        "--db exec needs --client-command: the program that speaks the exec protocol "
        "(docs/clients.md)");
  }
  Test test;
  test.options = options;
  exec::ExecOptions exec_options;
  exec_options.command = workload.client_command;
  test.new_client = [exec_options] { return std::make_unique<exec::ExecClient>(exec_options); };
  return test;
}

Result<Test> BuildDbTest(const TestOptions& options, const WorkloadOptions& workload) {
  if (!workload.client_command.empty() && workload.db != "exec") {
    return Status::InvalidArgument("--client-command applies to --db exec, not --db " +
                                   workload.db);
  }
  if (workload.db != "fake" && (workload.fake_bug != "none" ||
                                workload.fake_isolation != "serializable")) {
    return Status::InvalidArgument("--fake-bug and --fake-isolation apply to --db fake");
  }
  if (workload.db == "fake") return BuildFakeTest(options, workload);
  if (workload.db == "exec") return BuildExecTest(options, workload);
  if (workload.db != "etcd") return Status::InvalidArgument("unknown db " + workload.db);
  if ((IsTxnWorkload(workload.workload) && workload.workload != "list-append") ||
      workloads::IsClassicWorkload(workload.workload)) {
    return Status::InvalidArgument("etcd has no workload " + workload.workload + " yet");
  }
  etcd::EtcdOptions etcd_options;
  Result<etcd::ReadConsistency> consistency = etcd::ParseReadConsistency(workload.read_consistency);
  if (!consistency.ok()) return consistency.status();
  etcd_options.read_consistency = *consistency;
  Result<Test> test = etcd::BuildEtcdTest(options, etcd_options, workload.workload);
  return test;
}

// The clients' part of the workload, unbounded (RegisterWorkload's counterpart).
Result<gen::GenPtr> ClientWorkload(const TestOptions& options, const WorkloadOptions& workload) {
  if (workload.workload == "register") return RegisterWorkload(options);
  if (workloads::IsClassicWorkload(workload.workload)) {
    gen::GenPtr clients = gen::Clients(workloads::ClassicGenerator(workload.workload));
    if (options.rate > 0) clients = gen::Rate(options.rate, clients);
    return clients;
  }
  Result<gen::GenPtr> generator =
      workload.workload == "list-append"   ? workloads::ListAppendGenerator(workload.txn)
      : workload.workload == "rw-register" ? workloads::RwRegisterGenerator(workload.txn)
                                           : workloads::SessionGenerator(workload.txn);
  if (!generator.ok()) return generator.status();
  gen::GenPtr clients = gen::Clients(*generator);
  if (options.rate > 0) clients = gen::Rate(options.rate, clients);
  return clients;
}

// Puts the workload's client generator beside the nemesis schedule under the time limit, then
// the final heal, then the workload's final ops (the set workloads' final reads).
Status AddGenerators(const WorkloadOptions& workload, Test* test) {
  Result<gen::GenPtr> client_workload = ClientWorkload(test->options, workload);
  if (!client_workload.ok()) return client_workload.status();
  gen::GenPtr clients = *client_workload;
  auto limit = static_cast<int64_t>(test->options.time_limit_s * 1e9);
  nemesis::NemesisOptions nemesis_options;
  nemesis_options.faults = {workload.nemesis};
  nemesis_options.interval_s = workload.nemesis_interval_s;
  nemesis_options.nodes = test->options.nodes;
  nemesis_options.sudo = workload.nemesis_sudo;
  // The local cluster's controller; never a node's address on real machines.
  nemesis_options.protected_addresses = {cluster::kControllerAddress};
  Result<nemesis::NemesisPackage> package = nemesis::BuildNemesis(nemesis_options);
  if (!package.ok()) return package.status();
  gen::GenPtr final_clients = workloads::IsClassicWorkload(workload.workload)
                                 ? workloads::FinalGenerator(workload.workload)
                                 : nullptr;
  if (final_clients) final_clients = gen::Clients(final_clients);
  if (!package->nemesis) {
    test->generator = gen::TimeLimit(limit, clients);
    if (final_clients) test->generator = gen::Then(test->generator, final_clients);
    return Status::Ok();
  }
  if (workload.db == "fake") {
    return Status::InvalidArgument(
        "the fake db runs inside faultline: it has no nodes to partition, kill or pause "
        "(use --db etcd, or --nemesis none)");
  }
  test->nemesis = package->nemesis;
  test->generator = gen::Then(gen::TimeLimit(limit, gen::Any({clients, package->generator})),
                              package->final_generator);
  if (final_clients) test->generator = gen::Then(test->generator, final_clients);
  return Status::Ok();
}

// The checkers named by --checker, else the workload's own: a register's values mean a
// cas-register (linearizable); the transactional and classic workloads name their checkers.
std::vector<std::string> CheckerNames(const WorkloadOptions& workload) {
  if (!workload.checkers.empty()) return workload.checkers;
  return {workload.workload == "register" ? "linearizable" : workload.workload};
}

// What the checkers check against: registers start at nil on the fake store and on etcd (a key
// nobody wrote reads as nil).
Json CheckerSettings(const WorkloadOptions& workload) {
  return {{"model", {{"name", "cas-register"}, {"initial_value", nullptr}}},
          {"consistency_model", workload.consistency_model},
          {"apdex_t_s", workload.apdex_t_s},
          {"window_s", workload.plot_window_s}};
}

}  // namespace

Op RegisterOp(const gen::Context&, gen::Rng& rng) {
  std::uniform_int_distribution<int> value(0, 4);
  switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
    case 0:
      return gen::MakeOp("read");
    case 1:
      return gen::MakeOp("write", value(rng));
    default:
      return gen::MakeOp("cas", Json::array({value(rng), value(rng)}));
  }
}

std::vector<std::string> DbNames() { return {"fake", "etcd", "exec"}; }
std::vector<std::string> WorkloadNames() {
  return {"register", "list-append", "rw-register", "session", "counter",
          "set",      "set-full",    "unique-ids",  "bank"};
}
std::vector<std::string> FakeIsolationNames() { return fake::IsolationNames(); }
std::vector<std::string> FakeBugNames() {
  std::vector<std::string> names = fake::BugNames();
  for (const std::string& name : fake::AllClassicBugNames()) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}
std::vector<std::string> KeyDistributionNames() { return workloads::KeyDistributionNames(); }
std::vector<std::string> ConsistencyModelNames() { return txn::ConsistencyModelNames(); }
std::vector<std::string> NemesisNames() {
  std::vector<std::string> names = {"none"};
  for (const std::string& fault : nemesis::FaultNames()) names.push_back(fault);
  return names;
}

bool IsWorkload(const std::string& name) {
  auto names = WorkloadNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsNemesisSet(const std::string& set) {
  auto names = NemesisNames();
  std::string fault;
  for (char c : set + "+") {
    if (c != '+' && c != ',') {
      fault += c;
      continue;
    }
    if (std::find(names.begin(), names.end(), fault) == names.end()) return false;
    fault.clear();
  }
  return true;
}

Result<Test> BuildTest(const TestOptions& options, const WorkloadOptions& workload) {
  if (!IsWorkload(workload.workload)) {
    return Status::InvalidArgument("unknown workload " + workload.workload);
  }
  if (!IsNemesisSet(workload.nemesis)) {
    return Status::InvalidArgument("unknown nemesis set " + workload.nemesis);
  }
  if (IsTxnWorkload(workload.workload)) {
    if (!txn::IsConsistencyModel(workload.consistency_model)) {
      return Status::InvalidArgument("unknown --consistency-model " + workload.consistency_model);
    }
    Status valid = workloads::Validate(workload.txn);
    if (!valid.ok()) return valid;
  }
  Result<Test> test = BuildDbTest(options, workload);
  if (!test.ok()) return test.status();
  test->workload = workload.workload;
  Result<CheckerPtr> checker = MakeRunChecker(CheckerNames(workload), CheckerSettings(workload));
  if (!checker.ok()) return checker.status();
  test->checker = *checker;
  Status generators = AddGenerators(workload, &*test);
  if (!generators.ok()) return generators;
  return test;
}

Connector MakeConnector(const std::string& db, const control::SshOptions& ssh) {
  if (db == "fake") {
    return [](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
      return std::unique_ptr<control::Remote>(std::make_unique<control::FakeRemote>(node));
    };
  }
  return [ssh](const std::string& node) { return control::ConnectSsh(node, ssh); };
}

}  // namespace faultline::clients
