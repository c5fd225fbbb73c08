// Issue 12's Redis acceptance: `faultline test --db redis` on the local cluster (3 nodes: the
// primary on n1, replicas on n2 and n3, over SSH), short runs: the register and set workloads
// through the primary are valid; register reads from the replicas are stale, which the
// linearizable checker finds; with Sentinel, a partition that cuts the primary off until a replica
// is promoted loses acknowledged adds, which the set checker lists; every node's server (and
// sentinel) is gone afterwards with its directory, its logs downloaded. Root only; labelled
// `cluster` in CTest (tests/e2e).
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "support/database_cluster_test.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using testing::ProcessState;
using testing::ReadText;

// A `program` (redis-server, redis-sentinel) this test's run left working in `directory` (redis
// rewrites its command line, so its cwd names it), not a zombie. All nodes share the host's PID
// namespace, so /proc here sees them.
std::string Leftover(const fs::path& directory, const std::string& program) {
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (ReadText(entry.path() / "comm") != program + "\n") continue;
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
      EXPECT_EQ(Leftover(directory, "redis-server"), "") << node << "\n" << output_;
      EXPECT_EQ(Leftover(directory, "redis-sentinel"), "") << node << "\n" << output_;
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

// Issue 12's first Redis point: the session workload appending to the primary and reading from
// the replicas. A replica applies the primary's appends a little later, so a thread's read there
// can miss its own append just acknowledged (read-your-writes), or an element its previous read,
// a read-then-append on the primary, saw (monotonic reads).
TEST_F(RedisAcceptanceTest, ReplicaReadsBreakReadYourWritesAndMonotonicReads) {
  int code = -1;
  Json results = Run(
      "--workload session --read-from replica --concurrency 10 --time-limit 10 --seed 1", &code);
  EXPECT_EQ(code, 1) << output_;
  const Json& guarantees = results["checkers"]["session"]["guarantees"];
  for (const char* broken : {"read-your-writes", "monotonic-reads"}) {
    const Json& guarantee = guarantees[broken];
    EXPECT_EQ(guarantee.value("verdict", ""), "invalid") << broken << "\n" << guarantee.dump(2);
    EXPECT_GT(guarantee.value("violations", 0), 0) << broken;
    ASSERT_FALSE(guarantee["witnesses"].empty()) << broken;
    // One session's ops: the later read misses what the session wrote or read before.
    const Json& witness = guarantee["witnesses"][0];
    EXPECT_EQ(witness["processes"].size(), 1u) << witness.dump(2);
    EXPECT_GE(witness["ops"].size(), 2u) << witness.dump(2);
    EXPECT_NE(witness.value("conclusion", "").find("without"), std::string::npos)
        << witness.dump(2);
  }
  // Every append went to the primary, one at a time per key: their order is one.
  EXPECT_EQ(guarantees["monotonic-writes"].value("verdict", ""), "valid");
  ExpectNodesClean();
}

// The elements of the adds the history says completed ok.
std::set<int64_t> AcknowledgedAdds(const fs::path& history) {
  std::set<int64_t> acknowledged;
  std::istringstream lines(ReadText(history));
  for (std::string line; std::getline(lines, line);) {
    Json op = Json::parse(line, nullptr, false);
    if (op.is_object() && op.value("type", "") == "ok" && op.value("f", "") == "add" &&
        op["value"].is_number_integer()) {
      acknowledged.insert(op["value"].get<int64_t>());
    }
  }
  return acknowledged;
}

// Issue 12's second Redis point. Partitions aimed at the primary (--nemesis-targets
// isolate-primaries: the fault asks each node's ROLE when it starts) cut it off from the replicas
// for 5 s; the controller still reaches every node, as a client in the primary's rack would. The
// sentinels on the other side, a majority, promote a replica while the clients keep adding to the
// old primary, which acknowledges each add. After the heal Sentinel turns it into a replica of
// the new primary and its own adds are gone: the final read lacks acknowledged adds.
TEST_F(RedisAcceptanceTest, SentinelFailoverAfterAPartitionLosesAcknowledgedAdds) {
  int code = -1;
  Json results =
      Run("--workload set --failover sentinel --nemesis partition --nemesis-targets "
          "isolate-primaries --nemesis-interval 5 --time-limit 20 --concurrency 6 --seed 7",
          &code);
  EXPECT_EQ(code, 1) << output_;
  const Json& checker = results["checkers"]["set"];
  EXPECT_FALSE(checker.value("valid", true)) << checker.dump(2);
  EXPECT_GT(checker.value("lost_count", 0), 0) << checker.dump(2);
  // Every element it calls lost was acknowledged by an ok add in the history.
  const std::set<int64_t> acknowledged = AcknowledgedAdds(run_ / "history.jsonl");
  ASSERT_TRUE(checker["lost"].is_array()) << checker.dump(2);
  EXPECT_FALSE(checker["lost"].empty()) << checker.dump(2);
  for (const Json& element : checker["lost"]) {
    EXPECT_EQ(acknowledged.count(element.get<int64_t>()), 1u) << element;
  }
  EXPECT_EQ(checker.value("unexpected_count", -1), 0) << checker.dump(2);
  // The sentinels did promote a replica: n1 was the primary and is not any more.
  bool switched = false;
  for (const char* node : {"n1", "n2", "n3"}) {
    std::string log = ReadText(run_ / "nodes" / node / "sentinel.log");
    EXPECT_NE(log.find("+monitor master faultline 10.213.0.11 6379 quorum 2"), std::string::npos)
        << node << "\n"
        << log;
    switched |= log.find("+switch-master faultline 10.213.0.11 6379") != std::string::npos;
  }
  EXPECT_TRUE(switched) << "no sentinel switched the primary away from n1\n" << output_;
  // The first partition cut off the primary the database named then, n1, as a node alone.
  std::istringstream history(ReadText(run_ / "history.jsonl"));
  for (std::string line; std::getline(history, line);) {
    Json op = Json::parse(line, nullptr, false);
    if (!op.is_object() || op.value("f", "") != "start-partition" ||
        op.value("type", "") == "invoke")
      continue;
    EXPECT_EQ(op["value"]["kind"], "isolate-primaries") << line;
    EXPECT_EQ(op["value"]["drops"]["n1"], Json({"n2", "n3"})) << line;
    break;
  }
  ExpectNodesClean();
}

}  // namespace
}  // namespace faultline
