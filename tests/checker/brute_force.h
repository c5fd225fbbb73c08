// A brute-force linearizability oracle for tiny histories, written to be obviously correct rather
// than fast, and independently of checker/ (its own pairing and its own sequential models), so
// that the property tests can compare the real checker's verdict with it.
//
// Definition used: drop nemesis ops and failed ops; ok ops must be included, info and pending ops
// may be included or not (each subset is tried). An order of the included ops is allowed when it
// respects real time: A must precede B when A's completion comes before B's invoke in the history
// (only ok ops have a completion that orders anything; an info op may take effect until the end).
// The history is linearizable when some subset and some allowed order run through the sequential
// model with every ok op returning what the history says it returned.
//
// Models: "register" (read, write), "cas-register" (read, write, cas [expected new]) and "kv"
// (get/put/append, values [key v], every key starts as ""). Knossos' convention, which the checker
// follows (docs/linearizability.md): when a register's initial value is not nil, an ok read of nil
// is a read whose value was not recorded and matches any state. Histories must be well-formed (see
// core/validate.h) and small: the cost is exponential; the oracle asserts at most 16 client ops.
// Thread-compatible: plain functions of their arguments.
#pragma once

#include <string>

#include "core/op.h"

namespace faultline::testkit {

// True when the history is linearizable under `model` starting from `initial_value` (null: the
// register's nil; kv ignores it and starts every key at "").
bool BruteForceLinearizable(const History& history, const std::string& model,
                            const Json& initial_value = nullptr);

}  // namespace faultline::testkit
