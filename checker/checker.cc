#include "checker/checker.h"

#include <cassert>
#include <chrono>
#include <optional>
#include <exception>
#include <set>
#include <utility>

namespace faultline {
namespace {

class Composed : public Checker {
 public:
  explicit Composed(std::vector<CheckerPtr> checkers) : checkers_(std::move(checkers)) {
    std::set<std::string> names;
    for (const CheckerPtr& checker : checkers_) {
      assert(checker != nullptr);
      [[maybe_unused]] bool fresh = names.insert(checker->Name()).second;
      assert(fresh && "composed checkers need distinct names");
    }
  }

  std::string Name() const override { return "compose"; }

  Json Describe() const override {
    Json components = Json::array();
    for (const CheckerPtr& checker : checkers_) components.push_back(checker->Describe());
    return {{"name", Name()}, {"checkers", std::move(components)}};
  }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    CheckResult composed;
    composed.verdict = Verdict::kValid;
    composed.json = {{"checkers", Json::object()}};
    for (size_t i = 0; i < checkers_.size(); ++i) {
      const Checker& checker = *checkers_[i];
      const std::string name = checker.Name();
      CheckContext own = context;
      if (!context.output_directory.empty()) own.output_directory = context.output_directory / name;
      CheckResult result = CheckCatching(checker, history, own);
      composed.verdict = Merge(composed.verdict, result.verdict);
      composed.json["checkers"][name] = std::move(result.json);
      if (!result.text.empty()) {
        composed.text += i == 0 ? result.text : name + ": " + result.text;
      }
      for (const std::string& warning : result.warnings) {
        composed.warnings.push_back(name + ": " + warning);
      }
      if (!result.error.ok() && composed.error.ok()) composed.error = result.error;
    }
    composed.json["valid"] = VerdictJson(composed.verdict);
    return composed;
  }

 private:
  std::vector<CheckerPtr> checkers_;
};

}  // namespace

Json VerdictJson(Verdict verdict) {
  return verdict == Verdict::kUnknown ? Json("unknown") : Json(verdict == Verdict::kValid);
}

Status HistoryOpError(const History& history, const Op& op, const std::string& message) {
  std::string where = history.source.empty() ? "" : history.source + ":";
  if (op.line > 0) where += std::to_string(op.line) + ":";
  if (!where.empty()) where += " ";
  return Status::InvalidArgument(where + "op " + std::to_string(op.index) + " (process " +
                                 ProcessName(op.process) + ", f " + op.f + "): " + message);
}

CheckResult CheckResult::Failed(const Status& status) {
  CheckResult result;
  result.error = status;
  result.json = {{"valid", "unknown"}, {"error", status.message()}};
  result.text = "unknown: " + status.message() + "\n";
  return result;
}

std::function<void(const std::string&)> ThrottledProgress(
    std::function<void(const std::string&)> sink, double every_s) {
  using Clock = std::chrono::steady_clock;
  const auto every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(every_s));
  auto last = std::make_shared<std::optional<Clock::time_point>>();
  return [sink = std::move(sink), every, last](const std::string& message) {
    const Clock::time_point now = Clock::now();
    if (!*last) *last = now;  // the first message starts the clock
    if (now - **last < every) return;
    *last = now;
    sink(message);
  };
}

CheckerPtr Compose(std::vector<CheckerPtr> checkers) {
  return std::make_shared<Composed>(std::move(checkers));
}

CheckResult CheckCatching(const Checker& checker, const History& history,
                          const CheckContext& context) {
  try {
    return checker.Check(history, context);
  } catch (const std::exception& error) {
    return CheckResult::Failed(
        Status::Internal(checker.Name() + " checker threw: " + error.what()));
  }
}

}  // namespace faultline
