// rw-register: a read returns one value, so the version order of a key comes only from outside
// knowledge: every key starts at nil, and optionally a transaction's read precedes its own write
// (wfr), each process sees versions in order (sequential), or realtime order implies version
// order (linearizable). Versions a transaction overwrote itself are not versions of the order.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "checker/txn/analysis.h"

namespace faultline::txn {
namespace {

constexpr uint32_t kNoTxn = UINT32_MAX;
enum Source : uint8_t { kInitial = 1, kWfr = 2, kSequential = 4, kLinearizable = 8 };

struct Write {
  uint32_t txn = kNoTxn;
  bool final = true;  // the writer's last write to the key
};

// What one committed transaction did to one key.
struct Touch {
  uint32_t txn;
  int32_t key;
  int32_t first;         // the first version it saw or made
  int32_t last;          // the last version it saw or made
  int32_t read = kNil;   // its external read, if has_read
  int32_t write = kNil;  // its final write, if has_write
  bool has_read = false;
  bool has_write = false;
};

struct KeyVersions {
  std::map<std::pair<int32_t, int32_t>, uint8_t> edges;  // a < b, and why
  std::set<int32_t> versions;
  std::set<int32_t> unwritten;  // read values nobody wrote
  bool nil_read = false;
  bool cyclic = false;
};

std::string SourceText(uint8_t sources) {
  if (sources & kWfr) return "a transaction read the first and then wrote the second";
  if (sources & kSequential) return "one process observed them in that order";
  if (sources & kLinearizable) return "one was seen or written before the other began";
  return "every key starts as nil";
}

class RwRegister : public WorkloadAnalysis {
 public:
  RwRegister(const Transactions& transactions, const TxnOptions& options)
      : t_(transactions), options_(options) {}

  void Analyze(DependencyGraph* graph, Findings* findings) override {
    CollectWrites();
    for (uint32_t txn = 0; txn < t_.txns.size(); ++txn) ScanTxn(txn, findings);
    for (const Touch& touch : touches_) CheckRead(touch, findings);
    InferVersions(findings);
    for (auto& [key, versions] : keys_) {
      AddInitialEdges(&versions);
      FindCycles(key, &versions, findings);
      AddEdges(key, versions, graph);
    }
    FindLostUpdates(findings);
  }

  std::string ExplainEdge(uint32_t from, const GraphEdge& edge, const std::string& a,
                          const std::string& b) const override {
    std::string key = t_.keys.Text(edge.key);
    std::string value = t_.values.Text(edge.value);
    if (edge.bit == kWR) return b + " read " + key + " = " + value + ", written by " + a;
    const Touch* touch = FindTouch(from, edge.key);
    int32_t before = !touch ? kNil : edge.bit == kWW ? touch->write : touch->read;
    auto found = keys_.at(edge.key).edges.find({before, edge.value});
    std::string why = found == keys_.at(edge.key).edges.end() ? "" : SourceText(found->second);
    std::string verb = edge.bit == kWW ? " wrote " : " read ";
    return a + verb + key + " = " + t_.values.Text(before) + ", a version before " + b +
           "'s write of " + value + " (" + why + ")";
  }

 private:
  void CollectWrites() {
    for (uint32_t txn = 0; txn < t_.txns.size(); ++txn) {
      const Txn& info = t_.txns[txn];
      for (const Mop* mop = t_.begin(info); mop != t_.end(info); ++mop) {
        if (mop->kind != MopKind::kWrite) continue;
        for (const Mop* earlier = t_.begin(info); earlier != mop; ++earlier) {
          if (earlier->kind == MopKind::kWrite && earlier->key == mop->key) {
            writes_[KeyValue(earlier->key, earlier->value)].final = false;
          }
        }
        writes_.try_emplace(KeyValue(mop->key, mop->value), Write{txn});
      }
    }
  }

  // Internal consistency, and one Touch per key the committed txn used.
  void ScanTxn(uint32_t txn, Findings* findings) {
    const Txn& info = t_.txns[txn];
    if (info.status != TxnStatus::kOk) return;
    std::unordered_map<int32_t, size_t> slot;
    size_t first_touch = touches_.size();
    for (const Mop* mop = t_.begin(info); mop != t_.end(info); ++mop) {
      auto [it, fresh] = slot.try_emplace(mop->key, touches_.size());
      if (fresh) touches_.push_back({txn, mop->key, mop->value, mop->value});
      Touch& touch = touches_[it->second];
      if (mop->kind == MopKind::kWrite) {
        touch.has_write = true;
        touch.write = touch.last = mop->value;
        continue;
      }
      if (fresh) {
        touch.has_read = true;
        touch.read = mop->value;
      } else if (mop->value != touch.last) {
        findings->Add("internal", {txn},
                      "T1 read " + t_.keys.Text(mop->key) + " = " + t_.values.Text(mop->value) +
                          " after its own earlier micro-ops left it at " +
                          t_.values.Text(touch.last),
                      {{"key", t_.keys.Value(mop->key)}});
      }
    }
    // A txn that writes first "saw" its final write, which follows any earlier version.
    for (size_t i = first_touch; i < touches_.size(); ++i) {
      if (!touches_[i].has_read) touches_[i].first = touches_[i].write;
    }
  }

