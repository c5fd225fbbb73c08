#include "runner/cli/report_command.h"

#include <filesystem>
#include <iostream>
#include <system_error>

#include "checker/checker.h"
#include "checker/registry.h"
#include "checker/verdict.h"
#include "core/catch.h"
#include "core/history_io.h"
#include "reports/html_report.h"
#include "runner/store.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;

Json ParseInitialValue(const std::string& text) {
  if (text.empty() || text == "nil") return Json();
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json(text) : parsed;
}

// The one place `report` judges a history (checker/registry.h): the checkers named, else the ones
// test.json records, else linearizable; composed with stats and perf as a run's are. The
// checkers' files go into record_directory/checker/<name>/.
Result<CheckResult> CheckForReport(const History& history, const ReportArguments& arguments,
                                   const Json& test, const fs::path& record_directory,
                                   std::ostream& out) {
  const Json settings = {{"model",
                          {{"name", arguments.model},
                           {"initial_value", ParseInitialValue(arguments.initial_value)}}},
                         {"consistency_model", arguments.consistency_model}};
  Result<CheckerPtr> checker =
      !arguments.checkers.empty() ? MakeRunChecker(arguments.checkers, settings)
      : test.is_object()          ? CheckerOfTestJson(test)
                                  : MakeRunChecker({"linearizable"}, settings);
  if (!checker.ok()) return checker.status();
  CheckContext context;
  context.time_limit_s = arguments.time_limit_s;
  context.output_directory = record_directory / "checker";
  // A long check says how far it got, a line every 5 s (as `check`); a short one says nothing.
  context.progress =
      ThrottledProgress([&out](const std::string& step) { out << step << "\n" << std::flush; }, 5);
  return CheckCatching(**checker, history, context);
}

// results.json as a run writes it (runner/lifecycle.cc): the verdict and one entry per checker.
Json ResultsJson(const CheckResult& checked) {
  Json checkers = checked.json.is_object() && checked.json.contains("checkers")
                      ? checked.json["checkers"]
                      : Json::object();
  Json results = {{"valid", VerdictJson(checked.verdict)},
                  {"verdict", ToString(checked.verdict)},
                  {"checkers", std::move(checkers)}};
  if (!checked.error.ok()) results["error"] = checked.error.message();
  return results;
}

int BadInput(const std::string& message, std::ostream& err) {
  err << "faultline: " << message << "\n";
  return kExitBadInput;
}

}  // namespace

CLI::App* AddReportCommand(CLI::App& app, ReportArguments& arguments) {
  CLI::App* report = app.add_subcommand(
      "report", "Write the HTML report of a stored run, or of a history file (checked first)");
  report->add_option("path", arguments.path, "A run folder (store/<test>/<time>) or a history file")
      ->required();
  report->add_option("--out", arguments.out,
                     "Folder for index.html (default: PATH/report, or <file>-report); with it, "
                     "PATH is left unchanged");
  report
      ->add_option("--checker", arguments.checkers,
                   "Check with this checker first, repeatable (default: what test.json records, "
                   "else linearizable)")
      ->allow_extra_args(false)  // one name per --checker: `--checker linearizable FILE` keeps FILE
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::IsMember(CheckerNames()));
  report->add_option("--model", arguments.model, "Linearizability model")->capture_default_str();
  report->add_option("--initial-value", arguments.initial_value,
                     "The model's initial value as JSON (nil/null allowed); default nil");
  report->add_option("--consistency-model", arguments.consistency_model,
                     "For list-append and rw-register")
      ->capture_default_str();
  report
      ->add_option("--format", arguments.format,
                   "A history file's format: auto, jsonl, edn, jepsen-log, elle-json")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "jsonl", "edn", "jepsen-log", "elle-json"}));
  report->add_option("--time-limit", arguments.time_limit_s,
                     "Seconds of checking before the verdict is unknown; 0 = none")
      ->check(CLI::NonNegativeNumber);
  return report;
}

