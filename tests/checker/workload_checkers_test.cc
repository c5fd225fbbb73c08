// The classic workloads' checkers (checker/workloads): hand-built histories, valid and each
// anomaly, asserting on which reads, elements and ids each result names.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "checker/registry.h"
#include "checker/workloads/workloads.h"

namespace faultline {
namespace {

// Builds a history op by op; op i happens at i milliseconds.
class Builder {
 public:
  Builder& Invoke(int64_t process, const std::string& f, Json value = nullptr) {
    return Push(OpType::kInvoke, process, f, std::move(value));
  }
  Builder& Ok(int64_t process, const std::string& f, Json value = nullptr) {
    return Push(OpType::kOk, process, f, std::move(value));
  }
  Builder& Fail(int64_t process, const std::string& f, Json value = nullptr) {
    return Push(OpType::kFail, process, f, std::move(value));
  }
  Builder& Info(int64_t process, const std::string& f, Json value = nullptr) {
    return Push(OpType::kInfo, process, f, std::move(value));
  }
  // An invoke and its ok completion at once.
  Builder& Call(int64_t process, const std::string& f, Json invoke_value, Json ok_value) {
    Invoke(process, f, std::move(invoke_value));
    return Ok(process, f, std::move(ok_value));
  }
  const History& history() const { return history_; }

