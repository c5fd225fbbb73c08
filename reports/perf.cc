#include "reports/perf.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/validate.h"

namespace faultline::reports {
namespace {

constexpr int kMedianPerMille = 500;
constexpr int k95PerMille = 950;
constexpr int k99PerMille = 990;
// windows x operation kinds: past it a window is too narrow for the history (memory would grow
// with the window count, not with the ops).
constexpr int64_t kMaxWindowCells = 10'000'000;

int64_t EndNs(const History& history) {
  int64_t end_ns = 0;
  for (const Op& op : history.ops) end_ns = std::max(end_ns, op.time_ns);
  return end_ns;
}

// The fault kind a nemesis op's f names, and whether it starts (true) or stops it.
struct FaultOp {
  std::string_view kind;
  bool starts = false;
};

std::optional<FaultOp> ParseFaultOp(std::string_view f) {
  constexpr std::string_view kStart = "start";
  constexpr std::string_view kStop = "stop";
  if (f == kStart) return FaultOp{"nemesis", true};
  if (f == kStop) return FaultOp{"nemesis", false};
  for (const auto& [prefix, starts] : {std::pair{kStart, true}, std::pair{kStop, false}}) {
    if (f.size() > prefix.size() + 1 && f.substr(0, prefix.size()) == prefix &&
        f[prefix.size()] == '-') {
      return FaultOp{f.substr(prefix.size() + 1), starts};
    }
  }
  return std::nullopt;
}

// Seconds as whole nanoseconds; nullopt unless positive, finite and at most `max_ns`.
std::optional<int64_t> PositiveNs(double seconds, double max_ns) {
  if (!std::isfinite(seconds) || !(seconds > 0)) return std::nullopt;
  const double ns = std::round(seconds * 1e9);
  if (ns < 1 || ns > max_ns) return std::nullopt;
  return static_cast<int64_t>(ns);
}

}  // namespace

int64_t NearestRank(std::span<const int64_t> sorted, int per_mille) {
  assert(!sorted.empty() && per_mille > 0 && per_mille <= 1000);
  const auto count = static_cast<int64_t>(sorted.size());
  const int64_t rank = (per_mille * count + 999) / 1000;  // ceil(q * n), 1-based
  return sorted[static_cast<size_t>(rank - 1)];
}

LatencyPoints CompletedOps(const History& history) {
  LatencyPoints result;
  result.end_ns = EndNs(history);
  Result<Pairing> pairing = PairHistory(history, /*lenient=*/true);
  assert(pairing.ok());  // lenient pairing reports violations as warnings, never fails
  const std::vector<int64_t>& partner = pairing->partner;
  const std::vector<Op>& ops = history.ops;

  // Kinds get ids in order of appearance (string views into the history: no copy per op), and are
  // renumbered by name at the end.
  std::unordered_map<std::string_view, int32_t> ids;
  std::vector<std::string_view> names;
  result.points.reserve(ops.size() / 2);
  for (size_t position = 0; position < ops.size(); ++position) {
    const Op& op = ops[position];
    if (op.is_nemesis() || !op.is_invoke()) continue;
    const int64_t completion_position = partner[position];
    const Op* completion =
        completion_position >= 0 ? &ops[static_cast<size_t>(completion_position)] : nullptr;
    if (op.time_ns < 0 || (completion != nullptr && completion->time_ns < 0)) {
      ++result.untimed;
      continue;
    }
    auto [id, inserted] = ids.try_emplace(op.f, static_cast<int32_t>(names.size()));
    if (inserted) names.push_back(op.f);
    LatencyPoint point;
    point.invoke_ns = op.time_ns;
    point.f = id->second;
    point.position = static_cast<int64_t>(position);
    if (completion != nullptr) {
      point.outcome = completion->type;
      point.latency_ns = completion->time_ns - op.time_ns;
    } else {
      point.outcome = OpType::kInfo;
      point.completed = false;
      point.latency_ns = result.end_ns - op.time_ns;
    }
    point.latency_ns = std::max<int64_t>(point.latency_ns, 0);  // a time that stepped back
    result.points.push_back(point);
  }

  std::vector<int32_t> order(names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return names[a] < names[b]; });
  std::vector<int32_t> renumbered(names.size());
  for (size_t rank = 0; rank < order.size(); ++rank) {
    renumbered[static_cast<size_t>(order[rank])] = static_cast<int32_t>(rank);
    result.fs.emplace_back(names[static_cast<size_t>(order[rank])]);
  }
  for (LatencyPoint& point : result.points) point.f = renumbered[static_cast<size_t>(point.f)];
  return result;
}

