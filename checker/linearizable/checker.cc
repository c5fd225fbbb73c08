#include <utility>

#include "checker/linearizable/linearizable.h"

namespace faultline {
namespace {

class LinearizableChecker : public Checker {
 public:
  explicit LinearizableChecker(ModelSpec model) : model_(std::move(model)) {}

  std::string Name() const override { return "linearizable"; }

  Json Describe() const override {
    return {{"name", Name()},
            {"model", {{"name", model_.name}, {"initial_value", model_.initial_value}}}};
  }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    LinearizableOptions options;
    options.threads = context.threads;
    options.time_limit_s = context.time_limit_s;
    options.memory_limit_bytes = context.memory_limit_bytes;
    options.lenient = context.lenient;
    if (context.progress) {
      context.progress("linearizable: searching " + model_.name);
      options.on_partition_decided = [&context](size_t decided, size_t partitions) {
        context.progress("linearizable: " + std::to_string(decided) + " of " +
                         std::to_string(partitions) + " partitions decided");
      };
    }
    Result<LinearizableResult> checked = CheckLinearizable(history, model_, options);
    if (!checked.ok()) return CheckResult::Failed(checked.status());
    return {checked->verdict, checked->ToJson(), checked->ToText(), checked->warnings, {}};
  }

 private:
  ModelSpec model_;
};

}  // namespace

CheckerPtr MakeLinearizableChecker(ModelSpec model) {
  return std::make_shared<LinearizableChecker>(std::move(model));
}

}  // namespace faultline
