// Jepsen's set checker: adds, judged against the last ok read (checker/workloads/workloads.h).
#include <algorithm>
#include <set>

#include "checker/workloads/internal.h"
#include "checker/workloads/workloads.h"

namespace faultline {
namespace {

using workload_checks::Call;

std::vector<int64_t> Sorted(const std::set<int64_t>& elements) {
  return {elements.begin(), elements.end()};
}

class SetChecker : public Checker {
 public:
  std::string Name() const override { return "set"; }
  Json Describe() const override { return {{"name", Name()}}; }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    std::vector<std::string> warnings;
    Result<std::vector<Call>> calls = workload_checks::ClientCalls(history, context, &warnings);
    if (!calls.ok()) return CheckResult::Failed(calls.status());
    std::set<int64_t> attempted;  // adds that may have happened (ok, info or pending)
    std::set<int64_t> acknowledged;
    const Call* final_read = nullptr;
    for (const Call& call : *calls) {
      if (call.invoke->f == "add") {
        Result<int64_t> element = workload_checks::AddedElement(history, call);
        if (!element.ok()) return CheckResult::Failed(element.status());
        if (call.may_have_happened()) attempted.insert(*element);
        if (call.ok()) acknowledged.insert(*element);
      } else if (call.invoke->f == "read" && call.ok()) {
        if (final_read == nullptr || call.completion_position > final_read->completion_position) {
          final_read = &call;
        }
      }
    }
    Json json = {{"attempt_count", attempted.size()}, {"acknowledged_count", acknowledged.size()}};
    if (final_read == nullptr) {
      return workload_checks::MakeResult(Verdict::kUnknown, std::move(json),
                                         "the set was never read", std::move(warnings));
    }
    Result<std::vector<int64_t>> read = workload_checks::ReadElements(history, *final_read);
    if (!read.ok()) return CheckResult::Failed(read.status());
    std::set<int64_t> seen(read->begin(), read->end());
    std::vector<int64_t> lost;
    std::vector<int64_t> unexpected;
    std::vector<int64_t> recovered;
    for (int64_t element : acknowledged) {
      if (!seen.count(element)) lost.push_back(element);
    }
    for (int64_t element : seen) {
      if (!attempted.count(element)) {
        unexpected.push_back(element);
      } else if (!acknowledged.count(element)) {
        recovered.push_back(element);
      }
    }
    json["read_index"] = final_read->completion->index;
    json["ok_count"] = acknowledged.size() - lost.size();
    json["lost_count"] = lost.size();
    json["lost"] = workload_checks::ListedIntegers(lost);
    json["unexpected_count"] = unexpected.size();
    json["unexpected"] = workload_checks::ListedIntegers(unexpected);
    json["recovered_count"] = recovered.size();
    json["recovered"] = workload_checks::ListedIntegers(recovered);
    std::string read_text =
        "the final read, " + workload_checks::DescribeOp(*final_read->completion);
    if (lost.empty() && unexpected.empty()) {
      return workload_checks::MakeResult(
          Verdict::kValid, std::move(json),
          read_text + ", holds all " + std::to_string(acknowledged.size()) +
              " acknowledged adds and " + std::to_string(recovered.size()) +
              " of the indeterminate ones",
          std::move(warnings));
    }
    std::string text = read_text + ",";
    if (!lost.empty()) {
      text += " lost " + std::to_string(lost.size()) + " of " +
              std::to_string(acknowledged.size()) +
              " acknowledged adds: " + workload_checks::IntegersText(lost) + ";";
    }
    if (!unexpected.empty()) {
      text += " holds " + std::to_string(unexpected.size()) +
              " elements no add may have put there: " + workload_checks::IntegersText(unexpected) +
              ";";
    }
    text.pop_back();
    return workload_checks::MakeResult(Verdict::kInvalid, std::move(json), text,
                                       std::move(warnings));
  }
};

}  // namespace

CheckerPtr MakeSetChecker() { return std::make_shared<SetChecker>(); }

}  // namespace faultline
