// --db etcd: etcd from Debian on each node (etcd.h), with its built-in client or the user's own
// (--client-command).
#include "clients/db_kind.h"
#include "clients/etcd/etcd.h"

namespace faultline::clients {

DbKind EtcdDbKind() {
  DbKind kind;
  kind.name = "etcd";
  kind.summary = "etcd from Debian, one member per node (--read-consistency)";
  kind.flags = {{.name = "read-consistency",
                 .help = "How etcd serves reads: linearizable (through the leader) or serializable "
                         "(any member's local state)",
                 .default_value = "linearizable",
                 .choices = {"linearizable", "serializable"}}};
  kind.workloads = {"register", "list-append"};
  kind.runs_on_names = [](const WorkloadOptions&) { return false; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    etcd::EtcdOptions etcd_options;
    Result<etcd::ReadConsistency> consistency =
        etcd::ParseReadConsistency(DbFlagValue(workload, "read-consistency"));
    if (!consistency.ok()) return consistency.status();
    etcd_options.read_consistency = *consistency;
    Result<Test> test = etcd::BuildEtcdTest(options, etcd_options, workload.workload);
    // The user's own client against the etcd faultline installs and breaks.
    if (test.ok() && !workload.client_command.empty())
      test->new_client = ExecClients(workload.client_command);
    return test;
  };
  return kind;
}

}  // namespace faultline::clients
