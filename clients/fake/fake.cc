#include "clients/fake/fake.h"

#include <thread>

#include "core/op_values.h"

namespace faultline::fake {
namespace {

constexpr double kBugProbability = 0.2;

std::string KeyOf(const Json& key) { return key.is_string() ? key.get<std::string>() : key.dump(); }

}  // namespace

std::optional<Bug> ParseBug(const std::string& name) {
  if (name == "none") return Bug::kNone;
  if (name == "stale-reads") return Bug::kStaleReads;
  if (name == "lost-writes") return Bug::kLostWrites;
  if (name == "non-atomic-cas") return Bug::kNonAtomicCas;
  if (name == "refused-writes") return Bug::kRefusedWrites;
  return std::nullopt;
}

std::vector<std::string> BugNames() {
  return {"none", "stale-reads", "lost-writes", "non-atomic-cas", "refused-writes"};
}

std::string ToString(Bug bug) {
  switch (bug) {
    case Bug::kNone:
      return "none";
    case Bug::kStaleReads:
      return "stale-reads";
    case Bug::kLostWrites:
      return "lost-writes";
    case Bug::kNonAtomicCas:
      return "non-atomic-cas";
    case Bug::kRefusedWrites:
      return "refused-writes";
  }
  return "?";
}

bool FakeStore::Roll(double probability) {
  std::lock_guard lock(mutex_);
  return std::uniform_real_distribution<double>(0, 1)(rng_) < probability;
}

Json FakeStore::Read(const std::string& key) {
  bool stale = bug_ == Bug::kStaleReads && Roll(kBugProbability);
  std::lock_guard lock(mutex_);
  const std::vector<Json>& versions = registers_[key].versions;
  if (!stale || versions.size() < 3) return versions.back();
  // Two or more versions behind: a value that was overwritten at least twice.
  size_t older = std::uniform_int_distribution<size_t>(0, versions.size() - 3)(rng_);
  return versions[older];
}

void FakeStore::Write(const std::string& key, const Json& value) {
  if (bug_ == Bug::kLostWrites && Roll(kBugProbability)) return;  // acknowledged, not applied
  std::lock_guard lock(mutex_);
  registers_[key].versions.push_back(value);
}

bool FakeStore::Cas(const std::string& key, const Json& expected, const Json& value) {
  if (bug_ != Bug::kNonAtomicCas) {
    std::lock_guard lock(mutex_);
    std::vector<Json>& versions = registers_[key].versions;
    if (versions.back() != expected) return false;
    versions.push_back(value);
    return true;
  }
  Json current;
  {
    std::lock_guard lock(mutex_);
    current = registers_[key].versions.back();
  }
  std::this_thread::sleep_for(std::chrono::microseconds(200));  // the window the bug opens
  if (current != expected) return false;
  std::lock_guard lock(mutex_);
  registers_[key].versions.push_back(value);
  return true;
}

Op FakeStore::Apply(const Op& invoke) {
  // A value of the keyed shape is [key argument]; the unkeyed register is key "".
  const bool keyed = IsKeyedRegisterValue(invoke.f, invoke.value);
  const RegisterValue value = *SplitRegisterValue(invoke.value, keyed);
  const std::string key = keyed ? KeyOf(*value.key) : "";
  Op completion = invoke;
  completion.type = OpType::kOk;
  std::optional<RegisterF> f = ParseRegisterF(invoke.f);
  if (bug_ == Bug::kRefusedWrites && f && *f != RegisterF::kRead) {
    completion.type = OpType::kFail;
    completion.error = "unavailable";
    return completion;
  }
  if (!f) {
    completion.type = OpType::kFail;
    completion.error = "unknown op " + invoke.f;
    return completion;
  }
  switch (*f) {
    case RegisterF::kRead: {
      Json read = Read(key);
      completion.value = keyed ? KeyedValue(*value.key, std::move(read)) : std::move(read);
      break;
    }
    case RegisterF::kWrite:
      Write(key, *value.argument);
      break;
    case RegisterF::kCas: {
      Result<CasArgument> cas = ParseCasArgument(*value.argument);
      if (!cas.ok()) {
        completion.type = OpType::kFail;
        completion.error = cas.status().message();
      } else if (!Cas(key, *cas->from, *cas->to)) {
        completion.type = OpType::kFail;
      }
      break;
    }
  }
  return completion;
}

}  // namespace faultline::fake
