#include <algorithm>
#include <cmath>

#include "checker/workloads/internal.h"
#include "core/validate.h"

namespace faultline::workload_checks {

const Json& Call::value() const {
  if (completion != nullptr && !completion->value.is_null()) return completion->value;
  return invoke->value;
}

Result<std::vector<Call>> ClientCalls(const History& history, const CheckContext& context,
                                      std::vector<std::string>* warnings) {
  Result<Pairing> pairing = PairHistory(history, context.lenient);
  if (!pairing.ok()) return pairing.status();
  warnings->insert(warnings->end(), pairing->warnings.begin(), pairing->warnings.end());
  std::vector<Call> calls;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Op& op = history.ops[i];
    if (op.is_nemesis() || !op.is_invoke()) continue;
    Call call;
    call.invoke = &op;
    call.invoke_position = i;
    int64_t partner = pairing->partner[i];
    if (partner >= 0) {
      call.completion = &history.ops[static_cast<size_t>(partner)];
      call.completion_position = static_cast<size_t>(partner);
    }
    calls.push_back(call);
  }
  return calls;
}

std::string DescribeOp(const Op& op) {
  return "op " + std::to_string(op.index) + " (process " + ProcessName(op.process) + ")";
}

bool IntegerValue(const Json& value, int64_t* out) {
  if (!value.is_number_integer()) return false;
  *out = value.get<int64_t>();
  return true;
}

Result<int64_t> AddedElement(const History& history, const Call& add) {
  int64_t element = 0;
  if (!IntegerValue(add.invoke->value, &element)) {
    return HistoryOpError(history, *add.invoke,
                          "an add's value is the integer element, not " + add.invoke->value.dump());
  }
  return element;
}

Result<std::vector<int64_t>> ReadElements(const History& history, const Call& read) {
  const Json& value = read.completion->value;
  if (!value.is_array()) {
    return HistoryOpError(history, *read.completion,
                          "a set read returns an array of integers, not " + value.dump());
  }
  std::vector<int64_t> elements;
  elements.reserve(value.size());
  for (const Json& element : value) {
    int64_t integer = 0;
    if (!IntegerValue(element, &integer)) {
      return HistoryOpError(history, *read.completion,
                            "a set read returns integers, not " + element.dump());
    }
    elements.push_back(integer);
  }
  std::sort(elements.begin(), elements.end());
  return elements;
}

Json ListedIntegers(const std::vector<int64_t>& values) {
  Json listed = Json::array();
  for (size_t i = 0; i < values.size() && i < kMaxListed; ++i) listed.push_back(values[i]);
  return listed;
}

std::string IntegersText(const std::vector<int64_t>& values) {
  std::string text;
  for (size_t i = 0; i < values.size() && i < kMaxInText; ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(values[i]);
  }
  if (values.size() > kMaxInText) {
    text += " and " + std::to_string(values.size() - kMaxInText) + " more";
  }
  return text;
}

double MillisBetween(const Op& from, const Op& to) {
  if (from.time_ns < 0 || to.time_ns < 0) return -1;
  return static_cast<double>(to.time_ns - from.time_ns) / 1e6;
}

Json Quantiles(std::vector<double> values) {
  Json quantiles = Json::object();
  if (values.empty()) return quantiles;
  std::sort(values.begin(), values.end());
  for (const char* name : {"0", "0.5", "0.95", "0.99", "1"}) {
    double q = std::stod(name);
    auto at = static_cast<size_t>(std::floor(q * static_cast<double>(values.size() - 1)));
    quantiles[name] = values[at];
  }
  return quantiles;
}

CheckResult MakeResult(Verdict verdict, Json json, const std::string& text,
                       std::vector<std::string> warnings) {
  json["valid"] = VerdictJson(verdict);
  CheckResult result;
  result.verdict = verdict;
  result.json = std::move(json);
  // One line, ending as every checker's text does, so that what follows starts a line of its own.
  result.text = std::string(ToString(verdict)) + ": " + text + "\n";
  result.warnings = std::move(warnings);
  return result;
}

}  // namespace faultline::workload_checks
