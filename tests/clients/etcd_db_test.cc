// EtcdDb through control::FakeRemote: the exact commands it sends for install, start, health
// wait, kill, pause/resume and teardown, and how it reports failures.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "clients/etcd/etcd.h"
#include "clients/etcd_listener.h"
#include "runner/control/fake_remote.h"
#include "runner/control/local_remote.h"

namespace faultline::etcd {
namespace {

using control::CommandResult;
using control::FakeRemote;

constexpr char kDirectory[] = "/root/faultline-etcd";

Test ThreeNodes() {
  Test test;
  test.options.name = "etcd-register";
  test.options.nodes = {"n1", "n2", "n3"};
  test.options.node_addresses = {
      {"n1", "10.213.0.11"}, {"n2", "10.213.0.12"}, {"n3", "10.213.0.13"}};
  return test;
}

// A node whose directory resolves (and is claimed by Setup) to kDirectory; every other command
// succeeds silently.
void ScriptNode(FakeRemote& remote) {
  remote.When("faultline-etcd-dir", CommandResult{0, std::string(kDirectory) + "\n", ""});
  remote.When("faultline-etcd-claim", CommandResult{0, std::string(kDirectory) + "\n", ""});
}

// The records of commands run as the script `name` (sh -c '<script>' name args...).
std::vector<control::Command> Scripts(const FakeRemote& remote, const std::string& name) {
  std::vector<control::Command> found;
  for (const FakeRemote::Record& record : remote.records()) {
    const std::vector<std::string>& argv = record.command.argv;
    if (argv.size() >= 4 && argv[0] == "sh" && argv[3] == name) found.push_back(record.command);
  }
  return found;
}

std::vector<std::string> ScriptNames(const FakeRemote& remote) {
  std::vector<std::string> names;
  for (const FakeRemote::Record& record : remote.records()) {
    names.push_back(record.command.argv.size() >= 4 ? record.command.argv[3] : "?");
  }
  return names;
}

bool Has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

TEST(EtcdDbTest, SetupInstallsStartsTheMemberWithItsFlagsAndWaitsForHealth) {
  FakeRemote remote("n2");
  ScriptNode(remote);
  std::vector<std::string> probed;
  EtcdDb db(EtcdOptions(), [&](const std::string& url, int64_t) {
    probed.push_back(url);
    return probed.size() == 3;  // healthy at the third probe
  });
  faultline::Test test = ThreeNodes();
  ASSERT_TRUE(db.Setup(test, "n2", remote).ok());

  EXPECT_EQ(ScriptNames(remote),
            (std::vector<std::string>{"faultline-etcd-install", "faultline-etcd-claim",
                                      "faultline-etcd-start", "faultline-etcd-alive",
                                      "faultline-etcd-alive"}));
  std::string install = Scripts(remote, "faultline-etcd-install")[0].argv[2];
  EXPECT_EQ(install.find("command -v etcd >/dev/null && command -v etcdctl >/dev/null && exit 0"),
            install.find("command -v etcd"));
  EXPECT_NE(install.find("apt-get install -y -q etcd-server etcd-client"), std::string::npos);
  EXPECT_NE(install.find("/usr/sbin/policy-rc.d"), std::string::npos);
  EXPECT_EQ(Scripts(remote, "faultline-etcd-claim")[0].argv[4], "faultline-etcd");

  std::vector<std::string> start = Scripts(remote, "faultline-etcd-start")[0].argv;
  EXPECT_NE(start[2].find("start-stop-daemon --start --background --make-pidfile --pidfile "
                          "\"$dir/etcd.pid\""),
            std::string::npos);
  EXPECT_NE(start[2].find("--output \"$dir/etcd.log\""), std::string::npos);
  EXPECT_EQ(start[4], kDirectory);
  for (const std::string flag :
       {"--name=n2", "--data-dir=/root/faultline-etcd/data",
        "--listen-client-urls=http://0.0.0.0:2379",
        "--advertise-client-urls=http://10.213.0.12:2379", "--listen-peer-urls=http://0.0.0.0:2380",
        "--initial-advertise-peer-urls=http://10.213.0.12:2380",
        "--initial-cluster=n1=http://10.213.0.11:2380,n2=http://10.213.0.12:2380,"
        "n3=http://10.213.0.13:2380",
        "--initial-cluster-state=new", "--initial-cluster-token=faultline-etcd-register",
        "--heartbeat-interval=100", "--election-timeout=1000"}) {
    EXPECT_TRUE(Has(start, flag)) << flag;
  }
  EXPECT_EQ(probed, std::vector<std::string>(3, "http://10.213.0.12:2379"));
  EXPECT_EQ(Scripts(remote, "faultline-etcd-alive")[0].argv[4], kDirectory);
}

TEST(EtcdDbTest, SetupFailsAtOnceWithTheLogWhenTheMemberExits) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  remote.When(
      "faultline-etcd-alive",
      CommandResult{0, "stopped\n{\"msg\":\"listen tcp :2380: address already in use\"}\n", ""});
  EtcdOptions options;
  options.start_timeout_s = 60;
  EtcdDb db(options, [](const std::string&, int64_t) { return false; });
  Status status = db.Setup(ThreeNodes(), "n1", remote);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("n1: etcd exited while starting"), std::string::npos);
  EXPECT_NE(status.message().find("address already in use"), std::string::npos);
}

