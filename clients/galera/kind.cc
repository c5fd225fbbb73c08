// --db galera: MariaDB Galera Cluster from Debian, a multi-master member on every node
// (galera.h), with its built-in libmariadb client or the user's own (--client-command).
#include "clients/db_kind.h"
#include "clients/galera/galera.h"

namespace faultline::clients {

DbKind GaleraDbKind() {
  DbKind kind;
  kind.name = "galera";
  kind.summary = "MariaDB Galera Cluster from Debian, every node a master (--isolation)";
  kind.flags = {{.name = "isolation",
                 .help = "The transactions' isolation level (MariaDB's InnoDB): read-uncommitted, "
                         "read-committed, repeatable-read or serializable",
                 .default_value = "repeatable-read",
                 .choices = galera::IsolationNames()}};
  kind.workloads = {"list-append", "rw-register", "bank"};
  kind.runs_on_names = [](const WorkloadOptions&) { return false; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    galera::GaleraOptions galera_options;
    Result<galera::Isolation> isolation =
        galera::ParseIsolation(DbFlagValue(workload, "isolation"));
    if (!isolation.ok()) return isolation.status();
    galera_options.isolation = *isolation;
    // The faults' root and the scripts' root come the same way: through sudo for a non-root user.
    galera_options.sudo = workload.nemesis_sudo;
    Result<Test> test = galera::BuildGaleraTest(options, galera_options, workload.workload);
    if (test.ok() && !workload.client_command.empty())
      test->new_client = ExecClients(workload.client_command);
    return test;
  };
  return kind;
}

}  // namespace faultline::clients
