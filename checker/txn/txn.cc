#include "checker/txn/txn.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "checker/txn/analysis.h"
#include "checker/txn/models.h"
#include "checker/txn/parallel.h"

namespace faultline {

std::string_view ToString(TxnWorkload workload) {
  return workload == TxnWorkload::kListAppend ? "list-append" : "rw-register";
}

namespace txn {

void Findings::Add(const std::string& type, std::vector<uint32_t> txns, std::string explanation,
                   Json details) {
  if (counts_[type]++ >= examples_per_type_) return;
  examples_.push_back({type, std::move(txns), std::move(explanation), std::move(details)});
}

void Findings::Merge(Findings&& other) {
  std::map<std::string, size_t> kept;  // of other's examples, per type
  for (Findings::Example& example : other.examples_) {
    ++kept[example.type];
    if (counts_[example.type]++ < examples_per_type_) examples_.push_back(std::move(example));
  }
  for (const auto& [type, count] : other.counts_) counts_[type] += count - kept[type];
}

bool Findings::Wants(const std::string& type) const {
  auto found = counts_.find(type);
  return found == counts_.end() || found->second < examples_per_type_;
}

namespace {

constexpr uint32_t kNoTxn = UINT32_MAX;

// Process order (when wanted): consecutive transactions of each process. Realtime order: the
// transitive reduction of "completed before invoked", by keeping the frontier of completed
// transactions no later completed transaction follows; each invocation links from the frontier
// only.
void AddOrderEdges(const Transactions& t, bool process_edges, DependencyGraph* graph) {
  std::unordered_map<int64_t, uint32_t> last_of_process;
  int64_t end = 0;
  for (const Txn& txn : t.txns) {
    if (txn.complete_position != std::numeric_limits<int64_t>::max()) {
      end = std::max(end, txn.complete_position + 1);
    }
  }
  std::vector<uint32_t> completing(static_cast<size_t>(end), kNoTxn);
  for (uint32_t i = 0; i < t.txns.size(); ++i) {
    const Txn& txn = t.txns[i];
    if (txn.status == TxnStatus::kFail) continue;
    auto [it, fresh] = last_of_process.try_emplace(txn.process, i);
    if (!fresh && process_edges) graph->Add(it->second, i, kProcess);
    it->second = i;
    if (txn.status == TxnStatus::kOk) completing[static_cast<size_t>(txn.complete_position)] = i;
  }
  std::vector<uint32_t> frontier;
  size_t next_invoke = 0;
  for (int64_t position = 0; position < end; ++position) {
    for (; next_invoke < t.txns.size() && t.txns[next_invoke].invoke_position <= position;
         ++next_invoke) {
      if (t.txns[next_invoke].status == TxnStatus::kFail) continue;
      for (uint32_t before : frontier)
        graph->Add(before, static_cast<uint32_t>(next_invoke), kRealtime);
    }
    uint32_t done = completing[static_cast<size_t>(position)];
    if (done == kNoTxn) continue;
    int64_t invoked = t.txns[done].invoke_position;
    std::erase_if(frontier, [&](uint32_t f) { return t.txns[f].complete_position < invoked; });
    frontier.push_back(done);
  }
}

struct CycleFound {
  std::string type;
  std::vector<CycleStepRef> steps;
};

// The shortest cycle of each class in each of components [begin, end), at most `limit` per type,
// in component order.
std::vector<CycleFound> SearchComponents(const std::vector<std::vector<uint32_t>>& components,
                                         size_t begin, size_t end, size_t limit,
                                         CycleSearcher* searcher) {
  static const CycleShape kShapes[] = {CycleShape::kG0, CycleShape::kG1c, CycleShape::kGSingle,
                                       CycleShape::kGNonadjacent, CycleShape::kG2Item};
  static const CycleVariant kVariants[] = {CycleVariant::kPlain, CycleVariant::kProcess,
                                           CycleVariant::kRealtime};
  std::vector<CycleFound> found;
  std::map<std::string, size_t> per_type;
  for (size_t c = begin; c < end; ++c) {
    searcher->SetComponent(components[c]);
    for (CycleVariant variant : kVariants) {
      if (variant != CycleVariant::kPlain && !searcher->HasVariantEdges(variant)) continue;
      for (CycleShape shape : kShapes) {
        std::string type = CycleTypeName(shape, variant);
        std::vector<CycleStepRef> cycle;
        if (!searcher->Find(shape, variant, &cycle)) continue;
        if (per_type[type]++ < limit) found.push_back({type, cycle});
      }
    }
  }
  return found;
}

// Shortest cycles of each class in each strongly connected component; contiguous ranges of
// components are searched on separate threads and merged in component order. The budget is
// shared; if it runs out, which classes were found would depend on timing, so the search is
// redone on one thread, where it does not.
std::vector<CycleFound> FindCycles(const DependencyGraph& graph,
                                   const std::vector<std::vector<uint32_t>>& components,
                                   const TxnOptions& options, TxnResult* result) {
  std::vector<size_t> before = {0};  // transactions in components [0, i)
  for (const std::vector<uint32_t>& component : components) {
    before.push_back(before.back() + component.size());
    result->largest_component = std::max(result->largest_component, component.size());
  }
  size_t threads = ThreadCount(options.threads);
  for (;;) {
    std::vector<size_t> bounds =
        SplitEvenly(components.size(), threads, [&](size_t i) { return before[i]; });
    size_t parts = bounds.size() - 1;
    std::atomic<size_t> spent{0};
    std::vector<std::vector<CycleFound>> found(parts);
    std::vector<size_t> steps(parts, 0);
    std::vector<uint8_t> exhausted_parts(parts, 0);
    RunParts(parts, [&](size_t part) {
      CycleSearcher searcher(graph, options.search_budget, &spent);
      found[part] = SearchComponents(components, bounds[part], bounds[part + 1],
                                     options.max_cycles_per_type, &searcher);
      steps[part] = searcher.steps();
      exhausted_parts[part] = searcher.exhausted();
    });
    bool exhausted =
        std::find(exhausted_parts.begin(), exhausted_parts.end(), 1) != exhausted_parts.end();
    if (exhausted && parts > 1) {
      threads = 1;
      continue;
    }
    std::vector<CycleFound> merged;
    std::map<std::string, size_t> per_type;
    for (size_t part = 0; part < parts; ++part) {
      result->search_steps += steps[part];
      for (CycleFound& cycle : found[part]) {
        if (per_type[cycle.type]++ < options.max_cycles_per_type) {
          merged.push_back(std::move(cycle));
        }
      }
    }
    if (exhausted) {
      result->reason = "cycle search budget of " + std::to_string(options.search_budget) +
                       " edge visits exhausted; some anomaly classes were not fully searched";
    }
    return merged;
  }
}

std::string Label(size_t position) { return "T" + std::to_string(position + 1); }

TxnAnomaly CycleAnomaly(const Transactions& t, const WorkloadAnalysis& analysis,
                        const CycleFound& cycle) {
  TxnAnomaly anomaly;
  anomaly.type = cycle.type;
  std::vector<uint32_t> order;
  auto position = [&](uint32_t txn) {
    auto it = std::find(order.begin(), order.end(), txn);
    if (it != order.end()) return static_cast<size_t>(it - order.begin());
    order.push_back(txn);
    return order.size() - 1;
  };
  std::string argument;
  for (const CycleStepRef& step : cycle.steps) {
    size_t from = position(step.from);
    size_t to = position(step.edge.to);
    std::string a = Label(from), b = Label(to);
    std::string why;
    if (step.edge.bit == kProcess) {
      why = a + " and " + b + " ran one after the other on process " +
            ProcessName(t.txns[step.from].process);
    } else if (step.edge.bit == kRealtime) {
      why = a + " completed before " + b + " was invoked";
    } else {
      why = analysis.ExplainEdge(step.from, step.edge, a, b);
    }
    anomaly.cycle.push_back({from, to, EdgeName(step.edge.bit), why});
    argument += a + " < " + b + " because " + why + "; ";
  }
  anomaly.explanation = argument + "so " + Label(0) + " < " + Label(0) + ", a contradiction";
  return anomaly;
}

// Records the wall time since the previous mark as one phase.
class PhaseClock {
 public:
  explicit PhaseClock(std::vector<TxnPhase>* phases) : phases_(phases) {}
  void Mark(const char* name) {
    auto now = std::chrono::steady_clock::now();
    double cpu = ProcessCpuSeconds();
    phases_->push_back({name, std::chrono::duration<double>(now - last_).count(), cpu - last_cpu_});
    last_ = now;
    last_cpu_ = cpu;
  }

