// --db redis: Redis from Debian, a primary on the first node and replicas on the others
// (redis.h), optionally Sentinel for failover, with its built-in hiredis client or the user's own
// (--client-command).
#include <algorithm>

#include "clients/db_kind.h"
#include "clients/redis/redis.h"

namespace faultline::clients {

DbKind RedisDbKind() {
  DbKind kind;
  kind.name = "redis";
  kind.summary =
      "Redis from Debian, a primary on the first node, replicas on the others "
      "(--read-from, --failover)";
  kind.flags = {{.name = "read-from",
                 .help = "Where reads go: the primary, or a replica (writes always go to the "
                         "primary; replicas lag, so reads may be stale)",
                 .default_value = "primary",
                 .choices = redis::ReadFromNames()},
                {.name = "failover",
                 .help = "What replaces a primary that is gone: none, or Redis Sentinel on every "
                         "node (a majority quorum, 1 s down-after): a replica is promoted and the "
                         "clients ask a sentinel for the primary",
                 .default_value = "none",
                 .choices = redis::FailoverNames()}};
  kind.workloads = {"register", "set", "session"};
  kind.runs_on_names = [](const WorkloadOptions&) { return false; };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    redis::RedisOptions redis_options;
    Result<redis::ReadFrom> read_from = redis::ParseReadFrom(DbFlagValue(workload, "read-from"));
    if (!read_from.ok()) return read_from.status();
    redis_options.read_from = *read_from;
    Result<redis::Failover> failover = redis::ParseFailover(DbFlagValue(workload, "failover"));
    if (!failover.ok()) return failover.status();
    redis_options.failover = *failover;
    // The faults' root and the scripts' root come the same way: through sudo for a non-root user.
    redis_options.sudo = workload.nemesis_sudo;
    TestOptions test_options = options;
    // After the final heal, Sentinel turns an old primary that comes back into a replica within
    // about 10 s (it asks each server's role every 10 s, and waits 8 s before correcting one):
    // the final reads come after that.
    if (redis_options.failover == redis::Failover::kSentinel && workload.nemesis != "none")
      test_options.recovery_s = std::max(test_options.recovery_s, 12.0);
    Result<Test> test = redis::BuildRedisTest(test_options, redis_options, workload.workload);
    if (test.ok() && !workload.client_command.empty())
      test->new_client = ExecClients(workload.client_command);
    return test;
  };
  return kind;
}

}  // namespace faultline::clients
