// `faultline report` and the report every run gets, through the binary as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "runner/cli/report_command.h"
#include "support/command.h"

namespace {

namespace fs = std::filesystem;

using faultline::testing::CommandOutput;
using faultline::testing::Faultline;

const std::string kExamples = std::string(FAULTLINE_TEST_DATA) + "/../../examples/histories";

fs::path Fresh(const std::string& name) {
  fs::path path = fs::temp_directory_path() / ("faultline_report_" + name);
  fs::remove_all(path);
  return path;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fake run gets report/index.html at its end; `faultline report RUN --out OUT` writes it again
// elsewhere without touching the run, and exits 0: it only rendered.
TEST(ReportCommand, EveryRunGetsAReportAndReportRendersAStoredRun) {
  const fs::path store = Fresh("store");
  CommandOutput run = Faultline("test --db fake --fake-bug stale-reads --time-limit 0.5 --seed 4 "
                                "--store " + store.string());
  ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 1) << run.out;  // stale reads, if any
  const std::string verdict = run.exit_code == 0 ? "valid" : "invalid";
  const std::string badge = "<span class=\"verdict v-" + verdict + "\">" + verdict + "</span>";
  const fs::path latest = fs::canonical(store / "latest");
  EXPECT_NE(run.out.find("report: " + (latest / "report" / "index.html").string()),
            std::string::npos)
      << run.out;
  std::string page = ReadText(latest / "report" / "index.html");
  EXPECT_NE(page.find(badge), std::string::npos);
  EXPECT_NE(page.find("data-checker=\"stats\""), std::string::npos);
  EXPECT_TRUE(fs::exists(latest / "report" / "timeline" / "0000.js"));

  const fs::path out = Fresh("out");
  const auto results_before = fs::last_write_time(latest / "results.json");
  CommandOutput report = Faultline("report " + latest.string() + " --out " + out.string());
  EXPECT_EQ(report.exit_code, 0) << report.out;
  EXPECT_NE(report.out.find("report: " + (out / "index.html").string()), std::string::npos)
      << report.out;
  EXPECT_NE(ReadText(out / "index.html").find(badge), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "timeline" / "0000.js"));
  EXPECT_FALSE(fs::exists(out / "results.json")) << "rendered, not checked";
  EXPECT_EQ(fs::last_write_time(latest / "results.json"), results_before);
}

// A history file from elsewhere is checked first: results.json beside the report, the verdict as
// the exit code.
TEST(ReportCommand, AHistoryFileIsCheckedThenReported) {
  const fs::path out = Fresh("file");
  CommandOutput report = Faultline("report --model cas-register --checker linearizable " +
                                   kExamples + "/stale-read.jsonl --out " + out.string());
  EXPECT_EQ(report.exit_code, 1) << report.out;
  EXPECT_NE(report.out.find("stale-read.jsonl: "), std::string::npos) << report.out;
  nlohmann::json results = nlohmann::json::parse(ReadText(out / "results.json"), nullptr, false);
  ASSERT_FALSE(results.is_discarded());
  EXPECT_EQ(results["valid"], false);
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], false);
  EXPECT_TRUE(results["checkers"].contains("stats"));
  std::string page = ReadText(out / "index.html");
  EXPECT_NE(page.find("data-checker=\"linearizable\"><td>linearizable</td><td><span "
                      "class=\"verdict v-invalid\">"),
            std::string::npos)
      << page.substr(0, 2000);
  EXPECT_NE(page.find("example-stale-read"), std::string::npos) << "the header names the test";
}

// A folder holding only a history.jsonl is checked (linearizable by default) and becomes a run
// folder: results.json and report/ inside it.
TEST(ReportCommand, AFolderWithOnlyAHistoryIsCheckedInPlace) {
  const fs::path folder = Fresh("bare");
  fs::create_directories(folder);
  fs::copy_file(kExamples + "/stale-read.jsonl", folder / "history.jsonl");
  CommandOutput report = Faultline("report " + folder.string());
  EXPECT_EQ(report.exit_code, 1) << report.out;
  EXPECT_TRUE(fs::exists(folder / "results.json"));
  EXPECT_TRUE(fs::exists(folder / "report" / "index.html"));
  // Rendered again: the results are there now, nothing is checked, exit 0.
  CommandOutput again = Faultline("report " + folder.string());
  EXPECT_EQ(again.exit_code, 0) << again.out;
}

TEST(ReportCommand, BadInputExits254SayingWhatWasExpected) {
  CommandOutput missing = Faultline("report /no/such/run");
  EXPECT_EQ(missing.exit_code, 254) << missing.out;
  EXPECT_NE(missing.out.find("/no/such/run: no such file or folder (expected a run folder or a "
                             "history file)"),
            std::string::npos)
      << missing.out;

  const fs::path empty = Fresh("empty");
  fs::create_directories(empty);
  CommandOutput no_history = Faultline("report " + empty.string());
  EXPECT_EQ(no_history.exit_code, 254) << no_history.out;
  EXPECT_NE(no_history.out.find(empty.string() + ": expected a run folder holding history.jsonl"),
            std::string::npos)
      << no_history.out;

  const fs::path garbage = Fresh("garbage.jsonl");
  std::ofstream(garbage) << "{\"faultline_history\":1}\n{\"index\": oops}\n";
  CommandOutput unreadable = Faultline("report " + garbage.string() + " --out " +
                                       Fresh("garbage_out").string());
  EXPECT_EQ(unreadable.exit_code, 254) << unreadable.out;
  EXPECT_NE(unreadable.out.find(garbage.string() + ":2:"), std::string::npos) << unreadable.out;

  EXPECT_EQ(Faultline("report").exit_code, 254);
  EXPECT_EQ(Faultline("report " + kExamples + "/stale-read.jsonl --checker nonsense").exit_code,
            254);
}

// The report a run gets at its end never fails the run: what went wrong is a warning line.
TEST(ReportCommand, ARunsReportThatCannotBeWrittenIsAWarning) {
  const fs::path folder = Fresh("no_history");
  fs::create_directories(folder);
  std::ostringstream out;
  faultline::cli::ReportRun(folder.string(), out);
  EXPECT_NE(out.str().find("warning: no report: " + (folder / "history.jsonl").string() +
                           ": cannot open"),
            std::string::npos)
      << out.str();
  std::ostringstream nothing;
  faultline::cli::ReportRun("", nothing);  // a run that never got a folder
  EXPECT_EQ(nothing.str(), "");
}

}  // namespace
