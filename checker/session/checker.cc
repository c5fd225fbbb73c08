#include "checker/session/session.h"

namespace faultline {
namespace {

class SessionChecker : public Checker {
 public:
  std::string Name() const override { return "session"; }
  Json Describe() const override { return {{"name", Name()}}; }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    SessionOptions options;
    options.lenient = context.lenient;
    Result<SessionResult> checked = CheckSessions(history, options);
    if (!checked.ok()) return CheckResult::Failed(checked.status());
    return {checked->verdict, checked->ToJson(), checked->ToText(), checked->warnings, {}};
  }
};

}  // namespace

CheckerPtr MakeSessionChecker() { return std::make_shared<SessionChecker>(); }

}  // namespace faultline
