// `faultline test --db exec` end to end, as a user runs it: a Python client (tests/data/exec/
// store_client.py, one store shared by every client process) that is correct, one with stale
// reads, one that loses writes, one that crashes every few ops; then every workload over exec.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/history_io.h"
#include "support/command.h"
#include "support/skip.h"
#include "support/temp_folder.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

const std::string kClient = std::string(FAULTLINE_TEST_DATA) + "/exec/store_client.py";

class ExecEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::RunCommand("python3 -c 'import fcntl'").exit_code != 0)
      FAULTLINE_SKIP() << "python3 is missing (scripts/setup.sh installs it)";
  }

 public:
  // Python starts slowly on a loaded machine (up to a second per client, and CI once fit only
  // three ops in two seconds), so the runs that must find something, or must see a cas succeed
  // to be valid, end after a number of ops; the time limit only guards against a hang.
  testing::CommandOutput Run(const std::string& client_flags, const std::string& limit) {
    return testing::Faultline("test --db exec --client-command 'python3 " + kClient + " --store " +
                              (temp_.path() / "store.json").string() + " " + client_flags +
                              "' --concurrency " + "3 " + limit + " --store " +
                              (temp_.path() / "runs").string());
  }
  static constexpr const char* kEnoughOps = "--op-limit 300 --time-limit 120";
  // A seeded bug shows only where a read or write happens to meet it: one run in a few of 300
  // ops missed the stale reads.
  static constexpr const char* kOpsToFindABug = "--op-limit 2000 --time-limit 120";
  // The one run's results.json.
  Json RunResults() {
    std::ifstream in(temp_.path() / "runs" / "latest" / "results.json");
    Json results = Json::parse(in, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(results.is_discarded()) << "no readable results.json";
    return results;
  }
  // The one run's history.
  History RunHistory() {
    for (const auto& entry : fs::recursive_directory_iterator(temp_.path() / "runs")) {
      if (entry.path().filename() == "history.jsonl") {
        Result<History> history = ReadHistoryFile(entry.path().string());
        EXPECT_TRUE(history.ok()) << history.status().message();
        return history.ok() ? *history : History();
      }
    }
    ADD_FAILURE() << "no history.jsonl";
    return {};
  }

  testing::TempFolder temp_{"faultline_exec_e2e_"};
};

TEST_F(ExecEndToEndTest, ACorrectClientIsValid) {
  testing::CommandOutput run = Run("", kEnoughOps);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("verdict: valid"), std::string::npos) << run.out;
}

TEST_F(ExecEndToEndTest, StaleReadsAreFound) {
  testing::CommandOutput run = Run("--bug stale-reads", kOpsToFindABug);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("verdict: invalid"), std::string::npos) << run.out;
}

TEST_F(ExecEndToEndTest, LostWritesAreFound) {
  testing::CommandOutput run = Run("--bug lost-writes", kOpsToFindABug);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("verdict: invalid"), std::string::npos) << run.out;
}

// A misbehaving client's run: it ends on time (a hanging client would otherwise hold it for an
// hour) with a verdict, valid or unknown (when no cas happened to succeed in so few ops: the
// stats checker's rule), never invalid; each misbehaviour is an info op whose error
// holds `error_parts`, and each ended that process, so its thread went on as a new one. Returns
// the number of such info ops.
size_t ExpectInfoOpsAndAVerdict(ExecEndToEndTest& test, const std::string& client_flags,
                                const std::vector<std::string>& error_parts,
                                const std::string& op_timeout_s = "5") {
  const auto started = std::chrono::steady_clock::now();
  // 15 ops, however slowly Python starts (a 4 s run on a loaded machine once fitted two): every
  // 3rd op of each process misbehaves, so at least 3 do.
  // Only the hanging client gets a short op timeout: Python can take over a second to start on
  // a loaded machine, and a slow start would be info for the wrong reason.
  testing::CommandOutput run =
      test.Run(client_flags, "--op-limit 15 --time-limit 120 --op-timeout " + op_timeout_s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(40)) << run.out;
  EXPECT_TRUE(run.exit_code == 0 || run.exit_code == 2) << run.out;
  EXPECT_TRUE(run.out.find("verdict: valid") != std::string::npos ||
              run.out.find("verdict: unknown") != std::string::npos)
      << run.out;
  const History history = test.RunHistory();
  size_t misbehaved = 0, completed = 0;  // completed: ok or fail
  int64_t highest_process = 0;
  for (const Op& op : history.ops) {
    highest_process = std::max(highest_process, op.process);
    if (op.type == OpType::kOk || op.type == OpType::kFail) ++completed;
    if (op.type != OpType::kInfo || op.is_nemesis()) continue;
    ++misbehaved;
    const std::string error = op.error.dump();
    for (const std::string& part : error_parts)
      EXPECT_NE(error.find(part), std::string::npos) << part << " in " << error;
  }
  EXPECT_GE(misbehaved, 3u);
  EXPECT_GE(completed, misbehaved);  // every 3rd op misbehaves: the 2 before it complete
  EXPECT_GE(highest_process, 3);
  return misbehaved;
}

