#include "reports/junit.h"

#include <cmath>
#include <cstdio>

#include "core/file_write.h"
#include "core/local_time.h"
#include "core/parse_text.h"

namespace faultline::reports {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Whether the valid UTF-8 sequence `sequence` encodes a character XML 1.0 allows (its Char
// production): tab, newline, carriage return, U+0020..U+D7FF, U+E000..U+FFFD, U+10000 and up.
// Surrogates and code points past U+10FFFF are not valid UTF-8 and never get here.
bool XmlAllows(std::string_view sequence) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(sequence[i]); };
  if (sequence.size() == 1) return byte(0) >= 0x20 || byte(0) == '\t' || byte(0) == '\n' ||
                                   byte(0) == '\r';
  // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
  return !(sequence.size() == 3 && byte(0) == 0xEF && byte(1) == 0xBF && byte(2) >= 0xBE);
}

// Seconds as JUnit's time attribute: digits, a point, three decimals (the schema's pattern has
// no sign and no exponent).
std::string Seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  char text[64];
  std::snprintf(text, sizeof text, "%.3f", seconds);
  return text;
}

std::string Attribute(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + XmlEscape(value) + "\"";
}

void AppendProblem(std::string_view element, const JunitProblem& problem, std::string* out) {
  *out += "      <" + std::string(element) + Attribute("message", problem.message);
  if (problem.text.empty()) {
    *out += "/>\n";
  } else {
    *out += ">" + XmlText(problem.text) + "</" + std::string(element) + ">\n";
  }
}

void AppendCase(const JunitTestCase& test_case, std::string* out) {
  *out += "    <testcase" + Attribute("classname", test_case.classname) +
          Attribute("name", test_case.name) + Attribute("time", Seconds(test_case.time_s));
  if (!test_case.failure && !test_case.error && !test_case.skipped) {
    *out += "/>\n";
    return;
  }
  *out += ">\n";
  if (test_case.failure) AppendProblem("failure", *test_case.failure, out);
  if (test_case.error) AppendProblem("error", *test_case.error, out);
  if (test_case.skipped) AppendProblem("skipped", *test_case.skipped, out);
  *out += "    </testcase>\n";
}

struct Counts {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double time_s = 0;
  void Add(const Counts& other) {
    tests += other.tests, failures += other.failures, errors += other.errors;
    skipped += other.skipped, time_s += other.time_s;
  }
};

Counts CountOf(const JunitTestSuite& suite) {
  Counts counts;
  for (const JunitTestCase& test_case : suite.cases) {
    ++counts.tests;
    counts.failures += test_case.failure ? 1 : 0;
    counts.errors += test_case.error ? 1 : 0;
    counts.skipped += test_case.skipped ? 1 : 0;
    if (std::isfinite(test_case.time_s) && test_case.time_s > 0) counts.time_s += test_case.time_s;
  }
  return counts;
}

std::string CountAttributes(const Counts& counts) {
  return Attribute("tests", std::to_string(counts.tests)) +
         Attribute("failures", std::to_string(counts.failures)) +
         Attribute("errors", std::to_string(counts.errors));
}

std::string FirstLine(std::string_view text) {
  size_t end = text.find('\n');
  return std::string(text.substr(0, end));
}

std::string Joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// The session checker's guarantees that were violated ("monotonic-reads: 3 violations") or, when
// none was, those it could not judge.
std::string GuaranteeSummary(const Json& guarantees) {
  std::vector<std::string> broken, undecided;
  for (const auto& [guarantee, result] : guarantees.items()) {
    if (!result.is_object()) continue;
    std::string verdict = result.value("verdict", std::string());
    if (verdict == "invalid") {
      broken.push_back(guarantee + ": " + std::to_string(result.value("violations", 0)) +
                       " violations");
    } else if (verdict == "unknown") {
      undecided.push_back(guarantee + ": " + std::to_string(result.value("unjudged", 0)) +
                          " unjudged");
    }
  }
  if (!broken.empty()) return "violated " + Joined(broken);
  if (!undecided.empty()) return "could not judge " + Joined(undecided);
  return "";
}

std::string Escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t length = faultline::text::Utf8SequenceLength(text.substr(i));
    if (length == 0) {  // a byte that starts no valid UTF-8 sequence: replaced on its own
      out += kReplacement;
      ++i;
      continue;
    }
    std::string_view sequence = text.substr(i, length);
    i += length;
    if (!XmlAllows(sequence)) {
      out += kReplacement;
      continue;
    }
    switch (sequence[0]) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\r': out += "&#13;"; break;
      default: out += sequence;
    }
  }
  return out;
}

}  // namespace

std::string XmlEscape(std::string_view text) { return Escape(text, /*attribute=*/true); }

std::string XmlText(std::string_view text) { return Escape(text, /*attribute=*/false); }

