// Internal: the transaction dependency graph (ww, wr, rw, process, realtime edges) in compressed
// sparse row form, its strongly connected components (Boost.Graph), and the search for the
// shortest cycle of each anomaly class inside a component.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace faultline::txn {

enum EdgeBit : uint8_t { kWW = 1, kWR = 2, kRW = 4, kProcess = 8, kRealtime = 16 };
inline constexpr uint8_t kDataBits = kWW | kWR | kRW;
const char* EdgeName(uint8_t bit);

// One labelled edge; a pair of transactions linked for several reasons has several entries.
// `key` and `value` witness data edges (the key, and the version that links them).
struct GraphEdge {
  uint32_t to = 0;
  int32_t key = -1;
  int32_t value = -1;
  uint8_t bit = 0;
};

struct RawEdge {
  uint32_t from;
  GraphEdge edge;
};

// Edges gathered apart (by one thread) and handed to the graph in one piece.
class EdgeBatch {
 public:
  // Self-edges are dropped: a transaction never depends on itself.
  void Add(uint32_t from, uint32_t to, uint8_t bit, int32_t key = -1, int32_t value = -1) {
    if (from != to) edges_.push_back({from, {to, key, value, bit}});
  }

 private:
  friend class DependencyGraph;
  std::vector<RawEdge> edges_;
};

class DependencyGraph {
 public:
  explicit DependencyGraph(uint32_t nodes) : nodes_(nodes) {}

  void Add(uint32_t from, uint32_t to, uint8_t bit, int32_t key = -1, int32_t value = -1) {
    if (batches_.empty()) batches_.emplace_back();
    batches_.back().Add(from, to, bit, key, value);
  }
  void Absorb(EdgeBatch&& batch) { batches_.push_back(std::move(batch)); }
  // Builds the adjacency. Duplicates go; a process edge parallel to a data edge, and a realtime
  // edge parallel to either, go too: the stronger explanation is the one a reader wants.
  // `threads`: as TxnOptions::threads; the graph does not depend on it.
  void Finish(size_t threads = 1);

  uint32_t nodes() const { return nodes_; }
  size_t edges() const { return edges_.size(); }
  size_t data_edges() const { return data_edges_; }
  size_t Count(uint8_t bit) const;
  const GraphEdge* begin(uint32_t node) const { return edges_.data() + offsets_[node]; }
  const GraphEdge* end(uint32_t node) const { return edges_.data() + offsets_[node + 1]; }

  // Strongly connected components with more than one node, each a list of nodes.
  std::vector<std::vector<uint32_t>> Components() const;

 private:
  uint32_t nodes_;
  std::vector<EdgeBatch> batches_;
  std::vector<uint64_t> offsets_;
  std::vector<GraphEdge> edges_;
  size_t data_edges_ = 0;
};

enum class CycleVariant : uint8_t { kPlain, kProcess, kRealtime };
enum class CycleShape : uint8_t { kG0, kG1c, kGSingle, kGNonadjacent, kG2Item };

// Anomaly type name of a class: G0, G1c-process, G-single-item-realtime, ...
std::string CycleTypeName(CycleShape shape, CycleVariant variant);

struct CycleStepRef {
  uint32_t from = 0;
  GraphEdge edge;
};

// Searches one component for cycles of one class, seeding at each edge of the class's rarest
// kind and running a breadth-first search back to the seed with a small automaton enforcing the
// class's rules. Stops at the first cycle found (the shortest through its seed).
class CycleSearcher {
 public:
  // `spent` counts the edges visited by every searcher sharing the budget (one per thread).
  CycleSearcher(const DependencyGraph& graph, size_t budget, std::atomic<size_t>* spent);

  void SetComponent(const std::vector<uint32_t>& nodes);
  // True and the cycle in `cycle` if one exists (within the budget).
  bool Find(CycleShape shape, CycleVariant variant, std::vector<CycleStepRef>* cycle);
  bool HasVariantEdges(CycleVariant variant) const;

  bool exhausted() {
    if (budget_ == 0) return false;
    spent_->fetch_add(steps_ - reported_, std::memory_order_relaxed);
    reported_ = steps_;
    return spent_->load(std::memory_order_relaxed) >= budget_;
  }
  size_t steps() const { return steps_; }

 private:
  bool Search(uint32_t seed_from, const GraphEdge& seed, CycleShape shape, CycleVariant variant,
              std::vector<CycleStepRef>* cycle);

  const DependencyGraph& graph_;
  size_t budget_;
  std::atomic<size_t>* spent_;
  size_t steps_ = 0;            // by this searcher
  size_t reported_ = 0;         // of steps_, already added to *spent_
  std::vector<int32_t> local_;  // node -> index in the component, -1 outside
  std::vector<uint32_t> members_;
  std::vector<uint32_t> stamp_;   // per (local node, state): generation when visited
  std::vector<uint64_t> parent_;  // per (local node, state): predecessor state and edge
  uint32_t generation_ = 0;
};

}  // namespace faultline::txn
