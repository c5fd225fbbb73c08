// Every checker faultline can make by name: the one place a new checker is registered (its code
// lives in its own folder and makes a checker/checker.h value). The CLI's --checker, test.json's
// record of a run's checkers and `faultline analyze` all go through here; nothing else dispatches
// on checker names.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "core/status.h"

namespace faultline {

// Settings shared by every kind, as JSON (the flags of `test` and `check`, or a checker's
// Describe()): {"model": {"name", "initial_value"}, "consistency_model", "window_s",
// "apdex_t_s", "accounts", "total" (bank)}. Each kind reads the fields it needs, takes defaults for absent ones and refuses
// a bad one (InvalidArgument naming the field and what it accepts).
struct CheckerKind {
  std::string name;
  std::string summary;  // one line, for --help
  std::function<Result<CheckerPtr>(const Json& settings)> make;
};

// linearizable, list-append, rw-register, session, stats, counter, set, set-full, unique-ids,
// bank, perf.
const std::vector<CheckerKind>& CheckerKinds();
std::vector<std::string> CheckerNames();

// One checker by name; InvalidArgument for an unknown name or bad settings.
Result<CheckerPtr> MakeChecker(const std::string& name, const Json& settings);

// A checker back from its Describe(): one kind, or "compose" of several.
Result<CheckerPtr> MakeCheckerFromDescription(const Json& description);

// A run's checker: the named checkers, then stats and perf unless named, composed (every test
// judges its history so, as Jepsen's tests compose stats and perf). InvalidArgument for no name,
// a name given twice, or what MakeChecker refuses.
Result<CheckerPtr> MakeRunChecker(const std::vector<std::string>& names, const Json& settings);

// The checker a stored run's test.json records: its "checker" description; a run stored before
// checkers were values ({"checker": {"name", "consistency_model"}, "model": {...}}) gets its
// named checker composed with stats and perf.
Result<CheckerPtr> CheckerOfTestJson(const Json& test_json);

}  // namespace faultline
