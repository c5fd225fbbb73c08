// What an op's value means for the workloads every part of faultline shares: the register ops
// (read, write, cas), keyed or not, and the micro-ops of transactions (list-append, rw-register).
// The one place these shapes are decoded and built: clients build values with the builders,
// checkers and reports take them apart with the parsers, so a shape is accepted by a checker
// exactly when a client could have written it.
//
// Register ops. An unkeyed op's value is its argument: write v, cas [from to], read null on the
// invocation and the value read on the completion. A keyed op (Jepsen's independent keys) wraps
// the argument in a [key argument] tuple: [k v], [k [from to]], [k null] / [k value-read]. A value
// has the keyed shape when it is a pair and, for a cas, its second element is a pair too; a
// checker takes a history as keyed only when every client op has that shape, so that a plain
// cas's [from to] is never taken for a key and its value.
//
// Micro-ops. A transaction's value (f "txn") is a list of micro-ops [f key value]:
//   ["append", k, v]  appends v to k's list (list-append)
//   ["w", k, v]       writes v to register k (rw-register)
//   ["r", k, seen]    reads k: seen is null on the invocation, and on the completion nil (null)
//                     or what was read: a list for list-append, a value for rw-register
// "read" and "write" are accepted for "r" and "w" (Knossos' multi-register), and a read may leave
// its value out (["r", k]). A write or append of nil is refused: nil is the initial state, so it
// names no write.
//
// Parsers return views into the JSON they were given, which must outlive them: nothing is
// copied, so the checkers can walk million-op histories with them. Every function is pure and
// may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/op.h"
#include "core/status.h"

namespace faultline {

// ---- register ops ------------------------------------------------------------------------------

enum class RegisterF : uint8_t { kRead, kWrite, kCas };

std::optional<RegisterF> ParseRegisterF(std::string_view f);  // "read", "write", "cas"
std::string_view ToString(RegisterF f);

// Whether the value of an op named `f` has the keyed shape [key argument] (a cas: [key [from to]]).
bool IsKeyedRegisterValue(std::string_view f, const Json& value);

// A register op's value taken apart; pointers into the value.
struct RegisterValue {
  const Json* key = nullptr;       // the tuple's key; null when the value is not keyed
  const Json* argument = nullptr;  // never null: the value written, cas's [from to], or the read's
};

// `value` as keyed ([key argument]) or not (the whole value is the argument). InvalidArgument
// when keyed and `value` is not a pair: "expected a [key value] tuple, found 3".
Result<RegisterValue> SplitRegisterValue(const Json& value, bool keyed);

// A cas's argument [from to]; pointers into it.
struct CasArgument {
  const Json* from = nullptr;
  const Json* to = nullptr;
};

// InvalidArgument when `argument` is not a pair: "cas value: expected [from to], found 3".
Result<CasArgument> ParseCasArgument(const Json& argument);

// Builders: [key argument] and a cas's [from to].
Json KeyedValue(Json key, Json argument);
Json CasValue(Json from, Json to);

// ---- micro-ops of transactions -------------------------------------------------------------------

enum class MicroOpKind : uint8_t { kAppend, kRead, kWrite };

std::string_view ToString(MicroOpKind kind);  // "append", "r", "w": the names builders write
// "append", "r" or "read", "w" or "write"; nullopt for any other name.
std::optional<MicroOpKind> ParseMicroOpName(std::string_view name);

// Which micro-ops a transaction may hold.
enum class TxnKind : uint8_t {
  kListAppend,  // append and r; a read's value is a list or nil
  kRwRegister,  // w and r
  kAny,         // append, w and r
};

std::string_view ToString(TxnKind kind);  // "list-append", "rw-register", "any"

// One micro-op taken apart; pointers into the micro-op.
struct MicroOp {
  MicroOpKind kind = MicroOpKind::kRead;
  const Json* key = nullptr;    // never null once parsed
  const Json* value = nullptr;  // never null once parsed: appended, written or read (null: nil)
};

// Parses one micro-op of a `kind` transaction into `out`. InvalidArgument naming the micro-op
// and what was expected: `micro-op ["incr","x",1]: expected f append or r (list-append)`.
Status ParseMicroOp(const Json& micro_op, TxnKind kind, MicroOp* out);

// Calls visit(position, const MicroOp&) for each micro-op of the transaction value `value`, in
// order, and stops at the first malformed one: InvalidArgument naming it by position (1-based)
// and what was expected: `micro-op 2 of 3, ["w","x",null]: expected a value other than nil`, or
// for a value that is no list `expected a list of micro-ops, found 5`. `visit` returns a Status
// too; a non-ok one stops the walk and is returned as is.
template <class Visit>
Status ForEachMicroOp(const Json& value, TxnKind kind, Visit&& visit);

// The micro-ops of a transaction value, as ForEachMicroOp reads them.
Result<std::vector<MicroOp>> ParseMicroOps(const Json& value, TxnKind kind);

// Builder: [name key value] with the name of `kind` ("append", "r", "w").
Json MicroOpJson(MicroOpKind kind, Json key, Json value);

// ---- implementation ------------------------------------------------------------------------------

namespace op_values_internal {
Status NotAList(const Json& value);
// Parses without building an error; false when malformed (MicroOpError then says why).
bool TryParseMicroOp(const Json& micro_op, TxnKind kind, MicroOp* out);
Status MicroOpError(const Json& micro_op, TxnKind kind, size_t position, size_t count);
}  // namespace op_values_internal

template <class Visit>
Status ForEachMicroOp(const Json& value, TxnKind kind, Visit&& visit) {
  const Json::array_t* micro_ops = value.get_ptr<const Json::array_t*>();
  if (micro_ops == nullptr) return op_values_internal::NotAList(value);
  // The array itself, not nlohmann's iterators: the txn checker runs this on every micro-op of
  // million-op histories.
  for (size_t position = 0; position < micro_ops->size(); ++position) {
    const Json& micro_op = (*micro_ops)[position];
    MicroOp parsed;
    if (!op_values_internal::TryParseMicroOp(micro_op, kind, &parsed)) {
      return op_values_internal::MicroOpError(micro_op, kind, position, micro_ops->size());
    }
    Status status = visit(position, static_cast<const MicroOp&>(parsed));
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

}  // namespace faultline
