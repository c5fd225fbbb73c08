// Rendering of a LinearizableResult as JSON and as readable text.
#include <sstream>

#include "checker/linearizable/linearizable.h"

namespace faultline {
namespace {

std::string OpSummary(const Op& op) {
  // A stream, not "literal" + string: GCC 12 warns falsely (-Wrestrict) on those at -O3.
  std::ostringstream text;
  text << "process " << ProcessName(op.process) << ' ' << ToString(op.type) << ' ' << op.f;
  if (!op.value.is_null()) text << ' ' << op.value.dump();
  text << " (index " << op.index;
  if (op.line > 0) text << ", line " << op.line;
  text << ')';
  return text.str();
}

std::string IndexRange(const LinearizedStep& step) {
  if (step.completion_index < 0) return std::to_string(step.invoke_index) + "..";
  return std::to_string(step.invoke_index) + ".." + std::to_string(step.completion_index);
}

}  // namespace

Json LinearizableResult::ToJson() const {
  Json out = Json::object();
  out["valid"] = verdict == Verdict::kUnknown ? Json("unknown") : Json(verdict == Verdict::kValid);
  out["verdict"] = ToString(verdict);
  out["model"] = model;
  out["reason"] = reason;
  out["partitions"] = partitions;
  out["operations"] = operations;
  out["configurations"] = configurations;
  if (!warnings.empty()) out["warnings"] = warnings;
  if (verdict != Verdict::kInvalid) return out;
  if (partition_key) out["key"] = *partition_key;
  if (failed_op) out["op"] = failed_op->ToJson();
  out["initial_state"] = initial_state;
  Json prefix = Json::array();
  for (const LinearizedStep& step : longest_prefix) {
    prefix.push_back({{"invoke_index", step.invoke_index},
                      {"completion_index", step.completion_index},
                      {"process", step.process},
                      {"op", step.op},
                      {"state", step.state_after}});
  }
  out["longest_linearizable_prefix"] = std::move(prefix);
  return out;
}

std::string LinearizableResult::ToText() const {
  std::ostringstream out;
  out << ToString(verdict) << ": " << reason << " (model " << model << ", " << operations
      << " ops in " << partitions << (partitions == 1 ? " partition" : " partitions") << ")\n";
  if (verdict != Verdict::kInvalid) return out.str();
  if (partition_key) out << "  key: " << *partition_key << "\n";
  if (failed_op) out << "  cannot linearize: " << OpSummary(*failed_op) << "\n";
  out << "  longest linearizable prefix: " << longest_prefix.size() << " ops from initial state "
      << initial_state << "\n";
  constexpr size_t kShown = 12;  // the tail is what leads to the contradiction
  size_t first = longest_prefix.size() > kShown ? longest_prefix.size() - kShown : 0;
  if (first > 0) out << "    ... " << first << " earlier ops\n";
  for (size_t i = first; i < longest_prefix.size(); ++i) {
    const LinearizedStep& step = longest_prefix[i];
    out << "    " << (i + 1) << ". process " << ProcessName(step.process) << " " << step.op
        << "  [index " << IndexRange(step) << "]  => " << step.state_after << "\n";
  }
  if (failed_op) {
    out << "  no order of these ops that the model accepts lets process "
        << ProcessName(failed_op->process) << "'s " << failed_op->f
        << " take effect before it completed (index " << failed_op->index << ")\n";
  }
  return out.str();
}

}  // namespace faultline
