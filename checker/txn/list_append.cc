// List-append: every read returns a whole list, so each key's version order is its longest read
// (all other reads must be prefixes of it); appends no read observed come after that prefix in
// an unknown order.
//
// Everything here is per key, so the micro-ops are first bucketed by key (a counting sort, in
// transaction order), and contiguous ranges of keys go to separate threads. Within a key, values
// are looked up in a flat table indexed by value id (values are interned densely), reset after
// each key: no hashing, no per-element allocation. Each thread keeps its own findings and edges;
// they are merged in key order, so the result does not depend on the thread count.
#include <algorithm>

#include "checker/txn/analysis.h"
#include "checker/txn/parallel.h"

namespace faultline::txn {
namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr uint32_t kNoTxn = UINT32_MAX;

// A micro-op that touches a key: every transaction's appends, ok transactions' reads.
struct Touch {
  uint32_t txn;
  uint32_t mop;  // index in Transactions::mops
};

struct Append {
  uint32_t txn = kNoTxn;
  uint32_t mop = 0;
  bool final = true;      // every such append is its writer's last append to the key
  int32_t position = -1;  // index in the key's longest read; -1: not observed
};

// A key's first read in an ok transaction (before the transaction appends to it).
struct ExternalRead {
  uint32_t txn;
  uint32_t mop;
  bool appends;  // the transaction also appends to the key
};

// One thread's scratch space and results while it works through its keys.
struct KeyWork {
  KeyWork(size_t values, size_t examples)
      : slot(values, kNone), seen(values, 0), findings(examples) {}
  std::vector<uint32_t> slot;  // value -> index in `appends` for the key at hand, else kNone
  std::vector<uint32_t> seen;  // value -> stamp, for removing duplicates
  uint32_t stamp = 0;
  std::vector<Append> appends;  // the key's appends, first of each value, in transaction order
  std::vector<ExternalRead> reads;
  std::vector<uint32_t> writers;  // of the key's order
  std::vector<int32_t> unobserved;
  std::vector<int32_t> expected;
  std::vector<int32_t> unique;
  Findings findings;
  EdgeBatch edges;
};

class ListAppend : public WorkloadAnalysis {
 public:
  ListAppend(const Transactions& transactions, size_t threads)
      : t_(transactions), threads_(ThreadCount(threads)) {}

  void Analyze(DependencyGraph* graph, Findings* findings) override {
    BucketByKey();
    orders_.resize(t_.keys.size());
    std::vector<size_t> bounds =
        SplitEvenly(t_.keys.size(), threads_, [this](size_t key) { return key_offsets_[key]; });
    std::vector<KeyWork> work;
    for (size_t part = 0; part + 1 < bounds.size(); ++part) {
      work.emplace_back(t_.values.size(), findings->examples_per_type());
    }
    RunParts(work.size(), [&](size_t part) {
      for (size_t key = bounds[part]; key < bounds[part + 1]; ++key) {
        AnalyzeKey(static_cast<int32_t>(key), &work[part]);
      }
    });
    for (KeyWork& part : work) {
      findings->Merge(std::move(part.findings));
      graph->Absorb(std::move(part.edges));
    }
    std::vector<Touch>().swap(touches_);
    std::vector<uint32_t>().swap(key_offsets_);
  }

  std::string ExplainEdge(uint32_t from, const GraphEdge& edge, const std::string& a,
                          const std::string& b) const override {
    std::string key = t_.keys.Text(edge.key);
    std::string value = t_.values.Text(edge.value);
    if (edge.bit == kWR) return b + " read " + a + "'s append of " + value + " to " + key;
    const std::vector<int32_t>& order = orders_[static_cast<size_t>(edge.key)];
    auto found = std::find(order.begin(), order.end(), edge.value);
    bool observed = found != order.end();
    if (edge.bit == kWW) {
      if (observed && found != order.begin()) {
        std::string previous = t_.values.Text(*(found - 1));
        return a + " appended " + previous + " to " + key + " right before " + b + " appended " +
               value + " (as reads of " + key + " show)";
      }
      return b + "'s append of " + value + " to " + key +
             " was never read, so it follows every observed element, including " + a +
             "'s append of " + t_.values.Text(order.back());
    }
    (void)from;
    if (observed) {
      return a + " read " + key + " without " + b + "'s append of " + value +
             ", the element that follows the last one " + a + " saw";
    }
    return a + " read " + key + " without " + b + "'s append of " + value +
           ", which no read observed and so follows everything " + a + " saw";
  }

