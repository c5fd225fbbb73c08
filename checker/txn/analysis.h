// Internal: what a workload analysis (list-append, rw-register) produces, and the interface the
// checker drives: it infers version orders, reports non-cycle anomalies, adds data edges to the
// dependency graph, and later explains any data edge of a cycle.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checker/txn/graph.h"
#include "checker/txn/transactions.h"

namespace faultline::txn {

// Anomalies found so far: a few examples per type, and how many of each.
class Findings {
 public:
  explicit Findings(size_t examples_per_type) : examples_per_type_(examples_per_type) {}
  // Records one anomaly of `type` over the given transactions (indices into Transactions::txns).
  void Add(const std::string& type, std::vector<uint32_t> txns, std::string explanation,
           Json details = Json::object());
  bool Wants(const std::string& type) const;
  // Appends `other`'s examples after these (up to the per-type limit) and adds its counts: the
  // result is the same as if `other`'s anomalies had been added here one by one.
  void Merge(Findings&& other);
  size_t examples_per_type() const { return examples_per_type_; }

  struct Example {
    std::string type;
    std::vector<uint32_t> txns;
    std::string explanation;
    Json details;
  };
  const std::vector<Example>& examples() const { return examples_; }
  const std::map<std::string, size_t>& counts() const { return counts_; }

 private:
  size_t examples_per_type_;
  std::vector<Example> examples_;
  std::map<std::string, size_t> counts_;
};

class WorkloadAnalysis {
 public:
  virtual ~WorkloadAnalysis() = default;
  virtual void Analyze(DependencyGraph* graph, Findings* findings) = 0;
  // Why `edge` (a ww, wr or rw edge from `from`) holds, naming the two ends as given.
  virtual std::string ExplainEdge(uint32_t from, const GraphEdge& edge, const std::string& a,
                                  const std::string& b) const = 0;
};

// `threads`: as TxnOptions::threads.
std::unique_ptr<WorkloadAnalysis> MakeListAppendAnalysis(const Transactions& transactions,
                                                         size_t threads);
std::unique_ptr<WorkloadAnalysis> MakeRwRegisterAnalysis(const Transactions& transactions,
                                                         const TxnOptions& options);

// Packs (key, value) into one hash key.
inline uint64_t KeyValue(int32_t key, int32_t value) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(key)) << 32) | static_cast<uint32_t>(value);
}

}  // namespace faultline::txn
