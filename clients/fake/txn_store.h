// The fake transactional store: an in-process key-value store that runs Elle-style transactions
// ("txn" ops of `append`, `w` and `r` micro-ops, clients/workloads/txn_workloads.h) under one of
// four isolation modes, each correct by construction for what it promises, so that end-to-end
// runs show the checkers naming exactly the anomalies each mode allows:
//
//   serializable        one lock held for the whole transaction: strict-serializable histories.
//   snapshot-isolation  MVCC: reads see the snapshot taken when the transaction started (plus its
//                       own writes); at commit, first committer wins: a transaction that wrote a
//                       key someone committed after its snapshot fails. Allows write skew
//                       (G2-item, G-nonadjacent); never G0, G1a, G1b, G1c or G-single.
//   read-committed      each read sees the latest committed value at the time of the read (plus
//                       the transaction's own writes); writes are buffered and installed at
//                       commit without conflict checks. Allows G-single and G2; never G0 or G1.
//   replica-read        writes commit serially on a primary; each read is served by one of a few
//                       replicas, drawn per read, that apply the primary's commits in order but
//                       lag behind it. Breaks read-your-writes and monotonic reads.
//
// Values: `append` adds to the key's list (an absent key is the empty list), `w` sets a register;
// a read returns the value, or null for a key never written. Every transaction's writes are
// buffered and installed atomically at commit, so no mode exposes an aborted or intermediate
// write. A transaction completes ok with its reads filled in, or fail (a snapshot-isolation
// conflict, or a malformed transaction, with `error` saying which); never info.
//
// Thread-safe: every client of a test shares one store. Its RNG (replica choice and catch-up) is
// seeded; which transactions overlap depends on how threads interleave. A short pause between
// micro-ops (and before commit) makes transactions overlap under the threaded runner.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/op_values.h"
#include "runner/test.h"

namespace faultline::fake {

enum class Isolation { kSerializable, kSnapshotIsolation, kReadCommitted, kReplicaRead };

std::vector<std::string> IsolationNames();  // serializable, snapshot-isolation, ...
std::optional<Isolation> ParseIsolation(const std::string& name);
std::string ToString(Isolation isolation);

struct TxnStoreOptions {
  Isolation isolation = Isolation::kSerializable;
  uint64_t seed = 0;
  int64_t pause_us = 20;  // between micro-ops and before commit; 0 = none
  // replica-read: replicas serving reads, and the chance that a transaction brings one replica,
  // drawn at random, up to date with the primary before it runs.
  int replicas = 3;
  double catch_up_probability = 0.3;
};

class TxnStore {
 public:
  explicit TxnStore(TxnStoreOptions options);
  // Runs the transaction in `invoke` (f "txn") and returns its completion.
  Op Apply(const Op& invoke);

 private:
  // A micro-op of the transaction (views into the invocation's value) and its key's JSON text:
  // the store's index.
  struct KeyedMicroOp {
    MicroOp op;
    std::string key_text;
  };
  // What a transaction did with one key. Its writes are installed at commit: a register write
  // replaces the value, appends extend whatever value the key has by then. `base` is the value
  // its first read saw; later reads of the key in the transaction repeat it (with the
  // transaction's own writes on top), so a read-committed or replica read changes only between
  // transactions: Elle counts a key's value changing inside one transaction as an `internal`
  // anomaly, not as the cycle each mode is meant to show.
  struct Pending {
    std::optional<Json> base;
    std::optional<Json> written;
    std::vector<Json> appended;
  };
  struct Version {
    uint64_t commit = 0;  // the commit that installed it (0: the initial, absent value)
    Json value;
  };
  struct Replica {
    size_t applied = 0;  // commits of the primary's log applied so far
    std::map<std::string, Json> data;
  };
  using Writes = std::map<std::string, Pending>;

  Op RunTxn(const Op& invoke, const std::vector<KeyedMicroOp>& txn);
  // Runs one micro-op of a transaction: a write is buffered in *writes, a read (or an append's
  // look at the key) sees the key's base value with the transaction's writes on top; the
  // micro-op, its read filled in, goes to *completed. Returns the error that fails the
  // transaction, or "".
  std::string Execute(const KeyedMicroOp& mop, uint64_t snapshot, Writes* writes, Json* completed);
  // The value a transaction sees for `key` before its own writes, per isolation mode.
  Json BaseValue(const std::string& key, uint64_t snapshot);
  // Installs `writes` as one commit; or installs nothing and says why (a snapshot-isolation
  // conflict, an append to a register).
  std::string Commit(const Writes& writes, uint64_t snapshot);
  Json Latest(const std::string& key) const;  // the newest committed value; mutex_ held
  void Prune(const std::string& key);         // drops versions no snapshot can read
  void CatchUpSomeReplica();                  // replica-read; mutex_ held
  void TrimLog();                             // drops commits every replica has applied
  void Pause() const;

  TxnStoreOptions options_;
  std::mutex serial_;  // serializable: held for a whole transaction
  std::mutex mutex_;   // the data below
  std::mt19937_64 rng_;
  uint64_t last_commit_ = 0;
  std::map<std::string, std::vector<Version>> versions_;  // oldest first; the latest is current
  std::multiset<uint64_t> snapshots_;                     // of running SI transactions
  // replica-read: the primary's commits not yet applied by every replica (log_[0] is commit
  // log_start_ + 1), and the replicas.
  std::deque<std::vector<std::pair<std::string, Json>>> log_;
  size_t log_start_ = 0;
  std::vector<Replica> replicas_;
};

class TxnClient : public Client {
 public:
  explicit TxnClient(std::shared_ptr<TxnStore> store) : store_(std::move(store)) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override { return store_->Apply(invoke); }

 private:
  std::shared_ptr<TxnStore> store_;
};

}  // namespace faultline::fake