 private:
  // touches_ holds every key's touches, key_offsets_ where each key's begin (CSR form).
  void BucketByKey() {
    key_offsets_.assign(t_.keys.size() + 1, 0);
    auto wanted = [](const Txn& txn, const Mop& mop) {
      return mop.kind == MopKind::kAppend ||
             (mop.kind == MopKind::kRead && txn.status == TxnStatus::kOk);
    };
    for (const Txn& txn : t_.txns) {
      for (const Mop* mop = t_.begin(txn); mop != t_.end(txn); ++mop) {
        if (wanted(txn, *mop)) ++key_offsets_[static_cast<size_t>(mop->key) + 1];
      }
    }
    for (size_t key = 1; key < key_offsets_.size(); ++key) {
      key_offsets_[key] += key_offsets_[key - 1];
    }
    touches_.resize(key_offsets_.back());
    std::vector<uint32_t> fill(key_offsets_.begin(), key_offsets_.end() - 1);
    for (uint32_t txn = 0; txn < t_.txns.size(); ++txn) {
      const Txn& info = t_.txns[txn];
      for (uint32_t m = info.mop_begin; m < info.mop_begin + info.mop_count; ++m) {
        const Mop& mop = t_.mops[m];
        if (wanted(info, mop)) touches_[fill[static_cast<size_t>(mop.key)]++] = {txn, m};
      }
    }
  }

  void AnalyzeKey(int32_t key, KeyWork* w) {
    const Touch* begin = touches_.data() + key_offsets_[static_cast<size_t>(key)];
    const Touch* end = touches_.data() + key_offsets_[static_cast<size_t>(key) + 1];
    if (begin == end) return;
    CollectAppends(begin, end, w);
    ScanReads(begin, end, w);
    std::vector<int32_t>& order = orders_[static_cast<size_t>(key)];
    BuildOrder(&order, w);
    AddEdges(key, order, w);
    FindLostUpdates(key, w);
    for (const Append& append : w->appends) w->slot[Value(append)] = kNone;
    w->appends.clear();
    w->reads.clear();
  }

  // The end of the run of touches by the same transaction as `begin`.
  static const Touch* TxnEnd(const Touch* begin, const Touch* end) {
    const Touch* next = begin;
    while (next != end && next->txn == begin->txn) ++next;
    return next;
  }

  void CollectAppends(const Touch* begin, const Touch* end, KeyWork* w) {
    for (const Touch* group = begin; group != end;) {
      const Touch* group_end = TxnEnd(group, end);
      const Touch* last = nullptr;  // the transaction's last append to the key
      for (const Touch* touch = group; touch != group_end; ++touch) {
        if (t_.mops[touch->mop].kind == MopKind::kAppend) last = touch;
      }
      for (const Touch* touch = group; touch != group_end; ++touch) {
        const Mop& mop = t_.mops[touch->mop];
        if (mop.kind != MopKind::kAppend) continue;
        uint32_t& slot = w->slot[static_cast<size_t>(mop.value)];
        if (slot == kNone) {
          slot = static_cast<uint32_t>(w->appends.size());
          w->appends.push_back({touch->txn, touch->mop, touch == last, -1});
          continue;
        }
        Append& first = w->appends[slot];
        first.final = first.final && touch == last;
        if (first.txn != touch->txn) {
          w->findings.Add("duplicate-appends", {first.txn, touch->txn},
                          "two transactions appended " + t_.values.Text(mop.value) + " to " +
                              t_.keys.Text(mop.key) + "; values must be unique per key");
        }
      }
      group = group_end;
    }
  }

  // Internal consistency of reads after the transaction's own earlier micro-ops on the key, and
  // the external reads (a transaction's first micro-op on the key, a read).
  void ScanReads(const Touch* begin, const Touch* end, KeyWork* w) {
    for (const Touch* group = begin; group != end;) {
      const Touch* group_end = TxnEnd(group, end);
      if (t_.txns[group->txn].status == TxnStatus::kOk) ScanTxn(group, group_end, w);
      group = group_end;
    }
  }

