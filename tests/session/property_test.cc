// Property tests: histories from a single sequential store satisfy every guarantee; histories from
// a store whose reads see a random, lossy view of the write log violate them, and every witness
// is re-verified here against the raw ops, without the checker's code.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "checker/session/session.h"
#include "session/history_builder.h"

namespace faultline {
namespace {

using testing::HistoryBuilder;

enum class Store { kSequential, kLossy };
enum class Kind { kListAppend, kKv };

struct Write {
  std::string key;
  int value;
};

// A store shared by `sessions` client threads. Writes go to one log in the order they are made;
// a sequential read sees the whole log, a lossy one a random subsequence of it (as a replica that
// lags and misses updates would). Values are unique, as the checker needs.
class Simulator {
 public:
  Simulator(Kind kind, Store store, uint64_t seed, int sessions)
      : kind_(kind), store_(store), random_(seed), sessions_(sessions), builder_(sessions) {
    for (int s = 0; s < sessions; ++s) process_.push_back(s);
  }

  History Run(int ops) {
    for (int i = 0; i < ops; ++i) Step(Pick(sessions_));
    return builder_.history();
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(random_); }

  void Step(int session) {
    const std::string key = std::string(1, static_cast<char>('x' + Pick(3)));
    int64_t process = process_[session];
    if (Chance(0.5)) {
      Read(process, key);
      return;
    }
    const int value = ++last_value_;
    OpType outcome = OpType::kOk;
    if (Chance(0.05)) outcome = OpType::kFail;
    if (Chance(0.05)) outcome = OpType::kInfo;
    // An info write may or may not have happened; a fail one did not.
    if (outcome == OpType::kOk || (outcome == OpType::kInfo && Chance(0.5))) {
      log_.push_back({key, value});
    }
    if (kind_ == Kind::kListAppend) {
      builder_.Append(process, key, value, outcome);
    } else {
      Json tuple = Json::array({key, value});
      builder_.Call(process, "write", tuple, tuple, outcome);
    }
    if (outcome == OpType::kInfo) process_[session] += sessions_;  // the thread's next process
  }

  void Read(int64_t process, const std::string& key) {
    Json list = Json::array();
    Json last = nullptr;
    for (const Write& write : log_) {
      if (write.key != key || (store_ == Store::kLossy && Chance(0.15))) continue;
      list.push_back(write.value);
      last = write.value;
    }
    if (kind_ == Kind::kListAppend) {
      builder_.ReadList(process, key, list);
    } else {
      builder_.Call(process, "read", Json::array({key, nullptr}), Json::array({key, last}));
    }
  }

  Kind kind_;
  Store store_;
  std::mt19937_64 random_;
  int sessions_;
  HistoryBuilder builder_;
  std::vector<int64_t> process_;  // each session's current process
  std::vector<Write> log_;
  int last_value_ = 0;
};

// ---------------------------------------------------------------- independent re-verification

// The raw facts of one op of a witness, read from the history.
struct Fact {
  const Op* completion = nullptr;
  const Op* invoke = nullptr;
  int64_t session = 0;
  bool is_write = false;
  std::string key;
  Json value;  // written value, or what the read returned
};

class Verifier {
 public:
  Verifier(const History& history, int concurrency) : concurrency_(concurrency) {
    for (size_t i = 0; i < history.ops.size(); ++i) {
      const Op& op = history.ops[i];
      by_index_[op.index] = &op;
      if (op.is_invoke()) {
        outstanding_[op.process] = &op;
      } else {
        invoke_of_[op.index] = outstanding_[op.process];
      }
    }
  }