TEST_F(ExecEndToEndTest, ACrashingClientGivesInfoOpsAndTheRunStillEndsWithAVerdict) {
  ExpectInfoOpsAndAVerdict(*this, "--crash-every 3",
                           {"exited with status 3", "crashing on purpose after 3 ops"});
}

TEST_F(ExecEndToEndTest, AClientPrintingGarbageGivesInfoOpsQuotingIt) {
  ExpectInfoOpsAndAVerdict(*this, "--garbage-every 3",
                           {"expected a completion", "Traceback (most recent call last)"});
}

TEST_F(ExecEndToEndTest, AHangingClientGivesInfoOpsAfterTheOpTimeout) {
  ExpectInfoOpsAndAVerdict(*this, "--hang-every 3", {"no answer within 1 s"}, "1");
}

// examples/shell/client.sh, the minimal client the docs show, is a correct register.
TEST_F(ExecEndToEndTest, TheShellExampleIsValid) {
  if (testing::RunCommand("command -v flock").exit_code != 0)
    FAULTLINE_SKIP() << "flock (util-linux) is missing";
  const std::string example = std::string(FAULTLINE_TEST_DATA) + "/../../examples/shell/client.sh";
  testing::CommandOutput run = testing::Faultline(
      "test --db exec --client-command 'sh " + example + " " + (temp_.path() / "keys").string() +
      // A shell client forks a few processes per op: fewer ops than the others.
      "' --concurrency 3 --op-limit 150 --time-limit 120 --store " +
      (temp_.path() / "runs").string());
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("verdict: valid"), std::string::npos) << run.out;
  size_t ok = 0;
  for (const Op& op : RunHistory().ops) ok += op.type == OpType::kOk ? 1 : 0;
  EXPECT_GT(ok, 10u) << run.out;
}

// Every workload over exec: tests/data/exec/store_client.py runs each op (a transaction too)
// under one lock over one store, so each workload's own checker finds the run valid; with a
// seeded bug, the workload's checker finds it.

class ExecWorkloadTest : public ExecEndToEndTest,
                         public ::testing::WithParamInterface<const char*> {
 protected:
  testing::CommandOutput RunWorkload(const std::string& workload, const std::string& bug,
                                     const std::string& limit) {
    return testing::Faultline(
        "test --db exec --workload " + workload + " --client-command 'python3 " + kClient +
        " --store " + (temp_.path() / "store.json").string() + " --bug " + bug +
        "' --concurrency 3 " + limit + " --store " + (temp_.path() / "runs").string());
  }
};

TEST_P(ExecWorkloadTest, ACorrectClientIsValid) {
  testing::CommandOutput run = RunWorkload(GetParam(), "none", kEnoughOps);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("verdict: valid"), std::string::npos) << run.out;
}

INSTANTIATE_TEST_SUITE_P(Workloads, ExecWorkloadTest,
                         ::testing::Values("register", "list-append", "rw-register", "session",
                                           "counter", "set", "set-full", "unique-ids", "bank",
                                           "queue", "total-queue"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Each seeded bug, found by the workload's checker: what results.json says it found.
TEST_F(ExecWorkloadTest, DuplicateAppendsAreFound) {
  testing::CommandOutput run = RunWorkload("list-append", "duplicate-appends", kOpsToFindABug);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  const Json found = RunResults()["checkers"]["list-append"]["found_types"];
  EXPECT_NE(std::find(found.begin(), found.end(), "duplicate-elements"), found.end()) << found;
}

TEST_F(ExecWorkloadTest, LostAddsAreFoundByTheCounter) {
  testing::CommandOutput run = RunWorkload("counter", "lost-adds", kOpsToFindABug);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  const Json errors = RunResults()["checkers"]["counter"]["errors"];
  ASSERT_TRUE(errors.is_array() && !errors.empty()) << errors;
  // A lost add leaves reads below the sum of the adds acknowledged before them.
  EXPECT_LT(errors[0]["value"], errors[0]["lower"]) << errors[0];
}

TEST_F(ExecWorkloadTest, DuplicateDequeuesAreFoundByTheTotalQueue) {
  testing::CommandOutput run = RunWorkload("total-queue", "duplicate-dequeues", kOpsToFindABug);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  const Json queue = RunResults()["checkers"]["total-queue"];
  EXPECT_GT(queue["duplicated_count"], 0) << queue;
  EXPECT_EQ(queue["lost_count"], 0) << queue;
}

}  // namespace
}  // namespace faultline
