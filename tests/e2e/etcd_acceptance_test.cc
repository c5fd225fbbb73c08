// Issue 4's acceptance: the `faultline` binary against a real etcd on the local cluster, with real
// faults. Root only (namespaces, iptables inside them, sshd); labelled `cluster` in CTest.
//
// Each test builds its own cluster in a fresh state directory (taking the machine-wide cluster
// lock first), runs `faultline test --local`, and checks the verdict, the history and what the
// nodes look like afterwards: no FAULTLINE chain in any node, no stopped process in any node, no
// etcd left running. TearDown removes the cluster.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/op.h"
#include "runner/cluster/cluster.h"
#include "runner/control/remote.h"
#include "runner/control/ssh_remote.h"
#include "support/cluster_lock.h"
#include "support/skip.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

struct Process {
  int pid = 0;
  std::string comm;
  char state = '?';
  std::string node;  // the name of the node whose network namespace it is in
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The processes whose network namespace is one of the cluster's nodes (all nodes share the
// host's PID namespace): what a run may have left behind.
std::vector<Process> ProcessesInNodes(const cluster::ClusterInfo& cluster) {
  std::map<ino_t, std::string> namespaces;  // namespace inode -> node name
  for (const cluster::NodeInfo& node : cluster.nodes) {
    struct stat info {};
    if (::stat(("/run/netns/" + node.namespace_name).c_str(), &info) == 0) {
      namespaces[info.st_ino] = node.name;
    }
  }
  std::vector<Process> processes;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat info {};
    if (::stat((entry.path() / "ns/net").c_str(), &info) != 0) continue;
    auto node = namespaces.find(info.st_ino);
    if (node == namespaces.end()) continue;
    Process process;
    process.pid = std::stoi(name);
    process.node = node->second;
    process.comm = ReadFile(entry.path() / "comm");
    if (!process.comm.empty() && process.comm.back() == '\n') process.comm.pop_back();
    std::string stat = ReadFile(entry.path() / "stat");
    size_t close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size()) process.state = stat[close + 2];
    processes.push_back(process);
  }
  return processes;
}