  void CheckRead(const Touch& touch, Findings* findings) {
    KeyVersions& versions = keys_[touch.key];
    if (touch.has_write) versions.versions.insert(touch.write);
    if (!touch.has_read) return;
    std::string read = t_.keys.Text(touch.key) + " = " + t_.values.Text(touch.read);
    if (touch.read == kNil) {
      versions.nil_read = true;
      readers_[KeyValue(touch.key, kNil)].push_back(touch.txn);
      return;
    }
    auto found = writes_.find(KeyValue(touch.key, touch.read));
    if (found == writes_.end()) {
      versions.unwritten.insert(touch.read);
    } else if (found->second.txn == touch.txn) {
      findings->Add("future-read", {touch.txn}, "T1 read " + read + " before writing it itself");
      return;
    } else if (t_.txns[found->second.txn].status == TxnStatus::kFail) {
      findings->Add("G1a", {touch.txn, found->second.txn},
                    "T1 read " + read + ", written by T2, which aborted");
      return;
    } else if (!found->second.final) {
      findings->Add("G1b", {touch.txn, found->second.txn},
                    "T1 read " + read + ", an intermediate write of T2, which wrote " +
                        t_.keys.Text(touch.key) + " again later");
      return;
    }
    versions.versions.insert(touch.read);
    readers_[KeyValue(touch.key, touch.read)].push_back(touch.txn);
  }

  void AddVersionEdge(int32_t key, int32_t a, int32_t b, uint8_t source) {
    if (a == b) return;
    KeyVersions& versions = keys_[key];
    if (!versions.versions.count(a) || !versions.versions.count(b)) {
      if (a != kNil) return;  // a version that is not part of the order (aborted, intermediate)
    }
    versions.edges[{a, b}] |= source;
  }

  void InferVersions(Findings* findings) {
    for (const Touch& touch : touches_) {
      if (options_.wfr_keys && touch.has_read && touch.has_write) {
        AddVersionEdge(touch.key, touch.read, touch.write, kWfr);
      }
    }
    if (options_.sequential_keys) {
      std::map<std::pair<int64_t, int32_t>, int32_t> last;  // (process, key) -> version
      for (const Touch& touch : touches_) {
        auto [it, fresh] = last.try_emplace({t_.txns[touch.txn].process, touch.key}, touch.last);
        if (!fresh) AddVersionEdge(touch.key, it->second, touch.first, kSequential);
        it->second = touch.last;
      }
    }
    if (options_.linearizable_keys) InferLinearizable();
    FindGarbage(findings);
  }

  // Quadratic per key: an option for small, precise tests rather than for huge histories.
  void InferLinearizable() {
    std::unordered_map<int32_t, std::vector<const Touch*>> by_key;
    for (const Touch& touch : touches_) by_key[touch.key].push_back(&touch);
    for (auto& [key, touches] : by_key) {
      for (const Touch* before : touches) {
        for (const Touch* after : touches) {
          if (t_.txns[before->txn].complete_position < t_.txns[after->txn].invoke_position) {
            AddVersionEdge(key, before->last, after->first, kLinearizable);
          }
        }
      }
    }
  }

  // A read of a value nobody wrote is a garbage read unless the value can be the key's state
  // before the history began: only one such value per key, no read of nil (the initial state),
  // and nothing known to precede it.
  void FindGarbage(Findings* findings) {
    for (auto& [key, versions] : keys_) {
      for (int32_t value : versions.unwritten) {
        bool preceded = false;
        for (const auto& [edge, source] : versions.edges) {
          preceded = preceded || (edge.second == value && source != kInitial);
        }
        if (!versions.nil_read && versions.unwritten.size() == 1 && !preceded) continue;
        const auto& readers = readers_[KeyValue(key, value)];
        findings->Add("garbage-read", {readers.front()},
                      "T1 read " + t_.keys.Text(key) + " = " + t_.values.Text(value) +
                          ", a value no transaction wrote and that cannot be the initial state",
                      {{"key", t_.keys.Value(key)}, {"value", t_.values.Value(value)}});
      }
    }
  }

