// The fake system: an in-process key-value "database" with switchable, seeded bugs, so the whole
// harness (generators, interpreter, journal, checker) can be tested end to end in milliseconds
// without a cluster. Registers hold JSON values per key; ops are read, write and cas, on bare
// values or on Jepsen's [key value] tuples.
//
// FakeStore is thread-safe: every client of a test shares one. Its RNG is seeded; which ops hit a
// bug depends on the seed and on the order in which threads reach the store.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runner/test.h"

namespace faultline::fake {

enum class Bug {
  kNone,
  kStaleReads,    // some reads return an older version of the register
  kLostWrites,    // some writes are acknowledged but never applied
  kNonAtomicCas,  // cas reads, yields, then writes: two cas from the same value can both win
  // Not a consistency bug: every write and cas fails ("unavailable", as a database without a
  // quorum answers), reads succeed. Nothing is wrong with the history, and nothing was tested:
  // the stats checker makes such a run unknown instead of a vacuous valid.
  kRefusedWrites,
};

// Every name ParseBug accepts, in order (for --fake-bug's help and check).
std::vector<std::string> BugNames();

std::optional<Bug> ParseBug(const std::string& name);  // "none", "stale-reads", ...
std::string ToString(Bug bug);

class FakeStore {
 public:
  FakeStore(Bug bug, uint64_t seed) : bug_(bug), rng_(seed) {}
  // Applies the invocation and returns its completion (ok, or fail for a cas that did not match).
  Op Apply(const Op& invoke);

 private:
  struct Register {
    std::vector<Json> versions{Json()};  // every value it held, oldest first (starts nil)
  };
  bool Roll(double probability);  // a seeded coin; takes mutex_
  Json Read(const std::string& key);
  void Write(const std::string& key, const Json& value);
  bool Cas(const std::string& key, const Json& expected, const Json& value);

  Bug bug_;
  std::mutex mutex_;
  std::mt19937_64 rng_;
  std::map<std::string, Register> registers_;
};

class FakeClient : public Client {
 public:
  explicit FakeClient(std::shared_ptr<FakeStore> store) : store_(std::move(store)) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override { return store_->Apply(invoke); }

 private:
  std::shared_ptr<FakeStore> store_;
};

// The fake's Db: nothing to install; Setup/Teardown reset nothing on any node.
class FakeDb : public Db {
 public:
  Status Setup(const Test&, const std::string&, control::Remote&) override { return Status::Ok(); }
  Status Teardown(const Test&, const std::string&, control::Remote&) override {
    return Status::Ok();
  }
};

}  // namespace faultline::fake
