#include "runner/lifecycle.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>

#include "checker/checker.h"
#include "checker/registry.h"
#include "core/catch.h"
#include "core/history_io.h"
#include "core/parse_text.h"
#include "runner/control/locked_remote.h"
#include "runner/control/remote.h"
#include "runner/interpreter.h"
#include "runner/journal.h"

namespace faultline {
namespace {

std::atomic<bool> stop_requested{false};

extern "C" void RequestStop(int) { stop_requested.store(true); }

// Installs SIGINT/SIGTERM handlers that only set a flag, and restores the old ones on exit.
class SignalGuard {
 public:
  SignalGuard() {
    stop_requested = false;
    struct sigaction action {};
    action.sa_handler = RequestStop;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_interrupt_);
    sigaction(SIGTERM, &action, &old_terminate_);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_interrupt_, nullptr);
    sigaction(SIGTERM, &old_terminate_, nullptr);
  }

 private:
  struct sigaction old_interrupt_ {};
  struct sigaction old_terminate_ {};
};

Json TestJson(const Test& test) {
  const TestOptions& options = test.options;
  return {{"name", options.name},
          {"workload", test.workload},
          {"nodes", options.nodes},
          {"node_addresses", options.node_addresses},
          {"concurrency", options.concurrency},
          {"time_limit_s", options.time_limit_s},
          {"op_limit", options.op_limit},
          {"rate", options.rate},
          {"seed", options.seed},
          {"operation_timeout_s", options.operation_timeout_s},
          {"leave_db_running", options.leave_db_running},
          {"db_version", options.db_version},
          {"checker", test.checker ? test.checker->Describe() : Json()},
          {"faultline_version", "0.1.0"}};
}