// Runs `faultline ARGS...` with stdout+stderr to `log`; returns the child's pid.
pid_t Spawn(const std::vector<std::string>& arguments, const fs::path& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    std::string binary = FAULTLINE_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = arguments;
    for (std::string& argument : copy) argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The ops of a run's history.jsonl (its header line skipped).
std::vector<Json> HistoryLines(const fs::path& run) {
  std::vector<Json> ops;
  std::ifstream in(run / "history.jsonl");
  for (std::string line; std::getline(in, line);) {
    Json op = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (op.is_object() && op.contains("type")) ops.push_back(op);
  }
  return ops;
}

class EtcdAcceptanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) FAULTLINE_SKIP() << "needs root (namespaces, iptables, sshd)";
    for (const char* program : {"/usr/bin/etcd", "/usr/sbin/sshd", "/usr/sbin/iptables"}) {
      if (!fs::exists(program)) FAULTLINE_SKIP() << program << " is missing (scripts/setup.sh)";
    }
    lock_ = std::make_unique<testing::ClusterLock>();
    ASSERT_TRUE(lock_->held()) << lock_->error();
    if (fs::exists(std::string("/sys/class/net/") + cluster::kBridge)) {
      FAULTLINE_SKIP() << cluster::kBridge
                       << " exists: another local cluster is up on this machine";
    }
    char pattern[] = "/tmp/faultline_e2e_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    state_directory_ = directory_ / "cluster";
    store_ = directory_ / "store";
    set_up_ = true;
  }

  void TearDown() override {
    if (!set_up_) return;
    cluster::ClusterOptions options;
    options.state_directory = state_directory_;
    Status down = cluster::ClusterDown(options);
    EXPECT_TRUE(down.ok()) << down.message();
    std::error_code ignored;
    if (!HasFailure()) fs::remove_all(directory_, ignored);
    lock_.reset();
  }

  // `faultline test --local` with the test's cluster and store, plus `flags`.
  std::vector<std::string> TestArguments(const std::vector<std::string>& flags) const {
    std::vector<std::string> arguments = {"test",
                                          "--local",
                                          "--local-nodes",
                                          "5",
                                          "--cluster-state-dir",
                                          state_directory_.string(),
                                          "--store",
                                          store_.string(),
                                          "--db",
                                          "etcd",
                                          "--workload",
                                          "register",
                                          "--concurrency",
                                          "2n"};
    arguments.insert(arguments.end(), flags.begin(), flags.end());
    return arguments;
  }

  int Run(const std::vector<std::string>& flags, std::string* output) {
    fs::path log = directory_ / ("run" + std::to_string(++runs_) + ".log");
    int code = Wait(Spawn(TestArguments(flags), log));
    *output = ReadFile(log);
    return code;
  }

  // The run directory the output names ("run 1/1: valid  <dir>").
  static fs::path RunDirectory(const std::string& output) {
    size_t at = output.rfind("run directory ");
    if (at == std::string::npos) return {};
    size_t end = output.find('\n', at);
    return output.substr(at + 14, end - at - 14);
  }

  // A run that exited 0 with results.json's verdict valid; *run is its directory (empty, and a
  // failure, when the output names none).
  void ExpectValid(int code, const std::string& output, fs::path* run) {
    EXPECT_EQ(code, 0) << output;
    *run = RunDirectory(output);
    ASSERT_FALSE(run->empty()) << output;
    Json results = Json::parse(ReadFile(*run / "results.json"));
    EXPECT_EQ(results["verdict"], "valid") << results.dump(2);
  }

  cluster::ClusterInfo Cluster() {
    cluster::ClusterOptions options;
    options.state_directory = state_directory_;
    Result<cluster::ClusterInfo> info = cluster::ClusterStatus(options);
    EXPECT_TRUE(info.ok()) << info.status().message();
    return info.ok() ? *info : cluster::ClusterInfo{};
  }

  std::string OnNode(const cluster::ClusterInfo& info, const cluster::NodeInfo& node,
                     const std::string& script) {
    Result<std::unique_ptr<control::Remote>> remote =
        control::ConnectSsh(node.name, cluster::NodeSshOptions(info, node));
    if (!remote.ok()) return "ERROR " + remote.status().message();
    control::Command command;
    command.argv = {"sh", "-c", script};
    Result<control::CommandResult> result = (*remote)->Execute(command);
    if (!result.ok()) return "ERROR " + result.status().message();
    return result->out;
  }

  // What the issue asks after every run: no partition rule, no stopped process and no etcd
  // left on any node (the run tore etcd down; a SIGKILLed run could not, so `etcd_allowed`).
  // Each check must first see what it looks at: a node's rules are real `iptables -S` output,
  // and the process scan finds every node's own sshd, or "nothing left" would be vacuously true.
  void ExpectNodesClean(bool etcd_allowed = false) {
    cluster::ClusterInfo info = Cluster();
    ASSERT_EQ(info.nodes.size(), 5u);
    for (const cluster::NodeInfo& node : info.nodes) {
      std::string rules = OnNode(info, node, "iptables -S");
      EXPECT_EQ(rules.rfind("ERROR", 0), std::string::npos) << rules;
      EXPECT_NE(rules.find("-P INPUT "), std::string::npos) << node.name << ":\n" << rules;
      EXPECT_EQ(rules.find("FAULTLINE"), std::string::npos) << node.name << ":\n" << rules;
    }
    const std::vector<Process> processes = ProcessesInNodes(info);
    for (const cluster::NodeInfo& node : info.nodes) {
      bool sshd_found = false;
      for (const Process& process : processes) {
        sshd_found = sshd_found || (process.node == node.name && process.pid == node.sshd_pid &&
                                    process.comm == "sshd");
      }
      ASSERT_TRUE(sshd_found) << node.name
                              << ": the scan of /proc did not find the node's sshd (pid "
                              << node.sshd_pid << "), so it cannot tell what else is left";
    }
    for (const Process& process : processes) {
      EXPECT_NE(process.state, 'T')
          << "stopped process left: " << process.pid << " " << process.comm;
      if (!etcd_allowed) {
        EXPECT_NE(process.comm, "etcd") << "etcd left running: pid " << process.pid;
      }
    }
  }

  fs::path directory_, state_directory_, store_;
  std::unique_ptr<testing::ClusterLock> lock_;
  bool set_up_ = false;
  int runs_ = 0;
};

std::set<std::string> NemesisFunctions(const std::vector<Json>& ops) {
  std::set<std::string> functions;
  for (const Json& op : ops) {
    if (op.value("process", Json()) == "nemesis" && op.value("type", "") != "invoke") {
      functions.insert(op.value("f", ""));
    }
  }
  return functions;
}

