// The sequential specifications the linearizability search checks against.
//
// A model is a small value type (the shape of Porcupine's Init/Step/Hash/Describe):
//   using State; using Call;
//   explicit Model(const Json& initial_value);   // null = the model's default
//   State Init(Interner&) const;
//   // Turns an op into a call. `completion` is null when the outcome is unknown (info, pending):
//   // the call may then take any return value. Errors name what was expected.
//   Result<Call> Encode(std::string_view f, const Json& invoke_value, const Json* completion,
//                       Interner&) const;
//   bool Step(const State&, const Call&, State* next) const;  // false: not allowed here
//   uint64_t Hash(const State&) const;
//   size_t HeapBytes(const State&) const;                     // for the memory budget
//   std::string Describe(const State&, const Interner&) const;
// and optionally
//   // Marks ops whose outcome is unknown and whose presence cannot change the verdict: the
//   // history is linearizable with them iff it is without them.
//   void MarkRedundant(const std::vector<Call>&, std::vector<bool>* redundant) const;
// Keys are not the model's business: the checker splits keyed histories (a [key value] tuple or
// an op "key" field) into one partition per key before a model sees them. To add a model, write
// such a type and register it in linearizable.cc.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checker/linearizable/interner.h"
#include "core/status.h"

namespace faultline::linearizable {

// register and cas-register: one value; read, write, and (cas-register) cas [expected new].
class RegisterModel {
 public:
  enum class Kind : uint8_t { kRead, kWrite, kCas };
  struct Call {
    Kind kind;
    bool unknown;    // outcome unknown: a read may return anything
    int32_t first;   // read: value read; write: value written; cas: expected
    int32_t second;  // cas: new value
  };
  using State = int32_t;

  RegisterModel(const Json& initial_value, bool allow_cas)
      : initial_value_(initial_value), allow_cas_(allow_cas) {}

  State Init(Interner& values) const { return values.Intern(initial_value_); }
  Result<Call> Encode(std::string_view f, const Json& invoke_value, const Json* completion,
                      Interner& values) const;
  bool Step(const State& state, const Call& call, State* next) const {
    switch (call.kind) {
      case Kind::kRead:
        *next = state;
        return call.unknown || call.first == state;
      case Kind::kWrite:
        *next = call.first;
        return true;
      case Kind::kCas:
        if (call.first != state) return false;
        *next = call.second;
        return true;
    }
    return false;
  }
  // An unknown read changes nothing. An unknown write (or cas) of a value that no op observes
  // (no known read returns it, no cas expects it) can be left out: in any linearization that
  // places it, the ops up to the next write accept any state, so the rest stays valid without it.
  void MarkRedundant(const std::vector<Call>& calls, std::vector<bool>* redundant) const;
  uint64_t Hash(const State& state) const { return Mix64(static_cast<uint64_t>(state)); }
  size_t HeapBytes(const State&) const { return 0; }
  std::string Describe(const State& state, const Interner& values) const {
    return values.Text(state);
  }

 private:
  Json initial_value_;
  bool allow_cas_;
};

// multi-register: several registers read and written together in one "txn" op whose value is a
// list of micro-ops [read|r k v] / [write|w k v]. Every key starts at the initial value (a scalar
// for all keys, or an object of per-key values).
class MultiRegisterModel {
 public:
  struct MicroOp {
    bool write;
    bool unknown;
    int32_t key;
    int32_t value;
    int32_t initial;  // the key's initial value, so Step needs no lookup table
  };
  struct Call {
    std::vector<MicroOp> micro_ops;
  };
  using State = std::vector<std::pair<int32_t, int32_t>>;  // sorted by key; absent = initial

  explicit MultiRegisterModel(const Json& initial_value) : initial_value_(initial_value) {}

  State Init(Interner&) const { return {}; }
  Result<Call> Encode(std::string_view f, const Json& invoke_value, const Json* completion,
                      Interner& values) const;
  bool Step(const State& state, const Call& call, State* next) const;
  uint64_t Hash(const State& state) const;
  size_t HeapBytes(const State& state) const { return state.capacity() * sizeof(state[0]); }
  std::string Describe(const State& state, const Interner& values) const;

