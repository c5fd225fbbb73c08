// Seeded generators of histories for the linearizability property tests.
//
// SimulateHistory runs a discrete-event simulation of clients talking to a truly linearizable
// in-memory register, cas-register or key-value store: every op is invoked at some instant,
// takes effect atomically at a random instant strictly inside its invoke..completion interval,
// and completes with the result it observed at that instant. So every history it returns is
// linearizable by construction (and well-formed, core/validate.h). Faults follow Jepsen's rules:
// a failed op did not take effect; a crashed op completes as info (or, near the end, never) and
// may or may not have taken effect; after an info the client thread continues as process +
// concurrency. A cas whose expected value does not match completes as fail, as Jepsen clients do.
//
// RandomHistory builds small histories that are usually NOT linearizable: random interleavings of
// invokes and completions (ok, fail, info, or none) with random values from a tiny domain, for
// comparison with the brute-force oracle.
//
// Both are pure functions of their options (the seed included). Thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "core/op.h"

namespace faultline::testkit {

struct SimulatorOptions {
  std::string model = "register";  // "register", "cas-register" or "kv"
  uint64_t seed = 0;
  int concurrency = 5;              // client threads
  int ops = 200;                    // invocations by clients, in all
  double crash_probability = 0.03;  // an op ends as info (or pending at the end)
  double fail_probability = 0.05;   // an op ends as fail and does not take effect
  int keys = 3;                     // kv: keys "k0".."k{keys-1}"
  int values = 5;                   // register: written values are 1..values
  bool nemesis = true;              // sprinkle nemesis ops, which the checker must ignore
};

History SimulateHistory(const SimulatorOptions& options);

struct RandomHistoryOptions {
  std::string model = "register";  // "register", "cas-register" or "kv"
  uint64_t seed = 0;
  int processes = 3;  // client threads
  int ops = 8;        // client invocations, at most
};

History RandomHistory(const RandomHistoryOptions& options);

// The same history with Jepsen's [key value] tuples rewritten the Raft-KV lab way: the key in an
// op field "key" (Op::extra) and the bare value in Op::value. Ops without a tuple are kept as is.
History WithKeyField(const History& history);

// The history as JSONL (a header line, then one op per line), for failure messages.
std::string ToJsonl(const History& history);

}  // namespace faultline::testkit
