// Generators: pure, immutable, seeded schedules of operations, with Jepsen's semantics.
//
// A generator is an immutable value. The interpreter (one thread) repeatedly asks it for the next
// operation given a Context (the time now, which threads are free, the RNG); the answer is an op
// and the generator to use afterwards, "pending" (nothing now, ask again after the next event or
// at `wake_ns`), or "exhausted". Every invocation and completion the interpreter sees is fed back
// through Update, which returns the generator to use afterwards. Generators never block, never
// read clocks and never touch global state: all randomness comes from Context::rng, so a seed and
// the same sequence of events replay the same schedule. Values are shared between threads only as
// const (GenPtr), so they are safe to keep in several places.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/op.h"

namespace faultline::gen {

// The nemesis's thread. Client threads are 0 .. concurrency-1.
inline constexpr int kNemesisThread = -1;

// The seeded RNG shared by every generator of a test (owned by the interpreter thread).
using Rng = std::mt19937_64;

struct Context {
  int64_t time_ns = 0;               // now, since the test started
  int concurrency = 0;               // client threads
  std::vector<int> free_threads;     // idle threads, ascending; may contain kNemesisThread
  std::vector<int64_t> process_of;   // client thread -> its current process (grows past infos)
  Rng* rng = nullptr;                // never null while a generator runs

  bool IsFree(int thread) const;
  int64_t ProcessOf(int thread) const;  // kNemesisProcess for the nemesis thread
  // The thread a process runs on: process mod concurrency, or kNemesisThread.
  int ThreadOf(int64_t process) const;
  // A copy restricted to the given threads (for reserve/each-thread/clients/nemesis routing).
  Context WithThreads(const std::function<bool(int)>& keep) const;
};

class Generator;
using GenPtr = std::shared_ptr<const Generator>;

struct Step {
  enum class Kind { kOp, kPending, kExhausted };
  Kind kind = Kind::kExhausted;
  // kOp: an invocation (type invoke) with process set to a free thread's process, f, value, and
  // time_ns = when it is due (>= ctx.time_ns; the interpreter waits until then).
  Op op;
  GenPtr next;             // kOp: the generator after this op. kPending: the generator to keep.
  int64_t wake_ns = -1;    // kPending: ask again at this time even without an event; -1 = none
  std::string log;         // a message to log when this step is taken (gen::Log), else empty

  static Step Exhausted() { return {}; }
};

class Generator : public std::enable_shared_from_this<Generator> {
 public:
  virtual ~Generator() = default;
  virtual Step Next(const Context& ctx) const = 0;
  // Called with every invocation and completion; default: unchanged.
  virtual GenPtr Update(const Context& ctx, const Op& event) const;
};

}  // namespace faultline::gen
