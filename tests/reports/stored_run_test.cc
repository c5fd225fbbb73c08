// ReadStoredRun: a run folder read back whole, as `faultline report RUN` reads it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/history_io.h"
#include "reports/html_report.h"
#include "support/temp_folder.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

// A register history of `ops` invocations, each completed, with values of a few dozen bytes.
History RegisterHistory(int64_t ops) {
  History history;
  history.header = {{"test", "stored-run"}, {"seed", 7}};
  for (int64_t i = 0; i < ops; ++i) {
    const int64_t process = i % 5;
    const std::string f = i % 2 == 0 ? "write" : "read";
    const Json value = Json::array({i % 7, "value " + std::to_string(i)});
    for (OpType type : {OpType::kInvoke, OpType::kOk}) {
      const auto index = static_cast<int64_t>(history.ops.size());
      history.ops.push_back({.index = index, .time_ns = index * 1000, .type = type,
                             .process = process, .f = f, .value = value, .error = nullptr,
                             .extra = nullptr, .line = 0});
    }
  }
  return history;
}

TEST(ReadStoredRunTest, ReadsEveryOpTestAndResultsAndDropsATornLastLine) {
  testing::TempFolder temp{"faultline_stored_run_"};
  const fs::path folder = temp.path();
  // 20,000 lines (about 1.6 MB): more than any stream buffer, so reading in pieces would show.
  const History written = RegisterHistory(10'000);
  ASSERT_TRUE(WriteJsonlFile(written, (folder / "history.jsonl").string()).ok());
  // A run killed mid-write leaves a last line without its newline.
  std::ofstream(folder / "history.jsonl", std::ios::app) << R"({"f":"read","index":20000,"pro)";
  std::ofstream(folder / "test.json") << R"({"name":"stored-run","seed":7})";
  std::ofstream(folder / "results.json") << R"({"valid":true,"checkers":{}})";

  std::vector<std::string> warnings;
  Result<StoredRun> run = ReadStoredRun(folder, &warnings);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(run->history.ops.size(), written.ops.size());
  for (size_t i = 0; i < written.ops.size(); ++i) {
    const Op& op = run->history.ops[i];
    ASSERT_EQ(op.index, written.ops[i].index);
    ASSERT_EQ(op.time_ns, written.ops[i].time_ns);
    ASSERT_EQ(op.type, written.ops[i].type);
    ASSERT_EQ(op.value, written.ops[i].value) << "op " << i;
  }
  EXPECT_EQ(run->test, Json({{"name", "stored-run"}, {"seed", 7}}));
  EXPECT_EQ(run->results, Json({{"valid", true}, {"checkers", Json::object()}}));
}

TEST(ReadStoredRunTest, AResultsFileThatIsNotAnObjectIsAWarning) {
  testing::TempFolder temp{"faultline_stored_run_"};
  const fs::path folder = temp.path();
  ASSERT_TRUE(WriteJsonlFile(RegisterHistory(3), (folder / "history.jsonl").string()).ok());
  std::ofstream(folder / "results.json") << "[1, 2]";
  std::vector<std::string> warnings;
  Result<StoredRun> run = ReadStoredRun(folder, &warnings);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->history.ops.size(), 6u);
  EXPECT_TRUE(run->results.is_null());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("results.json: not a JSON object"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace faultline::reports
