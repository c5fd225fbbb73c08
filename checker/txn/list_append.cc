// List-append: every read returns a whole list, so each key's version order is its longest read
// (all other reads must be prefixes of it); appends no read observed come after that prefix in
// an unknown order.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "checker/txn/analysis.h"

namespace faultline::txn {
namespace {

constexpr uint32_t kNoTxn = UINT32_MAX;

struct Append {
  uint32_t txn = kNoTxn;
  uint32_t mop = 0;       // index in Transactions::mops
  bool final = true;      // the writer's last append to this key
  int32_t position = -1;  // index in the key's longest read; -1: not observed
};

struct ExternalRead {
  uint32_t txn;
  uint32_t mop;
};

struct KeyOrder {
  std::vector<int32_t> order;       // the longest read, duplicates removed
  std::vector<int32_t> unobserved;  // committed appends no read saw
  std::vector<ExternalRead> reads;
  std::vector<int32_t> appended;  // every value appended to the key
};

class ListAppend : public WorkloadAnalysis {
 public:
  explicit ListAppend(const Transactions& transactions) : t_(transactions) {}

  void Analyze(DependencyGraph* graph, Findings* findings) override {
    CollectAppends(findings);
    for (uint32_t txn = 0; txn < t_.txns.size(); ++txn) ScanTxn(txn, graph, findings);
    for (auto& [key, order] : keys_) {
      BuildOrder(key, &order, findings);
      AddEdges(key, order, graph, findings);
      FindLostUpdates(key, order, findings);
    }
  }

  std::string ExplainEdge(uint32_t from, const GraphEdge& edge, const std::string& a,
                          const std::string& b) const override {
    std::string key = t_.keys.Text(edge.key);
    std::string value = t_.values.Text(edge.value);
    if (edge.bit == kWR) return b + " read " + a + "'s append of " + value + " to " + key;
    const KeyOrder& order = keys_.at(edge.key);
    const Append& append = appends_.at(KeyValue(edge.key, edge.value));
    if (edge.bit == kWW) {
      if (append.position > 0) {
        std::string previous = t_.values.Text(order.order[append.position - 1]);
        return a + " appended " + previous + " to " + key + " right before " + b + " appended " +
               value + " (as reads of " + key + " show)";
      }
      return b + "'s append of " + value + " to " + key +
             " was never read, so it follows every observed element, including " + a +
             "'s append of " + t_.values.Text(order.order.back());
    }
    (void)from;
    if (append.position >= 0) {
      return a + " read " + key + " without " + b + "'s append of " + value +
             ", the element that follows the last one " + a + " saw";
    }
    return a + " read " + key + " without " + b + "'s append of " + value +
           ", which no read observed and so follows everything " + a + " saw";
  }

 private:
  void CollectAppends(Findings* findings) {
    for (uint32_t txn = 0; txn < t_.txns.size(); ++txn) {
      const Txn& info = t_.txns[txn];
      for (uint32_t m = info.mop_begin; m < info.mop_begin + info.mop_count; ++m) {
        const Mop& mop = t_.mops[m];
        if (mop.kind != MopKind::kAppend) continue;
        auto [it, inserted] = appends_.try_emplace(KeyValue(mop.key, mop.value), Append{txn, m});
        if (!inserted && it->second.txn != txn) {
          findings->Add("duplicate-appends", {it->second.txn, txn},
                        "two transactions appended " + t_.values.Text(mop.value) + " to " +
                            t_.keys.Text(mop.key) + "; values must be unique per key");
        }
        if (inserted) keys_[mop.key].appended.push_back(mop.value);
        // The previous append of this key by this txn is no longer its last.
        for (uint32_t p = info.mop_begin; p < m; ++p) {
          const Mop& earlier = t_.mops[p];
          if (earlier.kind == MopKind::kAppend && earlier.key == mop.key) {
            appends_[KeyValue(earlier.key, earlier.value)].final = false;
          }
        }
      }
    }
  }

  // Internal consistency, and the external reads (a key's first read, before the txn appends).
  void ScanTxn(uint32_t txn, DependencyGraph* graph, Findings* findings) {
    const Txn& info = t_.txns[txn];
    if (info.status != TxnStatus::kOk) return;
    for (uint32_t m = info.mop_begin; m < info.mop_begin + info.mop_count; ++m) {
      const Mop& mop = t_.mops[m];
      if (mop.kind != MopKind::kRead) continue;
      std::vector<int32_t> expected;
      bool known = false;
      bool prior = false;
      for (uint32_t p = info.mop_begin; p < m; ++p) {
        const Mop& earlier = t_.mops[p];
        if (earlier.key != mop.key) continue;
        prior = true;
        if (earlier.kind == MopKind::kRead) {
          expected.assign(Elements(earlier), Elements(earlier) + earlier.list_size);
          known = true;
        } else {
          expected.push_back(earlier.value);
        }
      }
      if (!prior) {
        keys_[mop.key].reads.push_back({txn, m});
        continue;
      }
      if (CheckInternal(txn, mop, expected, known, findings) || mop.list_size == 0) continue;
      // Even a read at odds with its own txn shows whose append it saw last.
      int32_t last = Elements(mop)[mop.list_size - 1];
      auto writer = appends_.find(KeyValue(mop.key, last));
      if (writer != appends_.end() && t_.txns[writer->second.txn].status != TxnStatus::kFail) {
        graph->Add(writer->second.txn, txn, kWR, mop.key, last);
      }
    }
  }

