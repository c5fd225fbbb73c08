// Jepsen's counter checker: the counter's bounds move as adds are invoked and complete; each ok
// read is judged against the bounds of its own interval (checker/workloads/workloads.h).
#include "checker/workloads/internal.h"
#include "checker/workloads/workloads.h"

namespace faultline {
namespace {

using workload_checks::Call;

struct OutOfBounds {
  const Op* read = nullptr;  // the read's completion
  int64_t value = 0;
  int64_t lower = 0;
  int64_t upper = 0;
};

class CounterChecker : public Checker {
 public:
  std::string Name() const override { return "counter"; }
  Json Describe() const override { return {{"name", Name()}}; }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    std::vector<std::string> warnings;
    Result<std::vector<Call>> calls = workload_checks::ClientCalls(history, context, &warnings);
    if (!calls.ok()) return CheckResult::Failed(calls.status());
    // Which call starts or ends at each position of the history.
    std::vector<const Call*> invoked(history.ops.size(), nullptr);
    std::vector<const Call*> completed(history.ops.size(), nullptr);
    for (const Call& call : *calls) {
      if (call.invoke->f != "add" && call.invoke->f != "read") continue;
      if (call.invoke->f == "add") {
        int64_t amount = 0;
        if (!workload_checks::IntegerValue(call.invoke->value, &amount) || amount < 0) {
          return CheckResult::Failed(HistoryOpError(
              history, *call.invoke,
              "a counter add needs a non-negative integer, not " + call.invoke->value.dump()));
        }
      }
      invoked[call.invoke_position] = &call;
      if (call.completion != nullptr) completed[call.completion_position] = &call;
    }
    // lower: the ok adds completed so far; upper: the adds invoked so far, less those failed.
    int64_t lower = 0;
    int64_t upper = 0;
    std::vector<int64_t> lower_at_invoke(history.ops.size(), 0);
    int64_t read_count = 0;
    std::vector<OutOfBounds> errors;
    for (size_t position = 0; position < history.ops.size(); ++position) {
      if (const Call* call = invoked[position]) {
        if (call->invoke->f == "add") upper += call->invoke->value.get<int64_t>();
        lower_at_invoke[position] = lower;
      }
      const Call* call = completed[position];
      if (call == nullptr) continue;
      if (call->invoke->f == "add") {
        int64_t amount = call->invoke->value.get<int64_t>();
        if (call->ok()) lower += amount;
        if (call->failed()) upper -= amount;
        continue;
      }
      if (!call->ok()) continue;
      int64_t value = 0;
      if (!workload_checks::IntegerValue(call->completion->value, &value)) {
        return CheckResult::Failed(HistoryOpError(
            history, *call->completion,
            "a counter read returns an integer, not " + call->completion->value.dump()));
      }
      ++read_count;
      int64_t read_lower = lower_at_invoke[call->invoke_position];
      if (value < read_lower || value > upper) {
        errors.push_back({call->completion, value, read_lower, upper});
      }
    }
    return Summarize(read_count, lower, upper, errors, std::move(warnings));
  }

 private:
  static CheckResult Summarize(int64_t read_count, int64_t lower, int64_t upper,
                               const std::vector<OutOfBounds>& errors,
                               std::vector<std::string> warnings) {
    Json listed = Json::array();
    std::string text;
    for (size_t i = 0; i < errors.size() && i < workload_checks::kMaxListed; ++i) {
      const OutOfBounds& error = errors[i];
      listed.push_back({{"index", error.read->index},
                        {"process", error.read->process},
                        {"value", error.value},
                        {"lower", error.lower},
                        {"upper", error.upper}});
      if (i < workload_checks::kMaxInText) {
        text += "\n  " + workload_checks::DescribeOp(*error.read) + " read " +
                std::to_string(error.value) + ", outside [" + std::to_string(error.lower) + ", " +
                std::to_string(error.upper) + "]";
      }
    }
    Json json = {{"read_count", read_count},
                 {"error_count", errors.size()},
                 {"errors", std::move(listed)},
                 {"final_bounds", {lower, upper}}};
    if (!errors.empty()) {
      return workload_checks::MakeResult(Verdict::kInvalid, std::move(json),
                                         std::to_string(errors.size()) + " of " +
                                             std::to_string(read_count) +
                                             " reads outside the counter's bounds" + text,
                                         std::move(warnings));
    }
    if (read_count == 0) {
      return workload_checks::MakeResult(Verdict::kUnknown, std::move(json),
                                         "no read of the counter succeeded", std::move(warnings));
    }
    return workload_checks::MakeResult(
        Verdict::kValid, std::move(json),
        "every one of " + std::to_string(read_count) + " reads within the counter's bounds",
        std::move(warnings));
  }
};

}  // namespace

CheckerPtr MakeCounterChecker() { return std::make_shared<CounterChecker>(); }

}  // namespace faultline
