#include "runner/cli/test_command.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <tuple>

#include "checker/registry.h"
#include "checker/verdict.h"
#include "clients/db_kind.h"
#include "core/parse_text.h"
#include "reports/junit.h"
#include "runner/cli/password.h"
#include "runner/cli/progress.h"
#include "runner/cli/report_command.h"
#include "runner/lifecycle.h"
#include "runner/store.h"

namespace faultline::cli {
namespace {

std::vector<std::string> SplitNodes(const std::string& text) {
  std::vector<std::string> nodes;
  std::string node;
  for (char c : text + ",") {
    if (c == ',' || c == ' ' || c == '\n') {
      if (!node.empty()) nodes.push_back(node);
      node.clear();
    } else {
      node += c;
    }
  }
  return nodes;
}

Status ResolveNodes(TestArguments& arguments) {
  std::vector<std::string> nodes;
  for (const std::string& item : arguments.nodes) {
    for (const std::string& node : SplitNodes(item)) nodes.push_back(node);
  }
  if (!arguments.nodes_file.empty()) {
    std::ifstream in(arguments.nodes_file);
    if (!in) return Status::InvalidArgument(arguments.nodes_file + ": cannot open nodes file");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line[0] != '#') {
        for (const std::string& node : SplitNodes(line)) nodes.push_back(node);
      }
    }
  }
  if (arguments.local && !nodes.empty()) {
    return Status::InvalidArgument("--local builds its own nodes: leave out --nodes/--nodes-file");
  }
  // Without nodes, a test that needs none runs on names alone: the fake db, and an exec client
  // with neither --db-* commands nor faults (it reaches its system however it likes). Anything
  // else runs on the local cluster (the issue's default).
  if (nodes.empty() && !arguments.local && clients::RunsOnNames(arguments.workload))
    nodes = {"n1", "n2", "n3", "n4", "n5"};
  if (nodes.empty()) arguments.local = true;
  arguments.options.nodes = nodes;
  return Status::Ok();
}

// Brings the local cluster up (reusing a healthy one of the same size) and points the test at
// its nodes: names n1..nN, reached at their addresses with the cluster's key and known_hosts.
Status PrepareLocalCluster(TestArguments& arguments, std::ostream& out) {
  cluster::ClusterOptions options;
  options.nodes = arguments.local_nodes;
  options.state_directory = arguments.cluster_state_directory;
  Result<cluster::ClusterInfo> info = cluster::ClusterUp(options);
  if (!info.ok()) return Status::IoError("local cluster: " + info.status().message());
  out << (info->reused ? "using the local cluster at " : "local cluster up at ")
      << info->state_directory.string() << " (" << info->nodes.size()
      << " nodes; `faultline cluster down` removes it)\n";
  arguments.options.nodes.clear();
  arguments.options.node_addresses.clear();
  for (const cluster::NodeInfo& node : info->nodes) {
    arguments.options.nodes.push_back(node.name);
    arguments.options.node_addresses[node.name] = node.address;
  }
  arguments.local_cluster = std::make_shared<const cluster::ClusterInfo>(std::move(*info));
  return Status::Ok();
}

// How a run reaches its nodes: the local cluster's per-node settings, or the --username/--key
// flags for every node.
Connector ConnectorFor(const TestArguments& arguments) {
  std::shared_ptr<const cluster::ClusterInfo> local = arguments.local_cluster;
  const clients::DbKind* kind = clients::FindDbKind(arguments.workload.db);
  if (!local || (kind != nullptr && kind->in_process)) {
    return clients::MakeConnector(arguments.workload.db, arguments.ssh);
  }
  return [local](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
    for (const cluster::NodeInfo& info : local->nodes) {
      if (info.name == node)
        return control::ConnectSsh(node, cluster::NodeSshOptions(*local, info));
    }
    return Status::InvalidArgument(node + " is not a node of the local cluster");
  };
}

// "5" or "2n" (two per node), as Jepsen's --concurrency.
Status ResolveConcurrency(TestArguments& arguments) {
  const std::string& text = arguments.concurrency;
  bool per_node = !text.empty() && text.back() == 'n';
  std::string digits = per_node ? text.substr(0, text.size() - 1) : text;
  int count = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || count < 1 ||
      count > 10000) {
    return Status::InvalidArgument("--concurrency: expected N or Nn (e.g. 10 or 2n), found \"" +
                                   text + "\"");
  }
  int nodes = static_cast<int>(arguments.options.nodes.size());
  arguments.options.concurrency = per_node ? count * nodes : count;
  return Status::Ok();
}

}  // namespace