  bool CheckInternal(uint32_t txn, const Mop& mop, const std::vector<int32_t>& expected, bool known,
                     Findings* findings) {
    const int32_t* read = Elements(mop);
    bool consistent = known
                          ? std::equal(expected.begin(), expected.end(), read, read + mop.list_size)
                          : mop.list_size >= expected.size() &&
                                std::equal(expected.begin(), expected.end(),
                                           read + mop.list_size - expected.size());
    if (consistent) return true;
    std::string shown = known ? "" : "... ";
    for (size_t i = 0; i < expected.size(); ++i) {
      shown += (i ? " " : "") + t_.values.Text(expected[i]);
    }
    findings->Add("internal", {txn},
                  "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                      ", but its own earlier micro-ops imply [" + shown + "]",
                  {{"key", t_.keys.Value(mop.key)}, {"expected", "[" + shown + "]"}});
    return false;
  }

  const int32_t* Elements(const Mop& mop) const { return t_.elements.data() + mop.list_begin; }

  // The read's elements with duplicates removed (reporting them), or empty if it has none.
  bool Deduplicate(const ExternalRead& read, std::vector<int32_t>* out, Findings* findings) {
    const Mop& mop = t_.mops[read.mop];
    std::unordered_set<int32_t> seen;
    out->clear();
    for (uint32_t i = 0; i < mop.list_size; ++i) {
      if (seen.insert(Elements(mop)[i]).second) out->push_back(Elements(mop)[i]);
    }
    if (out->size() == mop.list_size) return false;
    findings->Add("duplicate-elements", {read.txn},
                  "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                      ", which holds some element twice",
                  {{"key", t_.keys.Value(mop.key)}});
    return true;
  }

  void BuildOrder(int32_t key, KeyOrder* order, Findings* findings) {
    const ExternalRead* longest = nullptr;
    for (const ExternalRead& read : order->reads) {
      if (!longest || t_.mops[read.mop].list_size > t_.mops[longest->mop].list_size) {
        longest = &read;
      }
    }
    if (longest) {
      const Mop& mop = t_.mops[longest->mop];
      order->order.assign(Elements(mop), Elements(mop) + mop.list_size);
      std::vector<int32_t> unique;
      if (Deduplicate(*longest, &unique, findings)) order->order = unique;
    }
    for (size_t i = 0; i < order->order.size(); ++i) {
      auto found = appends_.find(KeyValue(key, order->order[i]));
      if (found != appends_.end()) found->second.position = static_cast<int32_t>(i);
    }
    for (int32_t value : order->appended) {
      const Append& append = appends_.at(KeyValue(key, value));
      if (append.position < 0 && t_.txns[append.txn].status == TxnStatus::kOk) {
        order->unobserved.push_back(value);
      }
    }
    std::sort(order->unobserved.begin(), order->unobserved.end());
  }

  // Whether `read` is a prefix of the key's order; reports it when not.
  bool Compatible(const KeyOrder& order, const ExternalRead& read, Findings* findings) {
    const Mop& mop = t_.mops[read.mop];
    const int32_t* elements = Elements(mop);
    if (mop.list_size <= order.order.size() &&
        std::equal(elements, elements + mop.list_size, order.order.begin())) {
      return true;
    }
    std::vector<int32_t> unique;
    if (Deduplicate(read, &unique, findings) && unique.size() <= order.order.size() &&
        std::equal(unique.begin(), unique.end(), order.order.begin())) {
      return false;
    }
    std::string longest = "[";
    for (size_t i = 0; i < order.order.size(); ++i) {
      longest += (i ? " " : "") + t_.values.Text(order.order[i]);
    }
    findings->Add("incompatible-order", {read.txn},
                  "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                      ", which is not a prefix of another read, " + longest +
                      "]: the two cannot come from one history of appends",
                  {{"key", t_.keys.Value(mop.key)}});
    return false;
  }

