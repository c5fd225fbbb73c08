// Jepsen's unique-ids checker: every ok `generate` returned an id no other ok one returned.
#include <map>

#include "checker/workloads/internal.h"
#include "checker/workloads/workloads.h"

namespace faultline {
namespace {

using workload_checks::Call;

struct Returned {
  Json id;
  std::vector<int64_t> indices;  // the ok completions that returned it
};

class UniqueIdsChecker : public Checker {
 public:
  std::string Name() const override { return "unique-ids"; }
  Json Describe() const override { return {{"name", Name()}}; }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    std::vector<std::string> warnings;
    Result<std::vector<Call>> calls = workload_checks::ClientCalls(history, context, &warnings);
    if (!calls.ok()) return CheckResult::Failed(calls.status());
    int64_t attempted = 0;
    int64_t acknowledged = 0;
    std::map<std::string, Returned> ids;  // by the id's JSON text, so any JSON id is an id
    for (const Call& call : *calls) {
      if (call.invoke->f != "generate") continue;
      ++attempted;
      if (!call.ok()) continue;
      if (call.completion->value.is_null()) {
        return CheckResult::Failed(HistoryOpError(
            history, *call.completion, "an ok generate returns the id it generated, not null"));
      }
      ++acknowledged;
      Returned& returned = ids[call.completion->value.dump()];
      returned.id = call.completion->value;
      returned.indices.push_back(call.completion->index);
    }
    Json duplicated = Json::array();
    std::string text;
    size_t duplicated_count = 0;
    for (const auto& [key, returned] : ids) {
      if (returned.indices.size() < 2) continue;
      if (duplicated_count < workload_checks::kMaxListed) {
        duplicated.push_back({{"id", returned.id},
                              {"count", returned.indices.size()},
                              {"indices", returned.indices}});
      }
      if (duplicated_count < workload_checks::kMaxInText) {
        text += "\n  id " + key + " returned " + std::to_string(returned.indices.size()) +
                " times (ops";
        for (int64_t index : returned.indices) text += " " + std::to_string(index);
        text += ")";
      }
      ++duplicated_count;
    }
    Json json = {{"attempted_count", attempted},
                 {"acknowledged_count", acknowledged},
                 {"distinct_count", ids.size()},
                 {"duplicated_count", duplicated_count},
                 {"duplicated", std::move(duplicated)}};
    if (duplicated_count > 0) {
      return workload_checks::MakeResult(Verdict::kInvalid, std::move(json),
                                         std::to_string(duplicated_count) +
                                             " ids returned more than once among " +
                                             std::to_string(acknowledged) + " ok generates" + text,
                                         std::move(warnings));
    }
    if (acknowledged == 0) {
      return workload_checks::MakeResult(Verdict::kUnknown, std::move(json),
                                         "no generate succeeded", std::move(warnings));
    }
    return workload_checks::MakeResult(
        Verdict::kValid, std::move(json),
        "all " + std::to_string(acknowledged) + " generated ids distinct", std::move(warnings));
  }
};

}  // namespace

CheckerPtr MakeUniqueIdsChecker() { return std::make_shared<UniqueIdsChecker>(); }

}  // namespace faultline
