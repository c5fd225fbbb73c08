// Property tests: histories of a strictly serializable in-memory store (random transactions,
// several clients in flight, each transaction taking effect at one instant between its invoke and
// its completion) are valid under strict-serializable, for list-append and rw-register, also when
// some transactions fail (and none of their writes is visible) or crash (info: applied before the
// crash, after it, or never; a crash among the last transactions may never complete). The same
// histories with one bug seeded (a read that misses a write completed before it began, a read
// of a failed transaction's write, a duplicated element) are invalid.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <random>

#include "checker/txn/txn.h"

namespace faultline {
namespace {

constexpr size_t kNever = std::numeric_limits<size_t>::max();

struct StoreOptions {
  TxnWorkload workload = TxnWorkload::kListAppend;
  uint32_t seed = 1;
  int transactions = 300;
  int clients = 5;
  int keys = 6;
  double fail_probability = 0;   // the transaction aborts: it completes as fail, no effect
  double crash_probability = 0;  // it completes as info (or never) and may have taken effect
};

// One write the store applied, in the key's version order.
struct Write {
  int value = 0;
  size_t invoked = 0;          // the writer's invoke position
  size_t completed = kNever;   // the writer's ok position; kNever for a crashed writer
};

// One micro-op read of an ok transaction.
struct Read {
  size_t op = 0;    // the ok completion's position
  size_t mop = 0;   // position in its value
  int key = 0;
  size_t version = 0;  // the key's writes applied before the read (0 = the initial state)
  bool own_write_before = false;  // the transaction wrote the key earlier: not a read of the store
  size_t invoked = 0;
};

struct Generated {
  History history;
  std::vector<Read> reads;
  std::map<int, std::vector<Write>> versions;  // every applied write, per key, in order
  std::vector<std::pair<int, int>> aborted;    // (key, value) written by failed transactions
  int failed = 0, crashed = 0, pending = 0;
  int reads_of_crashed_writes = 0;             // ok reads that saw a crashed writer's value
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

Generated SimulateStore(const StoreOptions& options) {
  const bool append = options.workload == TxnWorkload::kListAppend;
  std::mt19937 random(options.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  enum class Fate { kOk, kFail, kCrashBefore, kCrashAfter, kCrashNever };
  struct Client {
    int64_t process = 0;
    bool busy = false, applied = false;
    Fate fate = Fate::kOk;
    Json invoke, txn;
    size_t invoked = 0;
    std::vector<std::pair<int, size_t>> writes;  // (key, version index) applied by the txn
    std::vector<Read> reads;
  };
  std::vector<Client> clients(static_cast<size_t>(options.clients));
  for (size_t c = 0; c < clients.size(); ++c) clients[c].process = static_cast<int64_t>(c);
  Generated out;
  std::vector<Client> lingering;  // crashed, to take effect some time after their info
  std::map<std::pair<int, int>, bool> crashed_write;  // (key, value) -> its writer crashed
  auto apply = [&](Client& client) {
    std::map<int, bool> written;
    for (size_t m = 0; m < client.txn.size(); ++m) {
      Json& mop = client.txn[m];
      int key = mop[1].get<int>();
      std::vector<Write>& versions = out.versions[key];
      if (mop[0] != "r") {
        versions.push_back({mop[2].get<int>(), client.invoked, kNever});
        client.writes.emplace_back(key, versions.size() - 1);
        written[key] = true;
        continue;
      }
      if (append) {
        mop[2] = Json::array();
        for (const Write& write : versions) mop[2].push_back(write.value);
      } else {
        mop[2] = versions.empty() ? Json() : Json(versions.back().value);
      }
      client.reads.push_back({0, m, key, versions.size(), written.count(key) > 0, client.invoked});
    }
    client.applied = true;
  };
  auto emit = [&](OpType type, int64_t process, Json value) {
    out.history.ops.push_back(
        MakeOp(type, process, std::move(value), static_cast<int64_t>(out.history.ops.size())));
  };
  int started = 0, next_value = 1;
  while (started < options.transactions ||
         std::any_of(clients.begin(), clients.end(), [](const Client& c) { return c.busy; })) {
    if (!lingering.empty() && random() % 32 == 0) {
      size_t which = random() % lingering.size();
      apply(lingering[which]);
      lingering.erase(lingering.begin() + static_cast<int64_t>(which));
    }
    Client& client = clients[random() % clients.size()];
    if (!client.busy) {
      if (started == options.transactions) continue;
      ++started;
      client.busy = true;
      client.applied = false;
      client.invoked = out.history.ops.size();
      client.writes.clear();
      client.reads.clear();
      client.txn = Json::array();
      for (int m = 0, n = 1 + static_cast<int>(random() % 4); m < n; ++m) {
        int key = static_cast<int>(random() % static_cast<unsigned>(options.keys));
        if (random() % 2) {
          client.txn.push_back({append ? "append" : "w", key, next_value++});
        } else {
          client.txn.push_back({"r", key, nullptr});
        }
      }
      client.invoke = client.txn;
      double draw = unit(random);
      client.fate = Fate::kOk;
      if (draw < options.fail_probability) {
        client.fate = Fate::kFail;
      } else if (draw < options.fail_probability + options.crash_probability) {
        client.fate = std::array{Fate::kCrashBefore, Fate::kCrashAfter,
                                 Fate::kCrashNever}[random() % 3];
      }
      emit(OpType::kInvoke, client.process, client.invoke);
    } else if (client.fate == Fate::kFail) {
      for (const Json& mop : client.invoke) {
        if (mop[0] != "r") out.aborted.emplace_back(mop[1].get<int>(), mop[2].get<int>());
      }
      emit(OpType::kFail, client.process, client.invoke);
      ++out.failed;
      client.busy = false;
    } else if (!client.applied && client.fate != Fate::kCrashAfter &&
               client.fate != Fate::kCrashNever) {  // the transaction's instant
      apply(client);
    } else if (client.fate != Fate::kOk) {
      for (const Json& mop : client.invoke) {
        if (mop[0] != "r") crashed_write[{mop[1].get<int>(), mop[2].get<int>()}] = true;
      }
      if (client.fate == Fate::kCrashAfter) lingering.push_back(client);
      // A crash among the last transactions may leave its invoke without a completion.
      if (started == options.transactions && random() % 2) {
        ++out.pending;
      } else {
        emit(OpType::kInfo, client.process, client.invoke);
      }
      ++out.crashed;
      client.process += options.clients;  // Jepsen: a crashed thread continues as a new process
      client.busy = false;
    } else {
      size_t position = out.history.ops.size();
      for (auto [key, version] : client.writes) out.versions[key][version].completed = position;
      for (Read read : client.reads) {
        read.op = position;
        if (!read.own_write_before && read.version > 0 &&
            crashed_write.count({read.key, out.versions[read.key][read.version - 1].value})) {
          ++out.reads_of_crashed_writes;
        }
        out.reads.push_back(read);
      }
      emit(OpType::kOk, client.process, client.txn);
      client.busy = false;
    }
  }
  return out;
}

StoreOptions Faulty(TxnWorkload workload, uint32_t seed) {
  StoreOptions options;
  options.workload = workload;
  options.seed = seed;
  options.fail_probability = 0.1;
  options.crash_probability = 0.1;
  return options;
}

Result<TxnResult> Check(const Generated& generated, TxnWorkload workload, bool key_orders) {
  TxnOptions options;
  options.workload = workload;
  options.wfr_keys = options.sequential_keys = options.linearizable_keys = key_orders;
  return CheckTransactions(generated.history, options);
}

// Reads of the store (not of the transaction's own writes) that miss nothing yet, but whose
// latest version's writer completed before the read began: dropping that version makes the read
// stale against realtime order. For registers the version before it must be known to come first
// (the initial state, or a writer that completed before the next one began), so that
// linearizable keys order the two.
std::vector<Read> StaleReadCandidates(const Generated& generated, TxnWorkload workload) {
  std::vector<Read> candidates;
  for (const Read& read : generated.reads) {
    if (read.own_write_before || read.version == 0) continue;
    const std::vector<Write>& versions = generated.versions.at(read.key);
    const Write& latest = versions[read.version - 1];
    if (latest.completed == kNever || latest.completed >= read.invoked) continue;
    if (workload == TxnWorkload::kRwRegister && read.version > 1) {
      const Write& before = versions[read.version - 2];
      if (before.completed == kNever || before.completed >= latest.invoked) continue;
    }
    candidates.push_back(read);
  }
  return candidates;
}

void MakeStale(Generated* generated, const Read& read, TxnWorkload workload) {
  Json& value = generated->history.ops[read.op].value[read.mop][2];
  if (workload == TxnWorkload::kListAppend) {
    value.erase(value.end() - 1);
  } else {
    value = read.version > 1 ? Json(generated->versions[read.key][read.version - 2].value) : Json();
  }
}

const TxnWorkload kWorkloads[] = {TxnWorkload::kListAppend, TxnWorkload::kRwRegister};

TEST(TxnProperty, SerialExecutionsAreStrictSerializable) {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    StoreOptions options;
    options.seed = seed;
    Generated generated = SimulateStore(options);
    Result<TxnResult> result = CheckTransactions(generated.history);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->verdict, Verdict::kValid) << "seed " << seed << "\n" << result->ToText();
    EXPECT_EQ(result->strongest_models, std::vector<std::string>{"strict-serializable"});
  }
}

// Failed transactions' writes are invisible and crashed ones' may be seen: both workloads, with
// and without the register version-order sources (which the store satisfies), are valid.
TEST(TxnProperty, HistoriesWithFailedAndCrashedTransactionsAreStrictSerializable) {
  for (TxnWorkload workload : kWorkloads) {
    int failed = 0, crashed = 0, pending = 0, reads_of_crashed_writes = 0;
    for (uint32_t seed = 1; seed <= 30; ++seed) {
      Generated generated = SimulateStore(Faulty(workload, seed));
      failed += generated.failed;
      crashed += generated.crashed;
      pending += generated.pending;
      reads_of_crashed_writes += generated.reads_of_crashed_writes;
      for (bool key_orders : {false, true}) {
        if (key_orders && workload == TxnWorkload::kListAppend) continue;
        Result<TxnResult> result = Check(generated, workload, key_orders);
        ASSERT_TRUE(result.ok()) << result.status().message();
        EXPECT_EQ(result->verdict, Verdict::kValid)
            << ToString(workload) << " seed " << seed << " key orders " << key_orders << "\n"
            << result->ToText();
        EXPECT_TRUE(result->found_types.empty()) << result->ToText();
      }
    }
    // The property is not vacuous: there were faults, and crashed writes were read.
    EXPECT_GT(failed, 300) << ToString(workload);
    EXPECT_GT(crashed, 300) << ToString(workload);
    EXPECT_GT(pending, 0) << ToString(workload);
    EXPECT_GT(reads_of_crashed_writes, 100) << ToString(workload);
  }
}

TEST(TxnProperty, AReadMissingACompletedWriteIsFound) {
  for (TxnWorkload workload : kWorkloads) {
    for (double faults : {0.0, 0.1}) {
      int checked = 0;
      for (uint32_t seed = 1; seed <= 30; ++seed) {
        StoreOptions options = Faulty(workload, seed);
        options.fail_probability = options.crash_probability = faults;
        Generated generated = SimulateStore(options);
        std::vector<Read> candidates = StaleReadCandidates(generated, workload);
        if (candidates.empty()) continue;
        std::mt19937 random(seed);
        MakeStale(&generated, candidates[random() % candidates.size()], workload);
        // Registers need realtime to order versions; list-append reads order them.
        Result<TxnResult> result =
            Check(generated, workload, workload == TxnWorkload::kRwRegister);
        ASSERT_TRUE(result.ok()) << result.status().message();
        EXPECT_EQ(result->verdict, Verdict::kInvalid)
            << ToString(workload) << " faults " << faults << " seed " << seed << "\n"
            << result->ToText();
        ++checked;
      }
      EXPECT_GT(checked, 20) << ToString(workload) << " faults " << faults;
    }
  }
}

TEST(TxnProperty, AReadOfAFailedWriteIsAnAbortedRead) {
  for (TxnWorkload workload : kWorkloads) {
    int checked = 0;
    for (uint32_t seed = 1; seed <= 30; ++seed) {
      Generated generated = SimulateStore(Faulty(workload, seed));
      if (generated.aborted.empty()) continue;
      std::mt19937 random(seed);
      auto [key, value] = generated.aborted[random() % generated.aborted.size()];
      auto read = std::find_if(generated.reads.begin(), generated.reads.end(), [&](const Read& r) {
        return r.key == key && !r.own_write_before;
      });
      if (read == generated.reads.end()) continue;
      Json& seen = generated.history.ops[read->op].value[read->mop][2];
      if (workload == TxnWorkload::kListAppend) {
        seen.push_back(value);
      } else {
        seen = value;
      }
      Result<TxnResult> result = Check(generated, workload, false);
      ASSERT_TRUE(result.ok()) << result.status().message();
      EXPECT_EQ(result->verdict, Verdict::kInvalid) << result->ToText();
      const std::vector<std::string>& types = result->anomaly_types;
      EXPECT_NE(std::find(types.begin(), types.end(), "G1a"), types.end())
          << ToString(workload) << " seed " << seed << "\n"
          << result->ToText();
      ++checked;
    }
    EXPECT_GT(checked, 20) << ToString(workload);
  }
}

TEST(TxnProperty, ADuplicatedElementIsFoundAndRulesOutReadUncommitted) {
  StoreOptions options;
  options.seed = 7;
  options.transactions = 200;
  options.clients = 4;
  options.keys = 4;
  Generated generated = SimulateStore(options);
  // The first micro-op of its txn, so the read is of the store, not of the txn's own appends.
  auto first = std::find_if(generated.reads.begin(), generated.reads.end(),
                            [](const Read& read) { return read.mop == 0 && read.version > 0; });
  ASSERT_NE(first, generated.reads.end());
  Json& list = generated.history.ops[first->op].value[first->mop][2];
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
