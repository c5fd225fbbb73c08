// The anomaly sections of a run's HTML report: what each checker found, drawn so a person can see
// it (docs/reports.md "Anomalies"). Rendered from results.json's stored checker results, never from
// live checker objects, so a stored run renders the same as a fresh one.
// - linearizable (invalid): the ops around the failing one per process on a time axis (inline SVG),
//   the longest linearization found with the model state after each op, and the op that could not
//   be placed;
// - txn / list-append / rw-register (invalid): each anomaly with its explanation and its cycle as
//   an SVG drawn by Graphviz `dot` (reports/graphviz.h), written into `report_directory` and
//   referenced relatively (the DOT text is shown instead when dot is missing or fails);
// - session (invalid): each violation with its witnesses.
// Checkers without anomalies (valid, unknown without findings, stats, perf) add nothing.
//
// `html` is a fragment: <section id="anomalies"> holding one <article class="anomaly"
// data-checker="NAME"> per finding (empty string when nothing was found). Every text from the
// history or the results (values, keys, errors, explanations) is HTML-escaped (reports/html.h);
// inline SVG text is XML-escaped, so a value `<script>alert(1)</script>` shows as text.
// `warnings`: one line per problem that cost a drawing (dot missing or failing: one warning for
// the whole render, not one per cycle; an SVG file that could not be written). Never fails:
// malformed checker JSON renders what it can and warns.
// Blocking (waits for dot); no shared state; any thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/history_io.h"
#include "core/op.h"

namespace faultline::reports {

struct AnomalyHtml {
  std::string html;
  std::vector<std::string> warnings;
};

struct AnomalyOptions {
  // The Graphviz program run for cycle drawings: a name looked up on PATH, or a path (with '/').
  std::string dot_command = "dot";
  // How many ops before and after the failing one the linearizability timeline shows per process.
  int context_ops = 10;
  // How the history's ops hold their values (core/history_io.h); text values are parsed where a
  // drawing needs to look into them.
  ValueForm value_form = ValueForm::kTree;
};

// checkers: results.json's "checkers" object (name -> that checker's JSON result).
// `run_directory`: the run's folder (for files checkers stored there); `report_directory`: where
// the page is written, cycle SVGs go into report_directory/anomalies/.
AnomalyHtml RenderAnomalies(const Json& checkers, const History& history,
                            const std::filesystem::path& run_directory,
                            const std::filesystem::path& report_directory);
AnomalyHtml RenderAnomalies(const Json& checkers, const History& history,
                            const std::filesystem::path& run_directory,
                            const std::filesystem::path& report_directory,
                            const AnomalyOptions& options);

}  // namespace faultline::reports
