// --db fake: in-process stores with seeded bugs (fake.h, txn_store.h), for testing the harness
// and the checkers without a cluster.
#include <algorithm>

#include "clients/db_kind.h"
#include "clients/fake/classic_stores.h"
#include "clients/fake/fake.h"
#include "clients/fake/txn_store.h"
#include "clients/workloads/classic_workloads.h"

namespace faultline::clients {
namespace {

// The transactional workloads' store: --fake-isolation says how it breaks.
Result<Test> BuildTxnTest(const TestOptions& options, const WorkloadOptions& workload) {
  // One of the flag's choices: BuildTest checked it.
  std::optional<fake::Isolation> isolation =
      fake::ParseIsolation(DbFlagValue(workload, "fake-isolation"));
  if (DbFlagValue(workload, "fake-bug") != "none") {
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

// The classic workloads' fake store (counter, set, ...), with its --fake-bug.
Result<Test> BuildFakeClassicTest(const TestOptions& options, const WorkloadOptions& workload) {
  Result<std::shared_ptr<fake::ClassicStore>> store =
      fake::MakeClassicStore(workload.workload, DbFlagValue(workload, "fake-bug"), options.seed);
  if (!store.ok()) return store.status();
  Test test;
  test.options = options;
  test.db = std::make_shared<fake::FakeDb>();
  test.new_client = [store = *store] { return std::make_unique<fake::ClassicClient>(store); };
  return test;
}

// The register workload's store and the classic ones: --fake-bug says how they break.
Result<Test> BuildRegisterTest(const TestOptions& options, const WorkloadOptions& workload) {
  if (DbFlagValue(workload, "fake-isolation") != "serializable") {
    return Status::InvalidArgument(
        "--fake-isolation applies to the list-append, rw-register and session workloads; the " +
        workload.workload + " workload's fake store takes --fake-bug");
  }
  if (workloads::IsClassicWorkload(workload.workload)) {
    return BuildFakeClassicTest(options, workload);
  }
  std::optional<fake::Bug> bug = fake::ParseBug(DbFlagValue(workload, "fake-bug"));
  if (!bug) {
    return Status::InvalidArgument("the register workload's fake store has no bug " +
                                   DbFlagValue(workload, "fake-bug"));
  }
  Test test;
  test.options = options;
  auto store = std::make_shared<fake::FakeStore>(*bug, options.seed);
  test.db = std::make_shared<fake::FakeDb>();
  test.new_client = [store] { return std::make_unique<fake::FakeClient>(store); };
  return test;
}

// Every bug of the register store and of the classic stores, each once.
std::vector<std::string> BugNames() {
  std::vector<std::string> names = fake::BugNames();
  for (const std::string& name : fake::AllClassicBugNames()) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

}  // namespace

DbKind FakeDbKind() {
  DbKind kind;
  kind.name = "fake";
  kind.summary = "in-process stores with seeded bugs (--fake-bug, --fake-isolation)";
  kind.flags = {
      {.name = "fake-bug",
       .help = "The bug the register or classic workload's store has (docs/workloads.md)",
       .default_value = "none",
       .choices = BugNames()},
      {.name = "fake-isolation",
       .help = "The transactional workloads' store's isolation (docs/workloads.md)",
       .default_value = "serializable",
       .choices = fake::IsolationNames()},
  };
  kind.in_process = true;
  kind.runs_on_names = [](const WorkloadOptions&) { return true; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    if (!workload.client_command.empty()) {
      return Status::InvalidArgument(
          "--client-command applies to --db exec and to real databases (etcd: your client "
          "against the etcd faultline runs), not to the in-process fake db");
    }
    const bool transactional =
        workload.workload != "register" && !workloads::IsClassicWorkload(workload.workload);
    return transactional ? BuildTxnTest(options, workload) : BuildRegisterTest(options, workload);
  };
  return kind;
}

}  // namespace faultline::clients