int RunReportCommand(const ReportArguments& arguments, std::ostream& out, std::ostream& err) {
  const fs::path path = arguments.path;
  std::error_code error;
  if (!fs::exists(path, error)) {
    return BadInput(arguments.path + ": no such file or folder (expected a run folder or a "
                    "history file)", err);
  }
  const bool folder = fs::is_directory(path, error);
  std::vector<std::string> warnings;
  reports::StoredRun stored;
  if (folder) {
    if (!fs::is_regular_file(path / "history.jsonl", error)) {
      return BadInput(arguments.path + ": expected a run folder holding history.jsonl", err);
    }
    // A folder with its results and no --checker is only shown: its values are read as text.
    const bool show_only = arguments.checkers.empty() && fs::is_regular_file(path / "results.json");
    Result<reports::StoredRun> read = reports::ReadStoredRun(
        path, &warnings, show_only ? ValueForm::kText : ValueForm::kTree);
    if (read.ok() && read->value_form == ValueForm::kText && !read->results.is_object()) {
      // results.json was unreadable, so the run is checked after all: its values as trees.
      std::vector<std::string> again;
      read = reports::ReadStoredRun(path, &again, ValueForm::kTree);
    }
    if (!read.ok()) return BadInput(read.status().message(), err);
    stored = std::move(*read);
  } else {
    ReadOptions options;
    options.format = *ParseHistoryFormat(arguments.format);
    options.threads = 0;
    Result<History> history = ReadHistoryFile(arguments.path, options);
    if (!history.ok()) return BadInput(history.status().message(), err);
    stored.history = std::move(*history);
  }
  const fs::path report_directory =
      !arguments.out.empty() ? fs::path(arguments.out)
      : folder               ? path / "report"
                             : path.parent_path() / (path.filename().string() + "-report");
  // Where results.json and the checkers' files go: the run folder itself, unless --out keeps
  // PATH as it was (or PATH is a file).
  const fs::path record_directory = folder && arguments.out.empty() ? path : report_directory;
  const bool check = !folder || !arguments.checkers.empty() || !stored.results.is_object();
  Verdict verdict = Verdict::kValid;
  if (check) {
    fs::create_directories(record_directory, error);
    if (error) {
      return BadInput(record_directory.string() + ": cannot create: " + error.message(), err);
    }
    Result<CheckResult> checked =
        CheckForReport(stored.history, arguments, stored.test, record_directory, out);
    if (!checked.ok()) return BadInput(checked.status().message(), err);
    // A history the checker refuses (not well-formed, say) is bad input, not a verdict.
    if (!checked->error.ok()) {
      return BadInput(arguments.path + ": " + checked->error.message(), err);
    }
    out << arguments.path << ": " << checked->text;
    for (const std::string& warning : checked->warnings) warnings.push_back(warning);
    verdict = checked->verdict;
    stored.results = ResultsJson(*checked);
    Status written = WriteJsonFile(record_directory / "results.json", stored.results);
    if (!written.ok()) return BadInput(written.message(), err);
  }
  reports::RunReport run{&stored.history, stored.test, stored.results,
                         check ? record_directory : path, stored.value_form};
  Status written = reports::WriteHtmlReport(run, report_directory, {}, &warnings);
  for (const std::string& warning : warnings) out << "warning: " << warning << "\n";
  if (!written.ok()) return BadInput(written.message(), err);
  out << "report: " << (report_directory / "index.html").string() << "\n";
  return check ? ExitCode(verdict) : 0;
}

void ReportRun(const std::string& run_directory, std::ostream& out) {
  if (run_directory.empty()) return;  // the run never got a folder
  std::vector<std::string> warnings;
  // Whatever goes wrong (a throw included) costs the report, never the run.
  Status written = CatchAll("the report", [&] {
    return reports::WriteRunReport(run_directory, "", &warnings);
  });
  for (const std::string& warning : warnings) out << "warning: report: " << warning << "\n";
  if (!written.ok()) {
    out << "warning: no report: " << written.message() << "\n";
    return;
  }
  out << "report: " << (fs::path(run_directory) / "report" / "index.html").string() << "\n";
}

}  // namespace faultline::cli
