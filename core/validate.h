// Well-formedness of a history, and the pairing of invocations with their completions.
//
// Rules (Jepsen's): a process has at most one outstanding invocation; a completion matches the
// process's outstanding invocation and has the same f; after an info completion the process is
// done (its thread continues as a new process); indices strictly increase. A time that steps back
// is only a warning in both modes: real Jepsen histories have them, and checkers use file order.
// Nemesis ops are paired like any other process's but never end the nemesis.
//
// Strict validation returns the first violation as a kMalformedHistory Status naming the file,
// line and op. Lenient validation records every violation as a warning and pairs as best it can:
// a completion goes to the oldest outstanding invoke of its process with the same f.
#pragma once

#include <string>
#include <vector>

#include "core/op.h"
#include "core/status.h"

namespace faultline {

struct Pairing {
  // partner[i]: position of op i's completion (for invokes) or invocation (for completions);
  // -1 when there is none (a pending invoke, or an orphan completion in lenient mode).
  std::vector<int64_t> partner;
  std::vector<std::string> warnings;  // lenient-mode violations, and backwards times
};

Result<Pairing> PairHistory(const History& history, bool lenient);

}  // namespace faultline
