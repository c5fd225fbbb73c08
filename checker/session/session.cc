// CheckSessions: options, the model, and the check for the history's data type.
#include <algorithm>

#include "checker/session/internal.h"

namespace faultline {
namespace {

Result<std::array<bool, session::kGuaranteeCount>> Enabled(
    const std::vector<std::string>& guarantees) {
  const std::vector<std::string> names = SessionGuaranteeNames();
  std::array<bool, session::kGuaranteeCount> enabled{};
  for (const std::string& name : guarantees) {
    auto found = std::find(names.begin(), names.end(), name);
    if (found == names.end()) {
      return Status::InvalidArgument(
          "unknown session guarantee \"" + name +
          "\" (expected read-your-writes, monotonic-reads, monotonic-writes or "
          "writes-follow-reads)");
    }
    enabled[static_cast<size_t>(found - names.begin())] = true;
  }
  if (guarantees.empty()) return Status::InvalidArgument("no session guarantee to check");
  return enabled;
}

}  // namespace

Result<SessionResult> CheckSessions(const History& history, const SessionOptions& options) {
  Result<std::array<bool, session::kGuaranteeCount>> enabled = Enabled(options.guarantees);
  if (!enabled.ok()) return enabled.status();
  Result<session::Model> model = session::BuildModel(history, options);
  if (!model.ok()) return model.status();
  session::Findings findings(history, *model, options, *enabled);
  if (model->type == session::DataType::kListAppend) {
    session::CheckListAppend(*model, findings);
  } else {
    session::CheckRegisters(*model, findings);
  }
  SessionResult result;
  result.data_type = std::string(session::ToString(model->type));
  result.session_mode = model->session_mode;
  result.concurrency = model->concurrency;
  result.sessions = model->sessions.size();
  result.operations = model->events.size();
  result.guarantees = findings.Finish();
  result.warnings = model->warnings;
  result.warnings.insert(result.warnings.end(), findings.warnings().begin(),
                         findings.warnings().end());
  result.verdict = Verdict::kValid;
  for (const GuaranteeResult& guarantee : result.guarantees) {
    result.verdict = Merge(result.verdict, guarantee.verdict);
  }
  return result;
}

}  // namespace faultline
