// `faultline report PATH [--out OUT]`: the HTML report (reports/html_report.h) of a stored run
// folder, of a folder holding only a history.jsonl, or of any history file.
//
// - A run folder with results.json and no --checker: the report only; exit 0 (the verdict is in
//   the page; rendering judges nothing).
// - A folder without results.json, a history file, or --checker given: the history is checked
//   first (the checkers named by --checker, else the ones test.json records, else linearizable;
//   stats and perf always composed in, as for a run), results.json and the checkers' files
//   (checker/<name>/, the perf plots among them) are written where the report's run is recorded,
//   and the exit code is the verdict's (0 valid, 1 invalid, 2 unknown), as `check`.
// - Where things go: without --out, a folder gets PATH/report/index.html and, when checked,
//   PATH/results.json; with --out, everything goes into OUT (OUT/index.html, OUT/results.json)
//   and PATH is left as it was. A history file needs no folder: its default OUT is
//   <file>-report/ beside it.
// - 254 for bad input, with the file and what was expected: PATH missing, a folder without
//   history.jsonl, a history that cannot be read or that the checker refuses, bad flags, OUT not
//   writable.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>
#include <vector>

namespace faultline::cli {

struct ReportArguments {
  std::string path;  // a run folder, or a history file
  std::string out;   // where the report goes; "" = PATH/report (folder) or <file>-report
  std::vector<std::string> checkers;  // empty: as test.json records, or linearizable
  std::string model = "cas-register";
  std::string initial_value;  // JSON, "nil" or a bare string, as `check`
  std::string consistency_model = "strict-serializable";
  std::string format = "auto";  // of a history file
  double time_limit_s = 0;      // of the check; 0 = none
};

CLI::App* AddReportCommand(CLI::App& app, ReportArguments& arguments);
int RunReportCommand(const ReportArguments& arguments, std::ostream& out, std::ostream& err);

// After a run (`test`, `test-all`, `analyze`): writes RUN/report/index.html and prints its path.
// A report that cannot be written is a warning on `out`, never a failed run.
void ReportRun(const std::string& run_directory, std::ostream& out);

}  // namespace faultline::cli
