// Rendering of session-check results as JSON and as readable text.
#include <cstdio>
#include <sstream>

#include "checker/session/session.h"

namespace faultline {
namespace {

Json ValidField(Verdict verdict) {
  return verdict == Verdict::kUnknown ? Json("unknown") : Json(verdict == Verdict::kValid);
}

// "op 41 (process 3, ok at t=1.500 ms)"
std::string OpText(const SessionWitnessOp& op) {
  std::ostringstream text;
  text << "op " << op.index << " (process " << ProcessName(op.process) << ", " << op.outcome;
  if (op.time_ns >= 0) {
    char time[32];
    std::snprintf(time, sizeof time, "%.3f", static_cast<double>(op.time_ns) / 1e6);
    text << " at t=" << time << " ms";
  }
  text << ") " << op.action;
  return text.str();
}

}  // namespace

Json SessionWitness::ToJson() const {
  Json steps = Json::array();
  for (const SessionWitnessOp& op : ops) {
    Json step = {{"index", op.index},
                 {"invoke_index", op.invoke_index},
                 {"process", op.process},
                 {"type", op.outcome},
                 {"action", op.action}};
    if (op.time_ns >= 0) step["time"] = op.time_ns;
    if (op.invoke_line > 0) step["invoke_line"] = op.invoke_line;
    if (op.complete_line > 0) step["complete_line"] = op.complete_line;
    steps.push_back(std::move(step));
  }
  Json out = {{"guarantee", guarantee},  {"session", session}, {"processes", processes},
              {"ops", std::move(steps)}, {"missed", missed},   {"conclusion", conclusion},
              {"text", ToText()}};
  if (!key.empty()) out["key"] = key;
  return out;
}

std::string SessionWitness::ToText() const {
  std::ostringstream text;
  text << "session " << session << " (process" << (processes.size() == 1 ? " " : "es ");
  constexpr size_t kShown = 8;  // a long chain of processes says nothing more
  for (size_t i = 0; i < processes.size() && i < kShown; ++i) {
    text << (i > 0 ? ", " : "") << processes[i];
  }
  if (processes.size() > kShown) text << ", ... " << processes.size() << " in all";
  text << "): ";
  for (size_t i = 0; i < ops.size(); ++i) text << (i > 0 ? ", then " : "") << OpText(ops[i]);
  text << ", " << conclusion << ": " << guarantee << " violated";
  return text.str();
}

Json SessionResult::ToJson() const {
  Json out = Json::object();
  out["valid"] = ValidField(verdict);
  out["verdict"] = ToString(verdict);
  out["data_type"] = data_type;
  out["session_mode"] = session_mode;
  if (session_mode == "chain") out["concurrency"] = concurrency;
  out["sessions"] = sessions;
  out["operations"] = operations;
  Json guarantees_json = Json::object();
  for (const GuaranteeResult& result : guarantees) {
    Json witnesses = Json::array();
    for (const SessionWitness& witness : result.witnesses) witnesses.push_back(witness.ToJson());
    guarantees_json[result.guarantee] = {
        {"valid", ValidField(result.verdict)}, {"verdict", ToString(result.verdict)},
        {"violations", result.violations},     {"checked", result.checked},
        {"unjudged", result.unjudged},         {"witnesses", std::move(witnesses)}};
  }
  out["guarantees"] = std::move(guarantees_json);
  if (!warnings.empty()) out["warnings"] = warnings;
  return out;
}

std::string SessionResult::ToText() const {
  std::ostringstream out;
  out << ToString(verdict) << ": session guarantees of a " << data_type << " history, "
      << operations << " ops in " << sessions << (sessions == 1 ? " session" : " sessions");
  if (session_mode == "chain") {
    out << " (process chains, concurrency " << concurrency << ")\n";
  } else {
    out << " (one per process)\n";
  }
  for (const GuaranteeResult& result : guarantees) {
    out << "  " << result.guarantee << ": " << ToString(result.verdict) << " (" << result.violations
        << " violations, " << result.checked << " checked, " << result.unjudged << " unjudged)\n";
    for (const SessionWitness& witness : result.witnesses)
      out << "    " << witness.ToText() << "\n";
    if (result.violations > result.witnesses.size()) {
      out << "    ... and " << (result.violations - result.witnesses.size()) << " more\n";
    }
  }
  for (const std::string& warning : warnings) out << "  warning: " << warning << "\n";
  return out.str();
}

}  // namespace faultline
