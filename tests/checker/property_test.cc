// Property tests of the linearizability checker: simulated linearizable histories are valid, the
// same with one read corrupted are invalid, and on tiny random histories the checker agrees with
// a brute-force oracle. Every case is a pure function of its seed; a failure prints the seed and
// the (shrunk) history as JSONL, ready for `faultline check`.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "checker/brute_force.h"
#include "checker/history_simulator.h"
#include "checker/linearizable/linearizable.h"
#include "core/validate.h"

namespace faultline {
namespace {

using testkit::BruteForceLinearizable;
using testkit::RandomHistory;
using testkit::RandomHistoryOptions;
using testkit::SimulateHistory;
using testkit::SimulatorOptions;
using testkit::ToJsonl;

const std::vector<std::string> kModels = {"register", "cas-register", "kv"};

Result<LinearizableResult> Check(const History& history, const std::string& model,
                                 int threads = 1) {
  LinearizableOptions options;
  options.threads = threads;
  return CheckLinearizable(history, ModelSpec{model, nullptr}, options);
}

// ---------------------------------------------------------------------------------------------
// The oracle itself, on histories whose verdict is known by hand.

class HandBuilt {
 public:
  HandBuilt& Add(OpType type, int64_t process, std::string f, Json value) {
    Op op;
    op.index = static_cast<int64_t>(history_.ops.size());
    op.time_ns = op.index;
    op.type = type;
    op.process = process;
    op.f = std::move(f);
    op.value = std::move(value);
    history_.ops.push_back(std::move(op));
    return *this;
  }
  HandBuilt& Invoke(int64_t p, std::string f, Json v = nullptr) {
    return Add(OpType::kInvoke, p, std::move(f), std::move(v));
  }
  HandBuilt& Ok(int64_t p, std::string f, Json v = nullptr) {
    return Add(OpType::kOk, p, std::move(f), std::move(v));
  }
  HandBuilt& Info(int64_t p, std::string f, Json v = nullptr) {
    return Add(OpType::kInfo, p, std::move(f), std::move(v));
  }
  HandBuilt& Fail(int64_t p, std::string f, Json v = nullptr) {
    return Add(OpType::kFail, p, std::move(f), std::move(v));
  }
  const History& history() const { return history_; }

