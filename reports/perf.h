// The data behind the perf plots (latency, latency quantiles, throughput, availability, Apdex, with
// the faults shaded): pure functions of a History, no I/O, no rendering. Each function reads the
// history once; share a History between threads only as const (core/op.h), the results are values.
//
// Times are the history's: nanoseconds since the test started (Op::time_ns). Ops without a time
// (time_ns < 0, a file that has none) cannot be placed and are left out; LatencyPoints counts them.
//
// Decisions, and why:
// - An op belongs to the time of its invocation, in every figure. An op that hangs through a
//   partition then counts where the fault was, not a timeout later; each op counts in exactly one
//   window; Jepsen's latency plots use the invocation time too.
// - Outcome: ok, fail, or info. An invocation never completed is an info (Jepsen's history/complete
//   does the same): it may have happened, and nobody knows when.
// - Latency of an info op: unknown; we give what is known, the time waited before giving up: its
//   completion's time (the client's timeout, usually) minus its invocation's, or the end of the
//   history minus its invocation for an op never completed. A lower bound, plotted as such (on a
//   latency plot the infos make a band at the client timeout, as in Jepsen's). Quantiles use ok
//   ops only, so these lower bounds never enter them.
// - Quantiles are nearest-rank: the q-quantile of n sorted latencies is the ceil(q * n)-th smallest
//   (1-based), computed in integers, so 0.95 of 20 values is the 19th and of 21 values the 20th;
//   always a latency that occurred, never an interpolation.
// - Fault intervals are conservative: from the invocation of start-X to the ok completion of a
//   stop-X, the whole span in which fault X may have been in effect (see FaultIntervals).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/op.h"
#include "core/status.h"

namespace faultline::reports {

// One client operation, for the latency plot.
struct LatencyPoint {
  int64_t invoke_ns = 0;   // its invocation's time
  int64_t latency_ns = 0;  // completion - invocation, never negative; for info a lower bound
  int32_t f = 0;           // index into LatencyPoints::fs
  OpType outcome = OpType::kOk;  // kOk, kFail or kInfo
  bool completed = true;         // false: never completed (an info whose latency runs to the end)
  int64_t position = 0;          // of its invocation in History::ops
};

struct LatencyPoints {
  std::vector<std::string> fs;       // the operation kinds (Op::f) of client ops, sorted by name
  std::vector<LatencyPoint> points;  // every client invocation with a time, in history order
  int64_t end_ns = 0;  // the history's end: the largest time of any op (the nemesis's included)
  int64_t untimed = 0;  // client invocations left out: they, or their completion, have no time
};

// Every client operation of `history` (nemesis ops excluded), paired invocation to completion as
// core/validate.h does in lenient mode (a malformed history gives its best pairing, no error).
// O(n) time; allocations per distinct process and f, none per op beyond the result.
LatencyPoints CompletedOps(const History& history);

// One span in which a fault may have been in effect.
struct FaultInterval {
  std::string kind;         // "partition" for start-partition/stop-partition; "nemesis" for bare
                            // start/stop (Jepsen's classic nemeses)
  int64_t start_ns = 0;     // the start op's invocation (or its completion if the file has no
                            // invocation)
  int64_t stop_ns = 0;      // the ok completion of the stop op; the history's end when unhealed
  bool healed = false;      // false: no stop op completed ok, so it lasts to the end
  int64_t start_position = 0;  // of the op that opened it, in History::ops (for its value: nodes)
  int64_t stop_position = -1;  // of the stop's ok completion; -1 when unhealed
};

// The nemesis's faults as intervals, ordered by start_ns. Generic on the names: any nemesis op
// named start-X / stop-X is fault kind X, so a new fault needs no change here. Rules, per kind:
// - a start-X invocation opens an interval unless one of X is open (a second start extends it);
// - a start-X completing with fail did nothing: it removes the interval that its invocation
//   opened (ok and info keep it: info may have applied the fault partly);
// - only an ok completion of stop-X closes the open interval, at that completion's time: an info
//   or fail stop may have left the fault in place; a stop with nothing open is ignored (the final
//   heal stops every enabled fault);
// - an interval still open at the end lasts to LatencyPoints::end_ns, the history's end.
// Client ops and other nemesis ops are ignored; ops without a time are skipped.
std::vector<FaultInterval> FaultIntervals(const History& history);

// Nearest-rank quantiles, in ns, of the ok ops of one kind in one window.
struct LatencyQuantiles {
  int64_t count = 0;  // ok ops; 0 means no data (then every figure below is 0)
  int64_t p50_ns = 0;
  int64_t p95_ns = 0;
  int64_t p99_ns = 0;
  int64_t max_ns = 0;
};

// How many ops invoked in a window ended each way.
struct OutcomeCounts {
  int64_t ok = 0;
  int64_t fail = 0;
  int64_t info = 0;  // never-completed invocations included
  int64_t total() const { return ok + fail + info; }
};

// One time window [start_ns, end_ns) and the client ops invoked in it.
struct PerfWindow {
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // start + width, but the last window ends at the history's end
  std::vector<LatencyQuantiles> latency_by_f;  // indexed like LatencyPoints::fs
  std::vector<OutcomeCounts> counts_by_f;      // indexed like LatencyPoints::fs
  OutcomeCounts counts;                        // all kinds together
  // counts / the window's length in seconds (end_ns - start_ns).
  double ok_per_s = 0;
  double fail_per_s = 0;
  double info_per_s = 0;
  // ok / total; nullopt for a window without ops (no data, not 0: nothing was asked).
  std::optional<double> availability;
  // (satisfied + tolerating / 2) / total; satisfied: ok within T, tolerating: ok within 4T,
  // frustrated: ok slower than 4T, fail, info. nullopt for a window without ops.
  std::optional<double> apdex;
};

struct PerfOptions {
  double window_s = 10;    // each window's width, seconds (Jepsen's perf plots bucket by 10 s)
  double apdex_t_s = 0.5;  // Apdex's T, seconds (the usual default)
};

struct PerfWindows {
  int64_t width_ns = 0;
  int64_t apdex_t_ns = 0;
  std::vector<PerfWindow> windows;  // consecutive from 0, covering [0, end_ns); at least one when
                                    // there are points
};

// The windows of `ops` (from CompletedOps). Windows are [k * width, (k + 1) * width), as many as
// cover [0, end_ns) (the last one cut at end_ns); an op invoked at end_ns itself, or beyond, goes
// to the last window; with end_ns == 0 there is one full-width window. InvalidArgument when a
// width or T is not a positive finite number (at least 1 ns), or when windows x kinds passes 10
// million (a window far too narrow for the history).
// O(n log n) in the worst case: one pass buckets the ok latencies by (window, f) into one array
// (counting sort), then each bucket is sorted on its own; no allocation per op.
Result<PerfWindows> WindowStats(const LatencyPoints& ops, const PerfOptions& options);

// The nearest-rank quantile of `sorted` (ascending, not empty) for q = per_mille / 1000 with
// 0 < per_mille <= 1000: sorted[ceil(per_mille * n / 1000) - 1], in integers.
int64_t NearestRank(std::span<const int64_t> sorted, int per_mille);

}  // namespace faultline::reports
