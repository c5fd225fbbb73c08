// One history, judged by a named checker: the end-of-run check of `faultline test` (RunTest)
// and `faultline analyze` (AnalyzeRun), and each file of `faultline check`.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "checker/linearizable/linearizable.h"
#include "checker/verdict.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline {

// Which checker judges a run's history, and with what.
struct CheckerSpec {
  // linearizable (against `model`), list-append or rw-register (Adya cycles, against
  // `consistency_model`), session (the four session guarantees).
  std::string name = "linearizable";
  ModelSpec model;
  std::string consistency_model = "strict-serializable";

  // How the check runs (not recorded in test.json).
  int threads = 0;                // checker threads; 0 = all cores
  double time_limit_s = 0;        // linearizable: then unknown; 0 = none
  size_t memory_limit_bytes = 0;  // linearizable search state: then unknown; 0 = half of RAM
  bool lenient = false;           // well-formedness problems are warnings, not errors
  std::string cycles_dir;         // list-append, rw-register: a Graphviz file per cycle here

  Json ToJson() const;
  static CheckerSpec FromJson(const Json& test_json);  // test.json's "checker" and "model"
};

// The checker names a test or `faultline check --checker` accepts.
std::vector<std::string> CheckerNames();

struct CheckOutcome {
  Verdict verdict = Verdict::kUnknown;
  Json result;              // the checker's JSON result (or {"valid":"unknown","error":...})
  std::string explanation;  // the verdict in words, with the witness when invalid
  std::vector<std::string> warnings;  // e.g. what lenient accepted, a cycle file not written
  Status error;  // the checker could not run (bad history, unknown checker)
};

// Bounded by the spec's time and memory limits where the checker has them (linearizable); the
// isolation checker is bounded by its search budget. Never throws.
CheckOutcome CheckHistory(const History& history, const CheckerSpec& checker);

// A run's judgement: the spec's checker composed with the stats checker (checker/stats: a kind
// of operation that never succeeded makes the run unknown), as Jepsen composes `stats` into its
// tests. Each checker keeps its own entry in `checkers` (name -> JSON result) and the verdict is
// the worst of them (invalid > unknown > valid). The explanation is the spec's checker's, then
// the stats' when they are not valid. Never throws.
struct RunCheckOutcome {
  Verdict verdict = Verdict::kUnknown;
  Json checkers = Json::object();
  std::string explanation;
  Status error;  // the spec's checker could not run
};
RunCheckOutcome CheckRun(const History& history, const CheckerSpec& checker);

}  // namespace faultline
