// Running a whole test: the phases of Jepsen's core/run!, with faults always healed.
//
// Phases: create the run directory and write test.json; connect to every node (in parallel);
// database setup (retried); the workload generator under the nemesis until it is exhausted or
// SIGINT/SIGTERM; heal (nemesis teardown); recovery wait; the final generator; database teardown
// (unless leave_db_running); check the history; write results.json. An error in any phase still
// heals the nemesis and tears down; a signal stops generating and goes straight to healing.
// RunTest is called from the main thread and installs SIGINT/SIGTERM handlers while it runs.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "checker/verdict.h"
#include "runner/store.h"
#include "runner/test.h"

namespace faultline {

namespace control {
class Remote;
}

struct RunOutcome {
  Verdict verdict = Verdict::kUnknown;
  bool interrupted = false;  // a signal cut the workload short (verdict at best unknown)
  Status error;              // a phase failed (the run still healed and checked what it had)
  RunDirectory directory;
  Json results;
  std::string explanation;  // the checker's verdict in words, with the witness when invalid
  std::vector<std::string> warnings;  // the checkers' (a plot or drawing not written, ...)
};

using Connector = std::function<Result<std::unique_ptr<control::Remote>>(const std::string& node)>;

struct RunHooks {
  // Receives each log line (also written to run.log). Called from the lifecycle thread, and
  // while the workload runs, for the generators' log lines, by the interpreter role's holder.
  std::function<void(const std::string&)> log;
  // Receives every recorded op, from the interpreter role's holder, one at a time (for progress
  // displays).
  std::function<void(const Op&)> on_op;
};

// `connect` (may be null when the test has no Db) opens a session to a node.
RunOutcome RunTest(const Test& test, const Connector& connect, const RunHooks& hooks);

// Re-checks a stored run: reads history.jsonl (a torn last line is dropped; invocations without
// completion count as info), checks it with the checker test.json records (checker/registry.h),
// rewrites results.json and the checkers' files.
Result<RunOutcome> AnalyzeRun(const std::string& run_directory);

}  // namespace faultline
