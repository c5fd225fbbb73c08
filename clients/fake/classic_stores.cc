#include "clients/fake/classic_stores.h"

#include <deque>
#include <algorithm>
#include <thread>

#include "checker/workloads/workloads.h"

namespace faultline::fake {
namespace {

constexpr double kBugProbability = 0.1;
constexpr auto kBugWindow = std::chrono::microseconds(200);  // what a non-atomic step yields

Op Completion(const Op& invoke, Json value) {
  Op completion = invoke;
  completion.type = OpType::kOk;
  completion.value = std::move(value);
  return completion;
}

Op Failure(const Op& invoke, std::string error) {
  Op completion = invoke;
  completion.type = OpType::kFail;
  completion.error = std::move(error);
  return completion;
}

Op UnknownOp(const Op& invoke) { return Failure(invoke, "unknown op " + invoke.f); }

// The seeded coin of every store. Callers hold their store's mutex.
class Coin {
 public:
  explicit Coin(uint64_t seed) : rng_(seed) {}
  bool Roll() { return std::uniform_real_distribution<double>(0, 1)(rng_) < kBugProbability; }
  size_t Below(size_t bound) { return std::uniform_int_distribution<size_t>(0, bound - 1)(rng_); }

 private:
  std::mt19937_64 rng_;
};

class CounterStore : public ClassicStore {
 public:
  CounterStore(ClassicBug bug, uint64_t seed) : bug_(bug), coin_(seed) {}
  Op Apply(const Op& invoke) override {
    std::lock_guard lock(mutex_);
    if (invoke.f == "read") return Completion(invoke, value_);
    if (invoke.f != "add" || !invoke.value.is_number_integer()) return UnknownOp(invoke);
    bool lost = bug_ == ClassicBug::kLostWrites && coin_.Roll();
    if (!lost) value_ += invoke.value.get<int64_t>();
    return Completion(invoke, invoke.value);
  }

 private:
  ClassicBug bug_;
  std::mutex mutex_;
  Coin coin_;
  int64_t value_ = 0;
};

class SetStore : public ClassicStore {
 public:
  SetStore(ClassicBug bug, uint64_t seed) : bug_(bug), coin_(seed) {}
  Op Apply(const Op& invoke) override {
    std::lock_guard lock(mutex_);
    if (invoke.f == "read") {
      size_t visible = elements_.size();
      if (bug_ == ClassicBug::kStaleReads && visible > 0 && coin_.Roll()) {
        visible -= 1 + coin_.Below(std::min<size_t>(visible, 5));  // the last 1..5 missing
      }
      return Completion(invoke, std::vector<Json>(elements_.begin(),
                                                  elements_.begin() + static_cast<long>(visible)));
    }
    if (invoke.f != "add") return UnknownOp(invoke);
    if (!(bug_ == ClassicBug::kLostWrites && coin_.Roll())) elements_.push_back(invoke.value);
    return Completion(invoke, invoke.value);
  }

 private:
  ClassicBug bug_;
  std::mutex mutex_;
  Coin coin_;
  std::vector<Json> elements_;  // in the order added
};

class IdStore : public ClassicStore {
 public:
  IdStore(ClassicBug bug, uint64_t seed) : bug_(bug), coin_(seed) {}
  Op Apply(const Op& invoke) override {
    std::lock_guard lock(mutex_);
    if (invoke.f != "generate") return UnknownOp(invoke);
    if (bug_ == ClassicBug::kDuplicateIds && next_ > 0 && coin_.Roll()) {
      return Completion(invoke, static_cast<int64_t>(coin_.Below(static_cast<size_t>(next_))));
    }
    return Completion(invoke, next_++);
  }

 private:
  ClassicBug bug_;
  std::mutex mutex_;
  Coin coin_;
  int64_t next_ = 0;
};

// A FIFO queue. lost-writes acknowledges an enqueue without queueing it; duplicate-dequeues
// hands an element out without removing it (it comes out again later).
class QueueStore : public ClassicStore {
 public:
  QueueStore(ClassicBug bug, uint64_t seed) : bug_(bug), coin_(seed) {}
  Op Apply(const Op& invoke) override {
    std::lock_guard lock(mutex_);
    if (invoke.f == "enqueue") {
      if (!(bug_ == ClassicBug::kLostWrites && coin_.Roll())) queue_.push_back(invoke.value);
      return Completion(invoke, invoke.value);
    }
    if (invoke.f == "dequeue") {
      if (queue_.empty()) return Completion(invoke, nullptr);
      Json element = queue_.front();
      if (!(bug_ == ClassicBug::kDuplicateDequeues && coin_.Roll())) queue_.pop_front();
      return Completion(invoke, std::move(element));
    }
    if (invoke.f != "drain") return UnknownOp(invoke);
    std::vector<Json> rest(queue_.begin(), queue_.end());
    queue_.clear();
    return Completion(invoke, std::move(rest));
  }

