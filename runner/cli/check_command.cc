#include "runner/cli/check_command.h"

#include <chrono>
#include <iostream>

#include "checker/linearizable/linearizable.h"
#include "checker/session/session.h"
#include "checker/txn/models.h"
#include "checker/txn/txn.h"
#include "core/history_io.h"
#include "runner/check.h"

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
};

// Prints (or adds to the JSON report) one file's result; any checker's result type.
template <typename CheckerResult>
FileOutcome Report(const std::string& file, const Result<CheckerResult>& result,
                   const CheckArguments& arguments, double seconds, Json* report, std::ostream& out,
                   std::ostream& err) {
  if (!result.ok()) {
    err << "faultline: " << file << ": " << result.status().message() << "\n";
    report->push_back({{"file", file}, {"error", result.status().message()}});
    return {Verdict::kUnknown, true};
  }
  if (arguments.json) {
    Json entry = result->ToJson();
    entry["file"] = file;
    entry["checker"] = arguments.checker;
    entry["seconds"] = seconds;
    report->push_back(std::move(entry));
  } else {
    out << file << ": " << result->ToText();
  }
  return {result->verdict, false};
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The session guarantees over one parsed history; sessions from the history's header.
FileOutcome CheckSessionFile(const std::string& file, const History& history,
                             const CheckArguments& arguments,
                             std::chrono::steady_clock::time_point started, Json* report,
                             std::ostream& out, std::ostream& err) {
  SessionOptions options;
  options.lenient = arguments.lenient;
  Result<SessionResult> result = CheckSessions(history, options);
  return Report(file, result, arguments, SecondsSince(started), report, out, err);
}

// The transactional checkers (list-append, rw-register) over one parsed history.
FileOutcome CheckTxnFile(const std::string& file, const History& history,
                         const CheckArguments& arguments, double read_seconds, Json* report,
                         std::ostream& out, std::ostream& err) {
  TxnOptions options;
  options.workload =
      arguments.checker == "list-append" ? TxnWorkload::kListAppend : TxnWorkload::kRwRegister;
  options.consistency_models = {arguments.consistency_model};
  options.threads = static_cast<size_t>(arguments.threads);
  auto started = std::chrono::steady_clock::now();
  Result<TxnResult> result = CheckTransactions(history, options);
  if (result.ok() && !arguments.cycles_dir.empty()) {
    Status written = result->WriteCycleDots(arguments.cycles_dir);
    if (!written.ok()) err << "faultline: " << written.message() << "\n";
  }
  return Report(file, result, arguments, SecondsSince(started) + read_seconds, report, out, err);
}

FileOutcome CheckFile(const std::string& file, const CheckArguments& arguments, Json* report,
                      std::ostream& out, std::ostream& err) {
  ReadOptions read_options;
  read_options.format = *ParseHistoryFormat(arguments.format);
  read_options.threads = arguments.threads;
  auto started = std::chrono::steady_clock::now();
  Result<History> history = ReadHistoryFile(file, read_options);
  if (!history.ok()) {
    err << "faultline: " << history.status().message() << "\n";
    report->push_back({{"file", file}, {"error", history.status().message()}});
    return {Verdict::kUnknown, true};
  }
  if (arguments.checker == "list-append" || arguments.checker == "rw-register") {
    double read_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return CheckTxnFile(file, *history, arguments, read_seconds, report, out, err);
  }
  if (arguments.checker == "session") {
    return CheckSessionFile(file, *history, arguments, started, report, out, err);
  }
  LinearizableOptions options;
  options.threads = arguments.threads;
  options.time_limit_s = arguments.time_limit_s;
  options.memory_limit_bytes = static_cast<size_t>(arguments.memory_limit_mb * (1 << 20));
  options.lenient = arguments.lenient;
  ModelSpec model{arguments.model, ParseInitialValue(arguments.initial_value)};
  Result<LinearizableResult> result = CheckLinearizable(*history, model, options);
  if (!result.ok()) {
    err << "faultline: " << result.status().message() << "\n";
    report->push_back({{"file", file}, {"error", result.status().message()}});
    return {Verdict::kUnknown, true};
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (arguments.json) {
    Json entry = result->ToJson();
    entry["file"] = file;
    entry["seconds"] = seconds;
    report->push_back(std::move(entry));
  } else {
    out << file << ": " << result->ToText();
    for (const std::string& warning : result->warnings) out << "  warning: " << warning << "\n";
  }
  return {result->verdict, false};
}

}  // namespace

CLI::App* AddCheckCommand(CLI::App& app, CheckArguments& arguments) {
  CLI::App* check = app.add_subcommand("check", "Check history files for consistency");
  check->add_option("files", arguments.files, "History files (JSONL, EDN, Jepsen log, elle JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  check->add_option("--checker", arguments.checker, "Checker: " + CheckerList())
      ->capture_default_str()
      ->check(CLI::IsMember(CheckerNames()));
  check
      ->add_option("--consistency-model", arguments.consistency_model,
                   "For list-append and rw-register: the model whose anomalies make a history "
                   "invalid")
      ->capture_default_str()
      ->check(CLI::IsMember(txn::ConsistencyModelNames()));
  check->add_option("--cycles-dir", arguments.cycles_dir,
                    "For list-append and rw-register: write a Graphviz .dot file per anomaly "
                    "cycle into this directory");
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
  for (const std::string& file : arguments.files) {
    FileOutcome outcome = CheckFile(file, arguments, &report, out, err);
    bad_input = bad_input || outcome.bad_input;
    if (outcome.bad_input) continue;
    worst = Merge(worst, outcome.verdict);
    ++counts[static_cast<int>(outcome.verdict)];
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
  // Bad input outranks every verdict: a run that could not read a file must not look green.
  return bad_input ? kExitBadInput : ExitCode(worst);
}

}  // namespace faultline::cli
