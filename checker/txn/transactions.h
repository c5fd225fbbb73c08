// Internal: a history's transactions in a compact form. Keys and values are interned to dense
// ids, micro-ops live in one array, list reads in another, so a million transactions cost a few
// flat vectors rather than a million JSON trees.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "checker/txn/txn.h"

namespace faultline::txn {

inline constexpr int32_t kNil = -1;  // a register read of the initial state

// Interns JSON values; integers (nearly every key and value in practice) take a fast path: small
// non-negative ones index a flat table, so interning the tens of millions of elements of a large
// history's reads costs an array access each rather than a hash-node lookup.
class Interner {
 public:
  int32_t Intern(const Json& value);
  int32_t InternInteger(int64_t value);
  const Json& Value(int32_t id) const { return values_[static_cast<size_t>(id)]; }
  std::string Text(int32_t id) const;  // "x", "3", "nil"
  size_t size() const { return values_.size(); }

 private:
  static constexpr int64_t kDirectLimit = int64_t{1} << 24;  // at most 64 MiB of table
  std::vector<int32_t> direct_;  // integer -> id, -1 for none; grown to the largest seen
  std::unordered_map<int64_t, int32_t> integers_;  // the others
  std::unordered_map<std::string, int32_t> others_;
  std::vector<Json> values_;
};

enum class MopKind : uint8_t { kAppend, kWrite, kRead };

struct Mop {
  MopKind kind = MopKind::kRead;
  int32_t key = 0;
  int32_t value = kNil;     // appended / written / register-read value
  uint32_t list_begin = 0;  // list read: its elements in Transactions::elements
  uint32_t list_size = 0;
  bool list = false;  // a list-append read (else a register read)
};

enum class TxnStatus : uint8_t { kOk, kInfo, kFail };

struct Txn {
  TxnStatus status = TxnStatus::kOk;
  int64_t process = 0;
  size_t op = 0;                // position in History::ops of the op that describes it
  int64_t invoke_position = 0;  // positions in History::ops, for realtime order
  int64_t complete_position = std::numeric_limits<int64_t>::max();  // max: never completed
  uint32_t mop_begin = 0;
  uint32_t mop_count = 0;
};

struct Transactions {
  std::vector<Txn> txns;  // in order of invocation
  std::vector<Mop> mops;
  std::vector<int32_t> elements;
  Interner keys;
  Interner values;
  std::vector<std::string> warnings;

  const Mop* begin(const Txn& txn) const { return mops.data() + txn.mop_begin; }
  const Mop* end(const Txn& txn) const { return mops.data() + txn.mop_begin + txn.mop_count; }
};

// `threads`: as TxnOptions::threads; the result does not depend on it.
Result<Transactions> ExtractTransactions(const History& history, TxnWorkload workload,
                                         size_t threads = 0);

// "[1 2]" for a list read, "nil" / "3" for a register read.
std::string DescribeRead(const Transactions& transactions, const Mop& mop);
// "append 3 to x", "read x = [1 2]", "write 2 to y", "read y = nil".
std::string DescribeMop(const Transactions& transactions, const Mop& mop);
// "[[append x 1] [r y [1]]]": the transaction's micro-ops.
std::string DescribeTxn(const Transactions& transactions, const Txn& txn);

}  // namespace faultline::txn
