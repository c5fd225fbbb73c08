// --db postgres: PostgreSQL from Debian, a primary on the first node (postgres.h), with its
// built-in libpq client or the user's own (--client-command).
#include <algorithm>
#include <charconv>

#include "clients/db_kind.h"
#include "clients/postgres/postgres.h"

namespace faultline::clients {
namespace {

// --replicas: a count of the nodes after the primary.
Result<int> ParseReplicas(const std::string& text, const TestOptions& options) {
  int count = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  const int most = std::max<int>(0, static_cast<int>(options.nodes.size()) - 1);
  if (error != std::errc() || end != text.data() + text.size() || count < 0 || count > most) {
    return Status::InvalidArgument("--replicas: expected 0.." + std::to_string(most) +
                                   " (the nodes after the primary), found \"" + text + "\"");
  }
  return count;
}

}  // namespace

DbKind PostgresDbKind() {
  DbKind kind;
  kind.name = "postgres";
  kind.summary = "PostgreSQL from Debian, one primary on the first node (--isolation)";
  kind.flags = {{.name = "isolation",
                 .help = "The transactions' isolation level: read-committed, repeatable-read "
                         "(snapshot isolation) or serializable",
                 .default_value = "serializable",
                 .choices = postgres::IsolationNames()},
                {.name = "replicas",
                 .help = "Streaming-replication standbys, on the nodes after the primary",
                 .default_value = "0",
                 .choices = {}},
                {.name = "read-from",
                 .help = "Where reads go: the primary, or a replica (the client thread's node when "
                         "it runs one, else the first replica)",
                 .default_value = "primary",
                 .choices = {"primary", "replica"}}};
  kind.workloads = {"list-append", "rw-register", "session"};
  kind.runs_on_names = [](const WorkloadOptions&) { return false; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    postgres::PostgresOptions postgres_options;
    Result<postgres::Isolation> isolation =
        postgres::ParseIsolation(DbFlagValue(workload, "isolation"));
    if (!isolation.ok()) return isolation.status();
    postgres_options.isolation = *isolation;
    Result<int> replicas = ParseReplicas(DbFlagValue(workload, "replicas"), options);
    if (!replicas.ok()) return replicas.status();
    postgres_options.replicas = *replicas;
    postgres_options.read_from_replica = DbFlagValue(workload, "read-from") == "replica";
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
