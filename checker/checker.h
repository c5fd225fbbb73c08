// A checker is a value with one call: a history in, a result out (Jepsen's `Checker`). Every
// checker family (linearizable/, txn/, session/, stats/, reports' perf) makes its checkers as
// values of this interface; checker/registry.h makes them by name; Compose runs several over one
// history (Jepsen's `compose`), each keeping its own entry.
//
// A checker is immutable once made, so one value may judge many histories, from any thread. It
// never throws to its caller: a history it cannot judge is a CheckResult with `error` set.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checker/verdict.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline {

// How a check runs, the same for every checker of a composition (what a checker checks against,
// such as a model, is part of the checker value itself).
struct CheckContext {
  int threads = 0;                // worker threads; 0 = all cores
  double time_limit_s = 0;        // then unknown (where the checker is bounded by time); 0 = none
  size_t memory_limit_bytes = 0;  // then unknown (linearizable's search); 0 = half of RAM
  bool lenient = false;           // well-formedness problems are warnings, not errors
  // The checker's own folder for files it writes (cycle drawings, plots); empty = write none.
  // Compose gives each checker <output_directory>/<its name>.
  std::filesystem::path output_directory;
  // Told what a long check is doing and how far it got ("linearizable: 12 of 40 partitions
  // decided"); may be empty. Called from the checking thread or the checker's worker threads,
  // one call at a time. Often: wrap a display in ThrottledProgress.
  std::function<void(const std::string&)> progress;
};

// results.json's "valid": true, false or "unknown".
Json VerdictJson(Verdict verdict);

struct CheckResult {
  Verdict verdict = Verdict::kUnknown;
  Json json;         // {"valid": true|false|"unknown", ...}: the checker's own fields
  std::string text;  // the verdict in words, with the witness when invalid; "" = nothing to say
  std::vector<std::string> warnings;  // e.g. what lenient accepted, a file not written
  Status error;  // the checker could not run (a history it cannot read); verdict is unknown

  // A result for a checker that could not run: unknown, with the reason in json and text.
  static CheckResult Failed(const Status& status);
};

class Checker {
 public:
  virtual ~Checker() = default;
  // The checker's name, its key in results.json ("linearizable", "stats").
  virtual std::string Name() const = 0;
  // What makes this checker, as checker/registry.h's MakeChecker(description) takes it back:
  // {"name": ..., and its settings}. test.json records it, so a stored run is re-checked alike.
  virtual Json Describe() const = 0;
  virtual CheckResult Check(const History& history, const CheckContext& context) const = 0;
};

using CheckerPtr = std::shared_ptr<const Checker>;

// Several checkers as one, named "compose". Its result's json is
// {"valid": worst, "checkers": {name: that checker's json}}; the verdict is the worst of theirs
// (invalid > unknown > valid, as Jepsen's compose); the text is each checker's non-empty text in
// order, after the first prefixed with its name; warnings are prefixed with the checker's name;
// error is the first checker's error (the others still run). Checkers run one after the other
// (each uses the context's threads). Names must be distinct (asserted).
CheckerPtr Compose(std::vector<CheckerPtr> checkers);

// `sink`, told only what comes at least `every_s` seconds after the first message and after the
// last one passed on, so a short check says nothing and a long one a line every `every_s`.
// One call at a time (CheckContext::progress's contract).
std::function<void(const std::string&)> ThrottledProgress(
    std::function<void(const std::string&)> sink, double every_s);

// InvalidArgument for an op a checker cannot read: "<source>:<line>: op 12 (process 3, f add):
// <message>", the file and line when the history has them.
Status HistoryOpError(const History& history, const Op& op, const std::string& message);

// Runs `check` and turns an exception into a failed result, so a checker bug never escapes.
CheckResult CheckCatching(const Checker& checker, const History& history,
                          const CheckContext& context);

}  // namespace faultline
