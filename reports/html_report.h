// A run's HTML report: report/index.html, one page that opens from a file:// URL with no network
// (inline CSS and JS, every file it uses beside it). docs/reports.md shows each part. Sections,
// each with a stable id for tests and links:
// - #test: the test's options (test.json, or the history's header), seed, nodes, duration;
// - #verdicts: the run's verdict and each checker's (coloured), each checker's JSON result;
// - #stats: the stats checker's counts per operation kind;
// - #faults: the fault timeline (reports/perf.h FaultIntervals: kind, the nodes or whatever the
//   nemesis said, from when to when), as a table and as bars on the run's time axis;
// - #plots: the perf plots the perf checker wrote into <run>/checker/perf/ (reports/plots.h
//   names), copied into report/plots/ so the page survives being moved;
// - #anomalies: the anomaly drawings (reports/anomalies.h RenderAnomalies);
// - #timeline: every operation per process on a time axis, windowed: the ops live in chunk files
//   report/timeline/NNNN.js (ordered by invocation, `chunk_ops` each) that the page loads with
//   <script src> when the window needs them (fetch() does not work from file://), and only the
//   ops in the visible window are drawn (at most a bounded number of elements). The page itself
//   holds only a small index of the chunks, so its size does not grow with the history.
//
// Escaping: every text from the history, the test or the results goes through HtmlEscape
// (reports/html.h) in HTML, and JSON placed into a <script> (inline or in a chunk file) has
// `<`, `>` and `&` written as \u003c, \u003e and \u0026, so no value can end the script; the
// page's JS puts values into the DOM only as text (textContent), never as HTML.
//
// Chunk files: `faultlineTimeline.addChunk(N, [op, ...]);`, each op an array
//   [invoke, complete, process, f, outcome, invoke value, completion value, error, index]
// with times in the timeline's unit (µs since the test started, or the op's position in the
// history when the history has untimed ops), process -1 for the nemesis, f an index into the
// page's list of kinds, outcome 0 ok, 1 fail, 2 info, 3 never completed (complete = the end).
//
// Blocking; no shared state; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/history_io.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline::reports {

struct HtmlReportOptions {
  int64_t chunk_ops = 5000;  // timeline ops per chunk file (at least 1)
};

// What a report is made of. `history` is required; the rest may be null or empty.
struct RunReport {
  const History* history = nullptr;
  Json test;      // test.json (object), or null: then the history's header is shown
  Json results;   // results.json (object: valid, checkers, ...), or null: "not checked"
  std::filesystem::path run_directory;  // where checker/<name>/ outputs lie; "" = none
  // How the history's client ops hold their values (ReadStoredRun may read them as text, which
  // the timeline copies as it is); the nemesis's ops hold trees either way.
  ValueForm value_form = ValueForm::kTree;
};

// Writes `report_directory`/index.html, timeline/NNNN.js and plots/ (created if missing; chunk
// files of an earlier report there are removed). Appends one line to `warnings` (not null) per
// part that could not be shown (a plot not copied, an anomaly not drawn); those never fail the
// report. IoError when the directory or a file cannot be written.
Status WriteHtmlReport(const RunReport& run, const std::filesystem::path& report_directory,
                       const HtmlReportOptions& options, std::vector<std::string>* warnings);

// A stored run folder read back: its history.jsonl (a torn last line, as a run killed mid-write
// leaves it, is dropped; everything before it is intact), and test.json and results.json where
// present (null otherwise; one that is not a JSON object is a warning, and null). IoError or
// ParseError naming the file when the history cannot be read. With ValueForm::kText the client
// ops' values are kept as text (the nemesis's are trees): enough for the report, not for checking.
struct StoredRun {
  History history;
  ValueForm value_form = ValueForm::kTree;
  Json test;
  Json results;
};
Result<StoredRun> ReadStoredRun(const std::filesystem::path& run_directory,
                                std::vector<std::string>* warnings,
                                ValueForm value_form = ValueForm::kTree);

// The report of a stored run folder (ReadStoredRun), written into `report_directory`
// (run_directory/report when empty).
Status WriteRunReport(const std::filesystem::path& run_directory,
                      const std::filesystem::path& report_directory,
                      std::vector<std::string>* warnings);

// The timeline's ops in invocation order, exactly as the chunk files hold them (one JSON array
// per op, see above), and the index the page keeps. Exposed for tests and benchmarks.
struct TimelineChunk {
  int64_t first = 0;  // the first op's invocation time
  int64_t last = 0;   // the last op's invocation time
  int64_t reach = 0;  // the latest completion of any of its ops
  int64_t count = 0;
};
struct Timeline {
  std::string unit;             // "us", or "position" for a history with untimed ops
  int64_t end = 0;              // the history's end in that unit
  std::vector<std::string> fs;  // operation kinds, in order of first appearance
  std::vector<TimelineChunk> chunks;
  // The page's first window: from the first invocation to the latest completion of the first 300
  // ops, but not past the invocation of op 3000 (the page draws at most 3000).
  int64_t first_window = 1;
  // The chunk files' contents, one per chunk (BuildTimeline; WriteHtmlReport writes each as soon
  // as it is made and keeps none).
  std::vector<std::string> chunk_texts;
};
Timeline BuildTimeline(const History& history, int64_t chunk_ops);

// `value` as JSON text safe inside a <script> element: compact, `<` `>` `&` as \u escapes,
// invalid UTF-8 replaced by U+FFFD.
std::string ScriptJson(const Json& value);

}  // namespace faultline::reports
