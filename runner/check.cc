#include "runner/check.h"

#include "checker/session/session.h"
#include "checker/stats/stats.h"
#include "checker/txn/txn.h"

namespace faultline {
namespace {

CheckOutcome Failed(const Status& status) {
  CheckOutcome outcome;
  outcome.error = status;
  outcome.result = {{"valid", "unknown"}, {"error", status.message()}};
  outcome.explanation = "unknown: " + status.message() + "\n";
  return outcome;
}

template <typename Checked>
CheckOutcome Judged(const Checked& checked) {
  CheckOutcome outcome;
  outcome.verdict = checked.verdict;
  outcome.result = checked.ToJson();
  outcome.explanation = checked.ToText();
  return outcome;
}

}  // namespace

Json CheckerSpec::ToJson() const {
  return {{"name", name}, {"consistency_model", consistency_model}};
}

CheckerSpec CheckerSpec::FromJson(const Json& test_json) {
  CheckerSpec spec;
  spec.model = {test_json.value("/model/name"_json_pointer, std::string("cas-register")),
                test_json.value("/model/initial_value"_json_pointer, Json())};
  spec.name = test_json.value("/checker/name"_json_pointer, std::string("linearizable"));
  spec.consistency_model = test_json.value("/checker/consistency_model"_json_pointer,
                                           std::string("strict-serializable"));
  return spec;
}

std::vector<std::string> CheckerNames() {
  return {"linearizable", "list-append", "rw-register", "session"};
}

CheckOutcome CheckHistory(const History& history, const CheckerSpec& checker) {
  try {
    if (checker.name == "linearizable") {
      LinearizableOptions options;
      options.threads = checker.threads;
      options.time_limit_s = checker.time_limit_s;
      options.memory_limit_bytes = checker.memory_limit_bytes;
      options.lenient = checker.lenient;
      Result<LinearizableResult> checked = CheckLinearizable(history, checker.model, options);
      if (!checked.ok()) return Failed(checked.status());
      CheckOutcome outcome = Judged(*checked);
      outcome.warnings = checked->warnings;
      return outcome;
    }
    if (checker.name == "list-append" || checker.name == "rw-register") {
      TxnOptions options;
      options.workload =
          checker.name == "list-append" ? TxnWorkload::kListAppend : TxnWorkload::kRwRegister;
      options.consistency_models = {checker.consistency_model};
      options.threads = static_cast<size_t>(checker.threads);
      Result<TxnResult> checked = CheckTransactions(history, options);
      if (!checked.ok()) return Failed(checked.status());
      CheckOutcome outcome = Judged(*checked);
      if (!checker.cycles_dir.empty()) {
        Status written = checked->WriteCycleDots(checker.cycles_dir);
        if (!written.ok()) outcome.warnings.push_back(written.message());
      }
      return outcome;
    }
    if (checker.name == "session") {
      SessionOptions options;
      options.lenient = checker.lenient;
      Result<SessionResult> checked = CheckSessions(history, options);
      return checked.ok() ? Judged(*checked) : Failed(checked.status());
    }
    return Failed(Status::InvalidArgument("unknown checker " + checker.name));
  } catch (const std::exception& error) {
    return Failed(Status::Internal(std::string("checker threw: ") + error.what()));
  }
}

RunCheckOutcome CheckRun(const History& history, const CheckerSpec& checker) {
  CheckOutcome checked = CheckHistory(history, checker);
  StatsResult stats = CheckStats(history);
  RunCheckOutcome outcome;
  outcome.verdict = Merge(checked.verdict, stats.verdict);
  outcome.checkers[checker.name] = checked.result;
  outcome.checkers["stats"] = stats.ToJson();
  outcome.explanation = checked.explanation;
  if (stats.verdict != Verdict::kValid) outcome.explanation += "stats: " + stats.Explain();
  outcome.error = checked.error;
  return outcome;
}

}  // namespace faultline
