// Counting checks and violations, and building the witnesses that are kept.
#include <algorithm>

#include "checker/session/internal.h"

namespace faultline::session {
namespace {

constexpr std::array<std::string_view, kGuaranteeCount> kNames = {
    "read-your-writes", "monotonic-reads", "monotonic-writes", "writes-follow-reads"};

std::string_view Outcome(const Event& event) {
  if (event.ok) return "ok";
  return event.completion == Event::kNoCompletion ? "pending" : "info";
}

}  // namespace

std::string Show(const Json& value) {
  if (value.is_null()) return "nil";
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array()) return value.dump();
  std::string text = "[";
  for (size_t i = 0; i < value.size(); ++i) {
    if (i > 0) text += ", ";
    text += Show(value[i]);
  }
  return text + "]";
}

std::string Describe(const Access& access, DataType type) {
  const std::string key = KeyName(access.key);
  const bool single = access.key.empty();
  if (!access.is_write)
    return "read " + (single ? Show(access.value) : key + " = " + Show(access.value));
  if (type == DataType::kListAppend) return "appended " + Show(access.value) + " to " + key;
  return "wrote " + Show(access.value) + (single ? "" : " to " + key);
}

Findings::Findings(const History& history, const Model& model, const SessionOptions& options,
                   std::array<bool, kGuaranteeCount> enabled)
    : history_(history), model_(model), max_witnesses_(options.max_witnesses), enabled_(enabled) {
  for (size_t g = 0; g < kGuaranteeCount; ++g) results_[g].guarantee = std::string(kNames[g]);
}

SessionWitnessOp Findings::MakeOp(const Step& step) const {
  const Event& event = model_.events[step.event];
  const Op& invoke = history_.ops[event.invoke];
  const bool completed = event.completion != Event::kNoCompletion;
  const Op& last = completed ? history_.ops[event.completion] : invoke;
  SessionWitnessOp op;
  op.index = last.index;
  op.invoke_index = invoke.index;
  op.process = invoke.process;
  op.outcome = std::string(Outcome(event));
  op.time_ns = last.time_ns;
  op.invoke_line = invoke.is_invoke() ? invoke.line : 0;
  op.complete_line = completed ? last.line : 0;
  op.action = step.action;
  return op;
}

void Findings::Violation(Guarantee g, int64_t session, const std::string& key, size_t at_event,
                         const std::function<std::vector<Step>()>& steps, const Json& missed,
                         const std::string& conclusion) {
  GuaranteeResult& result = results_[static_cast<size_t>(g)];
  ++result.violations;
  ++result.checked;
  const Event& at = model_.events[at_event];
  const size_t position = at.completion == Event::kNoCompletion ? at.invoke : at.completion;
  auto& kept = pending_[static_cast<size_t>(g)];
  if (max_witnesses_ == 0) return;
  if (kept.size() >= max_witnesses_ && position >= kept.back().first) return;
  SessionWitness witness;
  witness.guarantee = result.guarantee;
  witness.session = session;
  const std::set<int64_t>& processes = model_.processes.at(session);
  witness.processes.assign(processes.begin(), processes.end());
  witness.key = key.empty() ? "" : KeyName(key);
  for (const Step& step : steps()) witness.ops.push_back(MakeOp(step));
  witness.missed = missed;
  witness.conclusion = conclusion;
  auto slot = std::upper_bound(kept.begin(), kept.end(), position,
                               [](size_t p, const auto& entry) { return p < entry.first; });
  kept.insert(slot, {position, std::move(witness)});
  if (kept.size() > max_witnesses_) kept.pop_back();
}

std::vector<GuaranteeResult> Findings::Finish() {
  std::vector<GuaranteeResult> out;
  for (size_t g = 0; g < kGuaranteeCount; ++g) {
    if (!enabled_[g]) continue;
    GuaranteeResult& result = results_[g];
    for (auto& [position, witness] : pending_[g]) result.witnesses.push_back(std::move(witness));
    if (result.violations > 0) {
      result.verdict = Verdict::kInvalid;
    } else if (result.checked == 0 && result.unjudged > 0) {
      result.verdict = Verdict::kUnknown;  // there were cases, and none could be decided
    }
    out.push_back(std::move(result));
  }
  return out;
}

}  // namespace faultline::session

namespace faultline {

std::vector<std::string> SessionGuaranteeNames() {
  return {session::kNames.begin(), session::kNames.end()};
}

std::vector<std::string> SessionDataTypeNames() {
  return {"auto", "register", "kv", "list-append", "rw-register"};
}

}  // namespace faultline
