// Transactional and session workloads: generators of Elle-style transactions ("txn" ops whose
// value is a list of micro-ops) for the isolation checker (checker/txn) and the session-guarantees
// checker (checker/session). docs/workloads.md describes each workload and its options.
//
// list-append: `[["append",k,v],["r",k,null],...]`; rw-register: `[["w",k,v],["r",k,null],...]`.
// Keys are integers. Each key's written values are 1, 2, 3, ... in invocation order, so every
// value is written at most once per key (what the checkers need to tell writes apart). A key takes
// at most max_writes_per_key writes; then it retires and a fresh key (never used before) takes its
// place among the key_count active keys, which keeps every key's history short. Which active key
// a micro-op uses follows the key distribution: uniform, exponential (the first active key about
// half the time, the next a quarter, ...) or zipf (the i-th in proportion to 1/i).
//
// session: single-key list-append transactions in which each client thread mostly stays on one
// "focus" key, so that its reads follow its own appends (read-your-writes), its earlier reads
// (monotonic reads), and other sessions' appends it has read (writes-follow-reads).
//
// The generators are pure values (generators/generator.h): the active keys, their write counts and
// each thread's focus key live in the generator value and advance with each emitted op. All
// randomness comes from the context's RNG. They emit on free client threads only (never the
// nemesis thread) and are unbounded; callers add Clients, TimeLimit, Rate, ... as for any other
// generator. Thread-compatible like every generator value.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "generators/generator.h"

namespace faultline::workloads {

struct TxnWorkloadOptions {
  int key_count = 10;           // active keys at any time
  int min_txn_length = 1;       // micro-ops per transaction, drawn uniformly in [min, max]
  int max_txn_length = 4;       // (the session workload ignores both)
  int max_writes_per_key = 32;  // writes after which a key retires
  std::string key_distribution = "exponential";  // uniform, exponential, zipf
};

// Upper bounds of the options (a limit on everything): larger values are rejected.
inline constexpr int kMaxKeyCount = 10'000;  // the active keys are copied with each op
inline constexpr int kMaxTxnLength = 1'000;
inline constexpr int kMaxWritesPerKey = 1'000'000;

std::vector<std::string> KeyDistributionNames();  // uniform, exponential, zipf

// Ok, or InvalidArgument naming the option (by its command-line flag) and the accepted range.
Status Validate(const TxnWorkloadOptions& options);

// The generators; InvalidArgument when the options are not valid.
Result<gen::GenPtr> ListAppendGenerator(const TxnWorkloadOptions& options);
Result<gen::GenPtr> RwRegisterGenerator(const TxnWorkloadOptions& options);
Result<gen::GenPtr> SessionGenerator(const TxnWorkloadOptions& options);

}  // namespace faultline::workloads