 private:
  static double ProcessCpuSeconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
  }
  std::vector<TxnPhase>* phases_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  double last_cpu_ = ProcessCpuSeconds();
};

Op TxnOp(const History& history, const Transactions& t, uint32_t txn) {
  return history.ops[t.txns[txn].op];
}

Result<std::vector<std::string>> Models(const TxnOptions& options) {
  for (const std::string& model : options.consistency_models) {
    if (!IsConsistencyModel(model)) {
      std::string known;
      for (const std::string& name : ConsistencyModelNames()) known += " " + name;
      return Status::InvalidArgument("unknown consistency model '" + model + "'; known:" + known);
    }
  }
  for (const std::string& anomaly : options.anomalies) {
    if (!IsAnomalyName(anomaly)) {
      return Status::InvalidArgument("unknown anomaly '" + anomaly + "'");
    }
  }
  if (options.consistency_models.empty() && options.anomalies.empty()) {
    return std::vector<std::string>{"strict-serializable"};
  }
  return options.consistency_models;
}

void Conclude(const TxnOptions& options, const std::vector<std::string>& models, bool empty_graph,
              TxnResult* result) {
  std::set<std::string> found;
  for (const TxnAnomaly& anomaly : result->anomalies) found.insert(anomaly.type);
  std::set<std::string> prohibited = ProhibitedAnomalies(models, options.anomalies);
  for (const std::string& type : found) {
    result->found_types.push_back(type);
    if (prohibited.count(type)) result->anomaly_types.push_back(type);
  }
  ModelBoundary boundary = Boundary(found);
  result->not_models = boundary.not_models;
  result->also_not = boundary.also_not;
  result->strongest_models = boundary.strongest_models;
  if (empty_graph) result->anomaly_types.push_back("empty-transaction-graph");
  std::sort(result->anomaly_types.begin(), result->anomaly_types.end());
  bool invalid = result->anomaly_types.size() > (empty_graph ? 1u : 0u);
  if (invalid) {
    result->verdict = Verdict::kInvalid;
    result->reason = "found";
    for (const std::string& type : result->anomaly_types) result->reason += " " + type;
  } else if (empty_graph) {
    result->verdict = Verdict::kUnknown;
    result->reason =
        "no transaction depends on another (empty transaction graph): nothing "
        "can be inferred";
  } else if (!result->reason.empty()) {
    result->verdict = Verdict::kUnknown;
  } else {
    result->reason = "no anomaly forbidden by the model";
  }
}

}  // namespace
}  // namespace txn