std::vector<FaultInterval> FaultIntervals(const History& history) {
  struct KindState {
    int64_t open = -1;              // index in `intervals` of the open interval, or -1
    int64_t opened_by = -1;         // position of the start invocation that opened it
    int64_t last_start_invoke = -1; // position of the latest start invocation of this kind
  };
  std::map<std::string_view, KindState, std::less<>> kinds;
  std::vector<FaultInterval> intervals;
  std::vector<bool> removed;
  const std::vector<Op>& ops = history.ops;
  for (size_t position = 0; position < ops.size(); ++position) {
    const Op& op = ops[position];
    if (!op.is_nemesis() || op.time_ns < 0) continue;
    const std::optional<FaultOp> fault = ParseFaultOp(op.f);
    if (!fault) continue;
    KindState& state = kinds[fault->kind];
    const auto here = static_cast<int64_t>(position);
    const auto open = [&] {
      FaultInterval interval;
      interval.kind = std::string(fault->kind);
      interval.start_ns = op.time_ns;
      interval.start_position = here;
      state.open = static_cast<int64_t>(intervals.size());
      state.opened_by = here;
      intervals.push_back(std::move(interval));
      removed.push_back(false);
    };
    if (fault->starts) {
      if (op.is_invoke()) {
        state.last_start_invoke = here;
        if (state.open < 0) open();
      } else if (op.type == OpType::kFail) {
        // It did nothing: undo the interval its own invocation opened, if that one did.
        if (state.open >= 0 && state.opened_by == state.last_start_invoke &&
            state.last_start_invoke >= 0) {
          removed[static_cast<size_t>(state.open)] = true;
          state.open = -1;
        }
      } else if (state.open < 0) {
        open();  // a completion whose invocation is missing or untimed
      }
    } else if (op.type == OpType::kOk && state.open >= 0) {
      FaultInterval& interval = intervals[static_cast<size_t>(state.open)];
      interval.stop_ns = std::max(op.time_ns, interval.start_ns);
      interval.stop_position = here;
      interval.healed = true;
      state.open = -1;
    }
  }

  const int64_t end_ns = EndNs(history);
  std::vector<FaultInterval> result;
  result.reserve(intervals.size());
  for (size_t i = 0; i < intervals.size(); ++i) {
    if (removed[i]) continue;
    if (!intervals[i].healed) intervals[i].stop_ns = std::max(end_ns, intervals[i].start_ns);
    result.push_back(std::move(intervals[i]));
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const FaultInterval& a, const FaultInterval& b) {
                     return a.start_ns < b.start_ns;
                   });
  return result;
}

