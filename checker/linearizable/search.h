// The search of one partition: Wing & Gong's backtracking over the history's call/return events,
// with Lowe's cache of visited configurations (set of linearized ops + model state).
//
// Events sit in a doubly linked list in history order. An op is "lifted" (unlinked) when it is
// linearized and put back when the search backtracks. An op whose outcome is unknown (info or
// pending) has a call event but no return event: it may be linearized at any point after its
// invoke or never, so the search succeeds once every op with a known outcome is linearized.
// Used by one thread; the budget's counters are shared with the other partitions' searches.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "checker/linearizable/interner.h"

namespace faultline::linearizable {

// Limits shared by every partition of one check.
struct Budget {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  size_t memory_limit_bytes = 0;
  std::atomic<size_t> memory_used_bytes{0};
  std::atomic<bool> stop{false};  // set when a partition is invalid or a limit is hit
};

enum class SearchOutcome { kLinearizable, kNotLinearizable, kTimeLimit, kMemoryLimit, kStopped };

struct SearchResult {
  SearchOutcome outcome = SearchOutcome::kLinearizable;
  std::vector<int32_t> longest_prefix;  // op ids, in linearization order
  int32_t blocking_op = -1;             // the op that could not be linearized after that prefix
  size_t configurations = 0;            // cache entries made
};

// One op of a partition as the search sees it: its call, and where its events sit in history
// order (return_position < 0: outcome unknown, no return event).
template <class Call>
struct SearchOp {
  Call call;
  int64_t call_position;
  int64_t return_position;
};

// Open-addressing set of (linearized bitset, state) configurations. Bitsets live in one arena.
template <class Model>
class ConfigurationCache {
 public:
  using State = typename Model::State;

  ConfigurationCache(const Model& model, size_t words, Budget& budget)
      : model_(model), words_(words), budget_(budget) {
    slots_.assign(1024, 0);
  }
  ~ConfigurationCache() { budget_.memory_used_bytes.fetch_sub(reserved_bytes_); }

  // Inserts the configuration; false if it was already present. Sets *over_budget when the
  // shared memory limit would be exceeded (the configuration is then not stored).
  bool Insert(const uint64_t* bits, uint64_t bits_hash, const State& state, bool* over_budget) {
    uint64_t hash = Mix64(bits_hash ^ model_.Hash(state));
    size_t mask = slots_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      uint32_t entry = slots_[slot];
      if (entry == 0) break;
      if (hashes_[entry - 1] == hash && Equal(entry - 1, bits, state)) return false;
    }
    size_t bytes = words_ * 8 + sizeof(State) + model_.HeapBytes(state) + 16;
    if (!Reserve(bytes)) {
      *over_budget = true;
      return false;
    }
    hashes_.push_back(hash);
    states_.push_back(state);
    arena_.insert(arena_.end(), bits, bits + words_);
    Place(static_cast<uint32_t>(hashes_.size()), hash);
    if (hashes_.size() * 2 > slots_.size()) Grow();
    return true;
  }
  size_t size() const { return hashes_.size(); }

 private:
  bool Equal(size_t entry, const uint64_t* bits, const State& state) const {
    const uint64_t* stored = arena_.data() + entry * words_;
    for (size_t word = 0; word < words_; ++word) {
      if (stored[word] != bits[word]) return false;
    }
    return states_[entry] == state;
  }
  void Place(uint32_t entry, uint64_t hash) {
    size_t mask = slots_.size() - 1;
    size_t slot = hash & mask;
    while (slots_[slot] != 0) slot = (slot + 1) & mask;
    slots_[slot] = entry;
  }
  void Grow() {
    size_t extra = slots_.size() * sizeof(uint32_t);
    Reserve(extra);  // slot growth is accounted but never refused: entries were already paid for
    slots_.assign(slots_.size() * 2, 0);
    for (uint32_t entry = 1; entry <= hashes_.size(); ++entry) Place(entry, hashes_[entry - 1]);
  }
  bool Reserve(size_t bytes) {
    size_t used = budget_.memory_used_bytes.fetch_add(bytes) + bytes;
    if (budget_.memory_limit_bytes != 0 && used > budget_.memory_limit_bytes) {
      budget_.memory_used_bytes.fetch_sub(bytes);
      return false;
    }
    reserved_bytes_ += bytes;
    return true;
  }

  const Model& model_;
  size_t words_;
  Budget& budget_;
  size_t reserved_bytes_ = 0;
  std::vector<uint32_t> slots_;  // entry + 1; 0 = empty
  std::vector<uint64_t> hashes_;
  std::vector<State> states_;
  std::vector<uint64_t> arena_;
};

template <class Model>
class Search {
 public:
  using State = typename Model::State;
  using Call = typename Model::Call;

  Search(const Model& model, const std::vector<SearchOp<Call>>& ops, State initial, Budget& budget)
      : model_(model), ops_(ops), initial_(std::move(initial)), budget_(budget) {}

  SearchResult Run();

 private:
  // Event node i: 2*op is the op's call, 2*op+1 its return. Node kHead starts the list.
  static constexpr int32_t kNone = -1;
  int32_t Op(int32_t node) const { return node >> 1; }
  bool IsCall(int32_t node) const { return (node & 1) == 0; }
  bool HasReturn(int32_t op) const { return ops_[op].return_position >= 0; }
  void BuildList();
  void Lift(int32_t op);
  void Unlift(int32_t op);
  void Unlink(int32_t node);
  void Relink(int32_t node);
  bool OverTime();

  const Model& model_;
  const std::vector<SearchOp<Call>>& ops_;
  State initial_;
  Budget& budget_;
  std::vector<int32_t> next_, previous_;  // indexed by node + 1 (slot 0 is the head)
  std::vector<uint64_t> zobrist_;
  uint64_t checks_ = 0;
};

