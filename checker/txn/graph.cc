#include "checker/txn/graph.h"

#include <algorithm>
#include <boost/graph/graph_traits.hpp>
#include <boost/graph/properties.hpp>
#include <boost/graph/strong_components.hpp>
#include <boost/iterator/counting_iterator.hpp>
#include <boost/iterator/iterator_facade.hpp>
#include <boost/property_map/property_map.hpp>
#include <utility>

#include "checker/txn/parallel.h"

namespace faultline::txn {

// DependencyGraph's CSR arrays seen as a Boost.Graph (a VertexListGraph and IncidenceGraph), so
// strong_components runs on them in place rather than on a copy of every edge.
struct BoostView {
  const DependencyGraph* graph;
};

struct BoostEdge {
  uint32_t source = 0;
  const GraphEdge* edge = nullptr;
  bool operator==(const BoostEdge& other) const { return edge == other.edge; }
  bool operator!=(const BoostEdge& other) const { return edge != other.edge; }
};

class BoostOutEdgeIterator
    : public boost::iterator_facade<BoostOutEdgeIterator, BoostEdge,
                                    std::random_access_iterator_tag, BoostEdge> {
 public:
  BoostOutEdgeIterator() = default;
  BoostOutEdgeIterator(uint32_t source, const GraphEdge* edge) : source_(source), edge_(edge) {}

 private:
  friend class boost::iterator_core_access;
  BoostEdge dereference() const { return {source_, edge_}; }
  bool equal(const BoostOutEdgeIterator& other) const { return edge_ == other.edge_; }
  void increment() { ++edge_; }
  void decrement() { --edge_; }
  void advance(std::ptrdiff_t n) { edge_ += n; }
  std::ptrdiff_t distance_to(const BoostOutEdgeIterator& other) const {
    return other.edge_ - edge_;
  }
  uint32_t source_ = 0;
  const GraphEdge* edge_ = nullptr;
};

}  // namespace faultline::txn

namespace boost {

template <>
struct graph_traits<faultline::txn::BoostView> {
  using vertex_descriptor = uint32_t;
  using edge_descriptor = faultline::txn::BoostEdge;
  using directed_category = directed_tag;
  using edge_parallel_category = allow_parallel_edge_tag;
  struct traversal_category : incidence_graph_tag, vertex_list_graph_tag {};
  using vertex_iterator = counting_iterator<uint32_t>;
  using out_edge_iterator = faultline::txn::BoostOutEdgeIterator;
  using vertices_size_type = uint32_t;
  using edges_size_type = size_t;
  using degree_size_type = size_t;
  static vertex_descriptor null_vertex() { return UINT32_MAX; }
};

template <>
struct property_map<faultline::txn::BoostView, vertex_index_t> {
  using type = typed_identity_property_map<uint32_t>;
  using const_type = type;
};

}  // namespace boost