  void CheckReadValues(const ExternalRead& read, Findings* findings) {
    const Mop& mop = t_.mops[read.mop];
    std::string key = t_.keys.Text(mop.key);
    for (uint32_t i = 0; i < mop.list_size; ++i) {
      int32_t value = Elements(mop)[i];
      std::string text = t_.values.Text(value);
      auto found = appends_.find(KeyValue(mop.key, value));
      if (found == appends_.end()) {
        findings->Add("garbage-read", {read.txn},
                      "T1 read " + key + " = " + DescribeRead(t_, mop) + ", but no transaction " +
                          "appended " + text + " to " + key);
        continue;
      }
      const Append& append = found->second;
      if (append.txn == read.txn) {
        findings->Add(
            "future-read", {read.txn},
            "T1 read " + key + " = " + DescribeRead(t_, mop) + " before its own append of " + text);
      } else if (t_.txns[append.txn].status == TxnStatus::kFail) {
        findings->Add("G1a", {read.txn, append.txn},
                      "T1 read " + key + " = " + DescribeRead(t_, mop) + ", including " + text +
                          ", appended by T2, which aborted");
      } else if (i + 1 == mop.list_size && !append.final) {
        findings->Add("G1b", {read.txn, append.txn},
                      "T1 read " + key + " = " + DescribeRead(t_, mop) + ", ending with " + text +
                          ", an intermediate append of T2, which appended to " + key +
                          " again later");
      }
    }
  }

  uint32_t Writer(int32_t key, int32_t value) const {
    auto found = appends_.find(KeyValue(key, value));
    return found == appends_.end() ? kNoTxn : found->second.txn;
  }

  bool Aborted(uint32_t txn) const {
    return txn == kNoTxn || t_.txns[txn].status == TxnStatus::kFail;
  }

  void AddEdges(int32_t key, const KeyOrder& order, DependencyGraph* graph, Findings* findings) {
    std::vector<uint32_t> writers(order.order.size());
    for (size_t i = 0; i < order.order.size(); ++i) writers[i] = Writer(key, order.order[i]);
    for (size_t i = 1; i < writers.size(); ++i) {
      if (Aborted(writers[i - 1]) && !Aborted(writers[i])) {
        findings->Add("dirty-update", {writers[i]},
                      "T1 appended " + t_.values.Text(order.order[i]) + " to " + t_.keys.Text(key) +
                          " on top of " + t_.values.Text(order.order[i - 1]) +
                          ", an append that was aborted or never happened");
      }
      if (!Aborted(writers[i - 1]) && !Aborted(writers[i])) {
        graph->Add(writers[i - 1], writers[i], kWW, key, order.order[i]);
      }
    }
    uint32_t last = writers.empty() ? kNoTxn : writers.back();
    for (int32_t value : order.unobserved) {
      if (!Aborted(last)) graph->Add(last, Writer(key, value), kWW, key, value);
    }
    for (const ExternalRead& read : order.reads) {
      CheckReadValues(read, findings);
      if (!Compatible(order, read, findings)) continue;
      const Mop& mop = t_.mops[read.mop];
      if (mop.list_size > 0 && !Aborted(writers[mop.list_size - 1])) {
        graph->Add(writers[mop.list_size - 1], read.txn, kWR, key, order.order[mop.list_size - 1]);
      }
      if (mop.list_size < writers.size()) {
        if (!Aborted(writers[mop.list_size])) {
          graph->Add(read.txn, writers[mop.list_size], kRW, key, order.order[mop.list_size]);
        }
        continue;
      }
      for (int32_t value : order.unobserved) {
        graph->Add(read.txn, Writer(key, value), kRW, key, value);
      }
    }
  }

  // Two committed transactions that read the same version of a key and both appended to it.
  void FindLostUpdates(int32_t key, const KeyOrder& order, Findings* findings) {
    std::unordered_map<uint32_t, std::vector<uint32_t>> by_version;
    for (const ExternalRead& read : order.reads) {
      const Txn& txn = t_.txns[read.txn];
      bool appends = false;
      for (const Mop* mop = t_.begin(txn); mop != t_.end(txn); ++mop) {
        appends = appends || (mop->kind == MopKind::kAppend && mop->key == key);
      }
      if (appends) by_version[t_.mops[read.mop].list_size].push_back(read.txn);
    }
    for (auto& [length, txns] : by_version) {
      if (txns.size() < 2) continue;
      std::sort(txns.begin(), txns.end());
      findings->Add("lost-update", txns,
                    std::to_string(txns.size()) + " transactions read the same version of " +
                        t_.keys.Text(key) + " (" + std::to_string(length) +
                        " elements) and each appended to it: all but one update was lost",
                    {{"key", t_.keys.Value(key)}});
    }
  }

  const Transactions& t_;
  std::unordered_map<uint64_t, Append> appends_;
  std::unordered_map<int32_t, KeyOrder> keys_;
};

}  // namespace

std::unique_ptr<WorkloadAnalysis> MakeListAppendAnalysis(const Transactions& transactions) {
  return std::make_unique<ListAppend>(transactions);
}

}  // namespace faultline::txn