  Fact Get(const SessionWitnessOp& step) const {
    Fact fact;
    fact.completion = by_index_.at(step.index);
    fact.invoke = invoke_of_.at(step.index);
    fact.session = fact.completion->process % concurrency_;
    const Json& value = fact.completion->value;
    if (fact.completion->f == "txn") {
      fact.is_write = value[0][0] == "append";
      fact.key = value[0][1].get<std::string>();
      fact.value = value[0][2];
    } else {
      fact.is_write = fact.completion->f == "write";
      fact.key = value[0].get<std::string>();
      fact.value = value[1];
    }
    return fact;
  }

 private:
  int concurrency_;
  std::map<int64_t, const Op*> by_index_;
  std::map<int64_t, const Op*> outstanding_;
  std::map<int64_t, const Op*> invoke_of_;
};

bool Before(const Fact& a, const Fact& b) { return a.completion->index < b.invoke->index; }

// Position of `element` in a read list, or -1.
int Position(const Json& list, const Json& element) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == element) return static_cast<int>(i);
  }
  return -1;
}

bool IsPrefix(const Json& shorter, const Json& longer) {
  if (shorter.size() > longer.size()) return false;
  for (size_t i = 0; i < shorter.size(); ++i) {
    if (shorter[i] != longer[i]) return false;
  }
  return true;
}

void VerifyListAppend(const SessionWitness& w, const std::vector<Fact>& f) {
  const std::string& g = w.guarantee;
  for (const Fact& fact : f) EXPECT_EQ(fact.key, w.key);
  if (g == "read-your-writes") {
    ASSERT_EQ(f.size(), 2u);
    EXPECT_TRUE(f[0].is_write && f[0].completion->type == OpType::kOk);
    EXPECT_EQ(f[0].session, f[1].session);
    EXPECT_TRUE(Before(f[0], f[1]));
    EXPECT_EQ(Position(f[1].value, f[0].value), -1);
  } else if (g == "monotonic-reads") {
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].session, f[1].session);
    EXPECT_TRUE(Before(f[0], f[1]));
    EXPECT_FALSE(IsPrefix(f[0].value, f[1].value));
  } else if (g == "monotonic-writes") {
    ASSERT_EQ(f.size(), 3u);
    EXPECT_TRUE(f[0].is_write && f[1].is_write && f[0].completion->type == OpType::kOk);
    EXPECT_EQ(f[0].session, f[1].session);
    EXPECT_TRUE(Before(f[0], f[1]));
    int later = Position(f[2].value, f[1].value);
    int earlier = Position(f[2].value, f[0].value);
    EXPECT_GE(later, 0);
    EXPECT_TRUE(earlier < 0 || earlier > later);
  } else if (g == "writes-follow-reads") {
    ASSERT_EQ(f.size(), 3u);
    EXPECT_TRUE(!f[0].is_write && f[1].is_write);
    EXPECT_EQ(f[0].session, f[1].session);
    EXPECT_TRUE(Before(f[0], f[1]));
    EXPECT_GE(Position(f[0].value, w.missed), 0);
    int later = Position(f[2].value, f[1].value);
    int earlier = Position(f[2].value, w.missed);
    EXPECT_GE(later, 0);
    EXPECT_TRUE(earlier < 0 || earlier > later);
  } else {
    ADD_FAILURE() << "unknown guarantee " << g;
  }
}