 private:
  History history_;
};

struct KnownCase {
  const char* name;
  const char* model;
  History history;
  bool linearizable;
};

std::vector<KnownCase> KnownCases() {
  using H = HandBuilt;
  std::vector<KnownCase> cases;
  auto add = [&](const char* name, const char* model, const H& h, bool ok) {
    cases.push_back(KnownCase{name, model, h.history(), ok});
  };
  add("empty", "register", H(), true);
  add("initial read", "register", H().Invoke(0, "read").Ok(0, "read", nullptr), true);
  add("read of nothing written", "register", H().Invoke(0, "read").Ok(0, "read", 1), false);
  add("write then read", "register",
      H().Invoke(0, "write", 1).Ok(0, "write", 1).Invoke(1, "read").Ok(1, "read", 1), true);
  add("stale read", "register",
      H().Invoke(0, "write", 1)
          .Ok(0, "write", 1)
          .Invoke(0, "write", 2)
          .Ok(0, "write", 2)
          .Invoke(1, "read")
          .Ok(1, "read", 1),
      false);
  add("concurrent writes, either read", "register",
      H().Invoke(0, "write", 1)
          .Invoke(1, "write", 2)
          .Ok(0, "write", 1)
          .Ok(1, "write", 2)
          .Invoke(2, "read")
          .Ok(2, "read", 1),
      true);
  add("read concurrent with write", "register",
      H().Invoke(0, "write", 1).Invoke(1, "read").Ok(1, "read", 1).Ok(0, "write", 1), true);
  add("reads disagree on order", "register",
      H().Invoke(0, "write", 1)
          .Invoke(1, "write", 2)
          .Invoke(2, "read")
          .Ok(2, "read", 1)
          .Invoke(2, "read")
          .Ok(2, "read", 2)
          .Invoke(3, "read")
          .Ok(3, "read", 1)
          .Ok(0, "write", 1)
          .Ok(1, "write", 2),
      false);
  add("failed write never happened", "register",
      H().Invoke(0, "write", 1).Fail(0, "write", 1).Invoke(1, "read").Ok(1, "read", 1), false);
  add("info write happened later", "register",
      H().Invoke(0, "write", 1)
          .Info(0, "write", 1)
          .Invoke(1, "read")
          .Ok(1, "read", nullptr)
          .Invoke(1, "read")
          .Ok(1, "read", 1),
      true);
  add("info write cannot be undone", "register",
      H().Invoke(0, "write", 1)
          .Info(0, "write", 1)
          .Invoke(1, "read")
          .Ok(1, "read", 1)
          .Invoke(1, "read")
          .Ok(1, "read", nullptr),
      false);
  add("pending write may happen", "register",
      H().Invoke(0, "write", 1).Invoke(1, "read").Ok(1, "read", 1), true);
  add("cas from the written value", "cas-register",
      H().Invoke(0, "write", 1)
          .Ok(0, "write", 1)
          .Invoke(0, "cas", Json::array({1, 2}))
          .Ok(0, "cas", Json::array({1, 2}))
          .Invoke(1, "read")
          .Ok(1, "read", 2),
      true);
  add("cas from the wrong value", "cas-register",
      H().Invoke(0, "write", 1)
          .Ok(0, "write", 1)
          .Invoke(0, "cas", Json::array({3, 2}))
          .Ok(0, "cas", Json::array({3, 2})),
      false);
  add("kv appends in order", "kv",
      H().Invoke(0, "append", Json::array({"k", "x"}))
          .Ok(0, "append", Json::array({"k", "x"}))
          .Invoke(0, "append", Json::array({"k", "y"}))
          .Ok(0, "append", Json::array({"k", "y"}))
          .Invoke(1, "get", Json::array({"k", nullptr}))
          .Ok(1, "get", Json::array({"k", "xy"})),
      true);
  add("kv appends reordered", "kv",
      H().Invoke(0, "append", Json::array({"k", "x"}))
          .Ok(0, "append", Json::array({"k", "x"}))
          .Invoke(0, "append", Json::array({"k", "y"}))
          .Ok(0, "append", Json::array({"k", "y"}))
          .Invoke(1, "get", Json::array({"k", nullptr}))
          .Ok(1, "get", Json::array({"k", "yx"})),
      false);
  add("kv keys are separate", "kv",
      H().Invoke(0, "put", Json::array({"a", "x"}))
          .Ok(0, "put", Json::array({"a", "x"}))
          .Invoke(1, "get", Json::array({"b", nullptr}))
          .Ok(1, "get", Json::array({"b", ""})),
      true);
  add("kv key read from another key", "kv",
      H().Invoke(0, "put", Json::array({"a", "x"}))
          .Ok(0, "put", Json::array({"a", "x"}))
          .Invoke(1, "get", Json::array({"b", nullptr}))
          .Ok(1, "get", Json::array({"b", "x"})),
      false);
  add("nemesis ops are ignored", "register",
      H().Invoke(kNemesisProcess, "kill")
          .Invoke(0, "write", 1)
          .Info(kNemesisProcess, "kill")
          .Ok(0, "write", 1)
          .Invoke(0, "read")
          .Ok(0, "read", 1),
      true);
  return cases;
}

TEST(BruteForceOracleTest, KnownVerdicts) {
  for (const KnownCase& known : KnownCases()) {
    EXPECT_EQ(BruteForceLinearizable(known.history, known.model), known.linearizable) << known.name;
  }
}

TEST(BruteForceOracleTest, RegisterInitialValue) {
  History history = HandBuilt().Invoke(0, "read").Ok(0, "read", 7).history();
  EXPECT_FALSE(BruteForceLinearizable(history, "register"));
  EXPECT_TRUE(BruteForceLinearizable(history, "register", 7));
  EXPECT_FALSE(BruteForceLinearizable(history, "register", 6));
}

TEST(BruteForceOracleTest, NilReadsAreUnrecordedWhenTheRegisterStartsNonNil) {
  History history = HandBuilt()
                        .Invoke(0, "write", 2)
                        .Ok(0, "write", 2)
                        .Invoke(0, "read")
                        .Ok(0, "read", nullptr)
                        .history();
  EXPECT_FALSE(BruteForceLinearizable(history, "register"));  // nil is a real, stale value
  EXPECT_TRUE(BruteForceLinearizable(history, "register", 0));
  EXPECT_TRUE(BruteForceLinearizable(history, "cas-register", 0));
}

// The checker on the same hand-built cases: a readable first line of defence before the random
// comparisons below.
TEST(LinearizableKnownCasesTest, CheckerAgreesWithHandVerdicts) {
  for (const KnownCase& known : KnownCases()) {
    Result<LinearizableResult> result = Check(known.history, known.model);
    ASSERT_TRUE(result.ok()) << known.name << ": " << result.status().ToString();
    EXPECT_EQ(result->verdict, known.linearizable ? Verdict::kValid : Verdict::kInvalid)
        << known.name << "\n"
        << ToJsonl(known.history);
  }
}

// ---------------------------------------------------------------------------------------------
// The simulator: its histories are well-formed, and small ones are linearizable by the oracle.

TEST(HistorySimulatorTest, IsDeterministicAndWellFormed) {
  for (const std::string& model : kModels) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      SimulatorOptions options;
      options.model = model;
      options.seed = seed;
      options.crash_probability = 0.1;
      History history = SimulateHistory(options);
      EXPECT_EQ(ToJsonl(history), ToJsonl(SimulateHistory(options)));
      Result<Pairing> pairing = PairHistory(history, /*lenient=*/false);
      ASSERT_TRUE(pairing.ok()) << pairing.status().ToString() << "\n" << ToJsonl(history);
      int invokes = 0;
      for (const Op& op : history.ops) invokes += op.is_invoke() && !op.is_nemesis();
      EXPECT_EQ(invokes, options.ops);
    }
  }
}

