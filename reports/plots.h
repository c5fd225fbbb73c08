// The perf plots of a run, drawn by gnuplot (Debian's gnuplot-nox) from the data of reports/perf.h
// into PNG and SVG. docs/reports.md shows what each one means. Four plots, each with the fault
// intervals (FaultIntervals) shaded, one colour per fault kind, and a legend entry per kind:
// - latency-raw: every client op at its invocation time, latency in ms on a log scale, one colour
//   per operation kind and one point shape per outcome (info ops at the time they waited, a lower
//   bound; a latency under 1 us is drawn at 1 us, the log scale has no 0). Above 20,000 ops it
//   draws one op per kind, outcome and cell of a 500 x 150 grid (RawPointsDrawn), so a 1M-op
//   run looks the same and stays fast;
// - latency-quantiles: p50 / p95 / p99 / max of the ok ops per window and kind, log scale;
// - rate: ops per second invoked in each window, by outcome;
// - availability: the fraction of ok ops per window, and Apdex per window (windows without ops
//   have no point).
// Per-window figures are drawn at the window's middle. Files: DIRECTORY/<plot>.png and .svg.
//
// gnuplot runs as a subprocess (posix_spawnp, no shell) on a script and data files written to a
// fresh folder inside DIRECTORY, removed afterwards. Every text from the history (operation kinds,
// fault kinds) enters the script only as a gnuplot single-quoted string (GnuplotQuoted), which
// gnuplot never expands (no backquote command substitution, no @macros, no escapes), and the
// terminals are set noenhanced, so a kind shows as its own text and never runs anything.
//
// Plots are optional: a missing gnuplot (not on PATH, or `gnuplot_command` naming no program),
// gnuplot failing, or a history without timed client ops each give exactly one warning and no
// plots, never an error. Errors are only what the caller got wrong or the disk refused: an invalid
// window or T (WindowStats' InvalidArgument), DIRECTORY or a data file that cannot be written.
// Blocking (waits for gnuplot); no shared state; any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "reports/perf.h"

namespace faultline::reports {

struct PlotOptions {
  double window_s = 10;    // as PerfOptions::window_s
  double apdex_t_s = 0.5;  // as PerfOptions::apdex_t_s
  bool png = true;
  bool svg = true;
  // The program run: a name looked up on PATH, or a path (with a '/').
  std::string gnuplot_command = "gnuplot";
  // gnuplot running longer is killed: one warning, no plots (a run's end never waits on it for
  // long). <= 0: no limit.
  double timeout_s = 120;
};

// The plots' file names, without extension.
inline constexpr std::string_view kPlotNames[] = {"latency-raw", "latency-quantiles", "rate",
                                                  "availability"};

// Writes the plots of `history` into `directory` (created if missing), in each format that
// `options` asks for. Appends one line to `warnings` (not null) when the plots could not be drawn.
Status WritePlots(const History& history, const PlotOptions& options,
                  const std::filesystem::path& directory, std::vector<std::string>* warnings);
// The same from the history's ops and faults already extracted (CompletedOps, FaultIntervals),
// for a caller that needs them too (the perf checker), so a 1M-op history is read once.
Status WritePlots(const LatencyPoints& ops, const std::vector<FaultInterval>& intervals,
                  const PlotOptions& options, const std::filesystem::path& directory,
                  std::vector<std::string>* warnings);

// Which of `ops.points` latency-raw draws: every one up to 20,000 points; above, the first of each
// (kind, outcome, cell) on a grid of 500 columns across the run and 150 rows across its log
// latency range (cells of about 1.5 x 2.5 pixels, under a point's marker), so a million-op run
// draws the same picture from at most 75,000 points per kind and outcome, and gnuplot's time and
// the SVG's size stay bounded (a 1M-op kv run's SVG was 72 MB on a 2000 x 800 grid).
// Indexed like ops.points.
std::vector<bool> RawPointsDrawn(const LatencyPoints& ops);

// `text` as a gnuplot single-quoted string literal: quotes doubled (the only escape gnuplot knows
// in single quotes); control characters and bytes that are not UTF-8 replaced by U+FFFD, so the
// script stays one command per line and the SVG stays valid XML.
std::string GnuplotQuoted(std::string_view text);

}  // namespace faultline::reports
