// The stats checker (Jepsen's `stats`): how many client operations of each kind (f) completed
// ok, fail and info, and whether every kind succeeded at least once.
//
// It guards the other checkers' verdicts against vacuous passes: a register run in which every
// write failed (the database was down all along) gives a linearizability checker nothing it
// could find wrong, so the run would come out "valid" without having tested anything. Here a
// kind of operation that completed but never once with ok makes the verdict unknown, naming the
// kind; so does a history with no client completion at all (Jepsen's stats calls an empty
// history valid; an empty run tested nothing either, so it is unknown here). Nemesis ops are not
// counted. Pure; may run on any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "checker/verdict.h"
#include "core/op.h"

namespace faultline {

struct OutcomeCounts {
  int64_t ok = 0;
  int64_t fail = 0;
  int64_t info = 0;
  int64_t total() const { return ok + fail + info; }
};

struct StatsResult {
  Verdict verdict = Verdict::kValid;
  OutcomeCounts all;                          // every client completion
  std::map<std::string, OutcomeCounts> by_f;  // per operation kind, sorted by name
  std::vector<std::string> never_succeeded;   // kinds that completed, none of them ok (sorted)

  // {"valid": true|"unknown", "count": N, "ok_count": N, "fail_count": N, "info_count": N,
  //  "by_f": {f: {same counts}}, "never_succeeded": [f, ...]} (Jepsen's field names).
  Json ToJson() const;
  // One line per kind ("write: 0 ok, 120 fail, 3 info") after the verdict and its reason.
  std::string Explain() const;
};

StatsResult CheckStats(const History& history);

// CheckStats as a checker value (checker/checker.h), named "stats"; its text is empty when valid
// (the counts are in its JSON), else the reason and the counts (Explain).
CheckerPtr MakeStatsChecker();

}  // namespace faultline
