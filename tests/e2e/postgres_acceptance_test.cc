// Issue 12's PostgreSQL acceptance: `faultline test --db postgres` on the local cluster (3 nodes,
// the primary on n1, over SSH), short runs with few keys so that transactions contend: each
// isolation level is judged as PostgreSQL documents it, and the anomaly it allows is named in
// results.json. Root only; labelled `cluster` in CTest (tests/e2e).
#include <filesystem>
#include <string>
#include <vector>

#include "support/database_cluster_test.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using testing::ProcessState;
using testing::ReadText;

bool HasPrefix(const std::vector<std::string>& types, const std::vector<std::string>& prefixes) {
  for (const std::string& type : types) {
    for (const std::string& prefix : prefixes) {
      if (type.rfind(prefix, 0) == 0) return true;
    }
  }
  return false;
}

// A server this test's run left: a process (not a zombie) started on the primary's data
// directory. All nodes share the host's PID namespace, so /proc here sees them.
std::string LeftoverServer(const std::string& data_directory) {
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string command_line = ReadText(entry.path() / "cmdline");
    if (command_line.find(data_directory) == std::string::npos) continue;
    const char state = ProcessState(entry.path());
    if (state != 'Z' && state != 'X') return name + " " + ReadText(entry.path() / "comm");
  }
  return "";
}

class PostgresAcceptanceTest : public testing::DatabaseClusterTest {
 protected:
  PostgresAcceptanceTest() : DatabaseClusterTest("postgres", {"/usr/lib/postgresql"}) {}

  // A run `flags` that must be invalid (exit 1): the list-append checker's anomaly_types.
  std::vector<std::string> InvalidAnomalyTypes(const std::string& flags) {
    int code = -1;
    Json results = Run(flags, &code);
    EXPECT_EQ(code, 1) << output_;
    const Json& checker = results["checkers"]["list-append"];
    EXPECT_EQ(checker.value("verdict", ""), "invalid") << output_;
    return checker.value("anomaly_types", std::vector<std::string>{});
  }

  // What every run must leave: no server on the primary's directory, and no directory.
  void ExpectPrimaryClean() {
    EXPECT_EQ(LeftoverServer("/var/lib/faultline-postgres-n1/data"), "") << output_;
    EXPECT_FALSE(fs::exists("/var/lib/faultline-postgres-n1")) << output_;
    // The server's log came back with the run.
    EXPECT_NE(ReadText(run_ / "nodes" / "n1" / "postgres.log").find("ready to accept"),
              std::string::npos)
        << output_;
  }
};

TEST_F(PostgresAcceptanceTest, SerializableListAppendIsValid) {
  int code = -1;
  Json results =
      Run("--workload list-append --isolation serializable --key-count 5 "
          "--concurrency 10 --time-limit 10 --seed 1",
          &code);
  EXPECT_EQ(code, 0) << output_;
  const Json& checker = results["checkers"]["list-append"];
  EXPECT_EQ(checker.value("verdict", ""), "valid") << checker.dump(2);
  EXPECT_GT(checker.value("transactions", 0), 300) << "the workload barely ran\n" << output_;
  // Contention was real: PostgreSQL refused some transactions to stay serializable.
  EXPECT_NE(ReadText(run_ / "history.jsonl").find("serialization-failure"), std::string::npos);
  ExpectPrimaryClean();
}

TEST_F(PostgresAcceptanceTest, RepeatableReadShowsWriteSkew) {
  std::vector<std::string> types = InvalidAnomalyTypes(
      "--workload list-append --isolation repeatable-read --key-count 3 --concurrency 10 "
      "--time-limit 15 --seed 2");
  EXPECT_TRUE(HasPrefix(types, {"G2-item"})) << output_;
  // Snapshot isolation: first committer wins, and every read sees one snapshot.
  EXPECT_FALSE(HasPrefix(types, {"G0", "G1", "G-single", "lost-update"})) << output_;
  ExpectPrimaryClean();
}

TEST_F(PostgresAcceptanceTest, ReadCommittedShowsGSingleOrLostUpdates) {
  std::vector<std::string> types = InvalidAnomalyTypes(
      "--workload list-append --isolation read-committed --key-count 3 --concurrency 10 "
      "--time-limit 10 --seed 3");
  EXPECT_TRUE(HasPrefix(types, {"G-single", "lost-update"})) << output_;
  // Read committed never shows dirty or aborted reads.
  EXPECT_FALSE(HasPrefix(types, {"G0", "G1a", "G1b"})) << output_;
  ExpectPrimaryClean();
}

// Two streaming-replication standbys (n2, n3) with the reads sent to them: replication is
// asynchronous, so a session that appended on the primary and then read on a standby misses its
// own write. The session checker names read-your-writes; writes all go to the primary, in order,
// so monotonic writes hold.
TEST_F(PostgresAcceptanceTest, StandbyReadsBreakReadYourWrites) {
  int code = -1;
  Json results =
      Run("--workload session --replicas 2 --read-from replica --concurrency 10 "
          "--time-limit 10 --seed 5",
          &code);
  EXPECT_EQ(code, 1) << output_;
  const Json& guarantees = results["checkers"]["session"]["guarantees"];
  EXPECT_EQ(guarantees["read-your-writes"].value("verdict", ""), "invalid") << guarantees.dump(2);
  EXPECT_GT(guarantees["read-your-writes"].value("violations", 0), 0) << guarantees.dump(2);
  EXPECT_EQ(guarantees["monotonic-writes"].value("verdict", ""), "valid") << guarantees.dump(2);
  ExpectPrimaryClean();
  for (const char* standby : {"n2", "n3"}) {
    const std::string directory = std::string("/var/lib/faultline-postgres-") + standby;
    EXPECT_EQ(LeftoverServer(directory + "/data"), "") << output_;
    EXPECT_FALSE(fs::exists(directory)) << output_;
    // A standby's log says it streamed from the primary.
    EXPECT_NE(ReadText(run_ / "nodes" / standby / "postgres.log").find("started streaming WAL"),
              std::string::npos)
        << standby << "\n"
        << output_;
  }
}

}  // namespace
}  // namespace faultline
