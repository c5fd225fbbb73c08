// Property tests: histories of a strictly serializable in-memory store (random transactions,
// several clients in flight, each transaction taking effect at one instant between its invoke and
// its completion) are valid under strict-serializable; the same histories with one read made to
// miss an append that completed before the read began are invalid.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "checker/txn/txn.h"

namespace faultline {
namespace {

struct Generated {
  History history;
  // For each ok read with a non-empty result: its op position, micro-op position, and whether
  // the writer of its last element completed before the read was invoked.
  std::vector<std::tuple<size_t, size_t, bool>> reads;
};

Op MakeOp(OpType type, int64_t process, Json value, int64_t index) {
  Op op;
  op.type = type;
  op.process = process;
  op.f = "txn";
  op.value = std::move(value);
  op.index = index;
  return op;
}

Generated SerialHistory(uint32_t seed, int transactions, int clients, int keys) {
  std::mt19937 random(seed);
  std::map<int, std::vector<int>> store;
  std::map<std::pair<int, int>, size_t> completed_at;  // (key, value) -> writer's ok position
  std::map<std::pair<int, int>, int> writer_client;
  struct Client {
    bool busy = false, applied = false;
    Json txn;
    size_t invoked = 0;
  };
  std::vector<Client> state(static_cast<size_t>(clients));
  Generated out;
  int started = 0, next_value = 1;
  auto emit = [&](OpType type, int client, Json value) {
    out.history.ops.push_back(
        MakeOp(type, client, std::move(value), static_cast<int64_t>(out.history.ops.size())));
  };
  while (started < transactions ||
         std::any_of(state.begin(), state.end(), [](const Client& c) { return c.busy; })) {
    int c = static_cast<int>(random() % static_cast<unsigned>(clients));
    Client& client = state[static_cast<size_t>(c)];
    if (!client.busy) {
      if (started == transactions) continue;
      ++started;
      client = {true, false, Json::array(), out.history.ops.size()};
      for (int m = 0, n = 1 + static_cast<int>(random() % 4); m < n; ++m) {
        int key = static_cast<int>(random() % static_cast<unsigned>(keys));
        if (random() % 2) {
          client.txn.push_back({"append", key, next_value++});
        } else {
          client.txn.push_back({"r", key, nullptr});
        }
      }
      emit(OpType::kInvoke, c, client.txn);
    } else if (!client.applied) {  // the transaction's instant
      for (Json& mop : client.txn) {
        std::vector<int>& list = store[mop[1].get<int>()];
        if (mop[0] == "append") {
          list.push_back(mop[2].get<int>());
        } else {
          mop[2] = list;
        }
      }
      client.applied = true;
    } else {
      size_t position = out.history.ops.size();
      for (size_t m = 0; m < client.txn.size(); ++m) {
        const Json& mop = client.txn[m];
        if (mop[0] == "append") {
          completed_at[{mop[1].get<int>(), mop[2].get<int>()}] = position;
        } else if (!mop[2].empty()) {
          auto writer = completed_at.find({mop[1].get<int>(), mop[2].back().get<int>()});
          bool before = writer != completed_at.end() && writer->second < client.invoked;
          out.reads.emplace_back(position, m, before);
        }
      }
      emit(OpType::kOk, c, client.txn);
      client.busy = false;
    }
  }
  return out;
}

TEST(TxnProperty, SerialExecutionsAreStrictSerializable) {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    Generated generated = SerialHistory(seed, 300, 5, 6);
    Result<TxnResult> result = CheckTransactions(generated.history);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->verdict, Verdict::kValid) << "seed " << seed << "\n" << result->ToText();
    EXPECT_EQ(result->strongest_models, std::vector<std::string>{"strict-serializable"});
  }
}

TEST(TxnProperty, AReadMissingACompletedAppendIsFound) {
  int checked = 0;
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    Generated generated = SerialHistory(seed, 300, 5, 6);
    std::mt19937 random(seed);
    std::vector<std::tuple<size_t, size_t, bool>> candidates;
    for (const auto& read : generated.reads) {
      if (std::get<2>(read)) candidates.push_back(read);
    }
    if (candidates.empty()) continue;
    auto [position, mop, before] = candidates[random() % candidates.size()];
    Json& list = generated.history.ops[position].value[mop][2];
    list.erase(list.end() - 1);
    Result<TxnResult> result = CheckTransactions(generated.history);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->verdict, Verdict::kInvalid) << "seed " << seed << "\n" << result->ToText();
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(TxnProperty, ADuplicatedElementIsFoundAndRulesOutReadUncommitted) {
  Generated generated = SerialHistory(7, 200, 4, 4);
  // The first micro-op of its txn, so the read is of the store, not of the txn's own appends.
  auto first = std::find_if(generated.reads.begin(), generated.reads.end(),
                            [](const auto& read) { return std::get<1>(read) == 0; });
  ASSERT_NE(first, generated.reads.end());
  auto [position, mop, before] = *first;
  Json& list = generated.history.ops[position].value[mop][2];
  list.push_back(list.front());
  Result<TxnResult> result = CheckTransactions(generated.history);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->verdict, Verdict::kInvalid);
  EXPECT_NE(
      std::find(result->anomaly_types.begin(), result->anomaly_types.end(), "duplicate-elements"),
      result->anomaly_types.end());
  EXPECT_EQ(result->not_models, std::vector<std::string>{"read-uncommitted"});
}

TEST(TxnProperty, UnknownModelIsAnError) {
  TxnOptions options;
  options.consistency_models = {"serialisable"};
  EXPECT_FALSE(CheckTransactions(History{}, options).ok());
}

}  // namespace
}  // namespace faultline