TEST_F(EtcdAcceptanceTest, LinearizableReadsUnderPartitionsKillsAndPausesAreValid) {
  std::string output;
  int code = Run({"--nemesis", "partition,kill,pause", "--nemesis-interval", "2", "--time-limit",
                  "30", "--rate", "200", "--seed", "7"},
                 &output);
  fs::path run;
  ExpectValid(code, output, &run);
  if (run.empty()) return;
  std::vector<Json> ops = HistoryLines(run);
  std::set<std::string> faults = NemesisFunctions(ops);
  // A fault starts every other interval, and faults come in rounds of every enabled kind
  // (nemesis/schedule.h): 30 s at a 2 s interval gives about 7 starts, so all three kinds, each
  // also stopped.
  for (const char* kind : {"partition", "kill", "pause"}) {
    EXPECT_TRUE(faults.count(std::string("start-") + kind)) << kind << "\n" << output;
    EXPECT_TRUE(faults.count(std::string("stop-") + kind)) << kind << "\n" << output;
  }
  size_t ok_reads = 0;
  for (const Json& op : ops) {
    if (op.value("f", "") == "read" && op.value("type", "") == "ok") ++ok_reads;
  }
  EXPECT_GT(ok_reads, 100u) << "the workload barely ran";
  EXPECT_NE(output.find("fault timeline:"), std::string::npos) << output;
  ExpectNodesClean();
}

// Issue 13's amnesia: one member of the 5 at a time is killed, loses its data, is
// removed and re-added through the others, and comes back empty; it catches up from the leader,
// so reads stay linearizable. Every amnesia op is applied in full and each wiped member rejoins
// (its start is healed ok). The member's log shows it joined an existing cluster.
TEST_F(EtcdAcceptanceTest, AmnesiaWipesAMemberThatRejoinsEmptyAndReadsStayLinearizable) {
  std::string output;
  // One member at a time: two wiped at once leave etcd refusing the second's `member add` while
  // the first is added but not started (docs/nemesis.md).
  int code = Run({"--nemesis", "amnesia", "--nemesis-targets", "one", "--nemesis-interval", "3",
                  "--time-limit", "20", "--rate", "200", "--seed", "3"},
                 &output);
  fs::path run;
  ExpectValid(code, output, &run);
  if (run.empty()) return;
  std::set<std::string> wiped;
  int starts = 0;
  for (const Json& op : HistoryLines(run)) {
    if (op.value("process", Json()) != "nemesis" || op.value("type", "") == "invoke") continue;
    EXPECT_EQ(op.value("type", ""), "ok") << op.dump() << "\n" << output;
    if (op.value("f", "") != "start-amnesia") continue;
    ++starts;
    ASSERT_TRUE(op["value"]["nodes"].is_array()) << op.dump();
    EXPECT_EQ(op["value"]["nodes"].size(), 1u) << op.dump();
    for (const Json& node : op["value"]["nodes"]) wiped.insert(node.get<std::string>());
  }
  EXPECT_GE(starts, 1) << output;  // a wipe waits out etcd's 5 s of "unhealthy cluster"
  ASSERT_FALSE(wiped.empty()) << output;
  for (const std::string& node : wiped) {
    std::string log = ReadFile(run / "nodes" / node / "etcd.log");
    EXPECT_NE(log.find("\"initial-cluster-state\":\"existing\""), std::string::npos)
        << node << " did not restart into the existing cluster:\n"
        << log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
  }
  ExpectNodesClean();
}

