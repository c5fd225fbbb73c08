#include "clients/fake/txn_store.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace faultline::fake {
namespace {

struct IsolationName {
  Isolation isolation;
  const char* name;
};

constexpr IsolationName kIsolationNames[] = {
    {Isolation::kSerializable, "serializable"},
    {Isolation::kSnapshotIsolation, "snapshot-isolation"},
    {Isolation::kReadCommitted, "read-committed"},
    {Isolation::kReplicaRead, "replica-read"},
};

// A key's value with a transaction's pending appends on top; nullopt when the value is not a
// list (an append to a register).
std::optional<Json> WithAppends(Json value, const std::vector<Json>& appended) {
  if (appended.empty()) return value;
  if (value.is_null()) value = Json::array();
  if (!value.is_array()) return std::nullopt;
  for (const Json& element : appended) value.push_back(element);
  return value;
}

Op Failed(const Op& invoke, const std::string& error) {
  Op completion = invoke;
  completion.type = OpType::kFail;
  completion.error = error;
  return completion;
}

}  // namespace

std::vector<std::string> IsolationNames() {
  std::vector<std::string> names;
  for (const IsolationName& entry : kIsolationNames) names.emplace_back(entry.name);
  return names;
}

std::optional<Isolation> ParseIsolation(const std::string& name) {
  for (const IsolationName& entry : kIsolationNames) {
    if (name == entry.name) return entry.isolation;
  }
  return std::nullopt;
}

std::string ToString(Isolation isolation) {
  for (const IsolationName& entry : kIsolationNames) {
    if (isolation == entry.isolation) return entry.name;
  }
  return "?";
}

TxnStore::TxnStore(TxnStoreOptions options)
    : options_(options), rng_(options.seed), replicas_(std::max(options.replicas, 1)) {}

Op TxnStore::Apply(const Op& invoke) {
  if (invoke.f != "txn") return Failed(invoke, "unknown op " + invoke.f + " (expected txn)");
  std::vector<KeyedMicroOp> txn;
  Status parsed = ForEachMicroOp(invoke.value, TxnKind::kAny, [&](size_t, const MicroOp& mop) {
    txn.push_back({mop, mop.key->dump()});
    return Status::Ok();
  });
  if (!parsed.ok()) return Failed(invoke, parsed.message());
  return RunTxn(invoke, txn);
}

Op TxnStore::RunTxn(const Op& invoke, const std::vector<KeyedMicroOp>& txn) {
  const Isolation isolation = options_.isolation;
  std::unique_lock serial(serial_, std::defer_lock);
  if (isolation == Isolation::kSerializable) serial.lock();
  uint64_t snapshot = 0;
  {
    std::lock_guard lock(mutex_);
    snapshot = last_commit_;
    if (isolation == Isolation::kSnapshotIsolation) snapshots_.insert(snapshot);
    if (isolation == Isolation::kReplicaRead) CatchUpSomeReplica();
  }
  Writes writes;
  Json completed = Json::array();
  std::string error;
  for (const KeyedMicroOp& mop : txn) {
    error = Execute(mop, snapshot, &writes, &completed);
    if (!error.empty()) break;
    Pause();
  }
  for (auto entry = writes.begin(); entry != writes.end();) {
    bool written = entry->second.written || !entry->second.appended.empty();
    entry = written ? std::next(entry) : writes.erase(entry);  // keys only read
  }
  if (error.empty()) error = Commit(writes, snapshot);
  if (isolation == Isolation::kSnapshotIsolation) {
    std::lock_guard lock(mutex_);
    snapshots_.erase(snapshots_.find(snapshot));
  }
  if (!error.empty()) return Failed(invoke, error);
  Op completion = invoke;
  completion.type = OpType::kOk;
  completion.value = std::move(completed);
  return completion;
}

