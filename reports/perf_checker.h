// The perf checker (Jepsen's `perf`): the run's latency and throughput figures as a checker value
// (checker/checker.h), so every run's results.json carries them and its folder the plots. It
// judges nothing: its verdict is always valid.
//
// Its JSON (figures from reports/perf.h, over the whole run as one window):
//   {"valid": true, "window_s": W, "apdex_t_s": T, "duration_s": end of the history,
//    "operations": client invocations with a time, "untimed": those without,
//    "ok_per_s", "fail_per_s", "info_per_s", "availability", "apdex" (null without ops),
//    "latency_ms": {f: {"count", "p50", "p95", "p99", "max"}} of ok ops per kind,
//    "faults": [{"kind", "start_s", "stop_s", "healed", "value"}] (FaultIntervals; value is the
//    start op's value, e.g. the partition's grudge),
//    "plots": ["latency-raw.png", ...] the files written into the output directory}.
// With an output directory in the context it writes the plots there (reports/plots.h); a missing
// gnuplot is a warning and no plots, never an error.
#pragma once

#include "checker/checker.h"
#include "reports/plots.h"

namespace faultline::reports {

// Described as {"name": "perf", "window_s": W, "apdex_t_s": T}.
CheckerPtr MakePerfChecker(const PlotOptions& options);

}  // namespace faultline::reports