 private:
  Builder& Push(OpType type, int64_t process, const std::string& f, Json value) {
    Op op;
    op.index = static_cast<int64_t>(history_.ops.size());
    op.time_ns = op.index * 1'000'000;
    op.type = type;
    op.process = process;
    op.f = f;
    op.value = std::move(value);
    history_.ops.push_back(op);
    return *this;
  }
  History history_;
};

CheckResult Check(const CheckerPtr& checker, const Builder& builder) {
  return checker->Check(builder.history(), CheckContext{});
}

// --- total-queue ---

TEST(TotalQueueChecker, EveryAcknowledgedEnqueueOutOnceIsValid) {
  Builder b;
  b.Call(0, "enqueue", 1, 1).Call(1, "enqueue", 2, 2);
  b.Invoke(2, "enqueue", 3).Info(2, "enqueue", 3);  // may have happened: drained later
  b.Call(0, "dequeue", nullptr, 1);
  b.Call(1, "dequeue", nullptr, nullptr);  // found it empty? no: 2 is there, but null is allowed
  b.Call(0, "drain", nullptr, Json::array({3, 2}));
  const CheckResult result = Check(MakeTotalQueueChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.text;
  EXPECT_EQ(result.json["acknowledged_count"], 2);
  EXPECT_EQ(result.json["recovered"], Json::array({3}));
  EXPECT_EQ(result.json["lost_count"], 0);
}

TEST(TotalQueueChecker, LostUnexpectedAndDuplicatedElementsAreNamed) {
  Builder b;
  b.Call(0, "enqueue", 1, 1).Call(0, "enqueue", 2, 2).Call(0, "enqueue", 4, 4);
  b.Invoke(1, "enqueue", 5).Fail(1, "enqueue", 5);  // certainly not queued
  b.Call(1, "dequeue", nullptr, 1);
  b.Call(2, "dequeue", nullptr, 1);               // 1 again: duplicated
  b.Call(2, "dequeue", nullptr, 9);               // never enqueued: unexpected
  b.Call(0, "drain", nullptr, Json::array({5}));  // 5 failed: unexpected too; 2 and 4 lost
  const CheckResult result = Check(MakeTotalQueueChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.json["lost"], Json::array({2, 4}));
  EXPECT_EQ(result.json["unexpected"], Json::array({5, 9}));
  EXPECT_EQ(result.json["duplicated"], Json({{"1", 2}}));
  EXPECT_NE(result.text.find("2 acknowledged enqueues never dequeued (2, 4)"), std::string::npos)
      << result.text;
  EXPECT_NE(result.text.find("1 elements dequeued more than once (1)"), std::string::npos)
      << result.text;
}

TEST(TotalQueueChecker, WithoutADrainTheVerdictIsUnknownAndBadValuesAreErrors) {
  Builder b;
  b.Call(0, "enqueue", 1, 1).Call(0, "enqueue", 2, 2).Call(1, "dequeue", nullptr, 1);
  EXPECT_EQ(Check(MakeTotalQueueChecker(), b).verdict, Verdict::kUnknown);
  Builder bad;
  bad.Call(0, "enqueue", "x", "x");
  const CheckResult failed = Check(MakeTotalQueueChecker(), bad);
  EXPECT_FALSE(failed.error.ok());
  EXPECT_NE(failed.error.message().find("an enqueue needs an integer element"), std::string::npos)
      << failed.error.message();
}

// --- counter ---

TEST(CounterChecker, ReadsWithinBoundsAreValid) {
  Builder b;
  b.Call(0, "add", 2, 2);
  b.Invoke(1, "add", 3);  // concurrent with the read: 2 or 5 both fine
  b.Invoke(0, "read");
  b.Ok(0, "read", 5);
  b.Ok(1, "add", 3);
  b.Invoke(1, "add", 4).Fail(1, "add", 4);  // failed: never in the bounds
  b.Call(0, "read", nullptr, 5);
  CheckResult result = Check(MakeCounterChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.text;
  EXPECT_EQ(result.json["read_count"], 2);
  EXPECT_EQ(result.json["final_bounds"], Json::array({5, 5}));
}

TEST(CounterChecker, LostAddMakesALowReadOutOfBounds) {
  Builder b;
  b.Call(0, "add", 2, 2);
  b.Call(0, "add", 3, 3);
  b.Call(1, "read", nullptr, 2);  // index 4..5: the add of 3 completed before it began
  CheckResult result = Check(MakeCounterChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  ASSERT_EQ(result.json["errors"].size(), 1u);
  EXPECT_EQ(result.json["errors"][0]["index"], 5);
  EXPECT_EQ(result.json["errors"][0]["value"], 2);
  EXPECT_EQ(result.json["errors"][0]["lower"], 5);
  EXPECT_EQ(result.json["errors"][0]["upper"], 5);
  EXPECT_NE(result.text.find("op 5 (process 1) read 2, outside [5, 5]"), std::string::npos)
      << result.text;
}

TEST(CounterChecker, ReadAboveEveryAddInvokedIsOutOfBoundsButInfoAddsCount) {
  Builder b;
  b.Invoke(0, "add", 4).Info(0, "add", 4);  // may have happened
  b.Call(1, "read", nullptr, 4);            // fine: the info add
  b.Call(1, "read", nullptr, 9);            // nothing could make 9
  b.Invoke(2, "add", 5);                    // invoked after that read completed
  b.Ok(2, "add", 5);
  CheckResult result = Check(MakeCounterChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  ASSERT_EQ(result.json["error_count"], 1);
  EXPECT_EQ(result.json["errors"][0]["value"], 9);
  EXPECT_EQ(result.json["errors"][0]["lower"], 0);
  EXPECT_EQ(result.json["errors"][0]["upper"], 4);
}

TEST(CounterChecker, NoReadIsUnknownAndBadValuesFail) {
  Builder adds;
  adds.Call(0, "add", 1, 1);
  EXPECT_EQ(Check(MakeCounterChecker(), adds).verdict, Verdict::kUnknown);
  Builder bad;
  bad.Call(0, "add", "x", "x");
  CheckResult result = Check(MakeCounterChecker(), bad);
  EXPECT_FALSE(result.error.ok());
  EXPECT_NE(result.error.ToString().find("op 0 (process 0, f add)"), std::string::npos)
      << result.error.ToString();
}

// --- set ---

TEST(SetChecker, FinalReadWithEveryOkAddIsValidAndCountsRecovered) {
  Builder b;
  b.Call(0, "add", 0, 0);
  b.Call(1, "add", 1, 1);
  b.Invoke(2, "add", 2).Info(2, "add", 2);
  b.Invoke(3, "add", 3).Fail(3, "add", 3);
  b.Call(0, "read", nullptr, Json::array({1, 0, 2}));
  CheckResult result = Check(MakeSetChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.text;
  EXPECT_EQ(result.json["ok_count"], 2);
  EXPECT_EQ(result.json["recovered"], Json::array({2}));
  EXPECT_EQ(result.json["lost_count"], 0);
}

TEST(SetChecker, LostAndUnexpectedElementsAreListed) {
  Builder b;
  for (int element = 0; element < 5; ++element) b.Call(0, "add", element, element);
  b.Invoke(1, "add", 9).Fail(1, "add", 9);          // failed, so 9 in a read is unexpected
  b.Call(1, "read", nullptr, Json::array({0, 1}));  // an earlier read: not the final one
  b.Call(1, "read", nullptr, Json::array({0, 2, 4, 9, 7}));
  CheckResult result = Check(MakeSetChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.json["lost"], Json::array({1, 3}));
  EXPECT_EQ(result.json["unexpected"], Json::array({7, 9}));
  EXPECT_EQ(result.json["read_index"], 15);
  EXPECT_NE(result.text.find("lost 2 of 5 acknowledged adds: 1, 3"), std::string::npos)
      << result.text;
}

TEST(SetChecker, NeverReadIsUnknown) {
  Builder b;
  b.Call(0, "add", 0, 0);
  b.Invoke(0, "read").Fail(0, "read");
  CheckResult result = Check(MakeSetChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kUnknown);
  EXPECT_NE(result.text.find("never read"), std::string::npos);
}

// --- set-full ---

TEST(SetFullChecker, ElementsSeenByEveryLaterReadAreStable) {
  Builder b;
  b.Call(0, "add", 0, 0);
  b.Invoke(1, "read");  // began before 1 was added: may miss it
  b.Call(0, "add", 1, 1);
  b.Ok(1, "read", Json::array({0}));
  b.Call(1, "read", nullptr, Json::array({0, 1}));
  b.Invoke(2, "add", 2).Info(2, "add", 2);  // never seen: unconfirmed
  b.Call(3, "add", 3, 3);                   // no read after it: never read
  CheckResult result = Check(MakeSetFullChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.text;
  EXPECT_EQ(result.json["stable_count"], 2);
  EXPECT_EQ(result.json["stale_count"], 0);
  EXPECT_EQ(result.json["never_read"], Json::array({3}));
  EXPECT_EQ(result.json["unconfirmed_count"], 1);
  EXPECT_EQ(result.json["stable_latencies_ms"]["1"], 0.0);
}

TEST(SetFullChecker, ElementMissedAfterItWasKnownThenSeenIsStale) {
  Builder b;
  b.Call(0, "add", 5, 5);                        // known at op 1
  b.Call(1, "read", nullptr, Json::array({}));   // invoked at 2: missed it
  b.Call(1, "read", nullptr, Json::array({5}));  // invoked at 4: sees it
  CheckResult result = Check(MakeSetFullChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  ASSERT_EQ(result.json["stale"].size(), 1u);
  EXPECT_EQ(result.json["stale"][0]["element"], 5);
  EXPECT_EQ(result.json["stale"][0]["known_index"], 1);
  EXPECT_EQ(result.json["stale"][0]["last_missed_index"], 2);
  EXPECT_EQ(result.json["stale"][0]["last_seen_index"], 4);
  EXPECT_EQ(result.json["stable_count"], 1);
  EXPECT_EQ(result.json["stable_latencies_ms"]["1"], 1.0);  // known at 1 ms, missed at 2 ms
  EXPECT_EQ(result.json["lost_count"], 0);
}

TEST(SetFullChecker, ElementSeenThenMissedForGoodIsLostEvenFromAnInfoAdd) {
  Builder b;
  b.Invoke(0, "add", 7).Info(0, "add", 7);       // indeterminate, but a read saw it
  b.Call(1, "read", nullptr, Json::array({7}));  // known at op 3
  b.Call(1, "read", nullptr, Json::array({}));   // invoked at 4: missed it
  b.Call(2, "add", 8, 8);                        // known at op 7, never in any read
  b.Call(1, "read", nullptr, Json::array({}));   // invoked at 8
  CheckResult result = Check(MakeSetFullChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  ASSERT_EQ(result.json["lost"].size(), 2u);
  EXPECT_EQ(result.json["lost"][0]["element"], 7);
  EXPECT_EQ(result.json["lost"][0]["known_index"], 3);
  EXPECT_EQ(result.json["lost"][0]["last_seen_index"], Json());  // none began after op 3
  EXPECT_EQ(result.json["lost"][0]["last_missed_index"], 8);
  EXPECT_EQ(result.json["lost"][1]["element"], 8);
  EXPECT_NE(result.text.find("2 lost (7, 8)"), std::string::npos) << result.text;
}

TEST(SetFullChecker, UnexpectedAndDuplicatedElementsAreInvalid) {
  Builder b;
  b.Call(0, "add", 1, 1);
  b.Call(1, "read", nullptr, Json::array({1, 1, 6}));
  CheckResult result = Check(MakeSetFullChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.json["unexpected"], Json::array({6}));
  EXPECT_EQ(result.json["duplicated"], Json::array({1}));
}

// The set-full checker judges each element from one pass over the reads; a direct reference
// (every element against every read invoked after it was known) must agree on random concurrent
// histories with info and failed adds, reads that miss elements, and pending calls.
struct SetFullReference {
  std::vector<int64_t> stale, lost, never_read;
  size_t stable = 0, unconfirmed = 0;
};

SetFullReference ReferenceSetFull(const History& history) {
  struct CallPositions {
    size_t invoke, completion;
  };
  std::map<int64_t, size_t> open;  // process -> invoke position
  std::vector<CallPositions> reads;
  std::map<int64_t, size_t> known;  // element -> earliest completion proving it
  std::set<int64_t> added;          // adds that may have happened
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Op& op = history.ops[i];
    if (op.type == OpType::kInvoke) {
      open[op.process] = i;
      if (op.f == "add") added.insert(op.value.get<int64_t>());
      continue;
    }
    const size_t invoke = open[op.process];
    open.erase(op.process);
    if (op.f == "add" && op.type == OpType::kFail) added.erase(op.value.get<int64_t>());
    if (op.type != OpType::kOk) continue;
    if (op.f == "add") known.emplace(op.value.get<int64_t>(), i);
    if (op.f == "read") {
      reads.push_back({invoke, i});
      for (const Json& element : op.value) known.emplace(element.get<int64_t>(), i);
    }
  }
  std::sort(reads.begin(), reads.end(),
            [](const CallPositions& a, const CallPositions& b) { return a.invoke < b.invoke; });
  SetFullReference reference;
  for (int64_t element : added) {
    auto found = known.find(element);
    if (found == known.end()) {
      ++reference.unconfirmed;
      continue;
    }
    std::optional<size_t> seen, missed;
    for (const CallPositions& read : reads) {
      if (read.invoke < found->second) continue;
      const Json& value = history.ops[read.completion].value;
      const bool holds = std::find(value.begin(), value.end(), Json(element)) != value.end();
      (holds ? seen : missed) = read.invoke;
    }
    if (!seen && !missed) {
      reference.never_read.push_back(element);
    } else if (seen && (!missed || *missed < *seen)) {
      ++reference.stable;
      if (missed) reference.stale.push_back(element);
    } else {
      reference.lost.push_back(element);
    }
  }
  return reference;
}

std::vector<int64_t> Elements(const Json& judged) {
  std::vector<int64_t> elements;
  for (const Json& one : judged) elements.push_back(one["element"].get<int64_t>());
  return elements;
}

TEST(SetFullChecker, AgreesWithTheDirectReferenceOnRandomHistories) {
  size_t stale = 0, lost = 0, never_read = 0;  // the shapes met, so the agreement means something
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 random(seed);
    auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(random) < p; };
    Builder b;
    std::map<int64_t, Json> pending;  // process -> the add's element, or null for a read
    std::vector<int64_t> present;     // what a read may return
    int64_t next = 0;
    std::vector<int64_t> processes = {0, 1, 2, 3};  // each thread's; a new one after an info
    for (int step = 0; step < 120; ++step) {
      const auto thread = std::uniform_int_distribution<size_t>(0, 3)(random);
      const int64_t process = processes[thread];
      auto call = pending.find(process);
      if (call == pending.end()) {
        const bool add = chance(0.5);
        Json value = add ? Json(next++) : Json();
        b.Invoke(process, add ? "add" : "read", value);
        pending[process] = value;
        continue;
      }
      if (call->second.is_null()) {  // a read: each present element, or some missed
        Json seen = Json::array();
        for (int64_t element : present) {
          if (!chance(0.1)) seen.push_back(element);
        }
        b.Ok(process, "read", seen);
      } else if (chance(0.1)) {
        b.Fail(process, "add", call->second);
      } else {
        if (!chance(0.2)) present.push_back(call->second.get<int64_t>());  // else never stored
        if (chance(0.15)) {
          b.Info(process, "add", call->second);
          processes[thread] += 4;
        } else {
          b.Ok(process, "add", call->second);
        }
      }
      pending.erase(call);
    }
    const CheckResult result = Check(MakeSetFullChecker(), b);
    ASSERT_TRUE(result.error.ok()) << result.error.message();
    const SetFullReference reference = ReferenceSetFull(b.history());
    ASSERT_EQ(Elements(result.json["stale"]), reference.stale) << "seed " << seed;
    ASSERT_EQ(Elements(result.json["lost"]), reference.lost) << "seed " << seed;
    ASSERT_EQ(result.json["never_read"], Json(reference.never_read)) << "seed " << seed;
    ASSERT_EQ(result.json["stable_count"], reference.stable) << "seed " << seed;
    ASSERT_EQ(result.json["unconfirmed_count"], reference.unconfirmed) << "seed " << seed;
    stale += reference.stale.size();
    lost += reference.lost.size();
    never_read += reference.never_read.size();
  }
  EXPECT_GT(stale, 50u);
  EXPECT_GT(lost, 50u);
  EXPECT_GT(never_read, 50u);
}

// --- unique-ids ---

TEST(UniqueIdsChecker, DistinctIdsAreValid) {
  Builder b;
  b.Call(0, "generate", nullptr, 1);
  b.Call(1, "generate", nullptr, "1");  // a string is not the integer 1
  b.Invoke(2, "generate").Info(2, "generate");
  CheckResult result = Check(MakeUniqueIdsChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.text;
  EXPECT_EQ(result.json["attempted_count"], 3);
  EXPECT_EQ(result.json["acknowledged_count"], 2);
}

TEST(UniqueIdsChecker, DuplicatesNameTheIdHowOftenAndWhere) {
  Builder b;
  b.Call(0, "generate", nullptr, 4);
  b.Call(1, "generate", nullptr, 5);
  b.Call(0, "generate", nullptr, 4);
  b.Call(2, "generate", nullptr, 4);
  CheckResult result = Check(MakeUniqueIdsChecker(), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  ASSERT_EQ(result.json["duplicated_count"], 1);
  EXPECT_EQ(result.json["duplicated"][0]["id"], 4);
  EXPECT_EQ(result.json["duplicated"][0]["count"], 3);
  EXPECT_EQ(result.json["duplicated"][0]["indices"], Json::array({1, 5, 7}));
  EXPECT_NE(result.text.find("id 4 returned 3 times (ops 1 5 7)"), std::string::npos)
      << result.text;
}

// --- bank ---

Json Balances(std::vector<int64_t> balances) {
  Json json = Json::object();
  for (size_t account = 0; account < balances.size(); ++account) {
    json[std::to_string(account)] = balances[account];
  }
  return json;
}

TEST(BankChecker, ConservedNonNegativeReadsAreValid) {
  Builder b;
  Json transfer = {{"from", 0}, {"to", 1}, {"amount", 3}};
  b.Call(0, "transfer", transfer, transfer);
  b.Call(1, "read", nullptr, Balances({7, 13, 10}));
  CheckResult result = Check(MakeBankChecker({3, 30}), b);
  EXPECT_EQ(result.verdict, Verdict::kValid) << result.text;
  EXPECT_EQ(result.json["read_count"], 1);
}

TEST(BankChecker, WrongTotalsNegativeBalancesAndMissingAccountsAreListed) {
  Builder b;
  b.Call(1, "read", nullptr, Balances({7, 10, 10}));                 // money destroyed
  b.Call(1, "read", nullptr, Balances({-2, 22, 10}));                // negative, total right
  b.Call(1, "read", nullptr, Json{{"0", 15}, {"1", 10}, {"x", 0}});  // 2 missing, x extra
  CheckResult result = Check(MakeBankChecker({3, 30}), b);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  const Json& errors = result.json["errors"];
  ASSERT_EQ(errors.size(), 5u) << errors.dump();
  EXPECT_EQ(
      errors[0],
      (Json{
          {"index", 1}, {"process", 1}, {"type", "wrong-total"}, {"total", 27}, {"expected", 30}}));
  EXPECT_EQ(errors[1]["type"], "negative-balance");
  EXPECT_EQ(errors[1]["account"], 0);
  EXPECT_EQ(errors[1]["balance"], -2);
  EXPECT_EQ(errors[2]["type"], "missing-balance");
  EXPECT_EQ(errors[2]["account"], 2);
  EXPECT_EQ(errors[3]["type"], "unexpected-account");
  EXPECT_EQ(errors[3]["account"], "x");
  EXPECT_EQ(errors[4]["type"], "wrong-total");
  EXPECT_EQ(result.json["error_counts"]["wrong-total"], 2);
  EXPECT_NE(result.text.find("op 1 (process 1) read balances summing to 27, not 30"),
            std::string::npos)
      << result.text;
}

// --- by name ---

TEST(WorkloadCheckers, MadeByNameAndFromTheirDescription) {
  for (const char* name : {"counter", "set", "set-full", "unique-ids", "bank"}) {
    Result<CheckerPtr> checker = MakeChecker(name, Json::object());
    ASSERT_TRUE(checker.ok()) << name << ": " << checker.status().ToString();
    EXPECT_EQ((*checker)->Name(), name);
    Result<CheckerPtr> again = MakeCheckerFromDescription((*checker)->Describe());
    ASSERT_TRUE(again.ok()) << name;
    EXPECT_EQ((*again)->Describe(), (*checker)->Describe());
  }
  Result<CheckerPtr> bank = MakeChecker("bank", {{"accounts", 3}, {"total", 30}});
  ASSERT_TRUE(bank.ok());
  EXPECT_EQ((*bank)->Describe()["total"], 30);
  EXPECT_FALSE(MakeChecker("bank", {{"accounts", 0}}).ok());
}

}  // namespace
}  // namespace faultline