  void ScanTxn(const Touch* begin, const Touch* end, KeyWork* w) {
    bool appends = std::any_of(begin, end, [&](const Touch& touch) {
      return t_.mops[touch.mop].kind == MopKind::kAppend;
    });
    bool known = false;  // `expected` is the whole list (after a read), not just a suffix
    w->expected.clear();
    for (const Touch* touch = begin; touch != end; ++touch) {
      const Mop& mop = t_.mops[touch->mop];
      if (mop.kind == MopKind::kAppend) {
        w->expected.push_back(mop.value);
        continue;
      }
      if (touch == begin) {
        w->reads.push_back({touch->txn, touch->mop, appends});
      } else if (!CheckInternal(touch->txn, mop, w->expected, known, &w->findings) &&
                 mop.list_size > 0) {
        // Even a read at odds with its own txn shows whose append it saw last.
        int32_t last = Elements(mop)[mop.list_size - 1];
        uint32_t writer = Writer(last, *w);
        if (!Aborted(writer)) w->edges.Add(writer, touch->txn, kWR, mop.key, last);
      }
      w->expected.assign(Elements(mop), Elements(mop) + mop.list_size);
      known = true;
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
  size_t Value(const Append& append) const {
    return static_cast<size_t>(t_.mops[append.mop].value);
  }

  // The read's elements with duplicates removed into w->unique (reporting them); false if it has
  // none.
  bool Deduplicate(const ExternalRead& read, KeyWork* w) {
    const Mop& mop = t_.mops[read.mop];
    if (++w->stamp == 0) {  // wrapped: clear the stamps once every four billion reads
      std::fill(w->seen.begin(), w->seen.end(), 0);
      w->stamp = 1;
    }
    w->unique.clear();
    for (uint32_t i = 0; i < mop.list_size; ++i) {
      int32_t element = Elements(mop)[i];
      uint32_t& seen = w->seen[static_cast<size_t>(element)];
      if (seen != w->stamp) w->unique.push_back(element);
      seen = w->stamp;
    }
    if (w->unique.size() == mop.list_size) return false;
    w->findings.Add("duplicate-elements", {read.txn},
                    "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                        ", which holds some element twice",
                    {{"key", t_.keys.Value(mop.key)}});
    return true;
  }

  void BuildOrder(std::vector<int32_t>* order, KeyWork* w) {
    const ExternalRead* longest = nullptr;
    for (const ExternalRead& read : w->reads) {
      if (!longest || t_.mops[read.mop].list_size > t_.mops[longest->mop].list_size) {
        longest = &read;
      }
    }
    if (longest) {
      const Mop& mop = t_.mops[longest->mop];
      order->assign(Elements(mop), Elements(mop) + mop.list_size);
      if (Deduplicate(*longest, w)) *order = w->unique;
    }
    for (size_t i = 0; i < order->size(); ++i) {
      uint32_t slot = w->slot[static_cast<size_t>((*order)[i])];
      if (slot != kNone) w->appends[slot].position = static_cast<int32_t>(i);
    }
    w->unobserved.clear();
    for (const Append& append : w->appends) {
      if (append.position < 0 && t_.txns[append.txn].status == TxnStatus::kOk) {
        w->unobserved.push_back(static_cast<int32_t>(Value(append)));
      }
    }
    std::sort(w->unobserved.begin(), w->unobserved.end());
  }

  // Whether `read` is a prefix of the key's order; reports it when not.
  bool Compatible(const std::vector<int32_t>& order, const ExternalRead& read, KeyWork* w) {
    const Mop& mop = t_.mops[read.mop];
    const int32_t* elements = Elements(mop);
    if (mop.list_size <= order.size() &&
        std::equal(elements, elements + mop.list_size, order.begin())) {
      return true;
    }
    if (Deduplicate(read, w) && w->unique.size() <= order.size() &&
        std::equal(w->unique.begin(), w->unique.end(), order.begin())) {
      return false;
    }
    std::string longest = "[";
    for (size_t i = 0; i < order.size(); ++i) {
      longest += (i ? " " : "") + t_.values.Text(order[i]);
    }
    w->findings.Add("incompatible-order", {read.txn},
                    "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                        ", which is not a prefix of another read, " + longest +
                        "]: the two cannot come from one history of appends",
                    {{"key", t_.keys.Value(mop.key)}});
    return false;
  }

  void CheckReadValues(const ExternalRead& read, KeyWork* w) {
    const Mop& mop = t_.mops[read.mop];
    for (uint32_t i = 0; i < mop.list_size; ++i) {
      int32_t value = Elements(mop)[i];
      uint32_t slot = w->slot[static_cast<size_t>(value)];
      if (slot == kNone) {
        w->findings.Add("garbage-read", {read.txn},
                        "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                            ", but no transaction appended " + t_.values.Text(value) + " to " +
                            t_.keys.Text(mop.key));
        continue;
      }
      const Append& append = w->appends[slot];
      if (append.txn == read.txn) {
        w->findings.Add("future-read", {read.txn},
                        "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                            " before its own append of " + t_.values.Text(value));
      } else if (t_.txns[append.txn].status == TxnStatus::kFail) {
        w->findings.Add("G1a", {read.txn, append.txn},
                        "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                            ", including " + t_.values.Text(value) +
                            ", appended by T2, which aborted");
      } else if (i + 1 == mop.list_size && !append.final) {
        w->findings.Add("G1b", {read.txn, append.txn},
                        "T1 read " + t_.keys.Text(mop.key) + " = " + DescribeRead(t_, mop) +
                            ", ending with " + t_.values.Text(value) +
                            ", an intermediate append of T2, which appended to " +
                            t_.keys.Text(mop.key) + " again later");
      }
    }
  }

  static uint32_t Writer(int32_t value, const KeyWork& w) {
    uint32_t slot = w.slot[static_cast<size_t>(value)];
    return slot == kNone ? kNoTxn : w.appends[slot].txn;
  }

  bool Aborted(uint32_t txn) const {
    return txn == kNoTxn || t_.txns[txn].status == TxnStatus::kFail;
  }

  void AddEdges(int32_t key, const std::vector<int32_t>& order, KeyWork* w) {
    std::vector<uint32_t>& writers = w->writers;
    writers.resize(order.size());
    for (size_t i = 0; i < order.size(); ++i) writers[i] = Writer(order[i], *w);
    for (size_t i = 1; i < writers.size(); ++i) {
      if (Aborted(writers[i - 1]) && !Aborted(writers[i])) {
        w->findings.Add("dirty-update", {writers[i]},
                        "T1 appended " + t_.values.Text(order[i]) + " to " + t_.keys.Text(key) +
                            " on top of " + t_.values.Text(order[i - 1]) +
                            ", an append that was aborted or never happened");
      }
      if (!Aborted(writers[i - 1]) && !Aborted(writers[i])) {
        w->edges.Add(writers[i - 1], writers[i], kWW, key, order[i]);
      }
    }
    uint32_t last = writers.empty() ? kNoTxn : writers.back();
    for (int32_t value : w->unobserved) {
      if (!Aborted(last)) w->edges.Add(last, Writer(value, *w), kWW, key, value);
    }
    for (const ExternalRead& read : w->reads) {
      CheckReadValues(read, w);
      if (!Compatible(order, read, w)) continue;
      const Mop& mop = t_.mops[read.mop];
      if (mop.list_size > 0 && !Aborted(writers[mop.list_size - 1])) {
        w->edges.Add(writers[mop.list_size - 1], read.txn, kWR, key, order[mop.list_size - 1]);
      }
      if (mop.list_size < writers.size()) {
        if (!Aborted(writers[mop.list_size])) {
          w->edges.Add(read.txn, writers[mop.list_size], kRW, key, order[mop.list_size]);
        }
        continue;
      }
      for (int32_t value : w->unobserved) {
        w->edges.Add(read.txn, Writer(value, *w), kRW, key, value);
      }
    }
  }

  // Two committed transactions that read the same version of a key and both appended to it.
  void FindLostUpdates(int32_t key, KeyWork* w) {
    std::vector<std::pair<uint32_t, uint32_t>> by_version;  // (length read, txn)
    for (const ExternalRead& read : w->reads) {
      if (read.appends) by_version.emplace_back(t_.mops[read.mop].list_size, read.txn);
    }
    if (by_version.size() < 2) return;
    std::sort(by_version.begin(), by_version.end());
    for (size_t group = 0; group < by_version.size();) {
      size_t group_end = group;
      std::vector<uint32_t> txns;
      while (group_end < by_version.size() &&
             by_version[group_end].first == by_version[group].first) {
        txns.push_back(by_version[group_end++].second);
      }
      if (txns.size() >= 2) {
        w->findings.Add("lost-update", txns,
                        std::to_string(txns.size()) + " transactions read the same version of " +
                            t_.keys.Text(key) + " (" + std::to_string(by_version[group].first) +
                            " elements) and each appended to it: all but one update was lost",
                        {{"key", t_.keys.Value(key)}});
      }
      group = group_end;
    }
  }

  const Transactions& t_;
  size_t threads_;
  std::vector<Touch> touches_;
  std::vector<uint32_t> key_offsets_;
  std::vector<std::vector<int32_t>> orders_;  // by key: the longest read, duplicates removed
};

}  // namespace

std::unique_ptr<WorkloadAnalysis> MakeListAppendAnalysis(const Transactions& transactions,
                                                         size_t threads) {
  return std::make_unique<ListAppend>(transactions, threads);
}

}  // namespace faultline::txn
