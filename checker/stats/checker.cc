#include "checker/stats/stats.h"

namespace faultline {
namespace {

class StatsChecker : public Checker {
 public:
  std::string Name() const override { return "stats"; }
  Json Describe() const override { return {{"name", Name()}}; }

  CheckResult Check(const History& history, const CheckContext&) const override {
    StatsResult stats = CheckStats(history);
    std::string text = stats.verdict == Verdict::kValid ? "" : stats.Explain();
    return {stats.verdict, stats.ToJson(), std::move(text), {}, {}};
  }
};

}  // namespace

CheckerPtr MakeStatsChecker() { return std::make_shared<StatsChecker>(); }

}  // namespace faultline