TEST(EtcdDbTest, SetupGivesUpAfterTheStartTimeout) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  remote.When("faultline-etcd-alive", CommandResult{0, "running\n", ""});
  EtcdOptions options;
  options.start_timeout_s = 0.3;
  EtcdDb db(options, [](const std::string&, int64_t) { return false; });
  auto start = std::chrono::steady_clock::now();
  Status status = db.Setup(ThreeNodes(), "n1", remote);
  double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("not healthy after 0.3 s"), std::string::npos);
  EXPECT_LT(elapsed_s, 2.0);
}

TEST(EtcdDbTest, AFailedStartOrInstallIsAnErrorWithTheNodesOutput) {
  FakeRemote remote("n3");
  ScriptNode(remote);
  remote.When("faultline-etcd-install",
              CommandResult{100, "", "E: Unable to locate package etcd-server"});
  EtcdDb db(EtcdOptions(), [](const std::string&, int64_t) { return true; });
  Status status = db.Setup(ThreeNodes(), "n3", remote);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("Unable to locate package"), std::string::npos);
  EXPECT_TRUE(Scripts(remote, "faultline-etcd-start").empty());
}

TEST(EtcdDbTest, SetupMarksTheDirectoryBeforeStartingAndStopsWhenItIsRefused) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  EtcdDb db(EtcdOptions(), [](const std::string&, int64_t) { return true; });
  ASSERT_TRUE(db.Setup(ThreeNodes(), "n1", remote).ok());
  ASSERT_EQ(Scripts(remote, "faultline-etcd-claim").size(), 1u);
  std::string claim = Scripts(remote, "faultline-etcd-claim")[0].argv[2];
  EXPECT_NE(claim.find(">.faultline-etcd"), std::string::npos);
  EXPECT_LT(claim.find("[ -n \"$(ls -A)\" ]"), claim.find(">.faultline-etcd"));

  FakeRemote foreign("n1");
  foreign.When("faultline-etcd-claim",
               CommandResult{3, "",
                             "/home/me is not empty and has no .faultline-etcd marker: faultline "
                             "did not set it up"});
  Status refused = db.Setup(ThreeNodes(), "n1", foreign);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("has no .faultline-etcd marker"), std::string::npos);
  EXPECT_TRUE(Scripts(foreign, "faultline-etcd-start").empty());
}

// The default probe against a node that answers {"health":true} (a boolean, not etcd's "true"):
// Setup fails at once saying so, instead of the exception that ended the process.
TEST(EtcdDbTest, ANodeAnsweringTheWrongHealthJsonFailsSetupAtOnceWithWhatItSaid) {
  testing::Listener node(testing::Listener::Mode::kAnswer, 200, R"({"health":true})");
  FakeRemote remote("n1");
  ScriptNode(remote);
  remote.When("faultline-etcd-alive", CommandResult{0, "running\n", ""});
  EtcdOptions options;
  options.client_port = node.port();
  options.start_timeout_s = 20;
  EtcdDb db(options);
  faultline::Test test;
  test.options.nodes = {"n1"};
  test.options.node_addresses = {{"n1", "127.0.0.1"}};
  auto start = std::chrono::steady_clock::now();
  Status status = db.Setup(test, "n1", remote);
  ASSERT_FALSE(status.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(status.message(), "n1: http://127.0.0.1:" + std::to_string(node.port()) +
                                  "/health answered \"{\\\"health\\\":true}\", which is not "
                                  "etcd's health response ({\"health\":\"true\"} or \"false\"): is "
                                  "this node running etcd 3.4 or later?");
}

TEST(EtcdDbTest, KillChecksTheProcessIsThisNodesEtcdBeforeSigkill) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  EtcdDb db{EtcdOptions()};
  ASSERT_TRUE(db.Kill(ThreeNodes(), "n1", remote).ok());
  std::vector<control::Command> kills = Scripts(remote, "faultline-etcd-kill");
  ASSERT_EQ(kills.size(), 1u);
  const std::string& script = kills[0].argv[2];
  size_t comm = script.find("[ \"$(cat /proc/$pid/comm 2>/dev/null)\" = etcd ]");
  size_t data_dir = script.find("grep -qxF -- \"--data-dir=$1/data\"");
  size_t zombie = script.find("''|Z|X) return 1");
  size_t kill = script.find("kill -KILL \"$pid\"");
  ASSERT_NE(comm, std::string::npos);
  ASSERT_NE(data_dir, std::string::npos);
  ASSERT_NE(zombie, std::string::npos);
  ASSERT_NE(kill, std::string::npos);
  EXPECT_LT(comm, kill);
  EXPECT_LT(data_dir, kill);
  // After the kill it waits on the same liveness test (gone or zombie), then drops the pid file.
  EXPECT_NE(script.find("while live \"$dir\"", kill), std::string::npos);
  EXPECT_NE(script.find("rm -f \"$dir/etcd.pid\"", kill), std::string::npos);
  EXPECT_EQ(kills[0].argv[4], kDirectory);
  EXPECT_EQ(script.find("pkill"), std::string::npos);
  EXPECT_EQ(script.find("killall"), std::string::npos);
}

