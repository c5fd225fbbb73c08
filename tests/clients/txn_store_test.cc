// The fake transactional store's isolation modes, driven directly by threads (no harness): each
// mode's histories contain exactly the anomalies it allows, over several seeds. Serializable is
// strict-serializable; snapshot isolation shows write skew (G2-item / G-nonadjacent) and never
// G0, G1 or G-single; read committed shows G-single or G2 and never G0 or G1; replica reads break
// read-your-writes and monotonic reads, which the serializable store never does.
#include "clients/fake/txn_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "checker/session/session.h"
#include "checker/txn/txn.h"
#include "clients/workloads/txn_workloads.h"
#include "generators/simulator.h"

namespace faultline::fake {
namespace {

constexpr int kThreads = 5;

using Maker = Result<gen::GenPtr> (*)(const workloads::TxnWorkloadOptions&);

// The generator's transactions, per thread, in the order that thread would invoke them.
std::vector<std::vector<Op>> Schedule(Maker make, uint64_t seed, int txns_per_thread) {
  Result<gen::GenPtr> generator = make(workloads::TxnWorkloadOptions{});
  EXPECT_TRUE(generator.ok());
  gen::SimulationOptions simulation;
  simulation.concurrency = kThreads;
  simulation.seed = seed;
  simulation.max_ops = kThreads * txns_per_thread;
  std::vector<std::vector<Op>> schedule(kThreads);
  for (const Op& op : gen::Invocations(gen::Simulate(*generator, simulation, gen::AlwaysOk(1)))) {
    schedule[op.process % kThreads].push_back(op);
  }
  return schedule;
}

// Runs each thread's transactions against the store at once, recording invocations and
// completions in real-time order (each is recorded under one lock, before Apply and after it).
History RunThreads(TxnStore& store, const std::vector<std::vector<Op>>& schedule) {
  History history;
  history.header = {{"concurrency", kThreads}};
  std::mutex mutex;
  auto start = std::chrono::steady_clock::now();
  auto record = [&](Op op) {
    std::lock_guard lock(mutex);
    op.index = static_cast<int64_t>(history.ops.size());
    op.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
    history.ops.push_back(std::move(op));
  };
  std::vector<std::thread> threads;
  for (const std::vector<Op>& ops : schedule) {
    threads.emplace_back([&store, &record, &ops] {
      for (const Op& invoke : ops) {
        record(invoke);
        record(store.Apply(invoke));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return history;
}

History RunStore(Isolation isolation, Maker make, uint64_t seed, int txns_per_thread = 400) {
  TxnStoreOptions options;
  options.isolation = isolation;
  options.seed = seed;
  TxnStore store(options);
  return RunThreads(store, Schedule(make, seed, txns_per_thread));
}

TxnResult CheckTxns(const History& history, TxnWorkload workload,
                    const std::string& model = "strict-serializable") {
  TxnOptions options;
  options.workload = workload;
  options.consistency_models = {model};
  Result<TxnResult> result = CheckTransactions(history, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : TxnResult{};
}

bool StartsWithAny(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// The anomaly types found that are G0, G1a, G1b, G1c or any of their variants.
std::vector<std::string> G0OrG1(const TxnResult& result) {
  std::vector<std::string> found;
  for (const std::string& type : result.found_types) {
    if (StartsWithAny(type, {"G0", "G1"})) found.push_back(type);
  }
  return found;
}

size_t CountOk(const History& history) {
  size_t ok = 0;
  for (const Op& op : history.ops) ok += op.type == OpType::kOk;
  return ok;
}

TEST(TxnStore, SerializableIsStrictSerializable) {
  for (uint64_t seed : {1, 2, 3, 4}) {
    History appends = RunStore(Isolation::kSerializable, workloads::ListAppendGenerator, seed);
    TxnResult result = CheckTxns(appends, TxnWorkload::kListAppend);
    EXPECT_EQ(result.verdict, Verdict::kValid) << "seed " << seed << "\n" << result.ToText();
    EXPECT_TRUE(result.found_types.empty()) << result.ToText();
    EXPECT_EQ(CountOk(appends), 2000u);  // nothing fails without conflicts to lose
    History registers = RunStore(Isolation::kSerializable, workloads::RwRegisterGenerator, seed);
    TxnResult checked = CheckTxns(registers, TxnWorkload::kRwRegister);
    EXPECT_EQ(checked.verdict, Verdict::kValid) << "seed " << seed << "\n" << checked.ToText();
  }
}

TEST(TxnStore, SnapshotIsolationShowsWriteSkewNeverG0OrG1) {
  std::set<std::string> found;
  for (uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    History history = RunStore(Isolation::kSnapshotIsolation, workloads::ListAppendGenerator, seed);
    TxnResult result = CheckTxns(history, TxnWorkload::kListAppend);
    EXPECT_TRUE(G0OrG1(result).empty()) << "seed " << seed << "\n" << result.ToText();
    for (const std::string& type : result.found_types) {
      EXPECT_FALSE(StartsWithAny(type, {"G-single", "lost-update", "internal"}))
          << type << " seed " << seed << "\n"
          << result.ToText();
      found.insert(type);
    }
    // Write skew is all it shows: the history is strong snapshot isolation.
    TxnResult under_si = CheckTxns(history, TxnWorkload::kListAppend, "strong-snapshot-isolation");
    EXPECT_EQ(under_si.verdict, Verdict::kValid) << "seed " << seed << "\n" << under_si.ToText();
    EXPECT_LT(CountOk(history), 2000u);  // first committer wins: some transactions fail
  }
  bool skew = std::any_of(found.begin(), found.end(), [](const std::string& type) {
    return StartsWithAny(type, {"G2-item", "G-nonadjacent"});
  });
  EXPECT_TRUE(skew) << "no G2-item or G-nonadjacent over 6 seeds";
}

TEST(TxnStore, ReadCommittedShowsGSingleOrG2NeverG0OrG1) {
  int anomalous = 0;
  for (uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    History history = RunStore(Isolation::kReadCommitted, workloads::ListAppendGenerator, seed);
    TxnResult result = CheckTxns(history, TxnWorkload::kListAppend);
    EXPECT_TRUE(G0OrG1(result).empty()) << "seed " << seed << "\n" << result.ToText();
    anomalous += std::any_of(result.found_types.begin(), result.found_types.end(),
                             [](const std::string& type) {
                               return StartsWithAny(type, {"G-single", "G2"});
                             });
    TxnResult under_rc = CheckTxns(history, TxnWorkload::kListAppend, "read-committed");
    EXPECT_EQ(under_rc.verdict, Verdict::kValid) << "seed " << seed << "\n" << under_rc.ToText();
  }
  EXPECT_GT(anomalous, 0) << "no G-single or G2 over 6 seeds";
}

// rw-register: the weaker modes never show G0 or G1 either. (Registers give the checker fewer
// version orders than lists, so fewer cycles are provable; none of them may be a G0 or G1.)
TEST(TxnStore, RegisterModesNeverShowG0OrG1) {
  for (Isolation isolation : {Isolation::kSnapshotIsolation, Isolation::kReadCommitted}) {
    for (uint64_t seed : {1, 2}) {
      History history = RunStore(isolation, workloads::RwRegisterGenerator, seed);
      TxnResult result = CheckTxns(history, TxnWorkload::kRwRegister);
      EXPECT_TRUE(G0OrG1(result).empty()) << ToString(isolation) << " seed " << seed << "\n"
                                          << result.ToText();
    }
  }
}

const GuaranteeResult& Guarantee(const SessionResult& result, const std::string& name) {
  for (const GuaranteeResult& guarantee : result.guarantees) {
    if (guarantee.guarantee == name) return guarantee;
  }
  ADD_FAILURE() << "no " << name;
  static const GuaranteeResult none;
  return none;
}

SessionResult CheckSessionRun(Isolation isolation, uint64_t seed) {
  History history = RunStore(isolation, workloads::SessionGenerator, seed);
  Result<SessionResult> result = CheckSessions(history);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : SessionResult{};
}

TEST(TxnStore, ReplicaReadsBreakReadYourWritesAndMonotonicReads) {
  for (uint64_t seed : {1, 2, 3}) {
    SessionResult result = CheckSessionRun(Isolation::kReplicaRead, seed);
    EXPECT_EQ(result.verdict, Verdict::kInvalid) << result.ToText();
    EXPECT_EQ(result.session_mode, "chain");
    for (const std::string name : {"read-your-writes", "monotonic-reads"}) {
      const GuaranteeResult& guarantee = Guarantee(result, name);
      EXPECT_EQ(guarantee.verdict, Verdict::kInvalid) << name << " seed " << seed;
      ASSERT_FALSE(guarantee.witnesses.empty()) << name;
      const SessionWitness& witness = guarantee.witnesses.front();
      EXPECT_EQ(witness.guarantee, name);
      EXPECT_GE(witness.ops.size(), 2u);
      EXPECT_NE(witness.ToText().find(name + " violated"), std::string::npos);
    }
    // Writes still commit in order on the primary, and each replica applies them in that order.
    EXPECT_EQ(Guarantee(result, "monotonic-writes").verdict, Verdict::kValid);
  }
}

TEST(TxnStore, SerializableKeepsEverySessionGuarantee) {
  for (uint64_t seed : {1, 2, 3}) {
    SessionResult result = CheckSessionRun(Isolation::kSerializable, seed);
    EXPECT_EQ(result.verdict, Verdict::kValid) << result.ToText();
    for (const GuaranteeResult& guarantee : result.guarantees) {
      EXPECT_EQ(guarantee.violations, 0u) << guarantee.guarantee;
      EXPECT_GT(guarantee.checked, 300u) << guarantee.guarantee;  // the workload exercises it
    }
  }
}

TEST(TxnStore, MalformedTransactionsFailWithAReason) {
  TxnStore store(TxnStoreOptions{});
  auto apply = [&](const std::string& f, Json value) {
    Op invoke;
    invoke.f = f;
    invoke.value = std::move(value);
    return store.Apply(invoke);
  };
  Op wrong_f = apply("read", Json::array());
  EXPECT_EQ(wrong_f.type, OpType::kFail);
  EXPECT_EQ(wrong_f.error, "unknown op read (expected txn)");
  Op bad_mop = apply("txn", Json::parse(R"([["incr", "x", 1]])"));
  EXPECT_EQ(bad_mop.type, OpType::kFail);
  EXPECT_EQ(bad_mop.error, R"(micro-op 1 of 1, ["incr","x",1]: expected f append, w or r)");
  Op nil_write = apply("txn", Json::parse(R"([["w", "x", null]])"));
  EXPECT_EQ(nil_write.type, OpType::kFail);
  EXPECT_EQ(nil_write.error, R"(micro-op 1 of 1, ["w","x",null]: expected a value other than nil )"
                             R"((nil is the initial state))");
  EXPECT_EQ(apply("txn", Json(3)).error, "expected a list of micro-ops, found 3");
  EXPECT_EQ(apply("txn", Json::parse(R"([["w", "x", 3]])")).type, OpType::kOk);
  Op append_to_register = apply("txn", Json::parse(R"([["append", "x", 4]])"));
  EXPECT_EQ(append_to_register.type, OpType::kFail);
  EXPECT_EQ(append_to_register.error, R"(append to "x", which holds a register)");
  // Nothing of the failed transaction was installed.
  EXPECT_EQ(apply("txn", Json::parse(R"([["r", "x", null]])")).value,
            Json::parse(R"([["r", "x", 3]])"));
}

// A transaction sees its own writes, and a key's repeated read inside one transaction repeats.
TEST(TxnStore, TransactionsReadTheirOwnWrites) {
  for (Isolation isolation : {Isolation::kSerializable, Isolation::kSnapshotIsolation,
                              Isolation::kReadCommitted, Isolation::kReplicaRead}) {
    TxnStoreOptions options;
    options.isolation = isolation;
    TxnStore store(options);
    Op invoke;
    invoke.f = "txn";
    invoke.value = Json::parse(R"([["r",1,null],["append",1,1],["r",1,null],["append",1,2],
                                   ["r",1,null],["w",2,5],["r",2,null]])");
    Op completion = store.Apply(invoke);
    ASSERT_EQ(completion.type, OpType::kOk) << ToString(isolation);
    EXPECT_EQ(completion.value, Json::parse(R"([["r",1,null],["append",1,1],["r",1,[1]],
                                                ["append",1,2],["r",1,[1,2]],["w",2,5],
                                                ["r",2,5]])"))
        << ToString(isolation);
  }
}

TEST(TxnStore, IsolationNamesRoundTrip) {
  for (const std::string& name : IsolationNames()) {
    std::optional<Isolation> isolation = ParseIsolation(name);
    ASSERT_TRUE(isolation.has_value()) << name;
    EXPECT_EQ(ToString(*isolation), name);
  }
  EXPECT_EQ(IsolationNames().size(), 4u);
  EXPECT_FALSE(ParseIsolation("repeatable-read").has_value());
}

}  // namespace
}  // namespace faultline::fake
