// Issue 12's Redis acceptance: `faultline test --db redis` on the local cluster (3 nodes: the
// primary on n1, replicas on n2 and n3, over SSH), short runs: the register and set workloads
// through the primary are valid; register reads from the replicas are stale, which the
// linearizable checker finds; every node's server is gone afterwards with its directory, its log
// downloaded. Root only; labelled `cluster` in CTest (tests/e2e).
#include <filesystem>
#include <string>

#include "support/database_cluster_test.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using testing::ProcessState;
using testing::ReadText;

// A redis-server this test's run left working in `directory` (redis rewrites its command line,
// so its cwd names it), not a zombie. All nodes share the host's PID namespace, so /proc here
// sees them.
std::string LeftoverServer(const fs::path& directory) {
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (ReadText(entry.path() / "comm") != "redis-server\n") continue;
    std::error_code error;
    if (fs::read_symlink(entry.path() / "cwd", error) != directory) continue;
    const char state = ProcessState(entry.path());
    if (state != 'Z' && state != 'X') return name;
  }
  return "";
}

class RedisAcceptanceTest : public testing::DatabaseClusterTest {
 protected:
  RedisAcceptanceTest()
      : DatabaseClusterTest("redis", {"/usr/bin/redis-server", "/usr/bin/redis-cli"}) {}

  // What every run must leave: no server and no directory on any node, and each node's log
  // downloaded (the replicas' saying they synced with the primary).
  void ExpectNodesClean() {
    for (const char* node : {"n1", "n2", "n3"}) {
      fs::path directory = std::string("/var/lib/faultline-redis-") + node;
      EXPECT_EQ(LeftoverServer(directory), "") << node << "\n" << output_;
      EXPECT_FALSE(fs::exists(directory)) << node << "\n" << output_;
      std::string log = ReadText(run_ / "nodes" / node / "redis.log");
      EXPECT_NE(log.find("Ready to accept connections"), std::string::npos) << node;
      if (std::string(node) != "n1") {
        EXPECT_NE(log.find("MASTER <-> REPLICA sync: Finished with success"), std::string::npos)
            << node << "\n"
            << log;
      }
    }
  }
};

TEST_F(RedisAcceptanceTest, RegisterThroughThePrimaryIsLinearizable) {
  int code = -1;
  Json results = Run("--workload register --concurrency 10 --time-limit 10 --seed 1", &code);
  EXPECT_EQ(code, 0) << output_;
  const Json& checker = results["checkers"]["linearizable"];
  EXPECT_EQ(checker.value("verdict", ""), "valid") << checker.dump(2);
  const Json& stats = results["checkers"]["stats"];
  EXPECT_GT(stats.value("ok_count", 0), 1000) << "the workload barely ran\n" << stats.dump(2);
  ExpectNodesClean();
}

TEST_F(RedisAcceptanceTest, SetThroughThePrimaryLosesNothing) {
  int code = -1;
  Json results = Run("--workload set --concurrency 10 --time-limit 10 --seed 2", &code);
  EXPECT_EQ(code, 0) << output_;
  const Json& checker = results["checkers"]["set"];
  EXPECT_TRUE(checker.value("valid", false)) << checker.dump(2);
  EXPECT_EQ(checker.value("lost_count", -1), 0) << checker.dump(2);
  EXPECT_GT(checker.value("acknowledged_count", 0), 1000) << checker.dump(2);
  ExpectNodesClean();
}

TEST_F(RedisAcceptanceTest, ReplicaReadsAreStaleAndNotLinearizable) {
  int code = -1;
  Json results = Run(
      "--workload register --read-from replica --concurrency 10 --time-limit 10 --seed 3", &code);
  EXPECT_EQ(code, 1) << output_;
  const Json& checker = results["checkers"]["linearizable"];
  EXPECT_EQ(checker.value("verdict", ""), "invalid") << checker.dump(2);
  // The op no order allows is a read that returned: a replica's value the primary had already
  // overwritten.
  EXPECT_EQ(checker["op"].value("f", ""), "read") << checker.dump(2);
  EXPECT_EQ(checker["op"].value("type", ""), "ok") << checker.dump(2);
  ExpectNodesClean();
}

}  // namespace
}  // namespace faultline