void VerifyKv(const SessionWitness& w, const std::vector<Fact>& f) {
  const std::string& g = w.guarantee;
  for (const Fact& fact : f) EXPECT_EQ(fact.key, w.key);
  for (size_t i = 1; i < f.size(); ++i)
    EXPECT_LT(f[i - 1].completion->index, f[i].completion->index);
  if (g == "read-your-writes") {
    ASSERT_GE(f.size(), 2u);
    const Fact& own = f[f.size() - 2];
    const Fact& read = f.back();
    EXPECT_TRUE(own.is_write && own.completion->type == OpType::kOk && !read.is_write);
    EXPECT_EQ(own.session, read.session);
    EXPECT_NE(read.value, own.value);
    if (f.size() == 3) {  // the value of an older own write
      EXPECT_EQ(f[0].session, own.session);
      EXPECT_EQ(f[0].value, read.value);
    } else {
      EXPECT_TRUE(read.value.is_null());
    }
  } else if (g == "monotonic-reads") {
    for (const Fact& fact : f) EXPECT_EQ(fact.session, f[0].session);
    if (f.size() == 2) {
      EXPECT_FALSE(f[0].value.is_null());
      EXPECT_TRUE(f[1].value.is_null());
    } else {
      ASSERT_EQ(f.size(), 3u);
      EXPECT_EQ(f[0].value, f[2].value);
      EXPECT_NE(f[0].value, f[1].value);
    }
  } else if (g == "monotonic-writes") {
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(f[0].session, f[1].session);
    EXPECT_TRUE(f[0].completion->type == OpType::kOk && Before(f[0], f[1]));
    EXPECT_EQ(f[2].session, f[3].session);
    EXPECT_EQ(f[2].value, f[1].value);
    EXPECT_EQ(f[3].value, f[0].value);
  } else if (g == "writes-follow-reads") {
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(f[0].session, f[1].session);
    EXPECT_NE(f[0].session, -1);
    EXPECT_EQ(f[2].session, f[3].session);
    EXPECT_EQ(f[2].value, f[1].value);
    EXPECT_EQ(f[3].value, f[0].value);
  } else {
    ADD_FAILURE() << "unknown guarantee " << g;
  }
}

constexpr int kSessions = 4;

SessionResult CheckSimulated(const History& history) {
  SessionOptions options;
  options.max_witnesses = 1000;
  Result<SessionResult> result = CheckSessions(history, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : SessionResult{};
}

class SessionProperty : public ::testing::TestWithParam<Kind> {};

TEST_P(SessionProperty, SequentialStoreSatisfiesEveryGuarantee) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    History history = Simulator(GetParam(), Store::kSequential, seed, kSessions).Run(300);
    SessionResult result = CheckSimulated(history);
    EXPECT_EQ(result.verdict, Verdict::kValid) << "seed " << seed << "\n" << result.ToText();
    EXPECT_EQ(result.session_mode, "chain");
    // Values are unique, so a list names every append; a register's read of another session's
    // write is unjudged (no version order), so only lists are fully judged.
    if (GetParam() != Kind::kListAppend) continue;
    for (const GuaranteeResult& guarantee : result.guarantees) {
      EXPECT_EQ(guarantee.unjudged, 0u) << guarantee.guarantee;
    }
  }
}

TEST_P(SessionProperty, LossyStoreViolationsAreReal) {
  std::map<std::string, size_t> violations;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    History history = Simulator(GetParam(), Store::kLossy, seed, kSessions).Run(300);
    SessionResult result = CheckSimulated(history);
    Verifier verifier(history, kSessions);
    for (const GuaranteeResult& guarantee : result.guarantees) {
      violations[guarantee.guarantee] += guarantee.violations;
      EXPECT_EQ(guarantee.witnesses.size(), guarantee.violations);
      for (const SessionWitness& witness : guarantee.witnesses) {
        SCOPED_TRACE("seed " + std::to_string(seed) + ": " + witness.ToText());
        std::vector<Fact> facts;
        for (const SessionWitnessOp& op : witness.ops) facts.push_back(verifier.Get(op));
        if (GetParam() == Kind::kListAppend) {
          VerifyListAppend(witness, facts);
        } else {
          VerifyKv(witness, facts);
        }
      }
    }
  }
  // The lossy store breaks every guarantee somewhere in these seeds.
  for (const std::string& name : SessionGuaranteeNames()) {
    EXPECT_GT(violations[name], 0u) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, SessionProperty, ::testing::Values(Kind::kListAppend, Kind::kKv),
                         [](const auto& info) {
                           return info.param == Kind::kListAppend ? "ListAppend" : "Kv";
                         });

}  // namespace
}  // namespace faultline
