// Jepsen's bank checker: every ok read of all balances holds every account, none negative, and
// the total every transfer conserves (checker/workloads/workloads.h).
#include <map>

#include "checker/workloads/internal.h"
#include "checker/workloads/workloads.h"

namespace faultline {
namespace {

using workload_checks::Call;

class BankChecker : public Checker {
 public:
  explicit BankChecker(const BankOptions& options) : options_(options) {}
  std::string Name() const override { return "bank"; }
  Json Describe() const override {
    return {{"name", Name()}, {"accounts", options_.accounts}, {"total", options_.total}};
  }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    std::vector<std::string> warnings;
    Result<std::vector<Call>> calls = workload_checks::ClientCalls(history, context, &warnings);
    if (!calls.ok()) return CheckResult::Failed(calls.status());
    int64_t read_count = 0;
    std::map<std::string, int64_t> error_counts;
    Json errors = Json::array();
    std::string text;
    auto report = [&](const Op& read, const std::string& type, Json details,
                      const std::string& words) {
      if (errors.size() < workload_checks::kMaxListed) {
        details["index"] = read.index;
        details["process"] = read.process;
        details["type"] = type;
        errors.push_back(std::move(details));
      }
      if (errors.size() <= workload_checks::kMaxInText) {
        text += "\n  " + workload_checks::DescribeOp(read) + " " + words;
      }
      ++error_counts[type];
    };
    for (const Call& call : *calls) {
      if (call.invoke->f != "read" || !call.ok()) continue;
      const Op& read = *call.completion;
      if (!read.value.is_object()) {
        return CheckResult::Failed(HistoryOpError(
            history, read,
            "a bank read returns {\"<account>\": balance, ...}, not " + read.value.dump()));
      }
      ++read_count;
      int64_t total = 0;
      for (int account = 0; account < options_.accounts; ++account) {
        std::string name = std::to_string(account);
        auto found = read.value.find(name);
        int64_t balance = 0;
        if (found == read.value.end() || !workload_checks::IntegerValue(*found, &balance)) {
          report(read, "missing-balance", {{"account", account}},
                 "read no integer balance of account " + name);
          continue;
        }
        total += balance;
        if (balance < 0) {
          report(read, "negative-balance", {{"account", account}, {"balance", balance}},
                 "read account " + name + " at " + std::to_string(balance));
        }
      }
      for (const auto& [name, balance] : read.value.items()) {
        bool known = false;
        for (int account = 0; account < options_.accounts; ++account) {
          known = known || name == std::to_string(account);
        }
        if (!known) {
          report(read, "unexpected-account", {{"account", name}},
                 "read account " + name + ", which the test does not have");
        }
      }
      if (total != options_.total) {
        report(read, "wrong-total", {{"total", total}, {"expected", options_.total}},
               "read balances summing to " + std::to_string(total) + ", not " +
                   std::to_string(options_.total) + ": " + read.value.dump());
      }
    }
    int64_t error_count = 0;
    for (const auto& [type, count] : error_counts) error_count += count;
    Json json = {{"read_count", read_count},
                 {"error_count", error_count},
                 {"error_counts", error_counts},
                 {"errors", std::move(errors)}};
    if (error_count > 0) {
      return workload_checks::MakeResult(Verdict::kInvalid, std::move(json),
                                         std::to_string(error_count) + " errors in " +
                                             std::to_string(read_count) + " reads" + text,
                                         std::move(warnings));
    }
    if (read_count == 0) {
      return workload_checks::MakeResult(Verdict::kUnknown, std::move(json),
                                         "no read of the balances succeeded", std::move(warnings));
    }
    return workload_checks::MakeResult(
        Verdict::kValid, std::move(json),
        "all " + std::to_string(read_count) + " reads hold " + std::to_string(options_.accounts) +
            " accounts summing to " + std::to_string(options_.total) + ", none negative",
        std::move(warnings));
  }

 private:
  BankOptions options_;
};

}  // namespace

CheckerPtr MakeBankChecker(const BankOptions& options) {
  return std::make_shared<BankChecker>(options);
}

}  // namespace faultline
