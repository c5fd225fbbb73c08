// --db fake: in-process stores with seeded bugs (fake.h, txn_store.h), for testing the harness
// and the checkers without a cluster.
#include "clients/db_kind.h"
#include "clients/fake/fake.h"
#include "clients/fake/txn_store.h"

namespace faultline::clients {
namespace {

// The transactional workloads' store: --fake-isolation says how it breaks.
Result<Test> BuildTxnTest(const TestOptions& options, const WorkloadOptions& workload) {
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

// The register workload's store: --fake-bug says how it breaks.
Result<Test> BuildRegisterTest(const TestOptions& options, const WorkloadOptions& workload) {
  if (workload.fake_isolation != "serializable") {
    return Status::InvalidArgument(
        "--fake-isolation applies to the list-append, rw-register and session workloads; the "
        "register workload's fake store takes --fake-bug");
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

}  // namespace

DbKind FakeDbKind() {
  DbKind kind;
  kind.name = "fake";
  kind.summary = "in-process stores with seeded bugs (--fake-bug, --fake-isolation)";
  kind.in_process = true;
  kind.runs_on_names = [](const WorkloadOptions&) { return true; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    if (!workload.client_command.empty()) {
      return Status::InvalidArgument(
          "--client-command applies to --db exec and to real databases (etcd: your client "
          "against the etcd faultline runs), not to the in-process fake db");
    }
    return workload.workload == "register" ? BuildRegisterTest(options, workload)
                                           : BuildTxnTest(options, workload);
  };
  return kind;
}

}  // namespace faultline::clients
