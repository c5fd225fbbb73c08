#include "clients/registry.h"

#include <algorithm>

#include "checker/registry.h"
#include "checker/txn/models.h"
#include "clients/db_kind.h"
#include "clients/fake/classic_stores.h"
#include "clients/fake/fake.h"
#include "clients/fake/txn_store.h"
#include "clients/workloads/classic_workloads.h"
#include "core/op_values.h"
#include "core/parse_text.h"
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

const DbFlag* FindFlag(const DbKind& kind, const std::string& name) {
  for (const DbFlag& flag : kind.flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

// A flag given for a kind that does not declare it: which --db it belongs to.
Status ForeignFlag(const DbKind& kind, const std::string& name) {
  std::vector<std::string> owners;
  for (const DbKind& other : DbKinds()) {
    if (FindFlag(other, name) != nullptr) owners.push_back("--db " + other.name);
  }
  if (owners.empty()) return Status::InvalidArgument("unknown database flag --" + name);
  return Status::InvalidArgument("--" + name + " applies to " + text::JoinedWords(owners) +
                                 ", not --db " + kind.name);
}

// workload.db_flags checked against the kind's flags (each given one is the kind's, each value
// one of its choices) and completed with the defaults of those not given.
Status ResolveDbFlags(const DbKind& kind, WorkloadOptions& workload) {
  for (const auto& [name, values] : workload.db_flags) {
    if (values.empty()) continue;
    const DbFlag* flag = FindFlag(kind, name);
    if (flag == nullptr) return ForeignFlag(kind, name);
    for (const std::string& value : values) {
      if (flag->choices.empty() ||
          std::find(flag->choices.begin(), flag->choices.end(), value) != flag->choices.end())
        continue;
      return Status::InvalidArgument("--" + name + ": expected " +
                                     text::JoinedWords(flag->choices) + ", found \"" + value +
                                     "\"");
    }
  }
  for (const DbFlag& flag : kind.flags) {
    std::vector<std::string>& values = workload.db_flags[flag.name];
    if (values.empty() && !flag.repeatable) values.push_back(flag.default_value);
    if (!flag.repeatable) values.erase(values.begin(), values.end() - 1);  // the last one wins
  }
  return Status::Ok();
}

Result<Test> BuildDbTest(const TestOptions& options, WorkloadOptions workload) {
  const DbKind* kind = FindDbKind(workload.db);
  if (kind == nullptr) return Status::InvalidArgument("unknown db " + workload.db);
  if (!kind->workloads.empty() && std::find(kind->workloads.begin(), kind->workloads.end(),
                                            workload.workload) == kind->workloads.end()) {
    return Status::InvalidArgument("--db " + kind->name + " runs the " +
                                   text::JoinedWords(kind->workloads, " and ") +
                                   " workloads, not " + workload.workload);
  }
  if (Status flags = ResolveDbFlags(*kind, workload); !flags.ok()) return flags;
  return kind->build(options, workload);
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
// the final heal; the workload's final ops (the set workloads' final reads) are the test's final
// generator.
Status AddGenerators(const WorkloadOptions& workload, Test* test) {
  Result<gen::GenPtr> client_workload = ClientWorkload(test->options, workload);
  if (!client_workload.ok()) return client_workload.status();
  gen::GenPtr clients = *client_workload;
  if (test->options.op_limit > 0) clients = gen::Limit(test->options.op_limit, clients);
  auto limit = static_cast<int64_t>(test->options.time_limit_s * 1e9);
  nemesis::NemesisOptions nemesis_options;
  nemesis_options.faults = {workload.nemesis};
  nemesis_options.interval_s = workload.nemesis_interval_s;
  nemesis_options.nodes = test->options.nodes;
  nemesis_options.sudo = workload.nemesis_sudo;
  nemesis_options.targets = workload.nemesis_targets;
  nemesis_options.primaries = test->db && test->db->HasPrimaries();
  // The local cluster's controller; never a node's address on real machines.
  nemesis_options.protected_addresses = {cluster::kControllerAddress};
  Result<nemesis::NemesisPackage> package = nemesis::BuildNemesis(nemesis_options);
  if (!package.ok()) return package.status();
  gen::GenPtr final_clients = workloads::IsClassicWorkload(workload.workload)
                                  ? workloads::FinalGenerator(workload.workload)
                                  : nullptr;
  if (final_clients) final_clients = gen::Clients(final_clients);
  // The final reads run after the heal and the recovery wait (the lifecycle's final generator):
  // a database still recovering when they come (Sentinel demoting an old primary) would cut
  // them off.
  test->final_generator = final_clients;
  if (!package->nemesis) {
    test->generator = gen::TimeLimit(limit, clients);
    return Status::Ok();
  }
  if (const DbKind* kind = FindDbKind(workload.db); kind != nullptr && kind->in_process) {
    return Status::InvalidArgument(
        "the " + workload.db +
        " db runs inside faultline: it has no nodes to partition, kill or "
        "pause (use --db etcd, or --nemesis none)");
  }
  test->nemesis = package->nemesis;
  test->generator = gen::Then(gen::TimeLimit(limit, gen::Any({clients, package->generator})),
                              package->final_generator);
  return Status::Ok();
}

// The checkers named by --checker, else the workload's own: a register's values mean a
// cas-register (linearizable); the transactional and classic workloads name their checkers.
std::vector<std::string> CheckerNames(const WorkloadOptions& workload) {
  if (!workload.checkers.empty()) return workload.checkers;
  const bool linearizable = workload.workload == "register" || workload.workload == "queue";
  return {linearizable ? "linearizable" : workload.workload};
}

// What the checkers check against: registers start at nil on the fake store and on etcd (a key
// nobody wrote reads as nil); the queue workload is an unordered queue, empty at first (Jepsen's
// queue checker).
Json CheckerSettings(const WorkloadOptions& workload) {
  const char* model = workload.workload == "queue" ? "unordered-queue" : "cas-register";
  return {{"model", {{"name", model}, {"initial_value", nullptr}}},
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
    default: {
      int from = value(rng);  // drawn in this order: a seed gives the history it always gave
      int to = value(rng);
      return gen::MakeOp("cas", CasValue(from, to));
    }
  }
}

// The databases, each made in its own folder (clients/<name>/kind.cc): the one registration.
DbKind FakeDbKind();
DbKind EtcdDbKind();
DbKind PostgresDbKind();
DbKind GaleraDbKind();
DbKind RedisDbKind();
DbKind ExecDbKind();

const std::vector<DbKind>& DbKinds() {
  static const std::vector<DbKind> kinds = {FakeDbKind(),  EtcdDbKind(),  PostgresDbKind(),
                                             GaleraDbKind(), RedisDbKind(), ExecDbKind()};
  return kinds;
}

const DbKind* FindDbKind(const std::string& name) {
  for (const DbKind& kind : DbKinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

std::vector<std::string> DbNames() {
  std::vector<std::string> names;
  for (const DbKind& kind : DbKinds()) names.push_back(kind.name);
  return names;
}

const std::string& DbFlagValue(const WorkloadOptions& workload, const std::string& name) {
  const std::vector<std::string>& values = DbFlagValues(workload, name);
  static const std::string kNone;
  return values.empty() ? kNone : values.back();
}

const std::vector<std::string>& DbFlagValues(const WorkloadOptions& workload,
                                             const std::string& name) {
  static const std::vector<std::string> kNone;
  auto found = workload.db_flags.find(name);
  return found == workload.db_flags.end() ? kNone : found->second;
}

bool RunsOnNames(const WorkloadOptions& workload) {
  const DbKind* kind = FindDbKind(workload.db);
  return kind != nullptr && kind->runs_on_names(workload);
}
std::vector<std::string> WorkloadNames() {
  return {"register", "list-append", "rw-register", "session", "counter",    "set",
          "set-full", "unique-ids",  "bank",        "queue",   "total-queue"};
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
  const DbKind* kind = FindDbKind(db);
  if (kind != nullptr && kind->in_process) {
    return [](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
      return std::unique_ptr<control::Remote>(std::make_unique<control::FakeRemote>(node));
    };
  }
  return [ssh](const std::string& node) { return control::ConnectSsh(node, ssh); };
}

}  // namespace faultline::clients
