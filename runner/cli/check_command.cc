#include "runner/cli/check_command.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "checker/linearizable/linearizable.h"
#include "checker/registry.h"
#include "checker/txn/models.h"
#include "core/history_io.h"
#include "reports/graphviz.h"
#include "reports/junit.h"

namespace faultline::cli {
namespace {

Json ParseInitialValue(const std::string& text) {
  if (text.empty() || text == "nil") return Json();
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json(text) : parsed;
}

std::string ModelList() {
  std::string names;
  for (const std::string& name : LinearizableModelNames()) {
    names += (names.empty() ? "" : ", ") + name;
  }
  return names;
}

std::string CheckerList() {
  std::string names;
  for (const std::string& name : CheckerNames()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

struct FileOutcome {
  Verdict verdict = Verdict::kValid;
  bool bad_input = false;
  std::vector<reports::JunitTestCase> junit;  // the file's testcases for --junit, per checker
};

// The JUnit classname of `check`'s testcases: the checker and what it checks against.
std::string JunitClassname(const std::string& checker, const CheckArguments& arguments) {
  if (checker == "linearizable") return checker + "." + arguments.model;
  if (checker == "list-append" || checker == "rw-register") {
    return checker + "." + arguments.consistency_model;
  }
  return checker;
}

FileOutcome BadInput(const std::string& file, const CheckArguments& arguments,
                     const Status& status, Json* report, std::ostream& err) {
  err << "faultline: " << status.message() << "\n";
  report->push_back({{"file", file}, {"error", status.message()}});
  FileOutcome outcome{Verdict::kUnknown, true, {}};
  for (const std::string& checker : arguments.checkers) {
    outcome.junit.push_back(reports::ErrorTestCase(JunitClassname(checker, arguments), file, 0,
                                                   "not checked: " + status.message(),
                                                   status.message()));
  }
  return outcome;
}

// The flags' checker: the one named, or those named composed (checker/registry.h).
Result<CheckerPtr> CheckerOf(const CheckArguments& arguments) {
  const Json settings = {
      {"model", {{"name", arguments.model}, {"initial_value", ParseInitialValue(arguments.initial_value)}}},
      {"consistency_model", arguments.consistency_model}};
  std::vector<CheckerPtr> checkers;
  for (const std::string& name : arguments.checkers) {
    if (std::count(arguments.checkers.begin(), arguments.checkers.end(), name) > 1) {
      return Status::InvalidArgument("--checker " + name + " given twice");
    }
    Result<CheckerPtr> checker = MakeChecker(name, settings);
    if (!checker.ok()) return checker.status();
    checkers.push_back(*checker);
  }
  if (checkers.size() == 1) return checkers.front();
  return Compose(std::move(checkers));
}

// A long check says on stderr how far it got, a line every 5 s; a short one says nothing.
CheckContext ContextOf(const CheckArguments& arguments, const std::string& file,
                       std::ostream& err) {
  CheckContext context;
  context.progress = ThrottledProgress(
      [file, &err](const std::string& step) {
        err << "faultline: " << file << ": " << step << "\n" << std::flush;
      },
      5);
  context.threads = arguments.threads;
  context.time_limit_s = arguments.time_limit_s;
  context.memory_limit_bytes = static_cast<size_t>(arguments.memory_limit_mb * (1 << 20));
  context.lenient = arguments.lenient;
  context.output_directory = arguments.cycles_dir;
  return context;
}

// One result per checker named: the result itself, or a composition's entries.
std::vector<std::pair<std::string, Json>> PerChecker(const CheckArguments& arguments,
                                                     const Json& result) {
  if (arguments.checkers.size() == 1) return {{arguments.checkers.front(), result}};
  std::vector<std::pair<std::string, Json>> results;
  for (const std::string& name : arguments.checkers) {
    results.emplace_back(name, result["checkers"].value(name, Json::object()));
  }
  return results;
}

// Reads one file, checks it and prints (or adds to the JSON report) its result.
FileOutcome CheckFile(const std::string& file, const CheckArguments& arguments, Json* report,
                      std::ostream& out, std::ostream& err) {
  ReadOptions read_options;
  read_options.format = *ParseHistoryFormat(arguments.format);
  read_options.threads = arguments.threads;
  auto started = std::chrono::steady_clock::now();
  Result<History> history = ReadHistoryFile(file, read_options);
  if (!history.ok()) return BadInput(file, arguments, history.status(), report, err);
  Result<CheckerPtr> checker = CheckerOf(arguments);
  if (!checker.ok()) return BadInput(file, arguments, checker.status(), report, err);
  CheckResult checked = CheckCatching(**checker, *history, ContextOf(arguments, file, err));
  // A history the checker refuses (not well-formed, say) is bad input, not a verdict.
  if (!checked.error.ok()) return BadInput(file, arguments, checked.error, report, err);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<reports::JunitTestCase> junit;
  for (const auto& [name, result] : PerChecker(arguments, checked.json)) {
    junit.push_back(reports::CheckerTestCase(JunitClassname(name, arguments), file, seconds,
                                             reports::VerdictOf(result).value_or(Verdict::kUnknown),
                                             result, checked.text));
  }
  if (arguments.json) {
    Json entry = std::move(checked.json);
    entry["file"] = file;
    entry["checker"] = arguments.checkers.size() == 1 ? Json(arguments.checkers.front())
                                                      : Json(arguments.checkers);
    entry["seconds"] = seconds;
    if (!checked.warnings.empty()) entry["warnings"] = checked.warnings;
    report->push_back(std::move(entry));
  } else {
    out << file << ": " << checked.text;
    for (const std::string& warning : checked.warnings) out << "  warning: " << warning << "\n";
  }
  return {checked.verdict, false, std::move(junit)};
}

}  // namespace

CLI::App* AddCheckCommand(CLI::App& app, CheckArguments& arguments) {
  CLI::App* check = app.add_subcommand("check", "Check history files for consistency");
  check->add_option("files", arguments.files, "History files (JSONL, EDN, Jepsen log, elle JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  check
      ->add_option("--checker", arguments.checkers,
                   "Checker, repeatable (each gets its own result): " + CheckerList())
      ->capture_default_str()
      // One name per --checker, so `--checker session FILE` keeps FILE a file.
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::IsMember(CheckerNames()));
  check
      ->add_option("--consistency-model", arguments.consistency_model,
                   "For list-append and rw-register: the model whose anomalies make a history "
                   "invalid")
      ->capture_default_str()
      ->check(CLI::IsMember(txn::ConsistencyModelNames()));
  check->add_option("--cycles-dir", arguments.cycles_dir,
                    "For list-append and rw-register: write a Graphviz .dot file per anomaly "
                    "cycle into this directory (into DIR/<checker>/ with several --checker)");
  check->add_option("--model", arguments.model, "Linearizability model: " + ModelList())
      ->capture_default_str()
      ->check(CLI::IsMember(LinearizableModelNames()));
  check->add_option("--initial-value", arguments.initial_value,
                    "The model's initial value as JSON (nil/null allowed); default nil");
  check
      ->add_option("--format", arguments.format,
                   "Input format: auto, jsonl, edn, jepsen-log, elle-json")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "jsonl", "edn", "jepsen-log", "elle-json"}));
  check->add_option("--threads", arguments.threads, "Worker threads; 0 = all cores")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  check
      ->add_option("--time-limit", arguments.time_limit_s,
                   "Seconds per file before the verdict is unknown; 0 = none")
      ->check(CLI::NonNegativeNumber);
  check
      ->add_option("--memory-limit", arguments.memory_limit_mb,
                   "MiB of search state before the verdict is unknown; 0 = half of RAM")
      ->check(CLI::NonNegativeNumber);
  check->add_option("--junit", arguments.junit,
                    "Also write a JUnit XML report here: one testcase per file, invalid as a "
                    "failure, unknown and unreadable as an error");
  check->add_flag("--json", arguments.json, "Print results as one JSON document");
  check->add_flag("--lenient", arguments.lenient,
                  "Accept histories that break well-formedness (warnings instead of errors)");
  return check;
}