  static void AddInitialEdges(KeyVersions* versions) {
    std::set<int32_t> preceded;
    for (const auto& [edge, source] : versions->edges) preceded.insert(edge.second);
    for (int32_t version : versions->versions) {
      if (version != kNil && !preceded.count(version)) versions->edges[{kNil, version}] |= kInitial;
    }
  }

  // Kahn's algorithm over the key's versions: whatever cannot be ordered lies on or after a cycle.
  void FindCycles(int32_t key, KeyVersions* versions, Findings* findings) {
    std::map<int32_t, int> indegree;
    std::map<int32_t, std::vector<int32_t>> next;
    for (const auto& [edge, source] : versions->edges) {
      ++indegree[edge.second];
      indegree.try_emplace(edge.first, 0);
      next[edge.first].push_back(edge.second);
    }
    std::vector<int32_t> ready;
    for (const auto& [version, count] : indegree) {
      if (count == 0) ready.push_back(version);
    }
    while (!ready.empty()) {
      int32_t version = ready.back();
      ready.pop_back();
      indegree.erase(version);
      for (int32_t after : next[version]) {
        if (--indegree[after] == 0) ready.push_back(after);
      }
    }
    if (indegree.empty()) return;
    versions->cyclic = true;
    Json values = Json::array();
    std::string text;
    for (const auto& [version, count] : indegree) {
      values.push_back(version == kNil ? Json() : t_.values.Value(version));
      text += (text.empty() ? "" : ", ") + t_.values.Text(version);
    }
    findings->Add("cyclic-versions", {},
                  "the versions of " + t_.keys.Text(key) + " (" + text +
                      ") must each precede another in a cycle, so no version order exists",
                  {{"key", t_.keys.Value(key)}, {"versions", values}});
  }

  uint32_t FinalWriter(int32_t key, int32_t value) const {
    auto found = writes_.find(KeyValue(key, value));
    if (found == writes_.end() || !found->second.final) return kNoTxn;
    if (t_.txns[found->second.txn].status == TxnStatus::kFail) return kNoTxn;
    return found->second.txn;
  }

  void AddEdges(int32_t key, const KeyVersions& versions, DependencyGraph* graph) {
    static const std::vector<uint32_t> kNone;
    auto readers_of = [&](int32_t value) -> const std::vector<uint32_t>& {
      auto found = readers_.find(KeyValue(key, value));
      return found == readers_.end() ? kNone : found->second;
    };
    for (int32_t version : versions.versions) {
      uint32_t writer = FinalWriter(key, version);
      if (writer == kNoTxn) continue;
      for (uint32_t reader : readers_of(version)) graph->Add(writer, reader, kWR, key, version);
    }
    if (versions.cyclic) return;  // reads still say who wrote what; the order is unknown
    for (const auto& [edge, source] : versions.edges) {
      uint32_t later = FinalWriter(key, edge.second);
      if (later == kNoTxn) continue;
      uint32_t earlier = edge.first == kNil ? kNoTxn : FinalWriter(key, edge.first);
      if (earlier != kNoTxn) graph->Add(earlier, later, kWW, key, edge.second);
      for (uint32_t reader : readers_of(edge.first)) {
        graph->Add(reader, later, kRW, key, edge.second);
      }
    }
  }

  void FindLostUpdates(Findings* findings) {
    std::map<std::pair<int32_t, int32_t>, std::vector<uint32_t>> by_version;
    for (const Touch& touch : touches_) {
      if (touch.has_read && touch.has_write)
        by_version[{touch.key, touch.read}].push_back(touch.txn);
    }
    for (const auto& [version, txns] : by_version) {
      if (txns.size() < 2) continue;
      findings->Add("lost-update", txns,
                    std::to_string(txns.size()) + " transactions read " +
                        t_.keys.Text(version.first) + " = " + t_.values.Text(version.second) +
                        " and each wrote it: all but one update was lost",
                    {{"key", t_.keys.Value(version.first)}});
    }
  }

  const Touch* FindTouch(uint32_t txn, int32_t key) const {
    for (const Touch& touch : touches_) {
      if (touch.txn == txn && touch.key == key) return &touch;
    }
    return nullptr;
  }

  const Transactions& t_;
  const TxnOptions& options_;
  std::unordered_map<uint64_t, Write> writes_;
  std::vector<Touch> touches_;
  std::map<int32_t, KeyVersions> keys_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> readers_;
};

}  // namespace

std::unique_ptr<WorkloadAnalysis> MakeRwRegisterAnalysis(const Transactions& transactions,
                                                         const TxnOptions& options) {
  return std::make_unique<RwRegister>(transactions, options);
}

}  // namespace faultline::txn