template <class Model>
void Search<Model>::BuildList() {
  struct Event {
    int64_t position;
    int32_t node;
  };
  std::vector<Event> events;
  events.reserve(ops_.size() * 2);
  for (int32_t op = 0; op < static_cast<int32_t>(ops_.size()); ++op) {
    events.push_back({ops_[op].call_position, 2 * op});
    if (HasReturn(op)) events.push_back({ops_[op].return_position, 2 * op + 1});
  }
  std::sort(events.begin(), events.end(),
            [](const Event& a, const Event& b) { return a.position < b.position; });
  next_.assign(ops_.size() * 2 + 1, kNone);
  previous_.assign(ops_.size() * 2 + 1, kNone);
  int32_t last = kNone;  // kNone doubles as the head's node number
  for (const Event& event : events) {
    next_[last + 1] = event.node;
    previous_[event.node + 1] = last;
    last = event.node;
  }
}

template <class Model>
void Search<Model>::Unlink(int32_t node) {
  int32_t before = previous_[node + 1];
  int32_t after = next_[node + 1];
  next_[before + 1] = after;
  if (after != kNone) previous_[after + 1] = before;
}

template <class Model>
void Search<Model>::Relink(int32_t node) {
  int32_t before = previous_[node + 1];
  int32_t after = next_[node + 1];
  next_[before + 1] = node;
  if (after != kNone) previous_[after + 1] = node;
}

template <class Model>
void Search<Model>::Lift(int32_t op) {
  Unlink(2 * op);
  if (HasReturn(op)) Unlink(2 * op + 1);
}

template <class Model>
void Search<Model>::Unlift(int32_t op) {
  if (HasReturn(op)) Relink(2 * op + 1);
  Relink(2 * op);
}

template <class Model>
bool Search<Model>::OverTime() {
  if ((++checks_ & 1023) != 0) return false;
  return std::chrono::steady_clock::now() > budget_.deadline;
}

template <class Model>
SearchResult Search<Model>::Run() {
  SearchResult result;
  int32_t op_count = static_cast<int32_t>(ops_.size());
  int64_t remaining_known = 0;
  for (int32_t op = 0; op < op_count; ++op) remaining_known += HasReturn(op) ? 1 : 0;
  BuildList();
  zobrist_.resize(ops_.size());
  for (int32_t op = 0; op < op_count; ++op) zobrist_[op] = Mix64(0x1234567ULL + op);

  size_t words = (ops_.size() + 63) / 64;
  std::vector<uint64_t> bits(words, 0);
  uint64_t bits_hash = 0;
  ConfigurationCache<Model> cache(model_, words, budget_);
  struct Frame {
    int32_t op;
    State state_before;
  };
  std::vector<Frame> stack;
  size_t unchanged_depth = 0;  // stack[0, unchanged_depth) still equals longest_prefix's start
  State state = initial_;
  State next_state = initial_;
  int32_t node = next_[0];

  while (remaining_known > 0) {
    if (OverTime()) {
      result.outcome = SearchOutcome::kTimeLimit;
      break;
    }
    if ((checks_ & 1023) == 0 && budget_.stop.load(std::memory_order_relaxed)) {
      result.outcome = SearchOutcome::kStopped;
      break;
    }
    if (IsCall(node)) {
      int32_t op = Op(node);
      if (model_.Step(state, ops_[op].call, &next_state)) {
        bits[op >> 6] |= uint64_t{1} << (op & 63);
        bits_hash ^= zobrist_[op];
        bool over_budget = false;
        if (cache.Insert(bits.data(), bits_hash, next_state, &over_budget)) {
          stack.push_back({op, std::move(state)});
          state = std::move(next_state);
          Lift(op);
          remaining_known -= HasReturn(op) ? 1 : 0;
          node = next_[0];
          continue;
        }
        if (over_budget) {
          result.outcome = SearchOutcome::kMemoryLimit;
          break;
        }
        bits[op >> 6] &= ~(uint64_t{1} << (op & 63));
        bits_hash ^= zobrist_[op];
      }
      node = next_[node + 1];
      continue;
    }
    // A return event of an op not yet linearized: it must be placed before this point, so undo.
    // A new deepest prefix is recorded first; only the part of the stack that changed since the
    // last record is copied, so recording costs no more than the pushes that built it.
    if (stack.size() > result.longest_prefix.size() || result.blocking_op < 0) {
      result.longest_prefix.resize(unchanged_depth);
      for (size_t i = unchanged_depth; i < stack.size(); ++i) {
        result.longest_prefix.push_back(stack[i].op);
      }
      unchanged_depth = stack.size();
      result.blocking_op = Op(node);
    }
    if (stack.empty()) {
      result.outcome = SearchOutcome::kNotLinearizable;
      break;
    }
    Frame frame = std::move(stack.back());
    stack.pop_back();
    unchanged_depth = std::min(unchanged_depth, stack.size());
    state = std::move(frame.state_before);
    bits[frame.op >> 6] &= ~(uint64_t{1} << (frame.op & 63));
    bits_hash ^= zobrist_[frame.op];
    Unlift(frame.op);
    remaining_known += HasReturn(frame.op) ? 1 : 0;
    node = next_[2 * frame.op + 1];
  }
  result.configurations = cache.size();
  if (remaining_known == 0) {
    result.outcome = SearchOutcome::kLinearizable;
    result.longest_prefix.clear();
    for (const Frame& frame : stack) result.longest_prefix.push_back(frame.op);
    result.blocking_op = -1;
  }
  return result;
}

}  // namespace faultline::linearizable