// Runs `action` (`what`, for messages) for every node on its own thread and returns the first
// error. An action that throws is that node's error: an exception leaving a thread would end
// the process with the other nodes' members running and nothing healed.
Status ForEachNode(const std::vector<std::string>& nodes, const std::string& what,
                   const std::function<Status(size_t)>& action) {
  std::vector<Status> statuses(nodes.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < nodes.size(); ++i) {
    try {
      threads.emplace_back(
          [&, i] { statuses[i] = CatchAll(nodes[i] + ": " + what, [&] { return action(i); }); });
    } catch (...) {
      statuses[i] =
          Status::Internal(nodes[i] + ": no thread for " + what + ": " + CurrentExceptionMessage());
    }
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status Retry(int attempts, const std::function<Status()>& action) {
  Status status;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    status = action();
    if (status.ok()) break;
  }
  return status;
}

// "2026-12-07T16:48:00.123Z": ISO 8601, UTC, milliseconds (run.log's time stamps).
std::string FormatLogTime(std::chrono::system_clock::time_point time) {
  int64_t milliseconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(milliseconds / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &parts);
  char text[48];
  std::snprintf(text, sizeof text, "%s.%03dZ", date, static_cast<int>(milliseconds % 1000));
  return text;
}

class RunLog {
 public:
  enum class Level { kInfo, kWarn, kError };

  RunLog(const std::filesystem::path& path, const std::function<void(const std::string&)>& echo)
      : file_(path, std::ios::app), echo_(echo) {}
  // run.log gets "<ISO 8601 UTC time> <LEVEL> <line>", so it lines up with the nodes' logs; the
  // display gets the line alone. Never throws: a failing display must not cut the heal and the
  // teardown short (the line is in run.log either way).
  void operator()(const std::string& line, Level level = Level::kInfo) {
    std::lock_guard lock(mutex_);  // clients log from their own threads (Test::log)
    file_ << FormatLogTime(std::chrono::system_clock::now()) << " " << LevelName(level) << " "
          << line << "\n"
          << std::flush;
    if (echo_)
      (void)CatchAll("the log's display", [&] {
        echo_(line);
        return Status::Ok();
      });
  }
  void Warn(const std::string& line) { (*this)(line, Level::kWarn); }
  void Error(const std::string& line) { (*this)(line, Level::kError); }

 private:
  static const char* LevelName(Level level) {
    switch (level) {
      case Level::kInfo:
        return "INFO ";
      case Level::kWarn:
        return "WARN ";
      case Level::kError:
        return "ERROR";
    }
    return "INFO ";
  }

  std::mutex mutex_;
  std::ofstream file_;
  const std::function<void(const std::string&)>& echo_;
};

Json Results(Verdict verdict, const Json& checkers, bool interrupted, const Status& error) {
  Json results = {
      {"valid", VerdictJson(verdict)},
      {"verdict", ToString(verdict)},
      {"checkers", checkers}};
  if (interrupted) results["interrupted"] = true;
  if (!error.ok()) results["error"] = error.message();
  return results;
}

// Checks a history and fills outcome's verdict and results.
// Bounds the check at the end of a run like every other search (DESIGN principle 4): a history
// that would take longer is reported unknown; `faultline check --time-limit` can go further.
constexpr double kCheckTimeLimitS = 600;

// Which node each process talked to, for reading a witness: process p runs on client thread
// p mod concurrency, and thread t talks to node t mod n (interpreter.h).
std::string ProcessNodes(const TestOptions& options) {
  const std::vector<std::string>& nodes = options.nodes;
  if (nodes.empty() || options.concurrency < 1) return "";
  std::string text = "processes and nodes (process p uses client thread p mod " +
                     std::to_string(options.concurrency) + "):";
  for (size_t node = 0; node < nodes.size(); ++node) {
    std::string threads;
    for (int thread = static_cast<int>(node); thread < options.concurrency;
         thread += static_cast<int>(nodes.size())) {
      threads += (threads.empty() ? "" : ",") + std::to_string(thread);
    }
    if (!threads.empty()) text += " " + nodes[node] + " <- threads " + threads + ";";
  }
  return text + "\n";
}

// Files the checkers write (plots, cycle drawings) go to <run>/checker/<name>/; `progress`
// (may be empty) hears what a long check is doing.
void Check(const History& history, const CheckerPtr& checker,
           const std::function<void(const std::string&)>& progress, RunOutcome* outcome) {
  CheckContext context;
  context.time_limit_s = kCheckTimeLimitS;
  context.output_directory = outcome->directory.path / "checker";
  // A long check says how far it got, a line every 10 s; a short one says nothing.
  if (progress) context.progress = ThrottledProgress(progress, 10);
  CheckResult checked =
      checker ? CheckCatching(*checker, history, context)
              : CheckResult::Failed(Status::InvalidArgument("the test has no checker"));
  if (!checked.error.ok() && outcome->error.ok()) outcome->error = checked.error;
  outcome->explanation = checked.text;
  outcome->warnings = checked.warnings;
  Verdict verdict = checked.verdict;
  // A run cut short proves nothing about what it did not do; a violation found stays one.
  if (outcome->interrupted || !outcome->error.ok()) verdict = Merge(verdict, Verdict::kUnknown);
  outcome->verdict = verdict;
  outcome->results = Results(verdict, checked.json.value("checkers", Json::object()),
                             outcome->interrupted, outcome->error);
}

// Copies each node's log files into nodes/<node>/. A missing log is worth a line, not a failure.
void DownloadLogs(const Test& test, const std::vector<std::unique_ptr<control::Remote>>& remotes,
                  const RunDirectory& directory, RunLog& log) {
  const std::vector<std::string>& nodes = test.options.nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!remotes[i]) continue;
    std::error_code ignored;
    std::filesystem::create_directories(directory.node(nodes[i]), ignored);
    Status listed = CatchAll(nodes[i] + ": the log download", [&] {
      for (const std::string& file : test.db->LogFiles(test, nodes[i])) {
        std::filesystem::path local =
            directory.node(nodes[i]) / std::filesystem::path(file).filename();
        Status copied = remotes[i]->Download(file, local);
        if (!copied.ok())
          log.Warn("log " + nodes[i] + ":" + file + " not downloaded: " + copied.message());
      }
      return Status::Ok();
    });
    if (!listed.ok()) log.Warn(listed.message());
  }
}

// Whether `found` is `wanted` or begins with it and a dot: "15" takes "15.10", not "150.1".
bool VersionMatches(const std::string& found, const std::string& wanted) {
  if (found == wanted) return true;
  return found.size() > wanted.size() && found.compare(0, wanted.size(), wanted) == 0 &&
         found[wanted.size()] == '.';
}

