// The transactional isolation checker: Adya-style dependency cycles over list-append and
// rw-register histories (the approach of Kingsbury & Alvaro's Elle), checked against a
// consistency model. See docs/txn.md for the semantics.
//
// A history's ops carry Elle's micro-ops as their value: list-append `["append",k,v]` and
// `["r",k,[v...]]`, rw-register `["w",k,v]` and `["r",k,v]`; every value is written at most once
// per key. An ok op happened, a fail op did not, an info op (or an invoke that never completed)
// may have. Nemesis ops and ops whose f is neither "txn" nor empty are ignored.
//
// CheckTransactions is a pure function of the history and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "checker/verdict.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline {

enum class TxnWorkload { kListAppend, kRwRegister };

struct TxnOptions {
  TxnWorkload workload = TxnWorkload::kListAppend;
  // What counts as invalid: the anomalies these models forbid, plus `anomalies` (names as in
  // TxnAnomaly::type, or classes such as "G1" and "G2"). Both empty = strict-serializable.
  std::vector<std::string> consistency_models = {"strict-serializable"};
  std::vector<std::string> anomalies;
  // rw-register version-order sources beyond the initial state (every key starts at nil):
  bool wfr_keys = false;           // a txn's read of x precedes its own later write of x
  bool sequential_keys = false;    // each process observes each key's versions in order
  bool linearizable_keys = false;  // realtime order implies version order, per key
  // Cycle search budget: edges visited over every search; past it, searches stop and any
  // anomaly class not yet found counts as unknown. 0 = no limit.
  size_t search_budget = 200'000'000;
  size_t max_cycles_per_type = 4;  // example cycles kept (and explained) per anomaly type
  // Threads for the per-key version orders and the per-component cycle searches; 0 = one per
  // core. The result does not depend on it.
  size_t threads = 0;
};

// One step of a cycle: `from` must precede `to` for the reason given.
struct TxnCycleStep {
  size_t from = 0;  // positions in TxnAnomaly::txns
  size_t to = 0;
  std::string kind;  // ww, wr, rw, process, realtime
  std::string why;   // "T2 read T1's append of 3 to x"
};

struct TxnAnomaly {
  std::string type;                 // G0, G1c-process, G-single-item, internal, lost-update, ...
  std::string explanation;          // a readable argument, one sentence per step
  std::vector<Op> txns;             // the transactions involved (their completions; T1 = txns[0])
  std::vector<TxnCycleStep> cycle;  // empty for anomalies that are not cycles
  Json details;                     // type-specific facts (key, values, expected list, ...)

  Json ToJson() const;
  std::string ToDot() const;  // Graphviz, for cycles: TxnCycleDot(ToJson())
};

// The Graphviz drawing of an anomaly's cycle from its JSON (TxnAnomaly::ToJson, as results.json
// stores it): a box per transaction (T1 = txns[0]), an edge per cycle step labelled with its kind
// (ww black, wr blue, rw red, process gray, realtime green) and its reason as tooltip. Every text
// is escaped for DOT; a missing field draws as empty, never throws.
std::string TxnCycleDot(const Json& anomaly);

// Wall time of one step of the check, for finding where a large history's time goes.
struct TxnPhase {
  std::string name;        // extract, versions, order-edges, graph, components, cycles, report
  double seconds = 0;      // wall time
  double cpu_seconds = 0;  // CPU time of the whole process (every thread) over the same span
};

struct TxnResult {
  Verdict verdict = Verdict::kValid;
  std::string reason;                         // why unknown, or a one-line summary
  std::vector<std::string> anomaly_types;     // the ones that make the history invalid, sorted
  std::vector<std::string> found_types;       // every anomaly type found, forbidden or not
  std::vector<TxnAnomaly> anomalies;          // examples of every found type
  std::vector<std::string> not_models;        // weakest models the found anomalies rule out
  std::vector<std::string> also_not;          // stronger models ruled out too
  std::vector<std::string> strongest_models;  // strongest models the history is consistent with
  size_t transactions = 0;                    // ok + info transactions in the graph
  size_t edges = 0;                           // dependency-graph edges
  size_t largest_component = 0;               // transactions in the largest strongly connected one
  size_t search_steps = 0;                    // edges visited by the cycle searches
  std::vector<std::string> warnings;
  std::vector<TxnPhase> phases;  // in order; not part of ToJson or ToText (they vary run to run)

  Json ToJson() const;
  std::string ToText() const;
  // Writes <dir>/<type>-<n>.dot for every cycle; creates dir.
  Status WriteCycleDots(const std::string& dir) const;
};

Result<TxnResult> CheckTransactions(const History& history, const TxnOptions& options = {});

std::string_view ToString(TxnWorkload workload);

// CheckTransactions as a checker value (checker/checker.h): `workload`'s histories against
// `consistency_model` (txn::IsConsistencyModel), with the context's threads. Named after the
// workload ("list-append", "rw-register"), described as {"name": ..., "consistency_model": ...}.
// With an output directory, it writes a Graphviz file per cycle there (WriteCycleDots); a file
// not written is a warning.
CheckerPtr MakeTxnChecker(TxnWorkload workload, std::string consistency_model);

}  // namespace faultline
