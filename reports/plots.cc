#include "reports/plots.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <system_error>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "core/parse_text.h"
#include "reports/perf.h"
#include "reports/subprocess.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

constexpr double kNsPerS = 1e9;
constexpr double kNsPerMs = 1e6;
// The log scale has no 0: faster latencies are drawn here (1 us).
constexpr double kMinLatencyMs = 1e-3;
// Distinct on white and under each other (ColorBrewer's Set1), one per fault kind, in name order.
constexpr const char* kFaultColours[] = {"#e41a1c", "#377eb8", "#4daf4a", "#984ea3",
                                         "#ff7f00", "#a65628", "#f781bf", "#999999"};
constexpr const char* kTerminalSize = "size 1000,480 noenhanced font 'sans,10'";

std::string Number(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return error == std::errc() ? std::string(buffer, end) : std::string("NaN");
}

double Seconds(int64_t ns) { return static_cast<double>(ns) / kNsPerS; }
double Milliseconds(int64_t ns) { return static_cast<double>(ns) / kNsPerMs; }
double Middle(const PerfWindow& window) { return Seconds(window.start_ns + window.end_ns) / 2; }

// A folder inside `parent` for the script and the data, removed when this goes.
class ScratchFolder {
 public:
  static Result<ScratchFolder> Create(const fs::path& parent) {
    std::string pattern = (parent / ".plot-data-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IoError("cannot create a folder in " + parent.string() + ": " +
                             std::strerror(errno));
    }
    return ScratchFolder(pattern);
  }
  ScratchFolder(ScratchFolder&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  ScratchFolder& operator=(ScratchFolder&&) = delete;
  ~ScratchFolder() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchFolder(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

// The data files and the script, written into the scratch folder.
class ScriptWriter {
 public:
  explicit ScriptWriter(fs::path folder) : folder_(std::move(folder)) {}

  // Writes `rows` as a new data file; its path as a gnuplot string.
  Result<std::string> DataFile(const std::string& rows) {
    const fs::path path = folder_ / ("series-" + std::to_string(files_++) + ".dat");
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << rows;
    file.close();
    if (!file) return Status::IoError("cannot write plot data " + path.string());
    return GnuplotQuoted(path.string());
  }

 private:
  fs::path folder_;
  int files_ = 0;
};

// One plot: its settings and its `plot` clauses (the data series, then the fault legend).
struct Plot {
  std::string_view name;
  std::string settings;
  std::vector<std::string> clauses;
};

std::string FaultSettings(const std::vector<FaultInterval>& intervals,
                          const std::map<std::string, std::string>& colours) {
  std::string out;
  int object = 1;
  for (const FaultInterval& interval : intervals) {
    out += "set object " + std::to_string(object++) + " rectangle from " +
           Number(Seconds(interval.start_ns)) + ", graph 0 to " +
           Number(Seconds(interval.stop_ns)) + ", graph 1 behind fillcolor rgb '" +
           colours.at(interval.kind) + "' fillstyle transparent solid 0.2 noborder\n";
  }
  return out;
}

std::vector<std::string> FaultLegend(const std::map<std::string, std::string>& colours) {
  std::vector<std::string> clauses;
  for (const auto& [kind, colour] : colours) {
    clauses.push_back(
        "keyentry with boxes fillstyle transparent solid 0.2 noborder fillcolor "
        "rgb '" +
        colour + "' title " + GnuplotQuoted(kind));
  }
  return clauses;
}

// A plot without data yet: its title, y label and y axis settings.
Plot Frame(std::string_view name, std::string_view title, std::string_view y_label,
           std::string_view y_axis) {
  return Plot{.name = name,
              .settings = "set title '" + std::string(title) + "'\nset ylabel '" +
                          std::string(y_label) + "'\n" + std::string(y_axis),
              .clauses = {}};
}
constexpr std::string_view kLatencyAxis = "set logscale y\nunset yrange\n";

// RawPointsDrawn's grid (plots.h).
constexpr size_t kThinAbove = 20'000;
constexpr int64_t kThinColumns = 500;
constexpr int64_t kThinRows = 150;

Result<Plot> LatencyRawPlot(const LatencyPoints& ops, ScriptWriter* writer) {
  Plot plot = Frame("latency-raw", "Latency of every operation (by invocation time)",
                    "latency (ms)", kLatencyAxis);
  const std::vector<bool> draw = RawPointsDrawn(ops);
  constexpr std::pair<OpType, int> kShapes[] = {
      {OpType::kOk, 7}, {OpType::kFail, 2}, {OpType::kInfo, 9}};  // dot, cross, triangle
  for (size_t f = 0; f < ops.fs.size(); ++f) {
    for (const auto& [outcome, shape] : kShapes) {
      std::string rows;
      for (size_t i = 0; i < ops.points.size(); ++i) {
        const LatencyPoint& point = ops.points[i];
        if (!draw[i] || point.f != static_cast<int32_t>(f) || point.outcome != outcome) continue;
        rows += Number(Seconds(point.invoke_ns)) + ' ' +
                Number(std::max(Milliseconds(point.latency_ns), kMinLatencyMs)) + '\n';
      }
      if (rows.empty()) continue;
      Result<std::string> file = writer->DataFile(rows);
      if (!file.ok()) return file.status();
      plot.clauses.push_back(*file + " using 1:2 with points pointtype " + std::to_string(shape) +
                             " pointsize 0.6 linecolor " + std::to_string(f + 1) + " title " +
                             GnuplotQuoted(ops.fs[f] + " " + std::string(ToString(outcome))));
    }
  }
  return plot;
}

Result<Plot> QuantilesPlot(const LatencyPoints& ops, const PerfWindows& windows,
                           ScriptWriter* writer) {
  Plot plot = Frame("latency-quantiles", "Latency quantiles of ok operations per window",
                    "latency (ms)", kLatencyAxis);
  constexpr const char* kQuantiles[] = {"p50", "p95", "p99", "max"};
  for (size_t f = 0; f < ops.fs.size(); ++f) {
    std::string rows;
    for (const PerfWindow& window : windows.windows) {
      const LatencyQuantiles& q = window.latency_by_f[f];
      if (q.count == 0) continue;
      rows += Number(Middle(window));
      for (int64_t ns : {q.p50_ns, q.p95_ns, q.p99_ns, q.max_ns}) {
        rows += ' ' + Number(std::max(Milliseconds(ns), kMinLatencyMs));
      }
      rows += '\n';
    }
    if (rows.empty()) continue;
    Result<std::string> file = writer->DataFile(rows);
    if (!file.ok()) return file.status();
    for (int column = 0; column < 4; ++column) {
      plot.clauses.push_back(*file + " using 1:" + std::to_string(column + 2) +
                             " with linespoints linecolor " + std::to_string(column + 1) +
                             " dashtype " + std::to_string(f % 5 + 1) + " pointtype " +
                             std::to_string(f % 13 + 1) + " title " +
                             GnuplotQuoted(ops.fs[f] + " " + kQuantiles[column]));
    }
  }
  return plot;
}

Result<Plot> RatePlot(const PerfWindows& windows, ScriptWriter* writer) {
  Plot plot = Frame("rate", "Throughput per window (by invocation time)", "operations / s",
                    "unset logscale y\nset yrange [0:*]\n");
  std::string rows;
  for (const PerfWindow& window : windows.windows) {
    rows += Number(Middle(window)) + ' ' + Number(window.ok_per_s) + ' ' +
            Number(window.fail_per_s) + ' ' + Number(window.info_per_s) + '\n';
  }
  Result<std::string> file = writer->DataFile(rows);
  if (!file.ok()) return file.status();
  plot.clauses = {*file + " using 1:2 with linespoints linecolor rgb '#1a9641' title 'ok'",
                  *file + " using 1:3 with linespoints linecolor rgb '#d7191c' title 'fail'",
                  *file + " using 1:4 with linespoints linecolor rgb '#fdae61' title 'info'"};
  return plot;
}

Result<Plot> AvailabilityPlot(const PerfWindows& windows, double apdex_t_s, ScriptWriter* writer) {
  Plot plot = Frame("availability", "Availability (fraction ok) and Apdex per window", "fraction",
                    "unset logscale y\nset yrange [0:1.05]\n");
  std::string rows;
  for (const PerfWindow& window : windows.windows) {
    if (!window.availability || !window.apdex) continue;  // no ops: no data, not 0
    rows += Number(Middle(window)) + ' ' + Number(*window.availability) + ' ' +
            Number(*window.apdex) + '\n';
  }
  if (rows.empty()) return plot;
  Result<std::string> file = writer->DataFile(rows);
  if (!file.ok()) return file.status();
  plot.clauses = {
      *file + " using 1:2 with linespoints linecolor rgb '#2b83ba' title 'availability'",
      *file + " using 1:3 with linespoints linecolor rgb '#7b3294' title " +
          GnuplotQuoted("Apdex (T = " + Number(apdex_t_s) + " s)")};
  return plot;
}

// Runs `command script`, its output into `log`. Empty when it exited 0; otherwise one warning.
std::optional<std::string> RunGnuplot(const std::string& command, const fs::path& script,
                                      const fs::path& log, double timeout_s) {
  const ProgramOutcome outcome = RunProgram({command, script.string()}, log, timeout_s);
  if (outcome.spawn_error != 0) {
    return "no plots: cannot run gnuplot ('" + command +
           "': " + std::strerror(outcome.spawn_error) + "); install gnuplot-nox (scripts/setup.sh)";
  }
  if (outcome.ok()) return std::nullopt;
  return "no plots: gnuplot failed (" + outcome.Failure(timeout_s) + ")";
}

}  // namespace

std::vector<bool> RawPointsDrawn(const LatencyPoints& ops) {
  std::vector<bool> draw(ops.points.size(), true);
  if (ops.points.size() <= kThinAbove) return draw;
  double top_ms = kMinLatencyMs;
  for (const LatencyPoint& point : ops.points) {
    top_ms = std::max(top_ms, Milliseconds(point.latency_ns));
  }
  const double decades = std::max(std::log10(top_ms / kMinLatencyMs), 1e-9);
  const int64_t end_ns = std::max<int64_t>(ops.end_ns, 1);
  std::unordered_set<uint64_t> cells;
  for (size_t i = 0; i < ops.points.size(); ++i) {
    const LatencyPoint& point = ops.points[i];
    const double latency_ms = std::max(Milliseconds(point.latency_ns), kMinLatencyMs);
    const auto column = static_cast<uint64_t>(
        std::clamp<int64_t>(point.invoke_ns * kThinColumns / end_ns, 0, kThinColumns));
    const auto row = static_cast<uint64_t>(std::clamp<double>(
        std::log10(latency_ms / kMinLatencyMs) / decades * kThinRows, 0, kThinRows));
    const uint64_t cell =
        ((static_cast<uint64_t>(point.f) * 4 + static_cast<uint64_t>(point.outcome)) *
             (kThinColumns + 1) +
         column) *
            (kThinRows + 1) +
        row;
    draw[i] = cells.insert(cell).second;
  }
  return draw;
}

std::string GnuplotQuoted(std::string_view text) {
  constexpr uint32_t kReplacement = 0xFFFD;
  std::string out = "'";
  size_t at = 0;
  while (at < text.size()) {
    const size_t length = text::Utf8SequenceLength(text.substr(at));
    const auto byte = static_cast<unsigned char>(text[at]);
    if (length == 0 || (length == 1 && (byte < 0x20 || byte == 0x7f))) {
      text::AppendUtf8(kReplacement, &out);
      at += std::max<size_t>(length, 1);
      continue;
    }
    if (text[at] == '\'') out += '\'';  // '' is a quote inside single quotes
    out.append(text.substr(at, length));
    at += length;
  }
  return out + "'";
}

Status WritePlots(const History& history, const PlotOptions& options,
                  const std::filesystem::path& directory, std::vector<std::string>* warnings) {
  return WritePlots(CompletedOps(history), FaultIntervals(history), options, directory, warnings);
}

Status WritePlots(const LatencyPoints& ops, const std::vector<FaultInterval>& intervals,
                  const PlotOptions& options, const std::filesystem::path& directory,
                  std::vector<std::string>* warnings) {
  Result<PerfWindows> windows = WindowStats(ops, {options.window_s, options.apdex_t_s});
  if (!windows.ok()) return windows.status();
  if (!options.png && !options.svg) return Status::Ok();
  if (ops.points.empty()) {
    warnings->push_back("no plots: the history has no client operation with a time");
    return Status::Ok();
  }
  std::error_code created;
  fs::create_directories(directory, created);
  if (created) {
    return Status::IoError("cannot create " + directory.string() + ": " + created.message());
  }
  Result<ScratchFolder> scratch = ScratchFolder::Create(directory);
  if (!scratch.ok()) return scratch.status();
  ScriptWriter writer(scratch->path());

  std::map<std::string, std::string> colours;  // fault kind -> colour, by name
  for (const FaultInterval& interval : intervals) colours.emplace(interval.kind, "");
  size_t next_colour = 0;
  for (auto& [kind, colour] : colours) {
    colour = kFaultColours[next_colour++ % std::size(kFaultColours)];
  }

  std::vector<Plot> plots;
  for (Result<Plot> plot :
       {LatencyRawPlot(ops, &writer), QuantilesPlot(ops, *windows, &writer),
        RatePlot(*windows, &writer), AvailabilityPlot(*windows, options.apdex_t_s, &writer)}) {
    if (!plot.ok()) return plot.status();
    plots.push_back(std::move(*plot));
  }

  // The x axis of every plot: the whole history, so the shading lines up between plots (a run
  // shorter than one window is not squeezed into the left of a window-wide axis).
  const int64_t end_ns = ops.end_ns > 0 ? ops.end_ns : windows->width_ns;
  std::string script = "set xrange [0:" + Number(Seconds(end_ns)) + "]\n" +
                       "set xlabel 'time since the test started (s)'\n" +
                       "set key outside right top\nset grid\n" + FaultSettings(intervals, colours);
  const std::vector<std::string> legend = FaultLegend(colours);
  for (const auto& [enabled, terminal, extension] :
       {std::tuple{options.png, "pngcairo", ".png"}, std::tuple{options.svg, "svg", ".svg"}}) {
    if (!enabled) continue;
    script += std::string("set terminal ") + terminal + ' ' + kTerminalSize + '\n';
    for (const Plot& plot : plots) {
      std::vector<std::string> clauses = plot.clauses;
      // A plot without data (no ok op at all) still shows its axes and the faults.
      if (clauses.empty()) clauses.push_back("NaN notitle");
      clauses.insert(clauses.end(), legend.begin(), legend.end());
      std::string command;
      for (const std::string& clause : clauses) {
        command += (command.empty() ? "plot " : ", \\\n  ") + clause;
      }
      script += "set output " +
                GnuplotQuoted((directory / (std::string(plot.name) + extension)).string()) + '\n' +
                plot.settings + command + "\nunset output\n";
    }
  }
  const fs::path script_path = scratch->path() / "plots.gp";
  {
    std::ofstream file(script_path, std::ios::binary | std::ios::trunc);
    file << script;
    file.close();
    if (!file) return Status::IoError("cannot write " + script_path.string());
  }
  if (std::optional<std::string> warning =
          RunGnuplot(options.gnuplot_command, script_path, scratch->path() / "gnuplot.log",
                     options.timeout_s)) {
    warnings->push_back(std::move(*warning));
  }
  return Status::Ok();
}

}  // namespace faultline::reports
