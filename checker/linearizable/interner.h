// Interner: maps JSON values to small dense ids so models compare and hash integers, not JSON.
// One interner per partition; owned and used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/op.h"

namespace faultline::linearizable {

class Interner {
 public:
  // Id 0 is always null (nil), so a register's "no value yet" needs no special case.
  Interner() { Intern(Json()); }

  int32_t Intern(const Json& value) {
    std::string text = value.dump();
    auto [it, inserted] = ids_.try_emplace(std::move(text), static_cast<int32_t>(values_.size()));
    if (inserted) values_.push_back(value);
    return it->second;
  }
  const Json& Value(int32_t id) const { return values_.at(static_cast<size_t>(id)); }
  std::string Text(int32_t id) const { return values_.at(static_cast<size_t>(id)).dump(); }

  static constexpr int32_t kNull = 0;

 private:
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<Json> values_;
};

// SplitMix64: the avalanche step used for every hash in the search.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace faultline::linearizable
