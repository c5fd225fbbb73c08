// The JUnit writer: escaping, the characters XML forbids, counts, atomic writing, the
// verdict-to-testcase mapping, and schema validation of a document full of hostile values.
#include "reports/junit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/junit_schema.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

fs::path FreshDirectory(const std::string& name) {
  fs::path directory = fs::temp_directory_path() / ("faultline_junit_" + name);
  fs::remove_all(directory);
  fs::create_directories(directory);
  return directory;
}

TEST(XmlEscape, EscapesMarkupAndQuotes) {
  EXPECT_EQ(XmlEscape("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &apos;y&apos;)&lt;/script&gt;");
}

TEST(XmlEscape, KeepsTabNewlineAndCarriageReturnAsReferences) {
  EXPECT_EQ(XmlEscape("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
}

TEST(XmlText, KeepsTabAndNewlineButNotCarriageReturn) {
  EXPECT_EQ(XmlText("a\tb\nc\rd<&"), "a\tb\nc&#13;d&lt;&amp;");
  EXPECT_EQ(XmlText(std::string("\0", 1)), kReplacement);
}

TEST(XmlEscape, ReplacesControlCharactersXmlForbids) {
  EXPECT_EQ(XmlEscape(std::string("a\0b", 3)), "a" + kReplacement + "b");
  EXPECT_EQ(XmlEscape("\x01\x1F\x7F"), kReplacement + kReplacement + "\x7F");  // DEL is allowed
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBE\xEF\xBF\xBF"), kReplacement + kReplacement);  // U+FFFE, U+FFFF
}

TEST(XmlEscape, ReplacesInvalidUtf8AndKeepsValidUtf8) {
  EXPECT_EQ(XmlEscape("\xFF"), kReplacement);
  EXPECT_EQ(XmlEscape("x\xC3"), "x" + kReplacement);          // a sequence cut short
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(XmlEscape("\xC3\xA9 \xF0\x9F\x98\x80"), "\xC3\xA9 \xF0\x9F\x98\x80");  // é, emoji
}

JunitTestCase Case(const std::string& name) { return {"faultline.check", name, 0.25, {}, {}, {}}; }

JunitReport FourCases() {
  JunitTestSuite suite{"check", "2026-12-07T10:00:00", {}};
  suite.cases.push_back(Case("passes"));
  suite.cases.push_back(Case("fails"));
  suite.cases.back().failure = JunitProblem{"found G0", "details"};
  suite.cases.push_back(Case("errs"));
  suite.cases.back().error = JunitProblem{"unknown: time limit", ""};
  suite.cases.push_back(Case("skips"));
  suite.cases.back().skipped = JunitProblem{"not run", ""};
  JunitReport report;
  report.suites.push_back(suite);
  report.suites.push_back({"empty", "", {}});
  return report;
}

TEST(JunitXml, CountsComeFromTheCases) {
  std::string xml = JunitXml(FourCases());
  EXPECT_NE(xml.find("<testsuites name=\"faultline\" tests=\"4\" failures=\"1\" errors=\"1\" "
                     "time=\"1.000\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"check\" tests=\"4\" failures=\"1\" errors=\"1\" "
                     "skipped=\"1\" time=\"1.000\" timestamp=\"2026-12-07T10:00:00\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"empty\" tests=\"0\" failures=\"0\" errors=\"0\" "
                     "skipped=\"0\" time=\"0.000\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase classname=\"faultline.check\" name=\"passes\" time=\"0.250\"/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message=\"found G0\">details</failure>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error message=\"unknown: time limit\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\"not run\"/>"), std::string::npos) << xml;
}

TEST(JunitXml, ATimeThatIsNotANumberIsZero) {
  JunitReport report;
  report.suites.push_back({"s", "", {Case("a")}});
  report.suites[0].cases[0].time_s = -1;
  EXPECT_NE(JunitXml(report).find("name=\"a\" time=\"0.000\""), std::string::npos);
}

// A history's values reach names, messages and texts: none of them may break the file.
TEST(JunitXml, HostileValuesStillMatchTheSchema) {
  FAULTLINE_REQUIRE_XMLLINT();
  const std::string hostile = "<script>alert(1)</script> ]]> &amp; \"'" + std::string(1, '\0') +
                              "\x01\x1B[31m\xFF\xC3\n\r\t";
  JunitReport report = FourCases();
  report.name = hostile;
  report.suites[0].name = hostile;
  for (JunitTestCase& test_case : report.suites[0].cases) {
    test_case.classname = hostile;
    test_case.name += hostile;
  }
  report.suites[0].cases[1].failure = JunitProblem{hostile, hostile + "\n" + hostile};
  report.suites[0].cases[2].error = JunitProblem{hostile, hostile};
  fs::path path = FreshDirectory("hostile") / "junit.xml";
  ASSERT_TRUE(WriteJunit(path, report).ok());
  std::string xml = ReadFile(path);
  EXPECT_EQ(xml.find("<script>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\0'), std::string::npos);
  testing::CommandOutput validated = testing::ValidateJunit(path.string());
  EXPECT_EQ(validated.exit_code, 0) << validated.out << "\n" << xml;
  EXPECT_NE(validated.out.find("validates"), std::string::npos) << validated.out;
}

TEST(JunitXml, TheSchemaRejectsWhatItShould) {
  // The check above means something only if xmllint and the schema catch a broken file.
  FAULTLINE_REQUIRE_XMLLINT();
  fs::path path = FreshDirectory("broken") / "junit.xml";
  std::ofstream(path) << "<testsuites><testsuite name=\"s\" tests=\"1\" errors=\"0\">"
                         "<testcase/></testsuite></testsuites>\n";
  testing::CommandOutput validated = testing::ValidateJunit(path.string());
  EXPECT_NE(validated.exit_code, 0) << validated.out;
  EXPECT_NE(validated.out.find("'failures' is required"), std::string::npos) << validated.out;
}

TEST(WriteJunit, ReplacesTheFileAndLeavesNoTemporary) {
  fs::path directory = FreshDirectory("replace");
  fs::path path = directory / "junit.xml";
  std::ofstream(path) << "old";
  ASSERT_TRUE(WriteJunit(path, FourCases()).ok());
  EXPECT_EQ(ReadFile(path), JunitXml(FourCases()));
  EXPECT_EQ(std::distance(fs::directory_iterator(directory), fs::directory_iterator()), 1);
}

TEST(WriteJunit, AMissingDirectoryIsAnError) {
  fs::path path = FreshDirectory("missing") / "no" / "junit.xml";
  Status written = WriteJunit(path, FourCases());
  EXPECT_FALSE(written.ok());
  EXPECT_NE(written.message().find("junit.xml"), std::string::npos) << written.message();
  EXPECT_FALSE(fs::exists(path.parent_path()));
}

TEST(CheckerSummary, LinearizableGivesItsReason) {
  Json result = {{"valid", false}, {"reason", "op 7 could not be linearized after a prefix"}};
  EXPECT_EQ(CheckerSummary(result, "fallback"), "op 7 could not be linearized after a prefix");
}

TEST(CheckerSummary, NamesAnomalyTypesTheReasonLeavesOut) {
  Json found = {{"reason", "found G0 G1c"}, {"anomaly_types", {"G0", "G1c"}}};
  EXPECT_EQ(CheckerSummary(found, ""), "found G0 G1c");
  Json unnamed = {{"reason", "no graph"}, {"anomaly_types", {"empty-transaction-graph"}}};
  EXPECT_EQ(CheckerSummary(unnamed, ""), "no graph (anomaly types: empty-transaction-graph)");
}

TEST(CheckerSummary, SessionNamesTheBrokenGuarantees) {
  Json result = {{"guarantees",
                  {{"monotonic-reads", {{"verdict", "invalid"}, {"violations", 3}}},
                   {"read-your-writes", {{"verdict", "valid"}, {"violations", 0}}},
                   {"writes-follow-reads", {{"verdict", "unknown"}, {"unjudged", 2}}}}}};
  EXPECT_EQ(CheckerSummary(result, ""), "violated monotonic-reads: 3 violations");
  result["guarantees"]["monotonic-reads"]["verdict"] = "valid";
  EXPECT_EQ(CheckerSummary(result, ""), "could not judge writes-follow-reads: 2 unjudged");
}

TEST(CheckerSummary, ErrorFirstThenTheFallbackFirstLine) {
  EXPECT_EQ(CheckerSummary({{"error", "bad history"}, {"reason", "x"}}, ""), "bad history");
  EXPECT_EQ(CheckerSummary(Json::object(), "first line\nsecond"), "first line");
}

TEST(CheckerTestCase, ValidPassesInvalidFailsUnknownErrs) {
  Json result = {{"reason", "time limit of 0.2 s exceeded"}};
  JunitTestCase valid = CheckerTestCase("c", "n", 1, Verdict::kValid, result, "text");
  EXPECT_FALSE(valid.failure || valid.error || valid.skipped);
  JunitTestCase invalid = CheckerTestCase("c", "n", 1, Verdict::kInvalid, result, "text");
  ASSERT_TRUE(invalid.failure);
  EXPECT_FALSE(invalid.error);
  EXPECT_EQ(invalid.failure->message, "time limit of 0.2 s exceeded");
  EXPECT_EQ(invalid.failure->text, "text");
  JunitTestCase unknown = CheckerTestCase("c", "n", 1, Verdict::kUnknown, result, "text");
  ASSERT_TRUE(unknown.error);
  EXPECT_FALSE(unknown.failure);
  EXPECT_EQ(unknown.error->message, "unknown: time limit of 0.2 s exceeded");
  JunitTestCase said = CheckerTestCase("c", "n", 1, Verdict::kUnknown, {}, "unknown: why\nmore");
  EXPECT_EQ(said.error->message, "unknown: why");
}

TEST(ErrorTestCase, KeepsTheFirstLineAsMessage) {
  JunitTestCase crashed = ErrorTestCase("c", "n", 0, "crashed: no db\nat setup", "log");
  ASSERT_TRUE(crashed.error);
  EXPECT_EQ(crashed.error->message, "crashed: no db");
  EXPECT_EQ(crashed.error->text, "log");
}

TEST(VerdictOf, ReadsVerdictOrValid) {
  EXPECT_EQ(VerdictOf({{"verdict", "invalid"}}), Verdict::kInvalid);
  EXPECT_EQ(VerdictOf({{"valid", true}}), Verdict::kValid);
  EXPECT_EQ(VerdictOf({{"valid", "unknown"}, {"error", "x"}}), Verdict::kUnknown);
  EXPECT_EQ(VerdictOf({{"reason", "x"}}), std::nullopt);
}

// results.json's "checkers" map may hold several checkers: one testcase each.
TEST(RunTestCases, OneCasePerChecker) {
  Json results = {{"verdict", "invalid"},
                  {"checkers",
                   {{"linearizable", {{"verdict", "invalid"}, {"reason", "op 7 stale"}}},
                    {"stats", {{"verdict", "valid"}}},
                    {"session", {{"valid", "unknown"}, {"error", "no sessions"}}}}}};
  std::vector<JunitTestCase> cases =
      RunTestCases("fake-register", "run 1", 2, results, Verdict::kInvalid, "explained");
  ASSERT_EQ(cases.size(), 3u);
  // nlohmann's object keeps its keys sorted.
  EXPECT_EQ(cases[0].classname, "fake-register.linearizable");
  EXPECT_EQ(cases[0].name, "run 1");
  ASSERT_TRUE(cases[0].failure);
  EXPECT_EQ(cases[0].failure->message, "op 7 stale");
  EXPECT_EQ(cases[0].failure->text, "explained");
  EXPECT_EQ(cases[1].classname, "fake-register.session");
  ASSERT_TRUE(cases[1].error);
  EXPECT_EQ(cases[1].error->message, "unknown: no sessions");
  EXPECT_EQ(cases[2].classname, "fake-register.stats");
  EXPECT_FALSE(cases[2].failure || cases[2].error);
}

TEST(RunTestCases, ARunCutShortIsNeverAPass) {
  Json results = {{"interrupted", true},
                  {"checkers", {{"linearizable", {{"verdict", "valid"}}}}}};
  std::vector<JunitTestCase> cases = RunTestCases("t", "run 1", 0, results, Verdict::kUnknown, "");
  ASSERT_EQ(cases.size(), 1u);
  ASSERT_TRUE(cases[0].error);
  EXPECT_EQ(cases[0].error->message, "unknown: the run was interrupted");
  results["error"] = "setup: no etcd";
  cases = RunTestCases("t", "run 1", 0, results, Verdict::kUnknown, "");
  EXPECT_EQ(cases[0].error->message, "unknown: the run failed: setup: no etcd");
}

TEST(RunTestCases, ResultsWithoutCheckersGiveOneCaseWithTheRunVerdict) {
  std::vector<JunitTestCase> cases = RunTestCases("t", "run 1", 0, Json(), Verdict::kValid, "");
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].classname, "t");
  EXPECT_FALSE(cases[0].failure || cases[0].error);
  cases = RunTestCases("t", "run 1", 0, {{"error", "db down"}}, Verdict::kUnknown, "");
  ASSERT_TRUE(cases[0].error);
  EXPECT_EQ(cases[0].error->message, "unknown: the run failed: db down");
}

}  // namespace
}  // namespace faultline::reports