namespace faultline::txn {

using BoostOutEdges = std::pair<BoostOutEdgeIterator, BoostOutEdgeIterator>;

BoostOutEdges out_edges(uint32_t node, const BoostView& view) {
  return {{node, view.graph->begin(node)}, {node, view.graph->end(node)}};
}
size_t out_degree(uint32_t node, const BoostView& view) {
  return static_cast<size_t>(view.graph->end(node) - view.graph->begin(node));
}
uint32_t source(const BoostEdge& edge, const BoostView&) { return edge.source; }
uint32_t target(const BoostEdge& edge, const BoostView&) { return edge.edge->to; }
std::pair<boost::counting_iterator<uint32_t>, boost::counting_iterator<uint32_t>> vertices(
    const BoostView& view) {
  return {boost::counting_iterator<uint32_t>(0),
          boost::counting_iterator<uint32_t>(view.graph->nodes())};
}
uint32_t num_vertices(const BoostView& view) { return view.graph->nodes(); }
boost::typed_identity_property_map<uint32_t> get(boost::vertex_index_t, const BoostView&) {
  return {};
}

const char* EdgeName(uint8_t bit) {
  switch (bit) {
    case kWW:
      return "ww";
    case kWR:
      return "wr";
    case kRW:
      return "rw";
    case kProcess:
      return "process";
    case kRealtime:
      return "realtime";
  }
  return "?";
}

namespace {

// Keeps the edges of one node's run that carry information: no duplicates, no process edge
// beside a data edge to the same target, no realtime edge beside either. Of duplicates, the one
// with the smallest witness stays, whatever order the edges were added in.
size_t CompactRun(GraphEdge* first, GraphEdge* last) {
  std::sort(first, last, [](const GraphEdge& a, const GraphEdge& b) {
    if (a.to != b.to) return a.to < b.to;
    if (a.bit != b.bit) return a.bit < b.bit;
    return a.key != b.key ? a.key < b.key : a.value < b.value;
  });
  GraphEdge* out = first;
  for (GraphEdge* group = first; group != last;) {
    GraphEdge* group_end = group;
    uint8_t bits = 0;
    while (group_end != last && group_end->to == group->to) bits |= (group_end++)->bit;
    for (GraphEdge* edge = group; edge != group_end; ++edge) {
      if (out != first && (out - 1)->to == edge->to && (out - 1)->bit == edge->bit) continue;
      if (edge->bit == kProcess && (bits & kDataBits)) continue;
      if (edge->bit == kRealtime && (bits & (kDataBits | kProcess))) continue;
      *out++ = *edge;
    }
    group = group_end;
  }
  return static_cast<size_t>(out - first);
}

}  // namespace

void DependencyGraph::Finish(size_t threads) {
  // Counting sort by source: linear, where a comparison sort of ten million edges is not.
  std::vector<uint64_t> counts(static_cast<size_t>(nodes_) + 1, 0);
  for (const EdgeBatch& batch : batches_) {
    for (const RawEdge& raw : batch.edges_) ++counts[raw.from + 1];
  }
  for (size_t i = 1; i < counts.size(); ++i) counts[i] += counts[i - 1];
  std::vector<GraphEdge> sorted(counts.back());
  std::vector<uint64_t> fill(counts.begin(), counts.end() - 1);
  for (EdgeBatch& batch : batches_) {
    for (const RawEdge& raw : batch.edges_) sorted[fill[raw.from]++] = raw.edge;
    std::vector<RawEdge>().swap(batch.edges_);
  }
  batches_.clear();
  std::vector<uint64_t>().swap(fill);
  // Each node's run is compacted where it lies (offsets_ first holds the kept counts), then the
  // runs are packed into edges_; both over ranges of nodes on separate threads.
  std::vector<size_t> bounds =
      SplitEvenly(nodes_, ThreadCount(threads), [&](size_t node) { return counts[node]; });
  offsets_.assign(static_cast<size_t>(nodes_) + 1, 0);
  RunParts(bounds.size() - 1, [&](size_t part) {
    for (size_t node = bounds[part]; node < bounds[part + 1]; ++node) {
      offsets_[node + 1] =
          CompactRun(sorted.data() + counts[node], sorted.data() + counts[node + 1]);
    }
  });
  for (size_t node = 1; node < offsets_.size(); ++node) offsets_[node] += offsets_[node - 1];
  edges_.resize(offsets_.back());
  RunParts(bounds.size() - 1, [&](size_t part) {
    for (size_t node = bounds[part]; node < bounds[part + 1]; ++node) {
      std::copy_n(sorted.begin() + static_cast<int64_t>(counts[node]),
                  offsets_[node + 1] - offsets_[node],
                  edges_.begin() + static_cast<int64_t>(offsets_[node]));
    }
  });
  data_edges_ = static_cast<size_t>(std::count_if(
      edges_.begin(), edges_.end(), [](const GraphEdge& e) { return (e.bit & kDataBits) != 0; }));
}

size_t DependencyGraph::Count(uint8_t bit) const {
  return static_cast<size_t>(std::count_if(edges_.begin(), edges_.end(),
                                           [bit](const GraphEdge& e) { return e.bit == bit; }));
}

std::vector<std::vector<uint32_t>> DependencyGraph::Components() const {
  std::vector<uint32_t> component(nodes_);
  uint32_t count = static_cast<uint32_t>(boost::strong_components(
      BoostView{this}, boost::make_iterator_property_map(
                           component.begin(), boost::typed_identity_property_map<uint32_t>())));
  std::vector<uint32_t> sizes(count, 0);
  for (uint32_t id : component) ++sizes[id];
  std::vector<int32_t> slot(count, -1);
  std::vector<std::vector<uint32_t>> components;
  for (uint32_t node = 0; node < nodes_; ++node) {
    uint32_t id = component[node];
    if (sizes[id] < 2) continue;
    if (slot[id] < 0) {
      slot[id] = static_cast<int32_t>(components.size());
      components.emplace_back();
    }
    components[static_cast<size_t>(slot[id])].push_back(node);
  }
  return components;
}

std::string CycleTypeName(CycleShape shape, CycleVariant variant) {
  static const char* const kNames[] = {"G0", "G1c", "G-single-item", "G-nonadjacent-item",
                                       "G2-item"};
  std::string name = kNames[static_cast<int>(shape)];
  if (variant == CycleVariant::kProcess) name += "-process";
  if (variant == CycleVariant::kRealtime) name += "-realtime";
  return name;
}

namespace {

// Automaton state bits along the path from the seed's target back to its source.
constexpr uint32_t kVariantUsed = 1;  // a process (realtime) edge has been used
constexpr uint32_t kLastRw = 2;       // the previous edge was rw
constexpr uint32_t kExtra = 4;        // G-nonadjacent: another rw seen; G2-item: adjacent rws
constexpr uint32_t kStates = 8;

uint8_t SeedBit(CycleShape shape) {
  switch (shape) {
    case CycleShape::kG0:
      return kWW;
    case CycleShape::kG1c:
      return kWR;
    default:
      return kRW;
  }
}

uint8_t PathBits(CycleShape shape, CycleVariant variant) {
  uint8_t bits = shape == CycleShape::kG0                                     ? kWW
                 : shape == CycleShape::kG1c || shape == CycleShape::kGSingle ? kWW | kWR
                                                                              : kDataBits;
  if (variant != CycleVariant::kPlain) bits |= kProcess;
  if (variant == CycleVariant::kRealtime) bits |= kRealtime;
  return bits;
}

// The state after taking an edge labelled `bit`, or -1 if the class forbids it.
int Step(CycleShape shape, CycleVariant variant, uint32_t state, uint8_t bit) {
  bool rw = bit == kRW;
  uint32_t next = state & kVariantUsed;
  if ((variant == CycleVariant::kProcess && bit == kProcess) ||
      (variant == CycleVariant::kRealtime && bit == kRealtime)) {
    next |= kVariantUsed;
  }
  if (shape == CycleShape::kGNonadjacent) {
    if (rw && (state & kLastRw)) return -1;
    next |= (state & kExtra) | (rw ? kExtra | kLastRw : 0);
  } else if (shape == CycleShape::kG2Item) {
    next |= (state & kExtra) | (rw && (state & kLastRw) ? kExtra : 0) | (rw ? kLastRw : 0);
  }
  return static_cast<int>(next);
}

bool Accepts(CycleShape shape, CycleVariant variant, uint32_t state) {
  if (variant != CycleVariant::kPlain && !(state & kVariantUsed)) return false;
  if (shape == CycleShape::kGNonadjacent) return !(state & kLastRw) && (state & kExtra);
  if (shape == CycleShape::kG2Item) return (state & kExtra) || (state & kLastRw);
  return true;
}

}  // namespace

CycleSearcher::CycleSearcher(const DependencyGraph& graph, size_t budget,
                             std::atomic<size_t>* spent)
    : graph_(graph), budget_(budget), spent_(spent), local_(graph.nodes(), -1) {}

void CycleSearcher::SetComponent(const std::vector<uint32_t>& nodes) {
  for (uint32_t node : members_) local_[node] = -1;
  members_ = nodes;
  for (size_t i = 0; i < nodes.size(); ++i) local_[nodes[i]] = static_cast<int32_t>(i);
  stamp_.assign(nodes.size() * kStates, 0);
  parent_.assign(nodes.size() * kStates, 0);
  generation_ = 0;
}

bool CycleSearcher::HasVariantEdges(CycleVariant variant) const {
  uint8_t bit = variant == CycleVariant::kProcess ? kProcess : kRealtime;
  for (uint32_t node : members_) {
    for (const GraphEdge* edge = graph_.begin(node); edge != graph_.end(node); ++edge) {
      if (edge->bit == bit && local_[edge->to] >= 0) return true;
    }
  }
  return false;
}

bool CycleSearcher::Find(CycleShape shape, CycleVariant variant, std::vector<CycleStepRef>* cycle) {
  uint8_t seed_bit = SeedBit(shape);
  for (uint32_t node : members_) {
    for (const GraphEdge* edge = graph_.begin(node); edge != graph_.end(node); ++edge) {
      if (edge->bit != seed_bit || local_[edge->to] < 0) continue;
      if (exhausted()) return false;
      if (Search(node, *edge, shape, variant, cycle)) return true;
    }
  }
  return false;
}

bool CycleSearcher::Search(uint32_t seed_from, const GraphEdge& seed, CycleShape shape,
                           CycleVariant variant, std::vector<CycleStepRef>* cycle) {
  if (++generation_ == 0) {  // wrapped: clear the stamps once every four billion searches
    std::fill(stamp_.begin(), stamp_.end(), 0);
    generation_ = 1;
  }
  const uint8_t allowed = PathBits(shape, variant);
  uint32_t start_state =
      (seed.bit == kRW && (shape == CycleShape::kGNonadjacent || shape == CycleShape::kG2Item))
          ? kLastRw
          : 0;
  auto index = [](int32_t local, uint32_t state) {
    return static_cast<uint32_t>(local) * kStates + state;
  };
  uint32_t start = index(local_[seed.to], start_state);
  std::vector<uint32_t> queue = {start};
  stamp_[start] = generation_;
  const GraphEdge* base = graph_.begin(0);
  for (size_t head = 0; head < queue.size(); ++head) {
    uint32_t current = queue[head];
    uint32_t node = members_[current / kStates];
    uint32_t state = current % kStates;
    for (const GraphEdge* edge = graph_.begin(node); edge != graph_.end(node); ++edge) {
      ++steps_;
      int32_t local = local_[edge->to];
      if (local < 0 || !(edge->bit & allowed)) continue;
      int next_state = Step(shape, variant, state, edge->bit);
      if (next_state < 0) continue;
      uint32_t next = index(local, static_cast<uint32_t>(next_state));
      if (stamp_[next] == generation_) continue;
      stamp_[next] = generation_;
      parent_[next] = (static_cast<uint64_t>(current) << 32) | static_cast<uint64_t>(edge - base);
      if (edge->to != seed_from) {
        queue.push_back(next);
        continue;
      }
      if (!Accepts(shape, variant, static_cast<uint32_t>(next_state))) continue;
      cycle->clear();
      for (uint32_t at = next; at != start;) {
        uint32_t previous = static_cast<uint32_t>(parent_[at] >> 32);
        const GraphEdge& step = base[parent_[at] & 0xffffffffu];
        cycle->push_back({members_[previous / kStates], step});
        at = previous;
      }
      cycle->push_back({seed_from, seed});
      std::reverse(cycle->begin(), cycle->end());
      return true;
    }
    if (exhausted()) return false;
  }
  return false;
}

}  // namespace faultline::txn
