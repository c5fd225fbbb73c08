// End to end through the real interpreter, journal and checker: the fake store in its correct
// mode is linearizable; each seeded bug is found.
#include <gtest/gtest.h>

#include <filesystem>

#include "clients/registry.h"
#include "core/history_io.h"
#include "runner/lifecycle.h"

namespace faultline {
namespace {

std::filesystem::path TempStore(const std::string& name) {
  auto path = std::filesystem::temp_directory_path() / ("faultline_fake_" + name);
  std::filesystem::remove_all(path);
  return path;
}

RunOutcome RunFake(const std::string& bug, uint64_t seed, double seconds = 1.0) {
  TestOptions options;
  options.name = "fake-" + bug;
  options.nodes = {"n1", "n2", "n3"};
  options.concurrency = 5;
  options.time_limit_s = seconds;
  options.seed = seed;
  options.store_dir = TempStore(bug + std::to_string(seed)).string();
  clients::WorkloadOptions workload;
  workload.db_flags["fake-bug"] = {bug};
  Result<Test> test = clients::BuildTest(options, workload);
  EXPECT_TRUE(test.ok()) << test.status().ToString();
  return RunTest(*test, clients::MakeConnector("fake", {}), {});
}

TEST(FakeEndToEnd, CorrectStoreIsLinearizable) {
  RunOutcome outcome = RunFake("none", 42);
  EXPECT_TRUE(outcome.error.ok()) << outcome.error.ToString();
  EXPECT_EQ(outcome.verdict, Verdict::kValid) << outcome.results.dump(2);
  // The stored run is complete: test.json, results.json, and a history with both op types.
  EXPECT_TRUE(std::filesystem::exists(outcome.directory.test_json()));
  EXPECT_TRUE(std::filesystem::exists(outcome.directory.results()));
  Result<History> history = ReadHistoryFile(outcome.directory.history().string());
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  EXPECT_GT(history->ops.size(), 1000u);
  EXPECT_EQ(history->header["seed"], 42);
  EXPECT_TRUE(std::filesystem::is_symlink(outcome.directory.path.parent_path() / "latest"));
}

class FakeBugTest : public testing::TestWithParam<std::string> {};

TEST_P(FakeBugTest, BugIsFoundInvalid) {
  for (uint64_t seed : {1, 2}) {
    RunOutcome outcome = RunFake(GetParam(), seed);
    EXPECT_EQ(outcome.verdict, Verdict::kInvalid) << GetParam() << " seed " << seed << "\n"
                                                  << outcome.results.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(Bugs, FakeBugTest,
                         testing::Values("stale-reads", "lost-writes", "non-atomic-cas"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace faultline
