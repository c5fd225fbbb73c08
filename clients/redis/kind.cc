// --db redis: Redis from Debian, a primary on the first node and replicas on the others
// (redis.h), with its built-in hiredis client or the user's own (--client-command).
#include "clients/db_kind.h"
#include "clients/redis/redis.h"

namespace faultline::clients {

DbKind RedisDbKind() {
  DbKind kind;
  kind.name = "redis";
  kind.summary = "Redis from Debian, a primary on the first node, replicas on the others "
                 "(--read-from)";
  kind.flags = {{.name = "read-from",
                 .help = "Where reads go: the primary, or a replica (writes always go to the "
                         "primary; replicas lag, so reads may be stale)",
                 .default_value = "primary",
                 .choices = redis::ReadFromNames()}};
  kind.workloads = {"register", "set"};
  kind.runs_on_names = [](const WorkloadOptions&) { return false; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    redis::RedisOptions redis_options;
    Result<redis::ReadFrom> read_from = redis::ParseReadFrom(DbFlagValue(workload, "read-from"));
    if (!read_from.ok()) return read_from.status();
    redis_options.read_from = *read_from;
    // The faults' root and the scripts' root come the same way: through sudo for a non-root user.
    redis_options.sudo = workload.nemesis_sudo;
    Result<Test> test = redis::BuildRedisTest(options, redis_options, workload.workload);
    if (test.ok() && !workload.client_command.empty())
      test->new_client = ExecClients(workload.client_command);
    return test;
  };
  return kind;
}

}  // namespace faultline::clients