// Issue 11: a server faultline knows nothing about, on the real cluster, driven by the user's
// commands (--db-setup/--db-kill/--db-start/--db-teardown) with an exec client: the kill fault
// kills and restarts it through those commands over SSH, and the teardown leaves nothing. The
// "server" is a sleep per node; the client (tests/data/exec/store_client.py) keeps its
// register on the controller, so the verdict is about the harness, not the toy.
TEST_F(EtcdAcceptanceTest, DbCommandsLetTheKillFaultReachAServerFaultlineDoesNotKnow) {
  const fs::path toy = directory_ / "toy";
  fs::create_directories(toy);
  const std::string pid_file = (toy / "{node}.pid").string();
  const std::string events = (toy / "events").string();
  // Started unless running: a killed sleep may stay a zombie (state Z) until something reaps it.
  const std::string start = "pid=$(cat " + pid_file + " 2>/dev/null); state=$(awk "
                            "'{print $3}' /proc/${pid:-0}/stat 2>/dev/null); if [ -z \"$state\" ] || "
                            "[ \"$state\" = Z ]; then setsid sleep 100000 </dev/null >/dev/null "
                            "2>&1 & echo $! > " + pid_file + "; echo start {node} >> " + events +
                            "; fi";
  const std::string kill = "kill -9 $(cat " + pid_file + ") && echo kill {node} >> " + events;
  const std::string teardown = "kill -9 $(cat " + pid_file + ") 2>/dev/null; rm -f " + pid_file +
                               "; echo teardown {node} >> " + events;
  const std::string client = "python3 " + std::string(FAULTLINE_TEST_DATA) +
                             "/exec/store_client.py --store " + (toy / "store.json").string();
  std::string output;
  int code = Run({"--db", "exec", "--client-command", client, "--db-setup", start, "--db-start",
                  start, "--db-kill", kill, "--db-teardown", teardown, "--nemesis", "kill",
                  "--nemesis-interval", "1", "--time-limit", "8", "--seed", "3"},
                 &output);
  EXPECT_EQ(code, 0) << output;
  fs::path run = RunDirectory(output);
  ASSERT_FALSE(run.empty()) << output;
  std::set<std::string> faults = NemesisFunctions(HistoryLines(run));
  EXPECT_TRUE(faults.count("start-kill") && faults.count("stop-kill")) << output;
  // Per node, in order: set up (start), then for a killed node a kill and a restart, then the
  // teardown. Every node was set up and torn down; some were killed and restarted.
  std::map<std::string, std::vector<std::string>> per_node;
  std::ifstream lines(events);
  for (std::string what, node; lines >> what >> node;) per_node[node].push_back(what);
  ASSERT_EQ(per_node.size(), 5u) << ReadFile(events);
  size_t killed = 0;
  for (const auto& [node, happened] : per_node) {
    EXPECT_EQ(happened.front(), "start") << node;
    EXPECT_EQ(happened.back(), "teardown") << node;
    for (size_t i = 0; i + 1 < happened.size(); ++i) {
      if (happened[i] != "kill") continue;
      ++killed;
      EXPECT_EQ(happened[i + 1], "start") << node << ": killed and never restarted";
    }
  }
  EXPECT_GT(killed, 0u) << ReadFile(events);
  for (const Process& process : ProcessesInNodes(Cluster())) {
    if (process.state == 'Z') continue;  // killed, waiting to be reaped
    EXPECT_NE(process.comm, "sleep") << "the toy server is left on " << process.node;
  }
  ExpectNodesClean();
}

// Issue 11: examples/python-etcd/client.py, an exec client in Python (standard library only),
// against the etcd faultline installs, under partitions and kills: valid, and it really was the
// Python client (its stderr line is in run.log).
TEST_F(EtcdAcceptanceTest, ThePythonExecClientForEtcdIsValidUnderPartitionsAndKills) {
  const std::string client =
      "python3 " + std::string(FAULTLINE_TEST_DATA) + "/../../examples/python-etcd/client.py";
  std::string output;
  int code = Run({"--client-command", client, "--nemesis", "partition,kill",
                  "--nemesis-interval", "2", "--time-limit", "15", "--seed", "11"},
                 &output);
  EXPECT_EQ(code, 0) << output;
  fs::path run = RunDirectory(output);
  ASSERT_FALSE(run.empty()) << output;
  std::vector<Json> ops = HistoryLines(run);
  std::set<std::string> faults = NemesisFunctions(ops);
  EXPECT_TRUE(faults.count("start-partition") && faults.count("start-kill")) << output;
  size_t ok = 0;
  for (const Json& op : ops) ok += op.value("type", "") == "ok" ? 1 : 0;
  EXPECT_GT(ok, 50u) << "the workload barely ran";
  EXPECT_NE(ReadFile(run / "run.log").find("python-etcd client for n"), std::string::npos);
  ExpectNodesClean();
}

TEST_F(EtcdAcceptanceTest, SerializableReadsUnderPartitionsAreFoundNonLinearizable) {
  // Serializable reads are served by whichever member the client talks to, so a member cut off
  // from the majority answers with its old value while the majority moves on: real stale reads.
  // Whether a partition's minority gets a read after a write it missed is up to timing, so the
  // test allows three runs; the first invalid one must carry a witness.
  std::string output;
  int code = -1;
  for (int attempt = 0; attempt < 3 && code != 1; ++attempt) {
    code =
        Run({"--read-consistency", "serializable", "--nemesis", "partition", "--nemesis-interval",
             "4", "--time-limit", "30", "--rate", "200", "--seed", std::to_string(11 + attempt)},
            &output);
    ASSERT_TRUE(code == 0 || code == 1) << output;
  }
  ASSERT_EQ(code, 1) << "no stale read in three runs:\n" << output;
  fs::path run = RunDirectory(output);
  Json results = Json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(results["verdict"], "invalid");
  const Json& checker = results["checkers"]["linearizable"];
  EXPECT_TRUE(checker.contains("op")) << "no failing op in " << checker.dump(2);
  EXPECT_FALSE(checker.value("longest_linearizable_prefix", Json::array()).empty())
      << checker.dump(2);
  EXPECT_NE(output.find("cannot linearize"), std::string::npos) << output;
  EXPECT_NE(output.find("longest linearizable prefix"), std::string::npos) << output;
  ExpectNodesClean();
}

