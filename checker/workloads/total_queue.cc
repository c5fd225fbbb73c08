// Jepsen's total-queue checker: every acknowledged enqueue comes out exactly once
// (checker/workloads/workloads.h).
#include <map>
#include <set>

#include "checker/workloads/internal.h"
#include "checker/workloads/workloads.h"

namespace faultline {
namespace {

using workload_checks::Call;

// What came out of the queue: each ok dequeue's element (null: it found the queue empty) and
// each ok drain's elements, with how many times each came out.
Result<std::map<int64_t, int64_t>> Dequeued(const History& history,
                                            const std::vector<Call>& calls) {
  std::map<int64_t, int64_t> times;
  for (const Call& call : calls) {
    if (!call.ok()) continue;
    if (call.invoke->f == "dequeue") {
      const Json& value = call.completion->value;
      if (value.is_null()) continue;
      int64_t element = 0;
      if (!workload_checks::IntegerValue(value, &element)) {
        return HistoryOpError(history, *call.completion,
                              "a dequeue returns an integer element or null, not " + value.dump());
      }
      ++times[element];
    } else if (call.invoke->f == "drain") {
      Result<std::vector<int64_t>> elements = workload_checks::ReadElements(history, call);
      if (!elements.ok()) return elements.status();
      for (int64_t element : *elements) ++times[element];
    }
  }
  return times;
}

class TotalQueueChecker : public Checker {
 public:
  std::string Name() const override { return "total-queue"; }
  Json Describe() const override { return {{"name", Name()}}; }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    std::vector<std::string> warnings;
    Result<std::vector<Call>> calls = workload_checks::ClientCalls(history, context, &warnings);
    if (!calls.ok()) return CheckResult::Failed(calls.status());
    std::set<int64_t> attempted;  // enqueues that may have happened (ok, info or pending)
    std::set<int64_t> acknowledged;
    bool drained = false;
    for (const Call& call : *calls) {
      if (call.invoke->f == "drain" && call.ok()) drained = true;
      if (call.invoke->f != "enqueue") continue;
      int64_t element = 0;
      if (!workload_checks::IntegerValue(call.invoke->value, &element)) {
        return CheckResult::Failed(HistoryOpError(
            history, *call.invoke, "an enqueue needs an integer element, not " +
                                       call.invoke->value.dump()));
      }
      if (call.may_have_happened()) attempted.insert(element);
      if (call.ok()) acknowledged.insert(element);
    }
    Result<std::map<int64_t, int64_t>> dequeued = Dequeued(history, *calls);
    if (!dequeued.ok()) return CheckResult::Failed(dequeued.status());
    std::vector<int64_t> lost, unexpected, duplicated, recovered;
    for (int64_t element : acknowledged) {
      if (!dequeued->count(element)) lost.push_back(element);
    }
    Json duplicates = Json::object();
    for (const auto& [element, times] : *dequeued) {
      if (!attempted.count(element)) unexpected.push_back(element);
      if (attempted.count(element) && !acknowledged.count(element)) recovered.push_back(element);
      if (times > 1) {
        duplicated.push_back(element);
        if (duplicates.size() < workload_checks::kMaxListed)
          duplicates[std::to_string(element)] = times;
      }
    }
    Json json = {{"attempt_count", attempted.size()},
                 {"acknowledged_count", acknowledged.size()},
                 {"dequeued_count", dequeued->size()},
                 {"drained", drained},
                 {"lost_count", lost.size()},
                 {"lost", workload_checks::ListedIntegers(lost)},
                 {"unexpected_count", unexpected.size()},
                 {"unexpected", workload_checks::ListedIntegers(unexpected)},
                 {"duplicated_count", duplicated.size()},
                 {"duplicated", duplicates},
                 {"recovered_count", recovered.size()},
                 {"recovered", workload_checks::ListedIntegers(recovered)}};
    std::string text;
    auto add = [&](const std::vector<int64_t>& elements, const std::string& what) {
      if (elements.empty()) return;
      text += (text.empty() ? "" : "; ") + std::to_string(elements.size()) + " " + what + " (" +
              workload_checks::IntegersText(elements) + ")";
    };
    // Without a drain, what was still queued at the end would look lost: only unexpected and
    // duplicated elements can be told.
    if (drained) add(lost, "acknowledged enqueues never dequeued");
    add(unexpected, "dequeued elements never enqueued");
    add(duplicated, "elements dequeued more than once");
    if (!text.empty()) {
      return workload_checks::MakeResult(Verdict::kInvalid, std::move(json), text,
                                         std::move(warnings));
    }
    if (!drained && !lost.empty()) {
      return workload_checks::MakeResult(
          Verdict::kUnknown, std::move(json),
          "the queue was never drained, so " + std::to_string(lost.size()) +
              " acknowledged enqueues not dequeued may still be queued",
          std::move(warnings));
    }
    return workload_checks::MakeResult(
        Verdict::kValid, std::move(json),
        "all " + std::to_string(acknowledged.size()) +
            " acknowledged enqueues came out once, and " + std::to_string(recovered.size()) +
            " of the indeterminate ones",
        std::move(warnings));
  }
};

}  // namespace

CheckerPtr MakeTotalQueueChecker() { return std::make_shared<TotalQueueChecker>(); }

}  // namespace faultline