TEST(EtcdDbTest, PauseAndResumeSendStopAndContToTheCheckedPid) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  EtcdDb db{EtcdOptions()};
  faultline::Test test = ThreeNodes();
  ASSERT_TRUE(db.Pause(test, "n1", remote).ok());
  ASSERT_TRUE(db.Resume(test, "n1", remote).ok());
  std::vector<control::Command> signals = Scripts(remote, "faultline-etcd-signal");
  ASSERT_EQ(signals.size(), 2u);
  EXPECT_EQ(std::vector<std::string>(signals[0].argv.begin() + 4, signals[0].argv.end()),
            (std::vector<std::string>{kDirectory, "STOP"}));
  EXPECT_EQ(signals[1].argv.back(), "CONT");
  EXPECT_NE(signals[0].argv[2].find("pid=$(live \"$1\") || { echo \"not running\"; exit 0; }"),
            std::string::npos);
  EXPECT_NE(signals[0].argv[2].find("kill \"-$2\" \"$pid\""), std::string::npos);
  // The directory was resolved once and cached across calls.
  EXPECT_EQ(Scripts(remote, "faultline-etcd-dir").size(), 1u);
}

TEST(EtcdDbTest, StartIsIdempotentAndWaitsOnlyForTheProcess) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  std::atomic<int> probes{0};
  EtcdDb db(EtcdOptions(), [&](const std::string&, int64_t) { return ++probes > 0; });
  ASSERT_TRUE(db.Start(ThreeNodes(), "n1", remote).ok());
  EXPECT_EQ(probes, 0);  // a restarted member may have no quorum yet: Start does not wait for it
  std::string script = Scripts(remote, "faultline-etcd-start")[0].argv[2];
  EXPECT_NE(script.find("if pid=$(live \"$dir\"); then echo \"running $pid\"; exit 0; fi"),
            std::string::npos);
  EXPECT_LT(script.find("rm -f \"$dir/etcd.pid\""), script.find("start-stop-daemon --start"));
}

TEST(EtcdDbTest, TeardownKillsThenRemovesTheNodesDirectory) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  EtcdDb db{EtcdOptions()};
  faultline::Test test = ThreeNodes();
  ASSERT_TRUE(db.Teardown(test, "n1", remote).ok());
  EXPECT_EQ(ScriptNames(remote),
            (std::vector<std::string>{"faultline-etcd-dir", "faultline-etcd-kill",
                                      "faultline-etcd-teardown"}));
  control::Command remove = Scripts(remote, "faultline-etcd-teardown")[0];
  // Only a directory Setup marked is removed whole (the scripts test runs it for real).
  EXPECT_NE(remove.argv[2].find("[ -e \"$1/.faultline-etcd\" ] && exec rm -rf -- \"$1\""),
            std::string::npos);
  EXPECT_EQ(remove.argv[4], kDirectory);
  // The directory is gone: the next use resolves (and creates) it again.
  ASSERT_TRUE(db.Kill(test, "n1", remote).ok());
  EXPECT_EQ(Scripts(remote, "faultline-etcd-dir").size(), 2u);
}

TEST(EtcdDbTest, TeardownStopsWhenTheKillFails) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  remote.When("faultline-etcd-kill",
              CommandResult{1, "", "etcd 42 still alive 10 s after SIGKILL"});
  EtcdDb db{EtcdOptions()};
  Status status = db.Teardown(ThreeNodes(), "n1", remote);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("still alive"), std::string::npos);
  EXPECT_TRUE(Scripts(remote, "faultline-etcd-teardown").empty());
}

TEST(EtcdDbTest, AConnectionErrorOnTheNodeIsReturned) {
  FakeRemote remote("n1");
  remote.EnqueueError(Status::IoError("n1: connection lost"));
  EtcdDb db{EtcdOptions()};
  Status status = db.Kill(ThreeNodes(), "n1", remote);
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find("connection lost"), std::string::npos);
}

