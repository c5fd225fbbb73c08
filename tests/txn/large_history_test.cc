// Large generated list-append histories (50,000 transactions from a strictly serializable store,
// as bench_txn makes them) with a few anomalies injected in the middle: the checker finds exactly
// the anomaly types it found before its data structures were made fast and parallel (recorded
// from the straightforward implementation of commit 8aadb44), with any number of threads.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "checker/txn/txn.h"

namespace faultline {
namespace {

Op MakeOp(OpType type, int64_t process, Json value) {
  Op op;
  op.type = type;
  op.process = process;
  op.f = "txn";
  op.value = std::move(value);
  return op;
}

// A serial store over a window of 32 active keys (a key retired after 16 appends); 10
// transactions in flight over 100 processes, each applied at its completion.
History Generate(size_t txns, uint32_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::vector<int64_t>> lists(32);
  std::vector<int64_t> window;
  for (int64_t key = 0; key < 32; ++key) window.push_back(key);
  struct Slot {
    int64_t process = -1;
    Json txn;
  };
  std::vector<Slot> slots(10);
  History history;
  int64_t next_value = 1, next_process = 0;
  size_t started = 0, in_flight = 0;
  while (started < txns || in_flight > 0) {
    Slot& slot = slots[random() % slots.size()];
    if (slot.process < 0) {
      if (started == txns) continue;
      ++started;
      ++in_flight;
      slot.process = next_process++ % 100;
      slot.txn = Json::array();
      for (int m = 0; m < 4; ++m) {
        int64_t key = window[random() % window.size()];
        if (random() % 2) {
          slot.txn.push_back({"append", key, next_value++});
        } else {
          slot.txn.push_back({"r", key, nullptr});
        }
      }
      history.ops.push_back(MakeOp(OpType::kInvoke, slot.process, slot.txn));
      continue;
    }
    for (Json& mop : slot.txn) {
      std::vector<int64_t>& list = lists[static_cast<size_t>(mop[1].get<int64_t>())];
      if (mop[0] == "append") {
        list.push_back(mop[2].get<int64_t>());
      } else {
        mop[2] = list;
      }
    }
    history.ops.push_back(MakeOp(OpType::kOk, slot.process, slot.txn));
    for (int64_t& key : window) {
      if (lists[static_cast<size_t>(key)].size() >= 16) {
        key = static_cast<int64_t>(lists.size());
        lists.emplace_back();
      }
    }
    slot.process = -1;
    --in_flight;
  }
  for (size_t i = 0; i < history.ops.size(); ++i) history.ops[i].index = static_cast<int64_t>(i);
  return history;
}

// Two concurrent transactions on fresh keys and processes, inserted at `position`: the first
// appends to a and b, the second reads a empty but sees the append to b (G-single: one
// anti-dependency); then two that each read the other's append (G1c).
// `salt` makes the keys, values and processes of separate injections distinct.
void Inject(History* history, size_t position, int64_t salt = 0) {
  const int64_t a = 1'000'000'000 + 4 * salt, b = a + 1, c = a + 2, d = a + 3;
  const int64_t v = 2'000'000'000 + 4 * salt;
  Json writer = Json::array({{"append", a, v}, {"append", b, v + 1}});
  Json reader_invoke = Json::array({{"r", a, nullptr}, {"r", b, nullptr}});
  Json reader = Json::array({{"r", a, Json::array()}, {"r", b, {v + 1}}});
  Json left_invoke = Json::array({{"append", c, v + 2}, {"r", d, nullptr}});
  Json left = Json::array({{"append", c, v + 2}, {"r", d, {v + 3}}});
  Json right_invoke = Json::array({{"append", d, v + 3}, {"r", c, nullptr}});
  Json right = Json::array({{"append", d, v + 3}, {"r", c, {v + 2}}});
  std::vector<Op> ops = {MakeOp(OpType::kInvoke, 1000, writer),
                         MakeOp(OpType::kInvoke, 1001, reader_invoke),
                         MakeOp(OpType::kOk, 1000, writer),
                         MakeOp(OpType::kOk, 1001, reader),
                         MakeOp(OpType::kInvoke, 1002, left_invoke),
                         MakeOp(OpType::kInvoke, 1003, right_invoke),
                         MakeOp(OpType::kOk, 1002, left),
                         MakeOp(OpType::kOk, 1003, right)};
  history->ops.insert(history->ops.begin() + static_cast<int64_t>(position), ops.begin(),
                      ops.end());
  for (size_t i = 0; i < history->ops.size(); ++i) history->ops[i].index = static_cast<int64_t>(i);
}

// Drops the last element of the first non-empty read completed after `position` whose writer
// completed before the read was invoked: a stale read, an anti-dependency against realtime order.
void MakeStaleRead(History* history, size_t position) {
  std::map<std::pair<int64_t, int64_t>, size_t> completed;  // (key, value) -> ok position
  std::vector<size_t> invoked_at(100, 0);
  for (size_t i = 0; i < history->ops.size(); ++i) {
    Op& op = history->ops[i];
    if (op.process >= 100) continue;
    if (op.is_invoke()) {
      invoked_at[static_cast<size_t>(op.process)] = i;
      continue;
    }
    for (Json& mop : op.value) {
      if (mop[0] == "append") {
        completed[{mop[1].get<int64_t>(), mop[2].get<int64_t>()}] = i;
        continue;
      }
      if (i < position || mop[2].empty()) continue;
      auto writer = completed.find({mop[1].get<int64_t>(), mop[2].back().get<int64_t>()});
      if (writer->second >= invoked_at[static_cast<size_t>(op.process)]) continue;
      if (&mop != &op.value[0]) continue;  // a read of the store, not of the txn's own appends
      mop[2].erase(mop[2].end() - 1);
      return;
    }
  }
  FAIL() << "no read to make stale";
}

TEST(TxnLargeHistory, GeneratedHistoryIsValid) {
  History history = Generate(50'000, 3);
  for (size_t threads : {1, 2}) {
    TxnOptions options;
    options.threads = threads;
    Result<TxnResult> result = CheckTransactions(history, options);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->verdict, Verdict::kValid) << result->ToText();
    EXPECT_EQ(result->transactions, 50'000u);
    EXPECT_TRUE(result->found_types.empty()) << result->ToText();
    EXPECT_EQ(result->edges, 400624u);
  }
}

TEST(TxnLargeHistory, InjectedCyclesAreFoundWithTheirTypes) {
  History history = Generate(50'000, 4);
  Inject(&history, history.ops.size() / 2);
  std::string one_thread;  // the whole report: examples and explanations too
  for (size_t threads : {1, 2, 3}) {
    TxnOptions options;
    options.threads = threads;
    Result<TxnResult> result = CheckTransactions(history, options);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->verdict, Verdict::kInvalid);
    EXPECT_EQ(result->anomaly_types, (std::vector<std::string>{"G-single-item", "G1c"}))
        << result->ToText();
    EXPECT_EQ(result->found_types, result->anomaly_types);
    EXPECT_EQ(result->largest_component, 2u);
    EXPECT_EQ(result->edges, 400493u);
    if (threads == 1) one_thread = result->ToText();
    EXPECT_EQ(result->ToText(), one_thread) << threads << " threads";
  }
}

// With a budget too small to search everything, the verdict is unknown or invalid exactly as on
// one thread: running out of budget must not make the outcome depend on thread timing.
TEST(TxnLargeHistory, AnExhaustedBudgetGivesTheOneThreadResult) {
  History history = Generate(20'000, 6);
  Inject(&history, history.ops.size() / 3);
  Inject(&history, history.ops.size() * 2 / 3, 1);
  MakeStaleRead(&history, history.ops.size() / 2);
  for (size_t budget : {1, 3, 7, 12, 40, 200, 0}) {
    std::vector<std::string> expected;
    for (size_t threads : {1, 2, 4}) {
      TxnOptions options;
      options.threads = threads;
      options.search_budget = budget;
      Result<TxnResult> result = CheckTransactions(history, options);
      ASSERT_TRUE(result.ok()) << result.status().message();
      std::vector<std::string> outcome = result->found_types;
      outcome.push_back(std::string(ToString(result->verdict)) + ": " + result->reason);
      outcome.push_back(std::to_string(result->search_steps) + " steps");
      if (threads == 1) expected = outcome;
      EXPECT_EQ(outcome, expected) << "budget " << budget << ", threads " << threads;
    }
  }
}

TEST(TxnLargeHistory, AStaleReadIsFoundAgainstRealtimeOrder) {
  History history = Generate(50'000, 5);
  MakeStaleRead(&history, history.ops.size() / 2);
  for (size_t threads : {1, 2}) {
    TxnOptions options;
    options.threads = threads;
    Result<TxnResult> result = CheckTransactions(history, options);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->verdict, Verdict::kInvalid);
    EXPECT_EQ(result->anomaly_types,
              (std::vector<std::string>{"G-nonadjacent-item-realtime", "G-single-item-realtime",
                                        "G2-item-realtime"}))
        << result->ToText();
    EXPECT_EQ(result->largest_component, 6u);
    EXPECT_EQ(result->edges, 400491u);
  }
}

}  // namespace
}  // namespace faultline
