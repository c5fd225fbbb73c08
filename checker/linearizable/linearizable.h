// The linearizability checker: Wing & Gong's search with Lowe's state cache, P-compositional
// partitioning (independent keys), partitions checked in parallel, and a time and memory budget.
//
// Semantics (Jepsen's): an ok op happened between its invoke and completion; a fail op did not
// happen and is dropped; an info op, and an invoke with no completion, may have happened at any
// time after its invoke or not at all. Nemesis ops are ignored.
//
// CheckLinearizable is a pure function of the history and may be called from any thread; it uses
// its own worker threads (options.threads) and joins them before returning.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "checker/verdict.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline {

// Which model to check against, by name, with its initial value (null = nil / the model's default).
struct ModelSpec {
  std::string name;  // see LinearizableModelNames()
  Json initial_value;
};

std::vector<std::string> LinearizableModelNames();

struct LinearizableOptions {
  int threads = 0;                // partition workers; 0 = all cores
  double time_limit_s = 0;        // 0 = no limit
  size_t memory_limit_bytes = 0;  // cap on the search's caches; 0 = half of physical memory
  bool lenient = false;           // accept histories that break well-formedness (see validate.h)
  // Told after each partition is decided: how many of how many. Called from the worker threads,
  // one call at a time; may be empty.
  std::function<void(size_t decided, size_t partitions)> on_partition_decided;
};

// One op placed in the longest linearizable prefix, with the model state after it.
struct LinearizedStep {
  int64_t invoke_index = -1;      // Op::index of the invocation
  int64_t completion_index = -1;  // Op::index of the completion; -1 if it never completed
  int64_t process = 0;
  std::string op;           // readable: "cas [1 2] -> ok", "read -> 3"
  std::string state_after;  // the model's Describe() of the state after the op
};

struct LinearizableResult {
  Verdict verdict = Verdict::kValid;
  std::string reason;  // why unknown ("time limit of 1 s exceeded"), or a one-line summary
  std::string model;
  size_t partitions = 0;      // independent sub-histories checked
  size_t operations = 0;      // ops considered (invocations that were not failed or nemesis)
  size_t configurations = 0;  // search states cached over all partitions: the search's cost

  // Set when invalid: the partition (key) that failed, the op that could not be linearized (its
  // completion, as found in the history), and the longest linearizable prefix of that partition.
  std::optional<std::string> partition_key;
  std::optional<Op> failed_op;
  std::string initial_state;
  std::vector<LinearizedStep> longest_prefix;
  std::vector<std::string> warnings;

  Json ToJson() const;
  std::string ToText() const;  // several readable lines
};

Result<LinearizableResult> CheckLinearizable(const History& history, const ModelSpec& model,
                                             const LinearizableOptions& options = {});

// CheckLinearizable as a checker value (checker/checker.h) against `model`, bounded by the
// context's threads, time and memory limits: named "linearizable", described as
// {"name": "linearizable", "model": {"name": ..., "initial_value": ...}}.
CheckerPtr MakeLinearizableChecker(ModelSpec model);

}  // namespace faultline