std::string JunitXml(const JunitReport& report) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  Counts total;
  std::string suites;
  for (const JunitTestSuite& suite : report.suites) {
    Counts counts = CountOf(suite);
    total.Add(counts);
    suites += "  <testsuite" + Attribute("name", suite.name) + CountAttributes(counts) +
              Attribute("skipped", std::to_string(counts.skipped)) +
              Attribute("time", Seconds(counts.time_s));
    if (!suite.timestamp.empty()) suites += Attribute("timestamp", suite.timestamp);
    suites += ">\n";
    for (const JunitTestCase& test_case : suite.cases) AppendCase(test_case, &suites);
    suites += "  </testsuite>\n";
  }
  out += "<testsuites" + Attribute("name", report.name) + CountAttributes(total) +
         Attribute("time", Seconds(total.time_s)) + ">\n" + suites + "</testsuites>\n";
  return out;
}

Status WriteJunit(const std::filesystem::path& path, const JunitReport& report) {
  Status written = WriteFileExclusively(path, JunitXml(report), 0644);
  if (!written.ok()) return Status::IoError("cannot write JUnit file: " + written.message());
  return Status::Ok();
}

std::string JunitTimestamp() { return LocalTimeNow("%Y-%m-%dT%H:%M:%S"); }

std::string CheckerSummary(const Json& result, std::string_view fallback) {
  std::string summary;
  if (result.is_object()) {
    if (result.contains("error") && result["error"].is_string()) {
      summary = result["error"].get<std::string>();
    } else if (result.contains("reason") && result["reason"].is_string()) {
      summary = result["reason"].get<std::string>();
      std::vector<std::string> unnamed;
      for (const Json& type : result.value("anomaly_types", Json::array())) {
        if (type.is_string() && summary.find(type.get<std::string>()) == std::string::npos) {
          unnamed.push_back(type.get<std::string>());
        }
      }
      if (!unnamed.empty()) summary += " (anomaly types: " + Joined(unnamed) + ")";
    } else if (result.contains("guarantees") && result["guarantees"].is_object()) {
      summary = GuaranteeSummary(result["guarantees"]);
    }
  }
  if (summary.empty()) summary = FirstLine(fallback);
  return FirstLine(summary);
}

JunitTestCase CheckerTestCase(std::string classname, std::string name, double time_s,
                              Verdict verdict, const Json& result, std::string details) {
  JunitTestCase test_case{std::move(classname), std::move(name), time_s, {}, {}, {}};
  if (verdict == Verdict::kValid) return test_case;
  std::string summary = CheckerSummary(result, details);
  if (summary.empty()) summary = std::string(ToString(verdict));
  JunitProblem problem{std::move(summary), std::move(details)};
  if (verdict == Verdict::kInvalid) {
    test_case.failure = std::move(problem);
  } else {
    if (problem.message.rfind("unknown", 0) != 0) problem.message = "unknown: " + problem.message;
    test_case.error = std::move(problem);
  }
  return test_case;
}

JunitTestCase ErrorTestCase(std::string classname, std::string name, double time_s,
                            std::string message, std::string details) {
  JunitTestCase test_case{std::move(classname), std::move(name), time_s, {}, {}, {}};
  test_case.error = JunitProblem{FirstLine(message), std::move(details)};
  return test_case;
}

std::optional<Verdict> VerdictOf(const Json& result) {
  if (!result.is_object()) return std::nullopt;
  const Json verdict = result.value("verdict", Json());
  const Json valid = result.value("valid", Json());
  if (verdict == "valid" || valid == true) return Verdict::kValid;
  if (verdict == "invalid" || valid == false) return Verdict::kInvalid;
  if (verdict == "unknown" || valid == "unknown") return Verdict::kUnknown;
  return std::nullopt;
}

std::vector<JunitTestCase> RunTestCases(const std::string& test, const std::string& name,
                                        double time_s, const Json& results, Verdict run_verdict,
                                        const std::string& details) {
  std::string cut_short;
  if (results.is_object() && results.contains("error") && results["error"].is_string()) {
    cut_short = "the run failed: " + results["error"].get<std::string>();
  } else if (results.is_object() && results.value("interrupted", false) == true) {
    cut_short = "the run was interrupted";
  }
  std::vector<JunitTestCase> cases;
  const Json checkers =
      results.is_object() ? results.value("checkers", Json::object()) : Json::object();
  for (const auto& [checker, result] : checkers.items()) {
    Verdict verdict = VerdictOf(result).value_or(run_verdict);
    if (verdict == Verdict::kValid && !cut_short.empty()) {
      cases.push_back(ErrorTestCase(test + "." + checker, name, time_s, "unknown: " + cut_short,
                                    details));
    } else {
      cases.push_back(CheckerTestCase(test + "." + checker, name, time_s, verdict, result, details));
    }
  }
  if (cases.empty()) {
    Json reason = cut_short.empty() ? Json::object() : Json{{"error", cut_short}};
    cases.push_back(CheckerTestCase(test, name, time_s, run_verdict, reason, details));
  }
  return cases;
}

}  // namespace faultline::reports