Result<TxnResult> CheckTransactions(const History& history, const TxnOptions& options) {
  using namespace txn;
  Result<std::vector<std::string>> models = Models(options);
  if (!models.ok()) return models.status();
  TxnResult result;
  PhaseClock clock(&result.phases);
  Result<Transactions> extracted = ExtractTransactions(history, options.workload, options.threads);
  if (!extracted.ok()) return extracted.status();
  const Transactions& t = *extracted;
  clock.Mark("extract");
  std::unique_ptr<WorkloadAnalysis> analysis = options.workload == TxnWorkload::kListAppend
                                                   ? MakeListAppendAnalysis(t, options.threads)
                                                   : MakeRwRegisterAnalysis(t, options);
  DependencyGraph graph(static_cast<uint32_t>(t.txns.size()));
  Findings findings(options.max_cycles_per_type);
  analysis->Analyze(&graph, &findings);
  clock.Mark("versions");
  // Like Elle, when the models forbid realtime cycles, process order is just part of realtime
  // order (processes are sequential), so a cycle is never reported twice under both names.
  std::set<std::string> prohibited = ProhibitedAnomalies(*models, options.anomalies);
  bool process = prohibited.count("G0-process") > 0;
  bool realtime = prohibited.count("G0-realtime") > 0;
  AddOrderEdges(t, /*process_edges=*/!realtime, &graph);
  clock.Mark("order-edges");
  graph.Finish(options.threads);
  clock.Mark("graph");
  std::vector<std::vector<uint32_t>> components = graph.Components();
  clock.Mark("components");

  result.warnings = t.warnings;
  result.transactions = static_cast<size_t>(std::count_if(
      t.txns.begin(), t.txns.end(), [](const Txn& txn) { return txn.status != TxnStatus::kFail; }));
  result.edges = graph.edges();
  for (const Findings::Example& example : findings.examples()) {
    TxnAnomaly anomaly;
    anomaly.type = example.type;
    anomaly.explanation = example.explanation;
    anomaly.details = example.details;
    for (uint32_t txn : example.txns) anomaly.txns.push_back(TxnOp(history, t, txn));
    result.anomalies.push_back(std::move(anomaly));
  }
  std::vector<CycleFound> cycles = FindCycles(graph, components, options, &result);
  clock.Mark("cycles");
  for (const CycleFound& cycle : cycles) {
    TxnAnomaly anomaly = CycleAnomaly(t, *analysis, cycle);
    std::vector<uint32_t> order;
    for (const CycleStepRef& step : cycle.steps) {
      if (std::find(order.begin(), order.end(), step.from) == order.end()) {
        order.push_back(step.from);
      }
    }
    for (uint32_t txn : order) anomaly.txns.push_back(TxnOp(history, t, txn));
    result.anomalies.push_back(std::move(anomaly));
  }
  // Like Elle, process and realtime edges count only when the models care about that order.
  bool empty = graph.data_edges() == 0 && (!process || graph.Count(kProcess) == 0) &&
               (!realtime || graph.Count(kRealtime) == 0);
  Conclude(options, *models, empty, &result);
  clock.Mark("report");
  return result;
}

}  // namespace faultline
