#include <utility>

#include "checker/txn/txn.h"

namespace faultline {
namespace {

class TxnChecker : public Checker {
 public:
  TxnChecker(TxnWorkload workload, std::string consistency_model)
      : workload_(workload), consistency_model_(std::move(consistency_model)) {}

  std::string Name() const override { return std::string(ToString(workload_)); }

  Json Describe() const override {
    return {{"name", Name()}, {"consistency_model", consistency_model_}};
  }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    TxnOptions options;
    options.workload = workload_;
    options.consistency_models = {consistency_model_};
    options.threads = static_cast<size_t>(context.threads);
    if (context.progress) context.progress(Name() + ": searching for cycles");
    Result<TxnResult> checked = CheckTransactions(history, options);
    if (!checked.ok()) return CheckResult::Failed(checked.status());
    CheckResult result{
        checked->verdict, checked->ToJson(), checked->ToText(), checked->warnings, {}};
    if (!context.output_directory.empty()) {
      Status written = checked->WriteCycleDots(context.output_directory.string());
      if (!written.ok()) result.warnings.push_back(written.message());
    }
    return result;
  }

 private:
  TxnWorkload workload_;
  std::string consistency_model_;
};

}  // namespace

CheckerPtr MakeTxnChecker(TxnWorkload workload, std::string consistency_model) {
  return std::make_shared<TxnChecker>(workload, std::move(consistency_model));
}

}  // namespace faultline