TEST(HistorySimulatorTest, ProducesEveryKindOfOutcome) {
  SimulatorOptions options;
  options.model = "cas-register";
  options.ops = 2000;
  options.crash_probability = 0.1;
  History history = SimulateHistory(options);
  int counts[4] = {0, 0, 0, 0};
  int nemesis = 0;
  int64_t max_process = 0;
  for (const Op& op : history.ops) {
    ++counts[static_cast<int>(op.type)];
    nemesis += op.is_nemesis();
    max_process = std::max(max_process, op.process);
  }
  EXPECT_GT(counts[static_cast<int>(OpType::kOk)], 1000);
  EXPECT_GT(counts[static_cast<int>(OpType::kFail)], 50);
  EXPECT_GT(counts[static_cast<int>(OpType::kInfo)], 100);
  EXPECT_GT(nemesis, 0);
  EXPECT_GE(max_process, options.concurrency);  // threads moved on after info
}

TEST(HistorySimulatorTest, SmallHistoriesAreLinearizableByTheOracle) {
  for (const std::string& model : kModels) {
    for (uint64_t seed = 0; seed < 300; ++seed) {
      SimulatorOptions options;
      options.model = model;
      options.seed = seed;
      options.ops = 9;
      options.concurrency = 3;
      options.values = 2;
      options.keys = 2;
      options.crash_probability = 0.25;
      options.fail_probability = 0.1;
      History history = SimulateHistory(options);
      ASSERT_TRUE(BruteForceLinearizable(history, model)) << model << " seed " << seed << "\n"
                                                          << ToJsonl(history);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// (a) and (b): simulated histories of a few hundred ops are valid; one corrupted read makes them
// invalid.

using ModelAndSeeds = std::tuple<std::string, int>;  // model, block of seeds

class SimulatedHistoryTest : public ::testing::TestWithParam<ModelAndSeeds> {
 protected:
  static constexpr int kSeedsPerBlock = 10;

  std::string model() const { return std::get<0>(GetParam()); }
  uint64_t FirstSeed() const { return static_cast<uint64_t>(std::get<1>(GetParam())) * 1000; }

  SimulatorOptions Options(uint64_t seed) const {
    SimulatorOptions options;
    options.model = model();
    options.seed = seed;
    options.ops = 300;
    options.concurrency = 5;
    options.keys = 4;
    return options;
  }
};

// kv histories are checked with their keys as [key value] tuples on even seeds and as a "key"
// field on odd ones.
History AsChecked(const History& history, const std::string& model, uint64_t seed) {
  return model == "kv" && seed % 2 == 1 ? testkit::WithKeyField(history) : history;
}

TEST_P(SimulatedHistoryTest, IsValid) {
  for (uint64_t seed = FirstSeed(); seed < FirstSeed() + kSeedsPerBlock; ++seed) {
    History history = AsChecked(SimulateHistory(Options(seed)), model(), seed);
    Result<LinearizableResult> result = Check(history, model(), /*threads=*/2);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->verdict, Verdict::kValid)
        << model() << " seed " << seed << ": " << result->ToText() << "\n"
        << ToJsonl(history);
  }
}

// Rewrites the value of one ok read (chosen by the seed) to one nothing ever wrote; returns the
// position of that completion, or -1 if the history has no ok read.
int64_t CorruptOneRead(History& history, const std::string& model, uint64_t seed) {
  std::vector<size_t> reads;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Op& op = history.ops[i];
    if (op.type == OpType::kOk && (op.f == "read" || op.f == "get")) reads.push_back(i);
  }
  if (reads.empty()) return -1;
  const size_t position = reads[seed * 2654435761u % reads.size()];
  Op& read = history.ops[position];
  if (model == "kv") {
    read.value[1] = read.value[1].get<std::string>() + "Z";  // no put or append writes a 'Z'
  } else {
    read.value = 1000;  // writes are 1..values
  }
  return static_cast<int64_t>(position);
}

TEST_P(SimulatedHistoryTest, OneCorruptedReadIsInvalid) {
  for (uint64_t seed = FirstSeed(); seed < FirstSeed() + kSeedsPerBlock; ++seed) {
    History history = SimulateHistory(Options(seed));
    const int64_t position = CorruptOneRead(history, model(), seed);
    ASSERT_GE(position, 0) << "seed " << seed << " has no ok read";
    const std::string key =
        model() == "kv" ? history.ops[static_cast<size_t>(position)].value[0].get<std::string>()
                        : "";
    history = AsChecked(history, model(), seed);
    const Op& corrupted = history.ops[static_cast<size_t>(position)];
    Result<LinearizableResult> result = Check(history, model(), /*threads=*/2);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->verdict, Verdict::kInvalid)
        << model() << " seed " << seed << ", op " << corrupted.index << " corrupted\n"
        << ToJsonl(history);
    EXPECT_TRUE(result->failed_op.has_value());
    if (model() == "kv") {
      ASSERT_TRUE(result->partition_key.has_value()) << result->ToText();
      EXPECT_EQ(*result->partition_key, key)
          << "seed " << seed << ", op " << corrupted.index << " corrupted\n"
          << result->ToText();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimulatedHistoryTest,
                         ::testing::Combine(::testing::ValuesIn(kModels), ::testing::Range(0, 3)),
                         [](const ::testing::TestParamInfo<ModelAndSeeds>& info) {
                           std::string name = std::get<0>(info.param);
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name + "_block" + std::to_string(std::get<1>(info.param));
                         });

// ---------------------------------------------------------------------------------------------
// (c) tiny random histories: the checker's verdict equals the brute-force oracle's.

// Removes client calls (an invoke with its completion) and nemesis ops while `still_fails` holds,
// so a disagreement is reported on the smallest history that shows it.
History Shrink(History history, const std::function<bool(const History&)>& still_fails) {
  bool shrunk = true;
  while (shrunk) {
    shrunk = false;
    for (size_t i = 0; i < history.ops.size() && !shrunk; ++i) {
      const Op& op = history.ops[i];
      if (!op.is_invoke() && !op.is_nemesis()) continue;
      std::vector<size_t> remove = {i};
      if (!op.is_nemesis()) {
        // A client's next op is this invoke's completion, if it has one.
        for (size_t j = i + 1; j < history.ops.size(); ++j) {
          if (history.ops[j].process == op.process) {
            remove.push_back(j);
            break;
          }
        }
      }
      History smaller = history;
      for (auto it = remove.rbegin(); it != remove.rend(); ++it) {
        smaller.ops.erase(smaller.ops.begin() + static_cast<std::ptrdiff_t>(*it));
      }
      if (still_fails(smaller)) {
        history = std::move(smaller);
        shrunk = true;
      }
    }
  }
  return history;
}

TEST(ShrinkTest, KeepsOnlyWhatTheFailureNeeds) {
  History history = HandBuilt()
                        .Invoke(0, "write", 1)
                        .Invoke(kNemesisProcess, "kill")
                        .Invoke(1, "write", 3)
                        .Ok(0, "write", 1)
                        .Info(kNemesisProcess, "kill")
                        .Info(1, "write", 3)
                        .Invoke(2, "read")
                        .Invoke(4, "read")
                        .Ok(4, "read", 3)
                        .history();
  auto writes_three = [](const History& h) {
    for (const Op& op : h.ops) {
      if (op.is_invoke() && op.value == 3) return true;
    }
    return false;
  };
  History shrunk = Shrink(history, writes_three);
  ASSERT_EQ(shrunk.ops.size(), 2u) << ToJsonl(shrunk);
  EXPECT_EQ(shrunk.ops[0].index, 2);
  EXPECT_EQ(shrunk.ops[1].index, 5);  // the write's info completion went with it
}

class RandomHistoryTest : public ::testing::TestWithParam<ModelAndSeeds> {};

TEST_P(RandomHistoryTest, CheckerAgreesWithBruteForce) {
  const std::string model = std::get<0>(GetParam());
  constexpr int kSeedsPerBlock = 2500;
  const uint64_t first_seed = static_cast<uint64_t>(std::get<1>(GetParam())) * kSeedsPerBlock;
  // Each seed also picks how the history is checked: registers sometimes start at 1 rather than
  // nil, one or two threads, lenient or strict, and kv keys as [key value] tuples or as a "key"
  // field. The oracle always sees the tuple form.
  struct Variant {
    Json initial_value;
    int threads = 1;
    bool lenient = false;
    bool key_field = false;
    std::string Describe() const {
      return "initial value " + initial_value.dump() + ", threads " + std::to_string(threads) +
             (lenient ? ", lenient" : ", strict") + (key_field ? ", key field" : "");
    }
  } variant;
  auto checker_input = [&](const History& history) {
    return variant.key_field ? testkit::WithKeyField(history) : history;
  };
  auto disagree = [&](const History& history, std::string* detail) {
    const bool expected = BruteForceLinearizable(history, model, variant.initial_value);
    LinearizableOptions options;
    options.threads = variant.threads;
    options.lenient = variant.lenient;
    Result<LinearizableResult> result =
        CheckLinearizable(checker_input(history), ModelSpec{model, variant.initial_value}, options);
    if (!result.ok()) {
      if (detail) *detail = "checker error: " + result.status().ToString();
      return true;
    }
    if (result->verdict == (expected ? Verdict::kValid : Verdict::kInvalid)) return false;
    if (detail) {
      *detail = "brute force says " + std::string(expected ? "valid" : "invalid") +
                ", checker says " + std::string(ToString(result->verdict)) + ":\n" +
                result->ToText();
    }
    return true;
  };
  int valid = 0;
  int total = 0;
  for (uint64_t seed = first_seed; seed < first_seed + kSeedsPerBlock; ++seed) {
    RandomHistoryOptions options;
    options.model = model;
    options.seed = seed;
    options.processes = 1 + static_cast<int>(seed % 4);
    options.ops = 1 + static_cast<int>(seed / 4 % 10);
    History history = RandomHistory(options);
    ASSERT_TRUE(PairHistory(history, false).ok()) << ToJsonl(history);
    variant.initial_value = model != "kv" && seed % 5 == 0 ? Json(1) : Json();
    variant.threads = 1 + static_cast<int>(seed / 40 % 2);
    variant.lenient = seed % 3 == 0;
    variant.key_field = model == "kv" && seed % 7 < 3;
    if (disagree(history, nullptr)) {
      History shrunk = Shrink(history, [&](const History& h) { return disagree(h, nullptr); });
      std::string detail;
      disagree(shrunk, &detail);
      FAIL() << model << ": first disagreement at seed " << seed << " (ops " << options.ops
             << ", processes " << options.processes << ", " << variant.Describe() << "); " << detail
             << "\nshrunk history, as the checker saw it:\n"
             << ToJsonl(checker_input(shrunk)) << "original history:\n"
             << ToJsonl(checker_input(history));
    }
    valid += BruteForceLinearizable(history, model, variant.initial_value);
    ++total;
  }
  // The generator must produce both verdicts often, or the comparison proves little.
  EXPECT_GT(valid, total / 10) << valid << " of " << total << " valid";
  EXPECT_LT(valid, total * 9 / 10) << valid << " of " << total << " valid";
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomHistoryTest,
                         ::testing::Combine(::testing::ValuesIn(kModels), ::testing::Range(0, 4)),
                         [](const ::testing::TestParamInfo<ModelAndSeeds>& info) {
                           std::string name = std::get<0>(info.param);
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name + "_block" + std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace faultline
