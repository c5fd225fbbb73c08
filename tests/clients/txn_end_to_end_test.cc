// The transactional and session workloads end to end: through the registry and the real
// interpreter, journal and checker (RunTest), and through the `faultline test` command. Each fake
// isolation mode is judged as it should be, with the anomaly named; bad options are refused.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "clients/registry.h"
#include "runner/lifecycle.h"

namespace faultline {
namespace {

std::filesystem::path TempStore(const std::string& name) {
  auto path = std::filesystem::temp_directory_path() / ("faultline_txn_" + name);
  std::filesystem::remove_all(path);
  return path;
}

clients::WorkloadOptions TxnWorkload(const std::string& workload, const std::string& isolation) {
  clients::WorkloadOptions options;
  options.workload = workload;
  options.db_flags["fake-isolation"] = {isolation};
  return options;
}

TestOptions ShortRun(const std::string& name, uint64_t seed) {
  TestOptions options;
  options.name = name;
  options.nodes = {"n1", "n2", "n3"};
  options.concurrency = 5;
  options.time_limit_s = 0.7;
  options.seed = seed;
  options.store_dir = TempStore(name + std::to_string(seed)).string();
  return options;
}

RunOutcome RunFakeTxn(const std::string& workload, const std::string& isolation, uint64_t seed) {
  Result<Test> test = clients::BuildTest(ShortRun(workload + "-" + isolation, seed),
                                         TxnWorkload(workload, isolation));
  EXPECT_TRUE(test.ok()) << test.status().ToString();
  if (!test.ok()) return {};
  EXPECT_EQ(test->checker->Describe()["checkers"][0]["name"], workload);
  return RunTest(*test, clients::MakeConnector("fake", {}), {});
}

std::vector<std::string> Types(const RunOutcome& outcome, const std::string& field) {
  return outcome.results["checkers"]["list-append"].value(field, std::vector<std::string>{});
}

bool HasPrefix(const std::vector<std::string>& types, const std::vector<std::string>& prefixes) {
  for (const std::string& type : types) {
    for (const std::string& prefix : prefixes) {
      if (type.rfind(prefix, 0) == 0) return true;
    }
  }
  return false;
}

TEST(TxnEndToEnd, SerializableListAppendIsValid) {
  RunOutcome outcome = RunFakeTxn("list-append", "serializable", 1);
  EXPECT_TRUE(outcome.error.ok()) << outcome.error.ToString();
  EXPECT_EQ(outcome.verdict, Verdict::kValid) << outcome.explanation;
  EXPECT_GT(outcome.results["checkers"]["list-append"]["transactions"].get<int>(), 500);
}

TEST(TxnEndToEnd, SerializableRwRegisterIsValid) {
  RunOutcome outcome = RunFakeTxn("rw-register", "serializable", 2);
  EXPECT_EQ(outcome.verdict, Verdict::kValid) << outcome.explanation;
  EXPECT_TRUE(outcome.results["checkers"].contains("rw-register")) << outcome.results.dump(2);
}

TEST(TxnEndToEnd, SnapshotIsolationIsG2NotG1) {
  RunOutcome outcome = RunFakeTxn("list-append", "snapshot-isolation", 3);
  EXPECT_EQ(outcome.verdict, Verdict::kInvalid) << outcome.explanation;
  std::vector<std::string> found = Types(outcome, "found_types");
  EXPECT_TRUE(HasPrefix(found, {"G2-item", "G-nonadjacent"})) << outcome.explanation;
  EXPECT_FALSE(HasPrefix(found, {"G0", "G1", "G-single"})) << outcome.explanation;
  EXPECT_NE(outcome.explanation.find("G2-item"), std::string::npos) << outcome.explanation;
}

TEST(TxnEndToEnd, ReadCommittedIsGSingleOrG2NotG1) {
  RunOutcome outcome = RunFakeTxn("list-append", "read-committed", 4);
  EXPECT_EQ(outcome.verdict, Verdict::kInvalid) << outcome.explanation;
  std::vector<std::string> found = Types(outcome, "found_types");
  EXPECT_TRUE(HasPrefix(found, {"G-single", "G2"})) << outcome.explanation;
  EXPECT_FALSE(HasPrefix(found, {"G0", "G1"})) << outcome.explanation;
}

TEST(TxnEndToEnd, ReplicaReadsBreakReadYourWrites) {
  RunOutcome outcome = RunFakeTxn("session", "replica-read", 5);
  EXPECT_EQ(outcome.verdict, Verdict::kInvalid) << outcome.explanation;
  const Json& ryw = outcome.results["checkers"]["session"]["guarantees"]["read-your-writes"];
  EXPECT_EQ(ryw["verdict"], "invalid") << outcome.results.dump(2);
  ASSERT_FALSE(ryw["witnesses"].empty());
  EXPECT_NE(ryw["witnesses"][0]["text"].get<std::string>().find("read-your-writes violated"),
            std::string::npos);
}

TEST(TxnEndToEnd, SerializableSessionsKeepTheirGuarantees) {
  RunOutcome outcome = RunFakeTxn("session", "serializable", 6);
  EXPECT_EQ(outcome.verdict, Verdict::kValid) << outcome.explanation;
  EXPECT_EQ(outcome.results["checkers"]["session"]["data_type"], "list-append");
}

std::string BuildError(clients::WorkloadOptions workload) {
  Result<Test> test = clients::BuildTest(ShortRun("bad", 1), workload);
  EXPECT_FALSE(test.ok());
  if (test.ok()) return "";
  EXPECT_EQ(test.status().code(), StatusCode::kInvalidArgument);
  return test.status().message();
}

TEST(TxnEndToEnd, OptionsThatDoNotFitAreRefused) {
  clients::WorkloadOptions etcd = TxnWorkload("rw-register", "serializable");
  etcd.db = "etcd";
  EXPECT_EQ(BuildError(etcd),
            "--db etcd runs the register and list-append workloads, not rw-register");
  EXPECT_NE(BuildError(TxnWorkload("register", "snapshot-isolation")).find("--fake-bug"),
            std::string::npos);
  clients::WorkloadOptions bug = TxnWorkload("session", "serializable");
  bug.db_flags["fake-bug"] = {"stale-reads"};
  EXPECT_NE(BuildError(bug).find("--fake-isolation"), std::string::npos);
  EXPECT_EQ(BuildError(TxnWorkload("list-append", "eventual")),
            "--fake-isolation: expected serializable, snapshot-isolation, read-committed or "
            "replica-read, found \"eventual\"");
  clients::WorkloadOptions model = TxnWorkload("rw-register", "serializable");
  model.consistency_model = "linearizable-ish";
  EXPECT_EQ(BuildError(model), "unknown --consistency-model linearizable-ish");
  clients::WorkloadOptions lengths = TxnWorkload("list-append", "serializable");
  lengths.txn.min_txn_length = 5;
  lengths.txn.max_txn_length = 3;
  EXPECT_NE(BuildError(lengths).find("--max-txn-length"), std::string::npos);
}

// The register workload is as before: linearizable checker, fake bugs.
TEST(TxnEndToEnd, RegisterWorkloadUnchanged) {
  Result<faultline::Test> test =
      clients::BuildTest(ShortRun("register", 1), clients::WorkloadOptions{});
  ASSERT_TRUE(test.ok()) << test.status().ToString();
  Json checkers = test->checker->Describe()["checkers"];
  EXPECT_EQ(checkers[0]["name"], "linearizable");
  EXPECT_EQ(checkers[0]["model"]["name"], "cas-register");
  EXPECT_TRUE(checkers[0]["model"]["initial_value"].is_null());
  EXPECT_EQ(checkers[1]["name"], "stats");
  EXPECT_EQ(checkers[2]["name"], "perf");
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunFaultline(const std::string& arguments) {
  std::string command = std::string(FAULTLINE_BINARY) + " test --db fake " + arguments + " 2>&1";
  CommandResult result;
  if (!std::filesystem::exists(FAULTLINE_BINARY)) {
    result.output = std::string("no ") + FAULTLINE_BINARY + ": build the faultline target first";
    return result;
  }
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (size_t read; (read = fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    result.output.append(buffer, read);
  }
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string CliFlags(const std::string& name) {
  return "--time-limit 0.7 --seed 7 --store " + TempStore("cli_" + name).string();
}

TEST(TxnCommand, SnapshotIsolationExitsInvalidNamingG2) {
  CommandResult run = RunFaultline(
      "--workload list-append --fake-isolation snapshot-isolation --key-count 5 "
      "--max-txn-length 4 --key-distribution uniform " +
      CliFlags("si"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("G2-item"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("G1"), std::string::npos) << run.output;
}

TEST(TxnCommand, SerializableExitsValid) {
  CommandResult run =
      RunFaultline("--workload list-append --fake-isolation serializable --key-distribution zipf " +
                   CliFlags("serializable"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("valid"), std::string::npos) << run.output;
}

TEST(TxnCommand, ReplicaReadSessionExitsInvalidNamingReadYourWrites) {
  CommandResult run =
      RunFaultline("--workload session --fake-isolation replica-read " + CliFlags("replica"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("read-your-writes violated"), std::string::npos) << run.output;
}

TEST(TxnCommand, BadOptionsExitBadArguments) {
  CommandResult unknown_mode =
      RunFaultline("--workload list-append --fake-isolation eventual " + CliFlags("bad_mode"));
  EXPECT_NE(unknown_mode.exit_code, 0);
  EXPECT_NE(unknown_mode.output.find("--fake-isolation"), std::string::npos) << unknown_mode.output;
  CommandResult lengths = RunFaultline(
      "--workload list-append --min-txn-length 5 --max-txn-length 2 " + CliFlags("bad_lengths"));
  EXPECT_EQ(lengths.exit_code, 254) << lengths.output;
  EXPECT_NE(lengths.output.find("--max-txn-length"), std::string::npos) << lengths.output;
}

}  // namespace
}  // namespace faultline
