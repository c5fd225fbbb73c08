#include "reports/perf_checker.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "reports/perf.h"

namespace faultline::reports {
namespace {

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }
double Milliseconds(int64_t ns) { return static_cast<double>(ns) / 1e6; }

Json OptionalJson(const std::optional<double>& value) { return value ? Json(*value) : Json(); }

Json FaultsJson(const History& history, const std::vector<FaultInterval>& intervals) {
  Json faults = Json::array();
  for (const FaultInterval& fault : intervals) {
    faults.push_back({{"kind", fault.kind},
                      {"start_s", Seconds(fault.start_ns)},
                      {"stop_s", Seconds(fault.stop_ns)},
                      {"healed", fault.healed},
                      {"value", history.ops[fault.start_position].value}});
  }
  return faults;
}

// The whole run's figures: one window as wide as the history.
Json Figures(const LatencyPoints& ops, const PlotOptions& options) {
  Json figures = {{"operations", ops.points.size()},   {"untimed", ops.untimed},
                  {"duration_s", Seconds(ops.end_ns)}, {"latency_ms", Json::object()},
                  {"availability", nullptr},           {"apdex", nullptr}};
  const double width_s = std::max(Seconds(ops.end_ns), 1e-9);
  Result<PerfWindows> whole = WindowStats(ops, {width_s, options.apdex_t_s});
  if (!whole.ok() || whole->windows.empty()) return figures;
  const PerfWindow& window = whole->windows.front();
  figures["ok_per_s"] = window.ok_per_s;
  figures["fail_per_s"] = window.fail_per_s;
  figures["info_per_s"] = window.info_per_s;
  figures["availability"] = OptionalJson(window.availability);
  figures["apdex"] = OptionalJson(window.apdex);
  for (size_t f = 0; f < ops.fs.size(); ++f) {
    const LatencyQuantiles& q = window.latency_by_f[f];
    figures["latency_ms"][ops.fs[f]] = {{"count", q.count},
                                        {"p50", Milliseconds(q.p50_ns)},
                                        {"p95", Milliseconds(q.p95_ns)},
                                        {"p99", Milliseconds(q.p99_ns)},
                                        {"max", Milliseconds(q.max_ns)}};
  }
  return figures;
}

// The plot files now in `directory`, by name.
Json PlotFiles(const std::filesystem::path& directory) {
  Json files = Json::array();
  for (std::string_view name : kPlotNames) {
    for (const char* extension : {".png", ".svg"}) {
      std::string file = std::string(name) + extension;
      std::error_code ignored;
      if (std::filesystem::is_regular_file(directory / file, ignored)) files.push_back(file);
    }
  }
  return files;
}

class PerfChecker : public Checker {
 public:
  explicit PerfChecker(const PlotOptions& options) : options_(options) {}

  std::string Name() const override { return "perf"; }

  Json Describe() const override {
    return {{"name", Name()}, {"window_s", options_.window_s}, {"apdex_t_s", options_.apdex_t_s}};
  }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    CheckResult result;
    result.verdict = Verdict::kValid;
    // Each read of the history once: a run's history may hold millions of ops.
    const LatencyPoints ops = CompletedOps(history);
    const std::vector<FaultInterval> intervals = FaultIntervals(history);
    result.json = Figures(ops, options_);
    result.json["valid"] = true;
    result.json["window_s"] = options_.window_s;
    result.json["apdex_t_s"] = options_.apdex_t_s;
    result.json["faults"] = FaultsJson(history, intervals);
    result.json["plots"] = Json::array();
    if (context.output_directory.empty()) return result;
    if (context.progress) context.progress("perf: drawing plots");
    Status drawn =
        WritePlots(ops, intervals, options_, context.output_directory, &result.warnings);
    if (!drawn.ok()) result.warnings.push_back("no plots: " + drawn.message());
    result.json["plots"] = PlotFiles(context.output_directory);
    return result;
  }

 private:
  PlotOptions options_;
};

}  // namespace

CheckerPtr MakePerfChecker(const PlotOptions& options) {
  return std::make_shared<PerfChecker>(options);
}

}  // namespace faultline::reports