int RunCheck(const CheckArguments& arguments, std::ostream& out, std::ostream& err) {
  Json report = Json::array();
  Verdict worst = Verdict::kValid;
  bool bad_input = false;
  size_t counts[3] = {0, 0, 0};
  reports::JunitTestSuite suite{"faultline check", reports::JunitTimestamp(), {}};
  for (const std::string& file : arguments.files) {
    FileOutcome outcome = CheckFile(file, arguments, &report, out, err);
    for (reports::JunitTestCase& testcase : outcome.junit) {
      suite.cases.push_back(std::move(testcase));
    }
    bad_input = bad_input || outcome.bad_input;
    if (outcome.bad_input) continue;
    worst = Merge(worst, outcome.verdict);
    ++counts[static_cast<int>(outcome.verdict)];
  }
  // An SVG beside each DOT file the checkers wrote (checker/ never spawns programs); a missing
  // dot is one warning, the DOT files stay.
  if (!arguments.cycles_dir.empty() && std::filesystem::is_directory(arguments.cycles_dir)) {
    std::vector<std::string> warnings;
    reports::DotDrawer().DrawDirectory(arguments.cycles_dir, &warnings);
    for (const std::string& warning : warnings) err << "faultline: warning: " << warning << "\n";
  }
  size_t errors = arguments.files.size() - counts[0] - counts[1] - counts[2];
  if (arguments.json) {
    Json summary = {
        {"valid", counts[0]}, {"invalid", counts[1]}, {"unknown", counts[2]}, {"errors", errors}};
    out << Json{{"verdict", ToString(worst)}, {"summary", summary}, {"files", report}}.dump(2)
        << "\n";
  } else if (arguments.files.size() > 1) {
    out << "summary: " << arguments.files.size() << " files, " << counts[0] << " valid, "
        << counts[1] << " invalid, " << counts[2] << " unknown, " << errors << " unreadable\n";
  }
  if (!arguments.junit.empty()) {
    Status written = reports::WriteJunit(arguments.junit, {"faultline", {std::move(suite)}});
    if (!written.ok()) {
      err << "faultline: " << written.message() << "\n";
      return kExitBadInput;
    }
  }
  // Bad input outranks every verdict: a run that could not read a file must not look green.
  return bad_input ? kExitBadInput : ExitCode(worst);
}

}  // namespace faultline::cli