 private:
  ClassicBug bug_;
  std::mutex mutex_;
  Coin coin_;
  std::deque<Json> queue_;
};

class BankStore : public ClassicStore {
 public:
  explicit BankStore(ClassicBug bug) : bug_(bug) {
    BankOptions options;
    balances_.assign(static_cast<size_t>(options.accounts), options.total / options.accounts);
  }

  Op Apply(const Op& invoke) override {
    if (invoke.f == "read") {
      std::lock_guard lock(mutex_);
      Json balances = Json::object();
      for (size_t account = 0; account < balances_.size(); ++account) {
        balances[std::to_string(account)] = balances_[account];
      }
      return Completion(invoke, std::move(balances));
    }
    const Json& value = invoke.value;
    if (invoke.f != "transfer" || !value.is_object() || !Account(value, "from") ||
        !Account(value, "to") || !value.value("amount", Json()).is_number_integer()) {
      return UnknownOp(invoke);
    }
    size_t from = *Account(value, "from");
    size_t to = *Account(value, "to");
    int64_t amount = value["amount"].get<int64_t>();
    if (bug_ != ClassicBug::kNonAtomicTransfer) {
      std::lock_guard lock(mutex_);
      if (balances_[from] < amount) return Failure(invoke, "insufficient funds");
      balances_[from] -= amount;
      balances_[to] += amount;
      return Completion(invoke, value);
    }
    int64_t source = 0;
    {
      std::lock_guard lock(mutex_);
      source = balances_[from];
    }
    if (source < amount) return Failure(invoke, "insufficient funds");
    std::this_thread::sleep_for(kBugWindow);
    {
      std::lock_guard lock(mutex_);
      balances_[from] = source - amount;  // overwrites whatever moved in between
    }
    std::this_thread::sleep_for(kBugWindow);
    std::lock_guard lock(mutex_);
    balances_[to] += amount;
    return Completion(invoke, value);
  }

 private:
  std::optional<size_t> Account(const Json& value, const char* field) const {
    auto found = value.find(field);
    if (found == value.end() || !found->is_number_integer()) return std::nullopt;
    int64_t account = found->get<int64_t>();
    if (account < 0 || account >= static_cast<int64_t>(balances_.size())) return std::nullopt;
    return static_cast<size_t>(account);
  }

  ClassicBug bug_;
  std::mutex mutex_;
  std::vector<int64_t> balances_;
};

std::optional<ClassicBug> ParseClassicBug(const std::string& name) {
  if (name == "none") return ClassicBug::kNone;
  if (name == "lost-writes") return ClassicBug::kLostWrites;
  if (name == "stale-reads") return ClassicBug::kStaleReads;
  if (name == "duplicate-ids") return ClassicBug::kDuplicateIds;
  if (name == "non-atomic-transfer") return ClassicBug::kNonAtomicTransfer;
  if (name == "duplicate-dequeues") return ClassicBug::kDuplicateDequeues;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> ClassicBugNames(const std::string& workload) {
  if (workload == "counter") return {"none", "lost-writes"};
  if (workload == "set" || workload == "set-full") return {"none", "lost-writes", "stale-reads"};
  if (workload == "unique-ids") return {"none", "duplicate-ids"};
  if (workload == "bank") return {"none", "non-atomic-transfer"};
  if (workload == "queue" || workload == "total-queue")
    return {"none", "lost-writes", "duplicate-dequeues"};
  return {};
}

std::vector<std::string> AllClassicBugNames() {
  return {"lost-writes", "stale-reads", "duplicate-ids", "non-atomic-transfer",
          "duplicate-dequeues"};
}

Result<std::shared_ptr<ClassicStore>> MakeClassicStore(const std::string& workload,
                                                       const std::string& bug, uint64_t seed) {
  std::vector<std::string> accepted = ClassicBugNames(workload);
  if (std::find(accepted.begin(), accepted.end(), bug) == accepted.end()) {
    std::string names;
    for (const std::string& name : accepted) names += (names.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("the " + workload + " workload's fake store takes --fake-bug " +
                                   names + ", not " + bug);
  }
  ClassicBug parsed = *ParseClassicBug(bug);
  if (workload == "counter") return std::shared_ptr<ClassicStore>(new CounterStore(parsed, seed));
  if (workload == "unique-ids") return std::shared_ptr<ClassicStore>(new IdStore(parsed, seed));
  if (workload == "bank") return std::shared_ptr<ClassicStore>(new BankStore(parsed));
  if (workload == "queue" || workload == "total-queue")
    return std::shared_ptr<ClassicStore>(new QueueStore(parsed, seed));
  return std::shared_ptr<ClassicStore>(new SetStore(parsed, seed));
}

}  // namespace faultline::fake