Result<PerfWindows> WindowStats(const LatencyPoints& ops, const PerfOptions& options) {
  // Bounds keep every product below in int64: 4 T, window * count.
  const std::optional<int64_t> width_ns = PositiveNs(options.window_s, 1e18);
  if (!width_ns) {
    return Status::InvalidArgument("the perf window must be a positive number of seconds, got " +
                                   std::to_string(options.window_s));
  }
  const std::optional<int64_t> apdex_t_ns = PositiveNs(options.apdex_t_s, 1e18);
  if (!apdex_t_ns) {
    return Status::InvalidArgument("Apdex's T must be a positive number of seconds, got " +
                                   std::to_string(options.apdex_t_s));
  }
  PerfWindows result;
  result.width_ns = *width_ns;
  result.apdex_t_ns = *apdex_t_ns;
  const int64_t end_ns = std::max<int64_t>(ops.end_ns, 0);
  int64_t window_count = (end_ns + *width_ns - 1) / *width_ns;
  if (window_count == 0 && !ops.points.empty()) window_count = 1;
  const auto kind_count = static_cast<int64_t>(ops.fs.size());
  if (window_count * std::max<int64_t>(kind_count, 1) > kMaxWindowCells) {
    return Status::InvalidArgument(
        "a perf window of " + std::to_string(options.window_s) + " s makes " +
        std::to_string(window_count) + " windows of " + std::to_string(kind_count) +
        " operation kinds; at most " + std::to_string(kMaxWindowCells) + " cells");
  }
  if (window_count == 0) return result;

  const auto window_of = [&](const LatencyPoint& point) {
    return std::min(point.invoke_ns / *width_ns, window_count - 1);
  };
  const auto cells = static_cast<size_t>(window_count * kind_count);
  // Pass 1: counts per (window, kind), Apdex tallies per window, ok latencies per cell.
  std::vector<OutcomeCounts> counts(cells);
  std::vector<int64_t> satisfied(static_cast<size_t>(window_count));
  std::vector<int64_t> tolerating(static_cast<size_t>(window_count));
  std::vector<int64_t> cell_start(cells + 1);
  for (const LatencyPoint& point : ops.points) {
    const int64_t window = window_of(point);
    const size_t cell = static_cast<size_t>(window * kind_count + point.f);
    switch (point.outcome) {
      case OpType::kOk:
        ++counts[cell].ok;
        ++cell_start[cell + 1];
        if (point.latency_ns <= *apdex_t_ns) {
          ++satisfied[static_cast<size_t>(window)];
        } else if (point.latency_ns <= 4 * *apdex_t_ns) {
          ++tolerating[static_cast<size_t>(window)];
        }
        break;
      case OpType::kFail:
        ++counts[cell].fail;
        break;
      default:
        ++counts[cell].info;
        break;
    }
  }
  // Pass 2: the ok latencies into one array, grouped by cell (a counting sort).
  for (size_t cell = 0; cell < cells; ++cell) cell_start[cell + 1] += cell_start[cell];
  std::vector<int64_t> latencies(static_cast<size_t>(cell_start[cells]));
  std::vector<int64_t> next(cell_start.begin(), cell_start.end() - 1);
  for (const LatencyPoint& point : ops.points) {
    if (point.outcome != OpType::kOk) continue;
    const size_t cell = static_cast<size_t>(window_of(point) * kind_count + point.f);
    latencies[static_cast<size_t>(next[cell]++)] = point.latency_ns;
  }

  result.windows.resize(static_cast<size_t>(window_count));
  for (int64_t window = 0; window < window_count; ++window) {
    PerfWindow& out = result.windows[static_cast<size_t>(window)];
    out.start_ns = window * *width_ns;
    out.end_ns = window == window_count - 1 && end_ns > out.start_ns
                     ? end_ns
                     : out.start_ns + *width_ns;
    out.latency_by_f.resize(static_cast<size_t>(kind_count));
    out.counts_by_f.resize(static_cast<size_t>(kind_count));
    for (int64_t kind = 0; kind < kind_count; ++kind) {
      const size_t cell = static_cast<size_t>(window * kind_count + kind);
      const OutcomeCounts& cell_counts = counts[cell];
      out.counts_by_f[static_cast<size_t>(kind)] = cell_counts;
      out.counts.ok += cell_counts.ok;
      out.counts.fail += cell_counts.fail;
      out.counts.info += cell_counts.info;
      const auto begin = latencies.begin() + cell_start[cell];
      const auto end = latencies.begin() + cell_start[cell + 1];
      if (begin == end) continue;
      std::sort(begin, end);
      const std::span<const int64_t> sorted(&*begin, static_cast<size_t>(end - begin));
      out.latency_by_f[static_cast<size_t>(kind)] = {
          static_cast<int64_t>(sorted.size()), NearestRank(sorted, kMedianPerMille),
          NearestRank(sorted, k95PerMille), NearestRank(sorted, k99PerMille), sorted.back()};
    }
    const double seconds = static_cast<double>(out.end_ns - out.start_ns) / 1e9;
    out.ok_per_s = static_cast<double>(out.counts.ok) / seconds;
    out.fail_per_s = static_cast<double>(out.counts.fail) / seconds;
    out.info_per_s = static_cast<double>(out.counts.info) / seconds;
    if (const int64_t total = out.counts.total(); total > 0) {
      out.availability = static_cast<double>(out.counts.ok) / static_cast<double>(total);
      out.apdex = (static_cast<double>(satisfied[static_cast<size_t>(window)]) +
                   static_cast<double>(tolerating[static_cast<size_t>(window)]) / 2) /
                  static_cast<double>(total);
    }
  }
  return result;
}

}  // namespace faultline::reports
