// `--junit FILE` on `check`, `test` and `test-all`: what each verdict becomes, and every file the
// binary writes validated against Jenkins' JUnit schema with xmllint.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/command.h"
#include "support/junit_schema.h"

namespace {

namespace fs = std::filesystem;

using faultline::testing::CommandOutput;
using faultline::testing::Faultline;
using faultline::testing::ValidateJunit;

const std::string kData = FAULTLINE_TEST_DATA;
const std::string kExamples = kData + "/../../examples/histories";

fs::path Fresh(const std::string& name) {
  fs::path path = fs::temp_directory_path() / ("faultline_junit_cli_" + name);
  fs::remove_all(path);
  return path;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `faultline ARGUMENTS --junit FILE`, checks the exit code, validates FILE against the
// schema and returns its text.
std::string JunitOf(const std::string& name, const std::string& arguments, int exit_code) {
  fs::path junit = Fresh(name + ".xml");
  CommandOutput run = Faultline(arguments + " --junit " + junit.string());
  EXPECT_EQ(run.exit_code, exit_code) << run.out;
  CommandOutput validated = ValidateJunit(junit.string());
  EXPECT_EQ(validated.exit_code, 0) << validated.out;
  EXPECT_NE(validated.out.find("validates"), std::string::npos) << validated.out;
  return ReadFile(junit);
}

bool Has(const std::string& xml, const std::string& part) {
  return xml.find(part) != std::string::npos;
}

size_t Count(const std::string& xml, const std::string& part) {
  size_t count = 0;
  for (size_t at = xml.find(part); at != std::string::npos; at = xml.find(part, at + 1)) ++count;
  return count;
}

// The suite's opening tag with its counts; a run has a testcase per checker in results.json
// (linearizable, and whatever else the test composes), so the test count comes from the file.
std::string SuiteTag(const std::string& xml, const std::string& name, size_t failures,
                     size_t errors) {
  return "<testsuite name=\"" + name + "\" tests=\"" + std::to_string(Count(xml, "<testcase ")) +
         "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
         "\"";
}

TEST(JunitCli, CheckValidIsAPassingTestcase) {
  FAULTLINE_REQUIRE_XMLLINT();
  std::string xml =
      JunitOf("valid", "check --model register " + kExamples + "/crashed-write.edn", 0);
  EXPECT_TRUE(Has(xml, "tests=\"1\" failures=\"0\" errors=\"0\"")) << xml;
  EXPECT_TRUE(Has(xml, "<testcase classname=\"linearizable.register\" name=\"" + kExamples +
                           "/crashed-write.edn\" time=\""))
      << xml;
  EXPECT_FALSE(Has(xml, "<failure") || Has(xml, "<error")) << xml;
}

TEST(JunitCli, CheckInvalidIsAFailureWithTheAnomaly) {
  FAULTLINE_REQUIRE_XMLLINT();
  std::string xml =
      JunitOf("invalid", "check --model cas-register " + kExamples + "/stale-read.jsonl", 1);
  EXPECT_TRUE(Has(xml, "tests=\"1\" failures=\"1\" errors=\"0\"")) << xml;
  EXPECT_TRUE(
      Has(xml, "<failure message=\"op 7 could not be linearized after a prefix of 2 ops\">"))
      << xml;
  // The whole explanation is the failure's text.
  EXPECT_TRUE(Has(xml, "cannot linearize: process 2 ok read 1 (index 7, line 9)")) << xml;
}

TEST(JunitCli, CheckIsolationAnomalyNamesItsType) {
  FAULTLINE_REQUIRE_XMLLINT();
  std::string xml =
      JunitOf("g0", "check --checker list-append " + kData + "/elle/cases/la-G0.edn", 1);
  EXPECT_TRUE(Has(xml, "classname=\"list-append.strict-serializable\"")) << xml;
  EXPECT_TRUE(Has(xml, "<failure message=\"found G0\">")) << xml;
}

TEST(JunitCli, CheckUnknownIsAnErrorSayingWhy) {
  FAULTLINE_REQUIRE_XMLLINT();
  // 40 crashed writes read back in different orders: more search than 0.2 s allows.
  std::string xml = JunitOf("unknown",
                            "check --model register --time-limit 0.2 " + kData +
                                "/junit/hard-register.jsonl",
                            2);
  EXPECT_TRUE(Has(xml, "tests=\"1\" failures=\"0\" errors=\"1\"")) << xml;
  EXPECT_TRUE(Has(xml, "<error message=\"unknown: time limit of 0.2 s exceeded")) << xml;
}

TEST(JunitCli, CheckUnreadableFileIsAnErrorAndTheOthersStillCount) {
  FAULTLINE_REQUIRE_XMLLINT();
  fs::path bad = Fresh("bad.edn");
  std::ofstream(bad) << "[{:process 0, :type :invoke, :f <script>\n";
  std::string xml = JunitOf("unreadable",
                            "check --model register " + kExamples + "/crashed-write.edn " +
                                bad.string(),
                            254);
  EXPECT_TRUE(Has(xml, "tests=\"2\" failures=\"0\" errors=\"1\"")) << xml;
  EXPECT_TRUE(Has(xml, "name=\"" + bad.string() + "\"")) << xml;
  EXPECT_TRUE(Has(xml, "<error message=\"not checked: " + bad.string())) << xml;
}

TEST(JunitCli, AJunitFileThatCannotBeWrittenIsBadInput) {
  fs::path junit = Fresh("missing") / "junit.xml";
  CommandOutput run = Faultline("check --model register --junit " + junit.string() + " " +
                                kExamples + "/crashed-write.edn");
  EXPECT_EQ(run.exit_code, 254) << run.out;
  EXPECT_TRUE(Has(run.out, "cannot write JUnit file")) << run.out;
}

TEST(JunitCli, TestWithAFakeBugIsAFailure) {
  FAULTLINE_REQUIRE_XMLLINT();
  fs::path store = Fresh("store-bug");
  std::string xml = JunitOf("test",
                            "test --db fake --fake-bug stale-reads --time-limit 0.5 --seed 3 "
                            "--store " + store.string(),
                            1);
  EXPECT_TRUE(Has(xml, SuiteTag(xml, "faultline test", 1, 0))) << xml;
  EXPECT_TRUE(Has(xml, "<testcase classname=\"fake-register.linearizable\" name=\"run 1\""))
      << xml;
  EXPECT_TRUE(Has(xml, "<failure message=\"op ")) << xml;
  EXPECT_TRUE(Has(xml, "could not be linearized")) << xml;
  EXPECT_TRUE(Has(xml, "run directory: " + store.string())) << xml;
}

TEST(JunitCli, TestCountGivesOneTestcasePerRun) {
  FAULTLINE_REQUIRE_XMLLINT();
  fs::path store = Fresh("store-count");
  std::string xml = JunitOf("count",
                            "test --db fake --time-limit 0.3 --test-count 2 --seed 5 --store " +
                                store.string(),
                            0);
  EXPECT_TRUE(Has(xml, SuiteTag(xml, "faultline test", 0, 0))) << xml;
  EXPECT_EQ(Count(xml, "classname=\"fake-register.linearizable\""), 2u) << xml;
  EXPECT_GE(Count(xml, "name=\"run 1\""), 1u) << xml;
  EXPECT_EQ(Count(xml, "name=\"run 1\""), Count(xml, "name=\"run 2\"")) << xml;
}

TEST(JunitCli, TestAllGivesOneTestcasePerMatrixCell) {
  FAULTLINE_REQUIRE_XMLLINT();
  fs::path store = Fresh("store-all");
  std::string xml = JunitOf("all",
                            "test-all --db fake --fake-bug lost-writes --time-limit 0.5 "
                            "--workloads register --nemesis-sets none --seed 12 --store " +
                                store.string(),
                            1);
  EXPECT_TRUE(Has(xml, SuiteTag(xml, "faultline test-all", 1, 0))) << xml;
  EXPECT_TRUE(Has(xml, "classname=\"fake-register.linearizable\" name=\"register x none\""))
      << xml;
}

}  // namespace