TEST(EtcdDbTest, LogFilesAreTheMembersLogRelativeToHomeUntilResolved) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  EtcdDb db{EtcdOptions()};
  faultline::Test test = ThreeNodes();
  EXPECT_EQ(db.LogFiles(test, "n1"), std::vector<std::string>{"faultline-etcd/etcd.log"});
  ASSERT_TRUE(db.Pause(test, "n1", remote).ok());
  EXPECT_EQ(db.LogFiles(test, "n1"), std::vector<std::string>{"/root/faultline-etcd/etcd.log"});
}

TEST(EtcdDbTest, WipeRemovesAndReAddsTheMemberThroughTheOthersAndItRestartsIntoTheCluster) {
  FakeRemote remote("n2");
  ScriptNode(remote);
  EtcdDb db(EtcdOptions(), [](const std::string&, int64_t) { return true; });
  faultline::Test test = ThreeNodes();
  EXPECT_TRUE(db.CanWipe());
  ASSERT_TRUE(db.Wipe(test, "n2", remote).ok());
  std::vector<std::string> wipe = Scripts(remote, "faultline-etcd-wipe")[0].argv;
  EXPECT_EQ(std::vector<std::string>(wipe.begin() + 4, wipe.end()),
            (std::vector<std::string>{kDirectory, "n2", "http://10.213.0.12:2380",
                                      "http://10.213.0.11:2379,http://10.213.0.13:2379"}));
  const std::string& script = wipe[2];
  // Refuses a running member, finds it by peer URL, removes it before its data, adds it after.
  EXPECT_LT(script.find("if pid=$(live \"$dir\")"), script.find("rm -rf"));
  EXPECT_NE(script.find("$4 == peer"), std::string::npos);
  EXPECT_LT(script.find("ctl member remove"), script.find("rm -rf -- \"$dir/data\""));
  EXPECT_LT(script.find("rm -rf -- \"$dir/data\""), script.find("ctl member add \"$name\""));
  // Each membership step is retried (etcd refuses them for 5 s after members connect).
  EXPECT_EQ(std::count(script.begin(), script.end(), '\n') > 20, true);
  EXPECT_NE(script.find("[ $i -ge 30 ] && give_up \"the member could not be removed\""),
            std::string::npos);

  ASSERT_TRUE(db.Start(test, "n2", remote).ok());
  EXPECT_TRUE(Has(Scripts(remote, "faultline-etcd-start")[0].argv,
                  "--initial-cluster-state=existing"));
  ASSERT_TRUE(db.Start(test, "n1", remote).ok());  // a node never wiped starts a new cluster
  EXPECT_TRUE(Has(Scripts(remote, "faultline-etcd-start")[1].argv, "--initial-cluster-state=new"));
}

TEST(EtcdDbTest, AFailedWipeIsAnErrorAndTheMemberStillStartsAsNew) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  remote.When("faultline-etcd-wipe",
              CommandResult{1, "", "Error: etcdserver: unhealthy cluster"});
  EtcdDb db(EtcdOptions(), [](const std::string&, int64_t) { return true; });
  faultline::Test test = ThreeNodes();
  Status wiped = db.Wipe(test, "n1", remote);
  EXPECT_FALSE(wiped.ok());
  EXPECT_NE(wiped.message().find("unhealthy cluster"), std::string::npos) << wiped.message();
  ASSERT_TRUE(db.Start(test, "n1", remote).ok());
  EXPECT_TRUE(Has(Scripts(remote, "faultline-etcd-start")[0].argv, "--initial-cluster-state=new"));
}

TEST(EtcdDbTest, EveryScriptIsValidShell) {
  FakeRemote remote("n1");
  ScriptNode(remote);
  EtcdDb db(EtcdOptions(), [](const std::string&, int64_t) { return false; });
  faultline::Test test = ThreeNodes();
  remote.When("faultline-etcd-alive", CommandResult{0, "stopped\n", ""});
  (void)db.Setup(test, "n1", remote);
  ASSERT_TRUE(db.Pause(test, "n1", remote).ok());
  ASSERT_TRUE(db.Wipe(test, "n1", remote).ok());
  ASSERT_TRUE(db.Teardown(test, "n1", remote).ok());
  std::set<std::string> names;
  control::LocalRemote local;
  for (const FakeRemote::Record& record : remote.records()) {
    names.insert(record.command.argv[3]);
    control::Command check = record.command;
    check.argv.insert(check.argv.begin() + 1, "-n");  // parse only
    Result<CommandResult> parsed = control::Run(local, check);
    EXPECT_TRUE(parsed.ok()) << record.command.argv[3] << ": " << parsed.status().message();
  }
  EXPECT_EQ(names.size(), 8u);  // install, claim, start, alive, signal, wipe, kill, teardown
}

}  // namespace
}  // namespace faultline::etcd
