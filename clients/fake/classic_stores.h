// The fake databases of the classic workloads (clients/workloads/classic_workloads.h speaks their
// ops): a counter, a set, an id generator and a bank, in process, each with seeded bugs that
// break its checker (checker/workloads):
//
//   lost-writes          counter, set, set-full: some adds are acknowledged but never applied
//   stale-reads          set, set-full: some reads miss the last few elements added
//   duplicate-ids        unique-ids: some generates hand out an id already handed out
//   non-atomic-transfer  bank: a transfer reads the source's balance, then debits it and credits
//                        the destination in separate steps, so reads see money in flight and
//                        concurrent transfers overwrite each other's debits
//
// Every store is thread-safe (the clients of a test share one); which ops hit a bug depends on
// the seed and on the order in which threads reach the store.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runner/test.h"

namespace faultline::fake {

enum class ClassicBug {
  kNone,
  kLostWrites,
  kStaleReads,
  kDuplicateIds,
  kNonAtomicTransfer,
  kDuplicateDequeues
};

// The bugs `workload` (counter, set, set-full, unique-ids, bank, queue, total-queue) accepts,
// "none" first.
std::vector<std::string> ClassicBugNames(const std::string& workload);
// Every classic bug's name, "none" excluded.
std::vector<std::string> AllClassicBugNames();

// A classic workload's store: applies an invocation, returns its completion.
class ClassicStore {
 public:
  virtual ~ClassicStore() = default;
  virtual Op Apply(const Op& invoke) = 0;
};

// The store of `workload` with `bug`; InvalidArgument naming the bugs it accepts when `bug` is
// not one of them.
Result<std::shared_ptr<ClassicStore>> MakeClassicStore(const std::string& workload,
                                                       const std::string& bug, uint64_t seed);

class ClassicClient : public Client {
 public:
  explicit ClassicClient(std::shared_ptr<ClassicStore> store) : store_(std::move(store)) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override { return store_->Apply(invoke); }

 private:
  std::shared_ptr<ClassicStore> store_;
};

}  // namespace faultline::fake
