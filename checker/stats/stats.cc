#include "checker/stats/stats.h"

#include <string>

#include "core/parse_text.h"

namespace faultline {
namespace {

void Count(OpType type, OutcomeCounts& counts) {
  if (type == OpType::kOk) ++counts.ok;
  if (type == OpType::kFail) ++counts.fail;
  if (type == OpType::kInfo) ++counts.info;
}

Json CountsJson(const OutcomeCounts& counts) {
  return {{"count", counts.total()},
          {"ok_count", counts.ok},
          {"fail_count", counts.fail},
          {"info_count", counts.info}};
}

std::string CountsText(const OutcomeCounts& counts) {
  return std::to_string(counts.ok) + " ok, " + std::to_string(counts.fail) + " fail, " +
         std::to_string(counts.info) + " info";
}

}  // namespace

StatsResult CheckStats(const History& history) {
  StatsResult result;
  for (const Op& op : history.ops) {
    if (op.is_nemesis() || !op.is_completion()) continue;
    Count(op.type, result.all);
    Count(op.type, result.by_f[op.f]);
  }
  for (const auto& [f, counts] : result.by_f) {
    if (counts.ok == 0) result.never_succeeded.push_back(f);
  }
  bool vacuous = result.all.total() == 0 || !result.never_succeeded.empty();
  result.verdict = vacuous ? Verdict::kUnknown : Verdict::kValid;
  return result;
}

Json StatsResult::ToJson() const {
  Json json = CountsJson(all);
  json["valid"] = verdict == Verdict::kValid ? Json(true) : Json("unknown");
  json["by_f"] = Json::object();
  for (const auto& [f, counts] : by_f) json["by_f"][f] = CountsJson(counts);
  json["never_succeeded"] = never_succeeded;
  return json;
}

std::string StatsResult::Explain() const {
  std::string text = std::string(ToString(verdict));
  if (all.total() == 0) {
    text += ": no client operation completed, so nothing was tested";
  } else if (!never_succeeded.empty()) {
    text += ": no " + text::JoinedWords(never_succeeded) +
            " ever succeeded, so the other checkers' verdicts say little";
  } else {
    text += ": every kind of operation succeeded at least once";
  }
  text += "\n";
  for (const auto& [f, counts] : by_f) text += "  " + f + ": " + CountsText(counts) + "\n";
  return text;
}

}  // namespace faultline