namespace {

// Which checkers judge a run, and the perf checker's settings.
void AddCheckerFlags(CLI::App* test, clients::WorkloadOptions& workload) {
  std::string names;
  for (const std::string& name : CheckerNames()) names += (names.empty() ? "" : ", ") + name;
  test->add_option("--checker", workload.checkers,
                   "A checker judging the run, repeatable: " + names +
                       " (default: the workload's own); stats and perf always run")
      // One name per --checker, so `--checker session FILE` keeps FILE a file.
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::IsMember(CheckerNames()));
  test->add_option("--apdex-t", workload.apdex_t_s,
                   "perf: Apdex's T in seconds (an ok op within T satisfies, within 4T tolerates)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  test->add_option("--plot-window", workload.plot_window_s,
                   "perf: seconds per window of the quantile, rate and availability plots")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

// Each database's own flags, as its kind declares them (clients/db_kind.h), under its name in
// --help. A flag given for another --db is refused when the test is built. A flag several kinds
// declare (--isolation: postgres and galera) is one option that takes any of their values, and
// its help gives each kind's help and default when they differ; the kind the test is built for
// checks its own values (clients::BuildTest).
void AddDbFlags(CLI::App* test, clients::WorkloadOptions& workload) {
  struct Declared {
    std::string kind;
    const clients::DbFlag* flag;
  };
  std::vector<std::pair<std::string, std::vector<Declared>>> flags;  // in declaration order
  for (const clients::DbKind& kind : clients::DbKinds()) {
    for (const clients::DbFlag& flag : kind.flags) {
      auto found = std::find_if(flags.begin(), flags.end(),
                                [&](const auto& entry) { return entry.first == flag.name; });
      if (found == flags.end()) found = flags.insert(flags.end(), {flag.name, {}});
      found->second.push_back({kind.name, &flag});
    }
  }
  for (const auto& [name, declared] : flags) {
    const clients::DbFlag& first = *declared.front().flag;
    std::string help = first.help;
    std::vector<std::string> choices;
    bool same = true, any_text = false;  // any_text: a kind that takes any value
    for (const Declared& each : declared) {
      any_text = any_text || each.flag->choices.empty();
      same = same && each.flag->choices == first.choices &&
             each.flag->default_value == first.default_value;
      for (const std::string& choice : each.flag->choices) {
        if (std::find(choices.begin(), choices.end(), choice) == choices.end())
          choices.push_back(choice);
      }
    }
    if (!same) {  // each kind's own help and default
      help.clear();
      for (const Declared& each : declared) {
        help += (help.empty() ? "" : "; ") + ("--db " + each.kind + ": ") + each.flag->help +
                " (default " + each.flag->default_value + ")";
      }
    }
    CLI::Option* option =
        test->add_option("--" + name, workload.db_flags[name],
                         help + (first.repeatable ? " (repeatable)" : ""))
            ->group("Options of --db " + declared.front().kind)
            ->expected(1)
            ->allow_extra_args(false)
            ->multi_option_policy(first.repeatable ? CLI::MultiOptionPolicy::TakeAll
                                                   : CLI::MultiOptionPolicy::TakeLast);
    if (!first.repeatable && same) option->default_str(first.default_value);
    if (!any_text) option->check(CLI::IsMember(choices));
  }
}

// The flags `test` and `test-all` share.
void AddTestFlags(CLI::App* test, TestArguments& arguments) {
  // A flag given twice takes its last value, so a script's defaults can be overridden by flags
  // appended after them (scripts/demo.sh "$@"). Lists (--nodes, -n) still collect every value.
  test->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Read before parsing (main.cc, ExpandConfigFiles); declared here for --help.
  test->add_option("--config", arguments.config_file,
                   "A JSON file of this command's flags ({\"db\": \"exec\", \"time-limit\": 60, "
                   "...}); flags after it win");
  TestOptions& options = arguments.options;
  std::string databases = "Database:";
  for (const clients::DbKind& kind : clients::DbKinds())
    databases += (databases.back() == ':' ? " " : "; ") + kind.name + ": " + kind.summary;
  test->add_option("--db", arguments.workload.db, databases)
      ->capture_default_str()
      ->check(CLI::IsMember(clients::DbNames()));
  test->add_option("--workload", arguments.workload.workload,
                   "Workload: register, list-append, rw-register, session, counter, set, "
                   "set-full, unique-ids, bank (docs/workloads.md)")
      ->capture_default_str()
      ->check(CLI::IsMember(clients::WorkloadNames()));
  test->add_option("--consistency-model", arguments.workload.consistency_model,
                   "list-append, rw-register: the model the history is checked against")
      ->capture_default_str()
      ->check(CLI::IsMember(clients::ConsistencyModelNames()));
  AddCheckerFlags(test, arguments.workload);
  AddDbFlags(test, arguments.workload);
  workloads::TxnWorkloadOptions& txn = arguments.workload.txn;
  test->add_option("--key-count", txn.key_count, "Transactional workloads: active keys")
      ->capture_default_str()
      ->check(CLI::Range(1, workloads::kMaxKeyCount));
  test->add_option("--min-txn-length", txn.min_txn_length, "Fewest micro-ops per transaction")
      ->capture_default_str()
      ->check(CLI::Range(1, workloads::kMaxTxnLength));
  test->add_option("--max-txn-length", txn.max_txn_length, "Most micro-ops per transaction")
      ->capture_default_str()
      ->check(CLI::Range(1, workloads::kMaxTxnLength));
  test->add_option("--max-writes-per-key", txn.max_writes_per_key,
                   "Writes after which a key retires and a fresh key replaces it")
      ->capture_default_str()
      ->check(CLI::Range(1, workloads::kMaxWritesPerKey));
  test->add_option("--key-distribution", txn.key_distribution,
                   "Which active key a micro-op uses: uniform, exponential, zipf")
      ->capture_default_str()
      ->check(CLI::IsMember(clients::KeyDistributionNames()));
  test->add_option("--nemesis-interval", arguments.workload.nemesis_interval_s,
                   "Seconds between a fault's start and its heal, and between faults")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  test->add_option("--nemesis-targets", arguments.workload.nemesis_targets,
                   "What the faults may aim at, comma-separated: one, minority, majority, all, "
                   "primaries (a database that names them: redis), or partition kinds "
                   "(random-halves, isolate-one, majorities-ring, bridge, isolate-primaries); "
                   "default: all they can")
      ->delimiter(',');
  test->add_option("--client-command", arguments.workload.client_command,
                   "Your own client (--db exec, or instead of etcd's built-in one), run by "
                   "/bin/sh -c once per client process, speaking JSON lines (docs/clients.md)");
  test->add_option("--nodes", arguments.nodes, "Comma-separated node names")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  test->add_option("-n,--node", arguments.nodes, "A node (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  test->add_option("--nodes-file", arguments.nodes_file, "File with one node per line");
  test->add_option("--concurrency", arguments.concurrency,
                   "Client threads: N, or Nn for N per node (Jepsen's 2n)")
      ->capture_default_str();
  test->add_option("--username", arguments.ssh.username, "SSH user")->capture_default_str();
  test->add_option("--password-file", arguments.passwords.file,
                   "File whose first line is the SSH password (also sudo's); owner-only mode");
  test->add_flag("--ask-password", arguments.passwords.ask,
                 "Prompt for the SSH password on the terminal");
  test->add_option("--password", arguments.passwords.command_line,
                   "SSH password (visible in ps: prefer FAULTLINE_SSH_PASSWORD, --password-file)");
  test->add_option("--ssh-private-key", arguments.ssh.private_key_path, "SSH private key file");
  test->add_option("--strict-host-key-checking", arguments.ssh.strict_host_key_checking,
                   "Verify host keys against known_hosts (true/false)")
      ->capture_default_str();
  test->add_option("--time-limit", options.time_limit_s, "Seconds of workload")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  test->add_option("--op-limit", options.op_limit,
                   "Client ops in all, then the clients stop (the run ends at --time-limit at the "
                   "latest); 0 = no limit")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  test->add_option("--op-timeout", options.operation_timeout_s,
                   "Seconds an op may take before it is recorded as info (exec clients: killed)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  test->add_option("--rate", options.rate, "Total ops per second; 0 = unlimited")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  test->add_option("--seed", options.seed, "Seed for every random choice (logged first)");
  test->add_option("--test-count", arguments.test_count, "Run the test this many times")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  test->add_option("--store", options.store_dir, "Directory of stored runs")->capture_default_str();
  test->add_option("--junit", arguments.junit,
                   "Also write a JUnit XML report here: a testcase per run and checker, invalid "
                   "as a failure, unknown and crashed as an error");
  test->add_option("--name", options.name, "Test name (default: db-workload)");
  test->add_option("--db-version", options.db_version,
                   "The server version every node must run: 15.10, or 15 for any 15.x (checked "
                   "after setup; the versions found are in test.json either way)");
  test->add_flag("--leave-db-running", options.leave_db_running,
                 "Do not tear the database down at the end");
  test->add_flag("--local", arguments.local,
                 "Run on the local cluster (built if needed); the default without --nodes");
  test->add_option("--local-nodes", arguments.local_nodes, "Nodes of the local cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, cluster::kMaxNodes));
  test->add_option("--cluster-state-dir", arguments.cluster_state_directory,
                   "The local cluster's state directory")
      ->capture_default_str();
}

}  // namespace

CLI::App* AddTestCommand(CLI::App& app, TestArguments& arguments) {
  CLI::App* test = app.add_subcommand("test", "Run a test: workload under faults, then check it");
  AddTestFlags(test, arguments);
  test->add_option("--nemesis", arguments.workload.nemesis,
                   "Faults, comma-separated: " + text::JoinedWords(clients::NemesisNames(), ", "))
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& set) {
            return clients::IsNemesisSet(set)
                       ? std::string()
                       : "expected faults from " + text::JoinedWords(clients::NemesisNames()) +
                             " joined by ',' (e.g. partition,kill)";
          },
          "FAULTS"));
  return test;
}