std::string TxnStore::Execute(const KeyedMicroOp& keyed, uint64_t snapshot, Writes* writes,
                              Json* completed) {
  const MicroOp& mop = keyed.op;
  Pending& pending = (*writes)[keyed.key_text];
  if (mop.kind == MicroOpKind::kWrite) {
    pending.written = *mop.value;
    pending.appended.clear();
    completed->push_back(MicroOpJson(MicroOpKind::kWrite, *mop.key, *mop.value));
    return "";
  }
  if (!pending.written && !pending.base) pending.base = BaseValue(keyed.key_text, snapshot);
  std::optional<Json> visible =
      WithAppends(pending.written ? *pending.written : *pending.base, pending.appended);
  const bool append = mop.kind == MicroOpKind::kAppend;
  if (!visible || (append && !visible->is_null() && !visible->is_array())) {
    return "append to " + mop.key->dump() + ", which holds a register";
  }
  if (append) pending.appended.push_back(*mop.value);
  completed->push_back(MicroOpJson(mop.kind, *mop.key, append ? *mop.value : *visible));
  return "";
}

Json TxnStore::BaseValue(const std::string& key, uint64_t snapshot) {
  std::lock_guard lock(mutex_);
  if (options_.isolation == Isolation::kReplicaRead) {
    size_t choice = std::uniform_int_distribution<size_t>(0, replicas_.size() - 1)(rng_);
    const std::map<std::string, Json>& data = replicas_[choice].data;
    auto found = data.find(key);
    return found == data.end() ? Json() : found->second;
  }
  if (options_.isolation != Isolation::kSnapshotIsolation) return Latest(key);
  auto found = versions_.find(key);
  if (found == versions_.end()) return Json();
  const std::vector<Version>& versions = found->second;
  for (auto version = versions.rbegin(); version != versions.rend(); ++version) {
    if (version->commit <= snapshot) return version->value;
  }
  return Json();  // first written after the snapshot
}

Json TxnStore::Latest(const std::string& key) const {
  auto found = versions_.find(key);
  return found == versions_.end() ? Json() : found->second.back().value;
}

std::string TxnStore::Commit(const Writes& writes, uint64_t snapshot) {
  if (writes.empty()) return "";
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, Json>> installed;
  for (const auto& [key, pending] : writes) {
    auto found = versions_.find(key);
    if (options_.isolation == Isolation::kSnapshotIsolation && found != versions_.end() &&
        found->second.back().commit > snapshot) {
      return "conflict on key " + key + ": written since this transaction's snapshot";
    }
    std::optional<Json> value =
        WithAppends(pending.written ? *pending.written : Latest(key), pending.appended);
    if (!value) return "append to " + key + ", which holds a register";
    installed.emplace_back(key, std::move(*value));
  }
  uint64_t commit = ++last_commit_;
  for (auto& [key, value] : installed) {
    versions_[key].push_back({commit, value});
    Prune(key);
  }
  if (options_.isolation == Isolation::kReplicaRead) log_.push_back(std::move(installed));
  return "";
}

void TxnStore::Prune(const std::string& key) {
  std::vector<Version>& versions = versions_[key];
  uint64_t oldest = last_commit_;
  if (options_.isolation == Isolation::kSnapshotIsolation && !snapshots_.empty()) {
    oldest = *snapshots_.begin();
  }
  // Keep the newest version the oldest snapshot can see, and every later one.
  size_t keep = versions.size() - 1;
  while (keep > 0 && versions[keep].commit > oldest) --keep;
  versions.erase(versions.begin(), versions.begin() + static_cast<std::ptrdiff_t>(keep));
}

void TxnStore::CatchUpSomeReplica() {
  if (std::uniform_real_distribution<double>(0, 1)(rng_) >= options_.catch_up_probability) return;
  Replica& replica =
      replicas_[std::uniform_int_distribution<size_t>(0, replicas_.size() - 1)(rng_)];
  for (size_t commit = replica.applied; commit < log_start_ + log_.size(); ++commit) {
    for (const auto& [key, value] : log_[commit - log_start_]) replica.data[key] = value;
  }
  replica.applied = log_start_ + log_.size();
  TrimLog();
}

void TxnStore::TrimLog() {
  size_t oldest = replicas_.front().applied;
  for (const Replica& replica : replicas_) oldest = std::min(oldest, replica.applied);
  while (log_start_ < oldest) {
    log_.pop_front();
    ++log_start_;
  }
}

void TxnStore::Pause() const {
  if (options_.pause_us > 0)
    std::this_thread::sleep_for(std::chrono::microseconds(options_.pause_us));
}

}  // namespace faultline::fake
