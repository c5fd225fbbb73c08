// Independent: groups of threads per key, [key value] values, ops per key, keys in order.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "generators/combinators.h"
#include "generators/random.h"
#include "generators/simulator.h"
#include "simulation_helpers.h"

namespace faultline::gen {
namespace {

using testing::kMillisecond;
using testing::Options;
using testing::RandomLatency;

// Passes everything through to `generator`, recording the values of the events it is updated
// with (a test probe: the recording is the only mutation).
class RecordUpdates : public Generator {
 public:
  RecordUpdates(GenPtr generator, std::shared_ptr<std::vector<Json>> values)
      : generator_(std::move(generator)), values_(std::move(values)) {}

  Step Next(const Context& context) const override {
    Step step = generator_->Next(context);
    if (!step.is_exhausted()) step.next = std::make_shared<RecordUpdates>(step.next, values_);
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    values_->push_back(event.value);
    return std::make_shared<RecordUpdates>(generator_->Update(context, event), values_);
  }

 private:
  GenPtr generator_;
  std::shared_ptr<std::vector<Json>> values_;
};

std::vector<Json> Keys(int count) {
  std::vector<Json> keys;
  for (int i = 0; i < count; ++i) keys.push_back("k" + std::to_string(i));
  return keys;
}

TEST(IndependentTest, ValuesAreKeyValuePairsAndEachKeyGetsItsOpsOnOneGroup) {
  const GenPtr generator = Independent(Keys(5), 2, 3, [](const Json& key) {
    return Repeat(MakeOp("write", "v-" + key.get<std::string>()));
  });
  const Simulation run = SimulateFully(generator, Options(4, 3), RandomLatency());
  EXPECT_EQ(run.stop, StopReason::kExhausted);
  std::map<std::string, int> ops_per_key;
  std::map<std::string, std::set<int>> groups_per_key;
  std::vector<std::string> first_seen;
  for (const Op& op : Invocations(run.history)) {
    ASSERT_TRUE(op.value.is_array() && op.value.size() == 2) << op.value;
    const std::string key = op.value[0].get<std::string>();
    EXPECT_EQ(op.value[1], Json("v-" + key));
    if (ops_per_key[key]++ == 0) first_seen.push_back(key);
    groups_per_key[key].insert(static_cast<int>(op.process % 4) / 2);
  }
  EXPECT_EQ(ops_per_key.size(), 5u);
  for (const auto& [key, count] : ops_per_key) EXPECT_EQ(count, 3) << key;
  for (const auto& [key, groups] : groups_per_key) EXPECT_EQ(groups.size(), 1u) << key;
  // The first keys go to the groups in order; later ones to whichever group finishes first.
  ASSERT_EQ(first_seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(first_seen.begin(), first_seen.begin() + 2),
            (std::set<std::string>{"k0", "k1"}));
  EXPECT_EQ(groups_per_key["k0"], (std::set<int>{0}));
  EXPECT_EQ(groups_per_key["k1"], (std::set<int>{1}));
}

TEST(IndependentTest, OneGroupTakesTheKeysStrictlyInOrder) {
  const GenPtr generator =
      Independent(Keys(4), 3, 5, [](const Json&) { return Repeat(MakeOp("read")); });
  std::vector<std::string> keys;
  for (const Op& op : Invocations(Simulate(generator, Options(3, 6), RandomLatency()))) {
    keys.push_back(op.value[0].get<std::string>());
  }
  ASSERT_EQ(keys.size(), 20u);
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(keys[i], "k" + std::to_string(i / 5));
}

TEST(IndependentTest, ThreadsPerKeyRunConcurrentlyOnOneKey) {
  const GenPtr generator =
      Independent(Keys(2), 2, 2, [](const Json&) { return Repeat(MakeOp("read")); });
  const std::vector<Op> invocations =
      Invocations(Simulate(generator, Options(4), AlwaysOk(10 * kMillisecond)));
  ASSERT_EQ(invocations.size(), 4u);
  std::map<std::string, std::set<int64_t>> processes_per_key;
  for (const Op& op : invocations) {
    EXPECT_EQ(op.time_ns, 0);  // four threads, two per key, all at once
    processes_per_key[op.value[0].get<std::string>()].insert(op.process);
  }
  EXPECT_EQ(processes_per_key["k0"], (std::set<int64_t>{0, 1}));
  EXPECT_EQ(processes_per_key["k1"], (std::set<int64_t>{2, 3}));
}

TEST(IndependentTest, KeyFunctionIsBoundedByMaxOps) {
  SimulationOptions options = Options(1);
  options.max_ops = 10;
  const GenPtr generator =
      Independent([](int64_t position) -> std::optional<Json> { return Json(position); }, 1, 2,
                  [](const Json&) { return Repeat(MakeOp("read")); });
  const Simulation run = SimulateFully(generator, options, AlwaysOk(kMillisecond));
  std::vector<Json> values;
  for (const Op& op : Invocations(run.history)) values.push_back(op.value);
  EXPECT_EQ(values, (std::vector<Json>{Json::array({0, nullptr}), Json::array({0, nullptr}),
                                       Json::array({1, nullptr}), Json::array({1, nullptr}),
                                       Json::array({2, nullptr}), Json::array({2, nullptr}),
                                       Json::array({3, nullptr}), Json::array({3, nullptr}),
                                       Json::array({4, nullptr}), Json::array({4, nullptr})}));
  EXPECT_EQ(run.stop, StopReason::kMaxOps);
}

TEST(IndependentTest, AKeysOwnEndComesBeforeOpsPerKey) {
  const GenPtr generator =
      Independent(Keys(3), 1, 100, [](const Json& key) { return Once(MakeOp("write", key)); });
  const std::vector<Op> invocations =
      Invocations(Simulate(generator, Options(1), AlwaysOk(kMillisecond)));
  ASSERT_EQ(invocations.size(), 3u);
  EXPECT_EQ(invocations[2].value, Json::array({"k2", "k2"}));
}

TEST(IndependentTest, UpdatesReachTheKeysGeneratorUnwrapped) {
  // Each key's generator reads until ok; the first two reads of every key fail. The per-key
  // UntilOk sees its completions (with the bare value) and stops after the third.
  auto failures = std::make_shared<std::map<std::string, int>>();
  CompletionFunction complete = [failures](const Op& invoke, Rng&) {
    Completion completion{invoke, kMillisecond};
    const bool fail = (*failures)[invoke.value[0].get<std::string>()]++ < 2;
    completion.op.type = fail ? OpType::kFail : OpType::kOk;
    return completion;
  };
  auto seen_values = std::make_shared<std::vector<Json>>();
  const GenPtr generator = Independent(Keys(4), 1, 0, [seen_values](const Json& key) {
    return std::make_shared<RecordUpdates>(UntilOk(Repeat(MakeOp("read", key))), seen_values);
  });
  std::map<std::string, int> ops_per_key;
  for (const Op& op : Invocations(Simulate(generator, Options(2), complete))) {
    ++ops_per_key[op.value[0].get<std::string>()];
  }
  ASSERT_FALSE(seen_values->empty());
  for (const Json& value : *seen_values) EXPECT_TRUE(value.is_string()) << value;
  EXPECT_EQ(ops_per_key, (std::map<std::string, int>{{"k0", 3}, {"k1", 3}, {"k2", 3}, {"k3", 3}}));
}

TEST(IndependentTest, NeverUsesTheNemesisThread) {
  const GenPtr generator =
      Independent(Keys(6), 1, 5, [](const Json&) { return Repeat(MakeOp("read")); });
  const History history = Simulate(generator, Options(3, 2, true), RandomLatency());
  EXPECT_EQ(Invocations(history).size(), 30u);
  for (const Op& op : history.ops) EXPECT_FALSE(op.is_nemesis());
}

TEST(IndependentTest, NoKeysMeansExhausted) {
  const Simulation run = SimulateFully(
      Independent(std::vector<Json>{}, 1, 5, [](const Json&) { return Repeat("read"); }),
      Options(2), AlwaysOk(1));
  EXPECT_TRUE(run.history.ops.empty());
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

}  // namespace
}  // namespace faultline::gen