CLI::App* AddTestAllCommand(CLI::App& app, TestAllArguments& arguments) {
  CLI::App* test_all = app.add_subcommand(
      "test-all", "Run a matrix of workloads x nemesis sets and report each run (for CI)");
  AddTestFlags(test_all, arguments.test);
  test_all->add_option("--workloads", arguments.workloads, "Workloads (default: --workload)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->delimiter(',');
  test_all
      ->add_option("--nemesis-sets", arguments.nemesis_sets,
                   "Nemesis sets, each like partition+kill or none (default: none)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->delimiter(',');
  test_all
      ->add_option("--matrix", arguments.matrix_file,
                   "JSON file {\"workloads\": [...], \"nemesis\": [...]} instead")
      ->check(CLI::ExistingFile);
  return test_all;
}

namespace {

struct SingleRun {
  std::vector<Op> faults;  // the nemesis completions, in order: the fault timeline
  std::string test_name;   // the test's name in the store (db-workload[-faults] by default)
  Json results;            // results.json: the verdict of each checker
  double seconds = 0;      // the whole run, setup to check
  std::string explanation;
  Verdict verdict = Verdict::kUnknown;
  bool crashed = false;        // the harness itself failed; no trustworthy verdict
  bool bad_arguments = false;  // the options do not make a test (exit 254, like bad input)
  bool interrupted = false;
  std::string directory;
  std::string error;
};

// The test name and node names become directories of the run store: refused before anything
// is started when they could escape it.
Status CheckNames(const TestArguments& arguments) {
  if (Status name = CheckPathName("--name", arguments.options.name); !name.ok()) return name;
  for (const std::string& node : arguments.options.nodes) {
    if (Status name = CheckPathName("node name", node); !name.ok()) return name;
  }
  return Status::Ok();
}

// Options that cannot make a test (a fault that cannot aim where --nemesis-targets says, a flag
// of another database) are refused before the local cluster is built for them: the test is
// built once on the cluster's node names, n1..nN, and built again on the real nodes later.
Status CheckBuildsOnLocalNodes(const TestArguments& arguments) {
  TestOptions options = arguments.options;
  options.nodes.clear();
  for (int i = 1; i <= arguments.local_nodes; ++i) options.nodes.push_back("n" + std::to_string(i));
  Result<Test> test = clients::BuildTest(options, arguments.workload);
  if (test.ok() || test.status().code() != StatusCode::kInvalidArgument) return Status::Ok();
  return test.status();
}

// `check_first`: refuse bad options before building the local cluster (one test's options).
Status Prepare(TestArguments& arguments, std::ostream& out, std::ostream& err,
               bool check_first = false) {
  Status resolved = ResolveNodes(arguments);
  if (resolved.ok()) resolved = CheckNames(arguments);
  if (resolved.ok()) resolved = ResolvePasswords(arguments.passwords, arguments.ssh, err);
  if (resolved.ok() && arguments.local && check_first)
    resolved = CheckBuildsOnLocalNodes(arguments);
  if (resolved.ok() && arguments.local) resolved = PrepareLocalCluster(arguments, out);
  if (resolved.ok()) resolved = ResolveConcurrency(arguments);
  if (!resolved.ok()) return resolved;
  // The local cluster logs in as root; elsewhere a non-root user reaches iptables through sudo.
  arguments.workload.nemesis_sudo = !arguments.local && arguments.ssh.username != "root";
  return Status::Ok();
}

SingleRun RunOnce(const TestArguments& arguments, TestOptions options, std::ostream& out) {
  SingleRun run;
  const auto started = std::chrono::steady_clock::now();
  if (options.seed == 0) options.seed = std::random_device()() | 1;
  if (options.name == "test") {
    options.name = arguments.workload.db + "-" + arguments.workload.workload;
    if (arguments.workload.nemesis != "none") {
      std::string faults = arguments.workload.nemesis;
      std::replace(faults.begin(), faults.end(), ',', '+');  // a shell-friendly directory name
      options.name += "-" + faults;
    }
  }
  run.test_name = options.name;
  try {
    Result<Test> test = clients::BuildTest(options, arguments.workload);
    if (!test.ok()) {
      run.crashed = true;
      run.bad_arguments = test.status().code() == StatusCode::kInvalidArgument;
      run.error = test.status().message();
      return run;
    }
    Progress progress(options.time_limit_s);
    RunHooks hooks;
    hooks.log = [&](const std::string& line) { progress.Print(out, line); };
    hooks.on_op = [&](const Op& op) {
      progress.Count(op);
      if (op.is_nemesis() && op.is_completion()) run.faults.push_back(op);
    };
    RunOutcome outcome = RunTest(*test, ConnectorFor(arguments), hooks);
    progress.Stop();
    ReportRun(outcome.directory.path.string(), out);
    run.verdict = outcome.verdict;
    run.interrupted = outcome.interrupted;
    run.explanation = outcome.explanation;
    run.results = outcome.results;
    run.directory = outcome.directory.path.string();
    run.crashed = outcome.directory.path.empty();
    run.error = outcome.error.ok() ? "" : outcome.error.message();
  } catch (const std::exception& error) {
    run.crashed = true;
    run.error = error.what();
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

// "  12.3 s  start-partition  {...}" per nemesis op: when each fault began and ended, and what
// it did to which nodes.
void PrintFaultTimeline(const SingleRun& run, std::ostream& out) {
  if (run.faults.empty()) return;
  out << "fault timeline:\n";
  for (const Op& fault : run.faults) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%8.1f s", static_cast<double>(fault.time_ns) / 1e9);
    out << "  " << seconds << "  " << fault.f << "  " << fault.value.dump();
    if (!fault.error.is_null()) out << "  error: " << fault.error.dump();
    out << "\n";
  }
}

std::string Describe(const SingleRun& run) {
  if (run.bad_arguments) return "not run: " + run.error;
  if (run.crashed) return "crashed (" + run.error + ")";
  std::string text(ToString(run.verdict));
  if (run.interrupted) text += " (interrupted)";
  return text;
}

// A run's JUnit testcases, named `name` ("run 2", "register x partition"): one per checker, or
// one error when the run crashed before any checker judged it.
std::vector<reports::JunitTestCase> JunitCases(const SingleRun& run, const std::string& name) {
  std::string details = run.explanation;
  if (!run.error.empty()) details += "error: " + run.error + "\n";
  if (!run.directory.empty()) details += "run directory: " + run.directory + "\n";
  if (run.crashed)
    return {reports::ErrorTestCase(run.test_name, name, run.seconds, Describe(run), details)};
  return reports::RunTestCases(run.test_name, name, run.seconds, run.results, run.verdict, details);
}

// Writes --junit's file (when asked for) with one suite; false, after saying why, when it could
// not be written.
bool WriteJunitFile(const std::string& path, const std::string& suite_name,
                    const std::vector<std::pair<std::string, SingleRun>>& runs, std::ostream& err) {
  if (path.empty()) return true;
  reports::JunitTestSuite suite{suite_name, reports::JunitTimestamp(), {}};
  for (const auto& [name, run] : runs) {
    for (reports::JunitTestCase& test_case : JunitCases(run, name)) {
      suite.cases.push_back(std::move(test_case));
    }
  }
  Status written = reports::WriteJunit(path, {"faultline", {std::move(suite)}});
  if (!written.ok()) err << "faultline: " << written.message() << "\n";
  return written.ok();
}

// Worst first: a crash, then invalid, then unknown, then valid.
int WorstExitCode(const std::vector<SingleRun>& runs) {
  Verdict worst = Verdict::kValid;
  for (const SingleRun& run : runs) {
    if (run.bad_arguments) return kExitBadInput;
    if (run.crashed) return kExitInternalError;
    worst = Merge(worst, run.verdict);
  }
  return ExitCode(worst);
}

}  // namespace

int RunTestCommand(TestArguments& arguments, std::ostream& out, std::ostream& err) {
  Status prepared = Prepare(arguments, out, err, /*check_first=*/true);
  if (!prepared.ok()) {
    err << "faultline: " << prepared.message() << "\n";
    return kExitBadInput;
  }
  std::vector<SingleRun> runs;
  std::vector<std::pair<std::string, SingleRun>> named;
  for (int count = 0; count < arguments.test_count; ++count) {
    SingleRun run = RunOnce(arguments, arguments.options, out);
    PrintFaultTimeline(run, out);
    if (!run.explanation.empty()) out << "checker: " << run.explanation;
    out << "run " << (count + 1) << "/" << arguments.test_count << ": " << Describe(run) << "  "
        << run.directory << "\n";
    const bool stop = run.interrupted || run.crashed;
    runs.push_back(run);
    named.emplace_back("run " + std::to_string(count + 1), std::move(run));
    if (stop) break;
  }
  if (!WriteJunitFile(arguments.junit, "faultline test", named, err)) return kExitBadInput;
  return WorstExitCode(runs);
}

int RunTestAllCommand(TestAllArguments& arguments, std::ostream& out, std::ostream& err) {
  if (!arguments.matrix_file.empty()) {
    std::ifstream in(arguments.matrix_file);
    Json matrix = Json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (matrix.is_discarded() || !matrix.is_object()) {
      err << "faultline: " << arguments.matrix_file << ": expected a JSON object\n";
      return kExitBadInput;
    }
    arguments.workloads = matrix.value("workloads", std::vector<std::string>{});
    arguments.nemesis_sets = matrix.value("nemesis", std::vector<std::string>{});
  }
  if (arguments.workloads.empty()) arguments.workloads = {arguments.test.workload.workload};
  if (arguments.nemesis_sets.empty()) arguments.nemesis_sets = {"none"};
  for (const std::string& workload : arguments.workloads) {
    if (!clients::IsWorkload(workload)) {
      err << "faultline: unknown workload \"" << workload << "\"\n";
      return kExitBadInput;
    }
  }
  for (const std::string& nemesis : arguments.nemesis_sets) {
    if (!clients::IsNemesisSet(nemesis)) {
      err << "faultline: unknown nemesis set \"" << nemesis << "\"\n";
      return kExitBadInput;
    }
  }
  Status prepared = Prepare(arguments.test, out, err);
  if (!prepared.ok()) {
    err << "faultline: " << prepared.message() << "\n";
    return kExitBadInput;
  }
  std::vector<std::pair<std::string, SingleRun>> runs;
  for (const std::string& workload : arguments.workloads) {
    for (const std::string& nemesis : arguments.nemesis_sets) {
      TestArguments cell = arguments.test;
      cell.workload.workload = workload;
      cell.workload.nemesis = nemesis;
      SingleRun run = RunOnce(cell, cell.options, out);
      runs.emplace_back(workload + " x " + nemesis, run);
      if (run.interrupted) break;
    }
  }
  out << "\ntest-all: " << runs.size() << " runs\n";
  std::vector<SingleRun> outcomes;
  for (const auto& [name, run] : runs) {
    out << "  " << name << ": " << Describe(run) << "  " << run.directory << "\n";
    outcomes.push_back(run);
  }
  if (!WriteJunitFile(arguments.test.junit, "faultline test-all", runs, err)) return kExitBadInput;
  return WorstExitCode(outcomes);
}

CLI::App* AddAnalyzeCommand(CLI::App& app, std::string& run_directory) {
  CLI::App* analyze =
      app.add_subcommand("analyze", "Re-check a stored run with the current checkers");
  analyze->add_option("run_directory", run_directory, "store/<test>/<time> or store/latest")
      ->required()
      ->check(CLI::ExistingDirectory);
  return analyze;
}

int RunAnalyzeCommand(const std::string& run_directory, std::ostream& out, std::ostream& err) {
  Result<RunOutcome> outcome = AnalyzeRun(run_directory);
  if (!outcome.ok()) {
    err << "faultline: " << outcome.status().message() << "\n";
    return kExitBadInput;
  }
  out << run_directory << ": " << ToString(outcome->verdict) << "\n" << outcome->explanation;
  ReportRun(run_directory, out);
  return ExitCode(outcome->verdict);
}

}  // namespace faultline::cli
