// JUnit XML for CI (`--junit FILE` on `check`, `test`, `test-all`): a small value model of the
// report, the checker-result-to-testcase mapping, and a writer whose output Jenkins and GitLab read
// (tests/data/junit/junit-10.xsd, the schema of Jenkins' xUnit plugin, validates it).
//
// Mapping of a verdict to a testcase: valid passes; invalid is a <failure> whose message is the
// anomaly summary; unknown is an <error> whose message says why; a crashed run or a file that could
// not be read is an <error> too. Every string from a history or a checker may hold anything: the
// writer escapes markup and replaces what XML 1.0 cannot carry (control characters other than tab,
// newline and carriage return, U+FFFE, U+FFFF, invalid UTF-8) with U+FFFD, so the file always
// parses. Plain values; no shared state; any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/verdict.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline::reports {

// The body of a <failure>, <error> or <skipped>: `message` is one line (the attribute CI shows in
// its list), `text` the details (the element's content).
struct JunitProblem {
  std::string message;
  std::string text;
};

struct JunitTestCase {
  std::string classname;  // CI groups by it: the part before the last '.' is the "package"
  std::string name;
  double time_s = 0;
  // At most one is set: a failure (the system was wrong), an error (no verdict could be reached),
  // or skipped.
  std::optional<JunitProblem> failure;
  std::optional<JunitProblem> error;
  std::optional<JunitProblem> skipped;
};

// The writer derives tests, failures, errors, skipped and time from the cases, so the counts
// cannot disagree with them.
struct JunitTestSuite {
  std::string name;
  std::string timestamp;  // ISO 8601 (e.g. 2026-12-07T16:13:00), or "" to leave out
  std::vector<JunitTestCase> cases;
};

struct JunitReport {
  std::string name = "faultline";
  std::vector<JunitTestSuite> suites;
};

// `text` as an XML attribute value: & < > " ' as entities; tab, newline and carriage return as
// character references (a parser would turn them into spaces otherwise); every character XML 1.0
// forbids, and every byte of invalid UTF-8, as U+FFFD.
std::string XmlEscape(std::string_view text);
// The same as element content, where tab and newline stay as they are (a carriage return is still
// a reference: parsers turn it into a newline).
std::string XmlText(std::string_view text);

// The whole document, with an XML declaration, ending in a newline.
std::string JunitXml(const JunitReport& report);

// Writes JunitXml(report) to `path` through a temporary file in the same directory and a rename,
// so a reader never sees half a file and a failed write leaves an earlier file whole.
Status WriteJunit(const std::filesystem::path& path, const JunitReport& report);

// The current local time as ISO 8601 without a zone (what JUnit's timestamp attribute holds).
std::string JunitTimestamp();

// One line saying what a checker found, from its JSON result (results.json's "checkers" entry,
// or `check --json`'s): its error, else its reason with any anomaly types the reason does not
// name, else the session guarantees it found broken or could not judge, else `fallback`.
std::string CheckerSummary(const Json& result, std::string_view fallback);

// A checker's verdict as a testcase: valid passes, invalid fails with CheckerSummary as message,
// unknown is an error with it. `details` (the checker's explanation, say) becomes the text.
JunitTestCase CheckerTestCase(std::string classname, std::string name, double time_s,
                              Verdict verdict, const Json& result, std::string details);

// A testcase for something that reached no verdict at all (a crashed run, an unreadable file).
JunitTestCase ErrorTestCase(std::string classname, std::string name, double time_s,
                            std::string message, std::string details);

// The verdict a checker's JSON result states ("verdict", else "valid": true, false or "unknown"),
// or nullopt when it states none.
std::optional<Verdict> VerdictOf(const Json& result);

// A run's testcases, from its results.json: one per entry of "checkers", classname
// "<test>.<checker>", each with the verdict its checker gave. A run cut short (results'
// "interrupted") or with a failed phase ("error") proves nothing about what it did not do: a
// checker's valid becomes an error saying so, as the run's verdict becomes unknown. Results that
// name no checker give one testcase, classname `test`, with `run_verdict`.
std::vector<JunitTestCase> RunTestCases(const std::string& test, const std::string& name,
                                        double time_s, const Json& results, Verdict run_verdict,
                                        const std::string& details);

}  // namespace faultline::reports