// Asks every node's server its version (Db::Version), logs the versions and records them in
// test.json as db_versions. Nodes running no server (an empty version) are left out. Without
// --db-version a version that cannot be read is a warning; with it, a node whose version cannot
// be read or differs is an error naming each such node, and so is a database that says none.
Status CheckVersions(const Test& test, const std::vector<std::unique_ptr<control::Remote>>& remotes,
                     const RunDirectory& directory, RunLog& log) {
  const std::vector<std::string>& nodes = test.options.nodes;
  const std::string& wanted = test.options.db_version;
  std::vector<Result<std::string>> versions(nodes.size(), std::string());
  (void)ForEachNode(nodes, "the server's version", [&](size_t i) {
    versions[i] = test.db->Version(test, nodes[i], *remotes[i]);
    return Status::Ok();
  });
  Json recorded = Json::object();
  std::vector<std::string> found, wrong;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!versions[i].ok()) {
      log.Warn(nodes[i] + ": its server's version cannot be read: " +
               versions[i].status().message());
      wrong.push_back(nodes[i] + "'s cannot be read");
    } else if (!versions[i]->empty()) {
      recorded[nodes[i]] = *versions[i];
      found.push_back(nodes[i] + " " + *versions[i]);
      if (!wanted.empty() && !VersionMatches(*versions[i], wanted))
        wrong.push_back(nodes[i] + " runs " + *versions[i]);
    }
  }
  if (!found.empty()) {
    log("server versions: " + text::JoinedWords(found, ", "));
    Json test_json = TestJson(test);
    test_json["db_versions"] = recorded;
    (void)WriteJsonFile(directory.test_json(), test_json);
  }
  if (wanted.empty()) return Status::Ok();
  if (found.empty() && wrong.empty()) {
    return Status::InvalidArgument("--db-version " + wanted +
                                   " was asked, but this database does not say its version");
  }
  if (wrong.empty()) return Status::Ok();
  return Status::InvalidArgument("--db-version " + wanted + " was asked, but " +
                                 text::JoinedWords(wrong, " and "));
}

// The heal: the nemesis's Teardown, which must run whatever happened before it.
Status Heal(const Test& test) {
  return CatchAll("the nemesis teardown", [&] { return test.nemesis->Teardown(test); });
}

}  // namespace

