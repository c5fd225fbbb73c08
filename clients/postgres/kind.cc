// --db postgres: PostgreSQL from Debian, a primary on the first node (postgres.h), with its
// built-in libpq client or the user's own (--client-command).
#include "clients/db_kind.h"
#include "clients/postgres/postgres.h"

namespace faultline::clients {

DbKind PostgresDbKind() {
  DbKind kind;
  kind.name = "postgres";
  kind.summary = "PostgreSQL from Debian, one primary on the first node (--isolation)";
  kind.flags = {{.name = "isolation",
                 .help = "The transactions' isolation level: read-committed, repeatable-read "
                         "(snapshot isolation) or serializable",
                 .default_value = "serializable",
                 .choices = postgres::IsolationNames()}};
  kind.workloads = {"list-append", "rw-register"};
  kind.runs_on_names = [](const WorkloadOptions&) { return false; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    postgres::PostgresOptions postgres_options;
    Result<postgres::Isolation> isolation =
        postgres::ParseIsolation(DbFlagValue(workload, "isolation"));
    if (!isolation.ok()) return isolation.status();
    postgres_options.isolation = *isolation;
    // The faults' root and the scripts' root come the same way: through sudo for a non-root user.
    postgres_options.sudo = workload.nemesis_sudo;
    Result<Test> test = postgres::BuildPostgresTest(options, postgres_options, workload.workload);
    if (test.ok() && !workload.client_command.empty())
      test->new_client = ExecClients(workload.client_command);
    return test;
  };
  return kind;
}

}  // namespace faultline::clients