 private:
  Json initial_value_;
};

// kv: the key-value store of the widely used Raft labs, one key per partition. get returns the
// string stored ("" when absent), put replaces it, append concatenates.
class KvModel {
 public:
  enum class Kind : uint8_t { kGet, kPut, kAppend };
  struct Call {
    Kind kind;
    bool unknown;
    std::string text;  // get: the value read; put/append: the argument
  };
  using State = std::string;

  explicit KvModel(const Json& initial_value) : initial_value_(initial_value) {}

  State Init(Interner&) const { return TextOf(initial_value_); }
  Result<Call> Encode(std::string_view f, const Json& invoke_value, const Json* completion,
                      Interner& values) const;
  bool Step(const State& state, const Call& call, State* next) const {
    switch (call.kind) {
      case Kind::kGet:
        if (!call.unknown && call.text != state) return false;
        *next = state;
        return true;
      case Kind::kPut:
        *next = call.text;
        return true;
      case Kind::kAppend:
        next->reserve(state.size() + call.text.size());
        next->assign(state).append(call.text);
        return true;
    }
    return false;
  }
  // An unknown get changes nothing. An unknown put or append whose (non-empty) text no known get
  // contains can be left out: a get after it and before the next put would contain its text.
  void MarkRedundant(const std::vector<Call>& calls, std::vector<bool>* redundant) const;
  uint64_t Hash(const State& state) const { return Mix64(std::hash<std::string_view>()(state)); }
  size_t HeapBytes(const State& state) const { return state.capacity(); }
  std::string Describe(const State& state, const Interner&) const;

  static std::string TextOf(const Json& value);

 private:
  Json initial_value_;
};

// mutex: acquire succeeds only when free, release only when held.
class MutexModel {
 public:
  struct Call {
    bool acquire;
  };
  using State = bool;  // held

  explicit MutexModel(const Json&) {}
  State Init(Interner&) const { return false; }
  Result<Call> Encode(std::string_view f, const Json& invoke_value, const Json* completion,
                      Interner& values) const;
  bool Step(const State& held, const Call& call, State* next) const {
    if (call.acquire == held) return false;
    *next = call.acquire;
    return true;
  }
  uint64_t Hash(const State& held) const { return held ? 0x5bd1e995u : 0x1b873593u; }
  size_t HeapBytes(const State&) const { return 0; }
  std::string Describe(const State& held, const Interner&) const { return held ? "held" : "free"; }
};

// set, fifo-queue, unordered-queue: collections of interned elements.
//   set: add v; read -> every element (in any order).
//   fifo-queue: enqueue v; dequeue -> the oldest element (null: observed empty).
//   unordered-queue: enqueue v; dequeue -> any element present.
class CollectionModel {
 public:
  enum class Discipline : uint8_t { kSet, kFifo, kUnordered };
  enum class Kind : uint8_t { kAdd, kRead, kDequeue };
  struct Call {
    Kind kind;
    bool unknown;
    int32_t element;                // add / dequeue
    std::vector<int32_t> elements;  // read: sorted
  };
  using State = std::vector<int32_t>;  // set and unordered-queue: sorted; fifo: oldest first

  CollectionModel(const Json& initial_value, Discipline discipline)
      : initial_value_(initial_value), discipline_(discipline) {}

  State Init(Interner& values) const;
  Result<Call> Encode(std::string_view f, const Json& invoke_value, const Json* completion,
                      Interner& values) const;
  bool Step(const State& state, const Call& call, State* next) const;
  uint64_t Hash(const State& state) const;
  size_t HeapBytes(const State& state) const { return state.capacity() * sizeof(int32_t); }
  std::string Describe(const State& state, const Interner& values) const;

 private:
  Json initial_value_;
  Discipline discipline_;
};

}  // namespace faultline::linearizable
