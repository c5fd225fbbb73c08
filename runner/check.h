// The end-of-run check: one history, judged by the checker the test names. Shared by
// `faultline test` (RunTest) and `faultline analyze` (AnalyzeRun).
#pragma once

#include <string>

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
  Json ToJson() const;
  static CheckerSpec FromJson(const Json& test_json);  // test.json's "checker" and "model"
};

// The checker names a test or `faultline check --checker` accepts.
std::vector<std::string> CheckerNames();

struct CheckOutcome {
  Verdict verdict = Verdict::kUnknown;
  Json result;              // the checker's JSON result (or {"valid":"unknown","error":...})
  std::string explanation;  // the verdict in words, with the witness when invalid
  Status error;             // the checker could not run (bad history, unknown checker)
};

// Bounded by `time_limit_s` where the checker has a time budget (linearizable); the isolation
// checker is bounded by its search budget. Never throws.
CheckOutcome CheckHistory(const History& history, const CheckerSpec& checker, double time_limit_s);

}  // namespace faultline