// Starts a run with one fault kind, waits until the history records that fault as applied,
// checks it is visible on the nodes, sends SIGINT, and checks the run healed and cleaned up.
class EtcdInterruptTest : public EtcdAcceptanceTest {
 protected:
  // Starts a run whose only fault is `fault` and returns once the history records it applied
  // and the nodes show it (the pid of the running faultline through `pid`).
  void StartAndWaitForFault(const std::string& fault, const fs::path& log, pid_t* pid) {
    *pid = Spawn(TestArguments({"--nemesis", fault, "--nemesis-interval", "8", "--time-limit",
                                "120", "--rate", "100"}),
                 log);
    bool applied = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (!applied && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      fs::path run = RunDirectory(ReadFile(log));
      if (!run.empty()) applied = NemesisFunctions(HistoryLines(run)).count("start-" + fault);
    }
    if (!applied) {
      ::kill(*pid, SIGINT);
      Wait(*pid);
      FAIL() << "the fault was never applied:\n" << ReadFile(log);
    }
    ExpectFaultVisible(fault);
  }

  void InterruptDuring(const std::string& fault) {
    fs::path log = directory_ / "interrupted.log";
    pid_t pid = 0;
    StartAndWaitForFault(fault, log, &pid);
    if (HasFatalFailure()) return;
    ::kill(pid, SIGINT);
    int code = Wait(pid);
    std::string output = ReadFile(log);
    // Interrupted: the verdict is at best unknown (2); a violation found stays invalid (1).
    EXPECT_TRUE(code == 2 || code == 1) << "exit " << code << "\n" << output;
    fs::path run = RunDirectory(output);
    Json results = Json::parse(ReadFile(run / "results.json"));
    EXPECT_EQ(results.value("interrupted", false), true) << results.dump(2);
    ExpectNodesClean();
  }

  // A controller killed outright heals nothing; `faultline cluster heal` must.
  void KillControllerDuringThenHeal(const std::string& fault) {
    fs::path log = directory_ / "killed.log";
    pid_t pid = 0;
    StartAndWaitForFault(fault, log, &pid);
    if (HasFatalFailure()) return;
    ::kill(pid, SIGKILL);
    Wait(pid);
    fs::path heal_log = directory_ / "heal.log";
    int code = Wait(Spawn({"cluster", "heal", "--state-dir", state_directory_.string()}, heal_log));
    std::string output = ReadFile(heal_log);
    EXPECT_EQ(code, 0) << output;
    EXPECT_NE(output.find(fault == "partition" ? "partition rules removed" : "resumed pid"),
              std::string::npos)
        << output;
    ExpectNodesClean(/*etcd_allowed=*/true);
  }

  void ExpectFaultVisible(const std::string& fault) {
    cluster::ClusterInfo info = Cluster();
    if (fault == "partition") {
      size_t chains = 0;
      for (const cluster::NodeInfo& node : info.nodes) {
        if (OnNode(info, node, "iptables -S").find("FAULTLINE") != std::string::npos) ++chains;
      }
      EXPECT_GT(chains, 0u) << "no node has a FAULTLINE chain during the partition";
    } else {
      size_t stopped = 0;
      for (const Process& process : ProcessesInNodes(info)) {
        if (process.comm == "etcd" && process.state == 'T') ++stopped;
      }
      EXPECT_GT(stopped, 0u) << "no etcd member is stopped during the pause";
    }
  }
};

TEST_F(EtcdInterruptTest, SigintDuringAPartitionLeavesNoRuleBehind) {
  InterruptDuring("partition");
}

TEST_F(EtcdInterruptTest, SigintDuringAPauseLeavesNoStoppedProcessBehind) {
  InterruptDuring("pause");
}

TEST_F(EtcdInterruptTest, ClusterHealRemovesAPartitionAKilledControllerLeft) {
  KillControllerDuringThenHeal("partition");
}

TEST_F(EtcdInterruptTest, ClusterHealResumesMembersAKilledControllerLeftPaused) {
  KillControllerDuringThenHeal("pause");
}

}  // namespace
}  // namespace faultline
