// The generator combinators: Jepsen's generator language as immutable C++ values.
//
// Every function returns a new GenPtr and never changes its arguments, so a generator value can
// be reused, shared and replayed. Times are simulated or interpreter nanoseconds since the test
// started. Randomness (which free thread runs an op, Mix's choice, Stagger's gaps, tie breaks)
// comes only from Context::rng. docs/generators.md describes each combinator's semantics and the
// few places where they differ from Jepsen's; generator.h has the interpreter loop they assume.
//
// Ops emitted by these generators are invocations (type invoke) whose process is that of a free
// thread the generator may use, chosen with the RNG; when no such thread is free the answer is
// pending. A generator that is not routed (Clients, Nemesis, Reserve, ...) may use every thread,
// the nemesis's included, as in Jepsen.
//
// Thread safety: the values are immutable and may be shared; Next and Update use the context's
// RNG, so one generator tree is driven by one thread at a time (the interpreter's).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/op.h"
#include "generators/generator.h"

namespace faultline::gen {

// Makes the f, value (and optionally extra) of an op; the combinator fills in type, process and
// time. A time_ns later than the context's time makes the op due then. It may be called more than
// once per emitted op (the interpreter asks again when an op is not yet due, and drops the
// earlier answer), so it should depend only on its arguments.
using OpFunction = std::function<Op(const Context& context, Rng& rng)>;

// An op template with the given f and value.
Op MakeOp(std::string f, Json value = nullptr);

// Nothing: exhausted at once.
GenPtr Void();

// Exactly one op: the template, or the function's op (called when the op is asked for).
GenPtr Once(std::string f, Json value = nullptr);
GenPtr Once(Op op_template);
GenPtr Once(OpFunction make_op);
// The first op of `generator` only (Limit(1, generator)).
GenPtr Once(GenPtr generator);

// The template, or a fresh op from the function, forever.
GenPtr Repeat(std::string f, Json value = nullptr);
GenPtr Repeat(Op op_template);
GenPtr Repeat(OpFunction make_op);
// The first op of `generator`, again and again, without advancing it (Jepsen's repeat); `times`
// times, or forever without it. Updates still reach `generator`.
GenPtr Repeat(GenPtr generator);
GenPtr Repeat(int64_t times, GenPtr generator);

// Runs `generator` to exhaustion, then starts it again from its original value; `times` runs in
// all, or forever. A generator that is exhausted at once ends the cycle.
GenPtr Cycle(GenPtr generator);
GenPtr Cycle(int64_t times, GenPtr generator);

// At most `count` ops of `generator`.
GenPtr Limit(int64_t count, GenPtr generator);

// Rewrites each op `generator` emits (pending and exhausted pass through).
GenPtr Map(std::function<Op(Op)> transform, GenPtr generator);

// Logs `message` once (a log step, see generator.h), then exhausted.
GenPtr Log(std::string message);

// Emits nothing for duration_ns from when it is first asked, then exhausted.
GenPtr Sleep(int64_t duration_ns);

// Every op of the first generator, then every op of the second, ...; no barrier.
GenPtr Concat(std::vector<GenPtr> generators);

// Waits until every thread of its context is free, then behaves as `generator`.
GenPtr Synchronize(GenPtr generator);

// Each generator runs to exhaustion; before each one starts, a barrier waits until every thread
// is free (so all ops of phase i have completed before phase i+1 invokes anything).
GenPtr Phases(std::vector<GenPtr> generators);

// `first`, a barrier, then `second`. (Jepsen's `then` takes them the other way round for its ->>
// threading; here they read in the order they run.)
GenPtr Then(GenPtr first, GenPtr second);

// Ops of `generator` due before (first op's due time + duration_ns); exhausted from then on.
GenPtr TimeLimit(int64_t duration_ns, GenPtr generator);

// Spaces ops at uniformly random gaps in [0, 2 * mean_gap_ns) after the previous op's due time,
// over all threads together (Jepsen's total-rate stagger). An op already later than that keeps
// its own time.
GenPtr Stagger(int64_t mean_gap_ns, GenPtr generator);

// Spaces ops exactly gap_ns apart (due times), catching up when it falls behind.
GenPtr Delay(int64_t gap_ns, GenPtr generator);

// About ops_per_second ops per second in all: Stagger(1e9 / ops_per_second).
GenPtr Rate(double ops_per_second, GenPtr generator);

// Ops from whichever generator has one due soonest (ties at random); updates go to all; exhausted
// when all are.
GenPtr Any(std::vector<GenPtr> generators);

// A uniformly random generator for each op (Jepsen's mix); an exhausted one is dropped; updates
// go to all. The choice is kept while the chosen generator is pending.
GenPtr Mix(std::vector<GenPtr> generators);

// `generator` sees only the threads for which keep(thread) holds, and only their updates. With no
// such thread at all it is exhausted.
GenPtr OnThreads(std::function<bool(int thread)> keep, GenPtr generator);
// Client threads only.
GenPtr Clients(GenPtr generator);
// The nemesis thread only.
GenPtr Nemesis(GenPtr generator);
// Any(Clients(client_generator), Nemesis(nemesis_generator)).
GenPtr Clients(GenPtr client_generator, GenPtr nemesis_generator);

// An independent copy of `generator` per thread, each seeing only its own thread and its own
// thread's updates; exhausted when every thread's copy is.
GenPtr EachThread(GenPtr generator);

// Thread ranges: the first ranges[0].first client threads (of the context, ascending) run
// ranges[0].second, the next ranges[1].first run ranges[1].second, ...; every other thread (the
// nemesis's included, as in Jepsen) runs `rest`. Each sees only its threads and their updates.
GenPtr Reserve(std::vector<std::pair<int, GenPtr>> ranges, GenPtr rest);

// Ops of `generator` until one of the ops it emitted completes ok.
GenPtr UntilOk(GenPtr generator);

// Keys for Independent: the key with the given position (0, 1, ...), or nullopt past the last.
using KeyFunction = std::function<std::optional<Json>(int64_t position)>;
// The generator for one key; its op values are wrapped as [key, value].
using KeyGenerator = std::function<GenPtr(const Json& key)>;

// Jepsen's concurrent independent generator. The context's client threads (ascending; their
// number must be a multiple of threads_per_key) are split into contiguous groups of
// threads_per_key; each group works on one key at a time, with per_key(key) limited to
// ops_per_key ops (no limit when <= 0) and seeing only the group's threads. Values are emitted as
// [key, value]. When a group's generator is exhausted the group takes the next unused key, in
// order; the generator is exhausted when the keys have run out and every group is done. Updates
// reach a group's generator only for ops of its current key, with the value unwrapped. Like
// OpFunction, `keys` and `per_key` may be called more than once for the same key.
GenPtr Independent(std::vector<Json> keys, int threads_per_key, int64_t ops_per_key,
                   KeyGenerator per_key);
GenPtr Independent(KeyFunction keys, int threads_per_key, int64_t ops_per_key,
                   KeyGenerator per_key);

}  // namespace faultline::gen