RunOutcome RunTest(const Test& test, const Connector& connect, const RunHooks& hooks) {
  RunOutcome outcome;
  Result<RunDirectory> directory = CreateRunDirectory(test.options.store_dir, test.options.name);
  if (!directory.ok()) {
    outcome.error = directory.status();
    return outcome;
  }
  outcome.directory = *directory;
  RunLog log(outcome.directory.log(), hooks.log);
  log("seed " + std::to_string(test.options.seed));  // first, so any run can be replayed
  log("run directory " + outcome.directory.path.string());
  (void)WriteJsonFile(outcome.directory.test_json(), TestJson(test));
  Json header = {{"test", test.options.name},
                 {"seed", test.options.seed},
                 {"concurrency", test.options.concurrency},
                 {"nodes", test.options.nodes}};
  Result<std::unique_ptr<Journal>> journal = Journal::Open(outcome.directory.history(), header);
  if (!journal.ok()) {
    outcome.error = journal.status();
    return outcome;
  }
  SignalGuard signals;
  const std::vector<std::string>& nodes = test.options.nodes;
  std::vector<std::unique_ptr<control::Remote>> remotes(nodes.size());
  // The nemesis reaches nodes through the same sessions as the database.
  bool connected = connect && (test.db || test.nemesis);
  bool use_db = connected && test.db;
  if (connected) {
    log("connecting to " + std::to_string(nodes.size()) + " nodes");
    outcome.error = ForEachNode(nodes, "connect", [&](size_t i) {
      Result<std::unique_ptr<control::Remote>> remote = connect(nodes[i]);
      if (!remote.ok()) return remote.status();
      remotes[i] = std::make_unique<control::LockedRemote>(std::move(*remote));
      return Status::Ok();
    });
    if (outcome.error.ok() && use_db) {
      log("setting up the database");
      outcome.error = ForEachNode(nodes, "database setup", [&](size_t i) {
        return Retry(3, [&] { return test.db->Setup(test, nodes[i], *remotes[i]); });
      });
      if (outcome.error.ok()) outcome.error = CheckVersions(test, remotes, outcome.directory, log);
    }
  }
  History history;
  NodeRemotes node_remotes;
  for (const std::unique_ptr<control::Remote>& remote : remotes)
    node_remotes.push_back(remote.get());
  if (outcome.error.ok() && test.nemesis) {
    log("setting up the nemesis");
    outcome.error =
        CatchAll("the nemesis setup", [&] { return test.nemesis->Setup(test, node_remotes); });
  }
  if (outcome.error.ok()) {
    Test running = test;  // with the run's log, for the clients
    running.log = [&log](const std::string& line) { log(line); };
    Interpreter interpreter(running, journal->get(), &stop_requested, test.options.seed);
    interpreter.OnLog([&](const std::string& line) { log(line); });
    if (hooks.on_op) interpreter.OnOp(hooks.on_op);
    log("running the workload");
    // The interpreter stops what its threads throw and rethrows it here; caught, so that the
    // heal and the teardown below still run.
    outcome.error = CatchAll("the workload", [&] { return interpreter.Run(test.generator); });
    outcome.interrupted = stop_requested.load();
    if (test.nemesis) {
      log("healing: nemesis teardown");
      Status healed = Heal(test);
      if (!healed.ok() && outcome.error.ok()) outcome.error = healed;
    }
    if (outcome.error.ok() && !outcome.interrupted && test.final_generator) {
      std::this_thread::sleep_for(std::chrono::duration<double>(test.options.recovery_s));
      log("running the final generator");
      outcome.error =
          CatchAll("the final generator", [&] { return interpreter.Run(test.final_generator); });
      outcome.interrupted = stop_requested.load();
    }
    InterpreterStats stats = interpreter.stats();
    log("ops: " + std::to_string(stats.invoked) + " invoked, " + std::to_string(stats.ok) +
        " ok, " + std::to_string(stats.failed) + " failed, " + std::to_string(stats.info) +
        " info");
    history = interpreter.TakeHistory();
    history.header = header;  // as in history.jsonl: checkers read the concurrency from it
  } else if (test.nemesis) {
    log("healing: nemesis teardown");  // whatever a half-done setup broke
    Status healed = Heal(test);
    if (!healed.ok()) log.Error("heal failed: " + healed.message());
  }
  if (use_db) DownloadLogs(test, remotes, outcome.directory, log);
  if (use_db && !test.options.leave_db_running) {
    log("tearing down the database");
    // A teardown that fails (or refuses, as etcd's does for a directory it did not set up)
    // leaves the history as it is: said in the log, not in the verdict.
    Status torn_down = ForEachNode(nodes, "database teardown", [&](size_t i) {
      return remotes[i] ? test.db->Teardown(test, nodes[i], *remotes[i]) : Status::Ok();
    });
    if (!torn_down.ok()) log.Warn("teardown failed: " + torn_down.message());
  }
  if (!outcome.error.ok()) log.Error("error: " + outcome.error.message());
  log("checking " + std::to_string(history.ops.size()) + " ops");
  Check(history, test.checker, [&](const std::string& step) { log(step); }, &outcome);
  for (const std::string& warning : outcome.warnings) log.Warn(warning);
  if (outcome.verdict == Verdict::kInvalid && test.db && connect) {
    outcome.explanation += ProcessNodes(test.options);
  }
  (void)WriteJsonFile(outcome.directory.results(), outcome.results);
  PointLinks(outcome.directory, "latest");
  log("verdict: " + std::string(ToString(outcome.verdict)));
  return outcome;
}

Result<RunOutcome> AnalyzeRun(const std::string& run_directory) {
  RunOutcome outcome;
  outcome.directory.path = run_directory;
  Result<Json> test_json = ReadJsonFile(outcome.directory.test_json());
  if (!test_json.ok()) return test_json.status();
  Result<CheckerPtr> checker = CheckerOfTestJson(*test_json);
  if (!checker.ok()) {
    return Status::InvalidArgument(outcome.directory.test_json().string() + ": " +
                                   checker.status().message());
  }
  ReadOptions options;
  options.format = HistoryFormat::kJsonl;
  options.drop_torn_last_line = true;  // a run killed mid-write
  Result<History> history = ReadHistoryFile(outcome.directory.history().string(), options);
  if (!history.ok()) return history.status();
  Check(*history, *checker, nullptr, &outcome);
  Status written = WriteJsonFile(outcome.directory.results(), outcome.results);
  if (!written.ok()) return written;
  return outcome;
}

}  // namespace faultline
