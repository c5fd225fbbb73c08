#include "checker/registry.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "checker/linearizable/linearizable.h"
#include "checker/session/session.h"
#include "checker/stats/stats.h"
#include "checker/txn/models.h"
#include "checker/txn/txn.h"
#include "checker/workloads/workloads.h"
#include "reports/perf_checker.h"

namespace faultline {
namespace {

std::string Joined(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

// settings[field] as a string, `fallback` when absent.
Result<std::string> StringField(const Json& settings, const char* field, const char* fallback) {
  if (!settings.is_object() || !settings.contains(field)) return std::string(fallback);
  if (!settings[field].is_string()) {
    return Status::InvalidArgument(std::string("checker setting ") + field + " must be a string");
  }
  return settings[field].get<std::string>();
}

// settings[field] as a positive finite number of seconds, `fallback` when absent.
Result<double> SecondsField(const Json& settings, const char* field, double fallback) {
  if (!settings.is_object() || !settings.contains(field)) return fallback;
  const Json& value = settings[field];
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() <= 0) {
    return Status::InvalidArgument(std::string("checker setting ") + field +
                                   " must be a positive number of seconds, not " + value.dump());
  }
  return value.get<double>();
}

Result<CheckerPtr> MakeLinearizable(const Json& settings) {
  Json model = settings.is_object() ? settings.value("model", Json::object()) : Json::object();
  if (!model.is_object()) return Status::InvalidArgument("checker setting model must be an object");
  Result<std::string> name = StringField(model, "name", "cas-register");
  if (!name.ok()) return name.status();
  std::vector<std::string> models = LinearizableModelNames();
  if (std::find(models.begin(), models.end(), *name) == models.end()) {
    return Status::InvalidArgument("unknown model " + *name + " (expected " + Joined(models) + ")");
  }
  return MakeLinearizableChecker({*name, model.value("initial_value", Json())});
}

std::function<Result<CheckerPtr>(const Json&)> MakeTxn(TxnWorkload workload) {
  return [workload](const Json& settings) -> Result<CheckerPtr> {
    Result<std::string> model = StringField(settings, "consistency_model", "strict-serializable");
    if (!model.ok()) return model.status();
    if (!txn::IsConsistencyModel(*model)) {
      return Status::InvalidArgument("unknown consistency model " + *model + " (expected " +
                                     Joined(txn::ConsistencyModelNames()) + ")");
    }
    return MakeTxnChecker(workload, *model);
  };
}

// settings[field] as a positive integer, `fallback` when absent.
Result<int64_t> PositiveIntegerField(const Json& settings, const char* field, int64_t fallback) {
  if (!settings.is_object() || !settings.contains(field)) return fallback;
  const Json& value = settings[field];
  if (!value.is_number_integer() || value.get<int64_t>() <= 0) {
    return Status::InvalidArgument(std::string("checker setting ") + field +
                                   " must be a positive integer, not " + value.dump());
  }
  return value.get<int64_t>();
}

Result<CheckerPtr> MakeBank(const Json& settings) {
  BankOptions options;
  Result<int64_t> accounts = PositiveIntegerField(settings, "accounts", options.accounts);
  if (!accounts.ok()) return accounts.status();
  Result<int64_t> total = PositiveIntegerField(settings, "total", options.total);
  if (!total.ok()) return total.status();
  if (*accounts > 1'000'000) {
    return Status::InvalidArgument("checker setting accounts must be at most 1000000");
  }
  options.accounts = static_cast<int>(*accounts);
  options.total = *total;
  return MakeBankChecker(options);
}

Result<CheckerPtr> MakePerf(const Json& settings) {
  reports::PlotOptions options;
  Result<double> window = SecondsField(settings, "window_s", options.window_s);
  if (!window.ok()) return window.status();
  Result<double> apdex_t = SecondsField(settings, "apdex_t_s", options.apdex_t_s);
  if (!apdex_t.ok()) return apdex_t.status();
  options.window_s = *window;
  options.apdex_t_s = *apdex_t;
  return reports::MakePerfChecker(options);
}

}  // namespace

const std::vector<CheckerKind>& CheckerKinds() {
  static const std::vector<CheckerKind> kinds = {
      {"linearizable", "single-object linearizability against --model", MakeLinearizable},
      {"list-append", "Adya cycles on list-append transactions, against --consistency-model",
       MakeTxn(TxnWorkload::kListAppend)},
      {"rw-register",
       "Adya cycles on read-write register transactions, against "
       "--consistency-model",
       MakeTxn(TxnWorkload::kRwRegister)},
      {"session", "read-your-writes, monotonic reads and writes, writes-follow-reads",
       [](const Json&) -> Result<CheckerPtr> { return MakeSessionChecker(); }},
      {"stats", "ok/fail/info per operation kind; a kind that never succeeded is unknown",
       [](const Json&) -> Result<CheckerPtr> { return MakeStatsChecker(); }},
      {"counter", "each read within the sums of the adds that must and may have happened",
       [](const Json&) -> Result<CheckerPtr> { return MakeCounterChecker(); }},
      {"set", "the final read holds every acknowledged add and nothing never added",
       [](const Json&) -> Result<CheckerPtr> { return MakeSetChecker(); }},
      {"set-full", "each element stable, stale, lost or never read across reads throughout",
       [](const Json&) -> Result<CheckerPtr> { return MakeSetFullChecker(); }},
      {"unique-ids", "no id generated twice", [](const Json&) -> Result<CheckerPtr> {
         return MakeUniqueIdsChecker();
       }},
      {"total-queue", "every acknowledged enqueue dequeued exactly once, nothing unexpected",
       [](const Json&) -> Result<CheckerPtr> { return MakeTotalQueueChecker(); }},
      {"bank", "every read of the balances: all accounts, none negative, the total conserved",
       MakeBank},
      {"perf", "latency, throughput, availability and Apdex figures, and their plots", MakePerf},
  };
  return kinds;
}

std::vector<std::string> CheckerNames() {
  std::vector<std::string> names;
  for (const CheckerKind& kind : CheckerKinds()) names.push_back(kind.name);
  return names;
}

Result<CheckerPtr> MakeChecker(const std::string& name, const Json& settings) {
  for (const CheckerKind& kind : CheckerKinds()) {
    if (kind.name == name) return kind.make(settings);
  }
  return Status::InvalidArgument("unknown checker " + name + " (expected " +
                                 Joined(CheckerNames()) + ")");
}

Result<CheckerPtr> MakeCheckerFromDescription(const Json& description) {
  if (!description.is_object() || !description.contains("name") ||
      !description["name"].is_string()) {
    return Status::InvalidArgument("a checker description needs a \"name\" string, not " +
                                   description.dump());
  }
  const std::string name = description["name"].get<std::string>();
  if (name != "compose") return MakeChecker(name, description);
  if (!description.contains("checkers") || !description["checkers"].is_array()) {
    return Status::InvalidArgument("a compose description needs a \"checkers\" array");
  }
  std::vector<CheckerPtr> checkers;
  std::set<std::string> names;
  for (const Json& component : description["checkers"]) {
    Result<CheckerPtr> checker = MakeCheckerFromDescription(component);
    if (!checker.ok()) return checker.status();
    if (!names.insert((*checker)->Name()).second) {
      return Status::InvalidArgument("checker " + (*checker)->Name() + " composed twice");
    }
    checkers.push_back(*checker);
  }
  return Compose(std::move(checkers));
}

Result<CheckerPtr> MakeRunChecker(const std::vector<std::string>& names, const Json& settings) {
  if (names.empty()) return Status::InvalidArgument("a run needs at least one checker");
  std::vector<std::string> all = names;
  for (const char* always : {"stats", "perf"}) {
    if (std::find(all.begin(), all.end(), always) == all.end()) all.push_back(always);
  }
  std::vector<CheckerPtr> checkers;
  std::set<std::string> seen;
  for (const std::string& name : all) {
    if (!seen.insert(name).second) {
      return Status::InvalidArgument("checker " + name + " named twice");
    }
    Result<CheckerPtr> checker = MakeChecker(name, settings);
    if (!checker.ok()) return checker.status();
    checkers.push_back(*checker);
  }
  return Compose(std::move(checkers));
}

Result<CheckerPtr> CheckerOfTestJson(const Json& test_json) {
  const Json checker = test_json.value("checker", Json::object());
  if (checker.value("name", std::string()) == "compose") {
    return MakeCheckerFromDescription(checker);
  }
  Json settings = checker.is_object() ? checker : Json::object();
  if (test_json.contains("model")) settings["model"] = test_json["model"];
  return MakeRunChecker({settings.value("name", std::string("linearizable"))}, settings);
}

}  // namespace faultline
