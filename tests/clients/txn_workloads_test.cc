// The transactional and session workload generators under the simulator: transaction lengths,
// unique increasing values per key, key retirement, key distributions, determinism, validation.
#include "clients/workloads/txn_workloads.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "generators/combinators.h"
#include "generators/simulator.h"

namespace faultline::workloads {
namespace {

using Maker = Result<gen::GenPtr> (*)(const TxnWorkloadOptions&);

std::vector<Op> Invocations(Maker make, const TxnWorkloadOptions& options, uint64_t seed,
                            int64_t ops = 2000, bool nemesis = false) {
  Result<gen::GenPtr> generator = make(options);
  EXPECT_TRUE(generator.ok()) << generator.status().ToString();
  gen::SimulationOptions simulation;
  simulation.concurrency = 5;
  simulation.seed = seed;
  simulation.max_ops = ops;
  simulation.nemesis = nemesis;
  return gen::Invocations(gen::Simulate(*generator, simulation, gen::AlwaysOk(1000)));
}

// Every micro-op of every invocation, in invocation order.
std::vector<Json> MicroOps(const std::vector<Op>& invocations) {
  std::vector<Json> mops;
  for (const Op& op : invocations) {
    EXPECT_EQ(op.f, "txn");
    EXPECT_TRUE(op.value.is_array());
    for (const Json& mop : op.value) mops.push_back(mop);
  }
  return mops;
}

TEST(TxnWorkloads, TransactionLengthsSpanTheRange) {
  TxnWorkloadOptions options;
  options.min_txn_length = 2;
  options.max_txn_length = 5;
  std::set<size_t> lengths;
  for (const Op& op : Invocations(ListAppendGenerator, options, 1)) lengths.insert(op.value.size());
  EXPECT_EQ(lengths, (std::set<size_t>{2, 3, 4, 5}));
}

TEST(TxnWorkloads, MicroOpsHaveElleShapes) {
  for (auto [make, write] : {std::pair<Maker, std::string>{ListAppendGenerator, "append"},
                             std::pair<Maker, std::string>{RwRegisterGenerator, "w"}}) {
    std::map<std::string, int> counts;
    for (const Json& mop : MicroOps(Invocations(make, TxnWorkloadOptions{}, 2))) {
      ASSERT_EQ(mop.size(), 3u) << mop;
      std::string f = mop[0];
      ++counts[f];
      EXPECT_TRUE(mop[1].is_number_integer()) << mop;
      if (f == "r") EXPECT_TRUE(mop[2].is_null()) << mop;
      if (f == write) EXPECT_TRUE(mop[2].is_number_integer()) << mop;
    }
    EXPECT_EQ(counts.size(), 2u) << write;  // reads and writes only
    EXPECT_GT(counts["r"], 1000);
    EXPECT_GT(counts[write], 1000);
  }
}

// Values per key are 1, 2, 3, ... in invocation order: unique, and never past the retirement.
TEST(TxnWorkloads, ValuesAreUniqueAndIncreasingPerKey) {
  TxnWorkloadOptions options;
  options.max_writes_per_key = 7;
  std::map<int64_t, int64_t> last;
  for (const Json& mop : MicroOps(Invocations(ListAppendGenerator, options, 3))) {
    if (mop[0] != "append") continue;
    int64_t key = mop[1];
    int64_t value = mop[2];
    EXPECT_EQ(value, last[key] + 1) << "key " << key;
    EXPECT_LE(value, 7) << "key " << key;
    last[key] = value;
  }
}

// A key retires after max_writes_per_key writes; a fresh key (the next unused one) replaces it,
// so the keys in use are 0..N, and only key_count of them are ever active at once.
TEST(TxnWorkloads, KeysRetireAndFreshKeysReplaceThem) {
  TxnWorkloadOptions options;
  options.key_count = 4;
  options.max_writes_per_key = 5;
  std::map<int64_t, int> writes;
  std::set<int64_t> active;
  std::set<int64_t> retired;
  for (const Json& mop : MicroOps(Invocations(RwRegisterGenerator, options, 4))) {
    int64_t key = mop[1];
    EXPECT_FALSE(retired.count(key)) << "key " << key << " used after it retired";
    active.insert(key);
    EXPECT_LE(active.size(), 4u);
    if (mop[0] == "w" && ++writes[key] == 5) {
      retired.insert(key);
      active.erase(key);
    }
  }
  EXPECT_GT(retired.size(), 50u);
  int64_t expected = 0;
  for (const auto& [key, count] : writes) EXPECT_EQ(key, expected++);  // no key skipped
}

// With no retirement, key k is slot k: the share of micro-ops per key follows the distribution.
std::vector<double> KeyShares(const std::string& distribution) {
  TxnWorkloadOptions options;
  options.key_count = 10;
  options.max_writes_per_key = 1'000'000;
  options.key_distribution = distribution;
  std::vector<double> shares(10, 0);
  std::vector<Json> mops = MicroOps(Invocations(ListAppendGenerator, options, 5, 8000));
  for (const Json& mop : mops) shares.at(mop[1].get<int64_t>()) += 1.0 / mops.size();
  return shares;
}

TEST(TxnWorkloads, UniformDistribution) {
  for (double share : KeyShares("uniform")) EXPECT_NEAR(share, 0.1, 0.02);
}

TEST(TxnWorkloads, ExponentialDistributionHalvesPerKey) {
  std::vector<double> shares = KeyShares("exponential");
  EXPECT_NEAR(shares[0], 0.5, 0.03);
  EXPECT_NEAR(shares[1], 0.25, 0.03);
  EXPECT_NEAR(shares[2], 0.125, 0.02);
  EXPECT_LT(shares[9], 0.01);
}

TEST(TxnWorkloads, ZipfDistributionFallsAsOneOverRank) {
  std::vector<double> shares = KeyShares("zipf");
  double harmonic = 0;
  for (int rank = 1; rank <= 10; ++rank) harmonic += 1.0 / rank;
  for (int key = 0; key < 10; ++key) EXPECT_NEAR(shares[key], 1.0 / (key + 1) / harmonic, 0.025);
}

TEST(TxnWorkloads, SameSeedSameOpsOtherSeedOther) {
  for (Maker make : {ListAppendGenerator, RwRegisterGenerator, SessionGenerator}) {
    std::vector<Op> first = Invocations(make, TxnWorkloadOptions{}, 9, 500);
    std::vector<Op> again = Invocations(make, TxnWorkloadOptions{}, 9, 500);
    std::vector<Op> other = Invocations(make, TxnWorkloadOptions{}, 10, 500);
    ASSERT_EQ(first.size(), 500u);
    bool differs = false;
    for (size_t position = 0; position < first.size(); ++position) {
      EXPECT_EQ(first[position].value, again[position].value);
      EXPECT_EQ(first[position].process, again[position].process);
      differs = differs || first[position].value != other[position].value;
    }
    EXPECT_TRUE(differs);
  }
}

// An unrouted generator still never hands a transaction to the nemesis thread.
TEST(TxnWorkloads, NeverUsesTheNemesisThread) {
  for (const Op& op : Invocations(ListAppendGenerator, TxnWorkloadOptions{}, 11, 500, true)) {
    EXPECT_GE(op.process, 0);
  }
}

// Session transactions touch one key; a thread mostly stays on its key, so that its reads follow
// its own appends; appended values stay unique per key across threads.
TEST(SessionWorkload, ThreadsStayOnAFocusKey) {
  std::vector<Op> ops = Invocations(SessionGenerator, TxnWorkloadOptions{}, 12, 3000);
  std::map<int64_t, int64_t> last_key;  // per process
  int same = 0;
  int changed = 0;
  int read_then_append = 0;
  std::map<int64_t, std::set<int64_t>> values;
  for (const Op& op : ops) {
    ASSERT_GE(op.value.size(), 1u);
    ASSERT_LE(op.value.size(), 2u);
    int64_t key = op.value[0][1];
    for (const Json& mop : op.value) {
      EXPECT_EQ(mop[1], key) << op.value;
      if (mop[0] == "append") EXPECT_TRUE(values[key].insert(mop[2].get<int64_t>()).second);
    }
    if (op.value.size() == 2) {
      ++read_then_append;
      EXPECT_EQ(op.value[0][0], "r");
      EXPECT_EQ(op.value[1][0], "append");
    }
    if (last_key.count(op.process)) (last_key[op.process] == key ? same : changed)++;
    last_key[op.process] = key;
  }
  EXPECT_GT(same, 2 * changed);
  EXPECT_GT(changed, 0);
  EXPECT_GT(read_then_append, 300);
}

TEST(TxnWorkloads, BadOptionsNameTheFlag) {
  auto error = [](auto change) {
    TxnWorkloadOptions options;
    change(options);
    Result<gen::GenPtr> generator = ListAppendGenerator(options);
    EXPECT_FALSE(generator.ok());
    return generator.ok() ? std::string() : generator.status().message();
  };
  EXPECT_NE(error([](auto& o) { o.key_count = 0; }).find("--key-count"), std::string::npos);
  EXPECT_NE(error([](auto& o) { o.min_txn_length = 0; }).find("--min-txn-length"),
            std::string::npos);
  EXPECT_NE(error([](auto& o) { o.max_txn_length = 0; }).find("--max-txn-length"),
            std::string::npos);
  EXPECT_NE(error([](auto& o) { o.max_writes_per_key = 0; }).find("--max-writes-per-key"),
            std::string::npos);
  EXPECT_NE(error([](auto& o) { o.key_distribution = "pareto"; }).find("--key-distribution"),
            std::string::npos);
  EXPECT_TRUE(Validate(TxnWorkloadOptions{}).ok());
}

}  // namespace
}  // namespace faultline::workloads
