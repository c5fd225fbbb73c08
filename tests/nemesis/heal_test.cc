// HealNode: the exact commands through a fake node, and the resume rules against real processes
// of this machine (stopped children of the test) through LocalRemote.
#include "nemesis/heal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "nemesis/fake_nodes.h"
#include "nemesis/partition/partition.h"
#include "runner/control/local_remote.h"
#include "support/skip.h"

namespace faultline::nemesis {
namespace {

namespace fs = std::filesystem;

TEST(HealNode, RemovesOnlyFaultlinesRulesAndSucceedsOnAHealthyNode) {
  fakes::FakeNode node("n1", {{"n1", "10.0.0.1"}}, "");
  node.iptables().AddForeign("INPUT", "-A INPUT -s 192.0.2.1/32 -j DROP");
  ASSERT_TRUE(ApplyRules(node.remote(), IpFamily::kIpv4, "dead", {"10.0.0.2", "10.0.0.3"}, false)
                  .ok());
  node.remote().ClearRecords();
  Result<NodeHealReport> report = HealNode(node.remote(), HealOptions{});
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->removed_rules);
  EXPECT_EQ(report->runs, std::set<std::string>{"dead"});
  EXPECT_TRUE(report->resumed_pids.empty());
  EXPECT_EQ(node.IptablesCalls(),
            (std::vector<std::string>{
                "-S", "-D INPUT -m comment --comment faultline-run-dead -j FAULTLINE",
                "-F FAULTLINE", "-X FAULTLINE"}));
  EXPECT_EQ(node.IptablesCalls("ip6tables"), (std::vector<std::string>{"-S"}));
  EXPECT_FALSE(node.iptables().HasChain(kChain));
  EXPECT_EQ(node.iptables().Rules("INPUT"),
            (std::vector<std::string>{"-A INPUT -s 192.0.2.1/32 -j DROP"}));

  node.remote().ClearRecords();
  Result<NodeHealReport> again = HealNode(node.remote(), HealOptions{});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->removed_rules);
  EXPECT_EQ(node.IptablesCalls(), (std::vector<std::string>{"-S"}));
  // `command -v ip6tables`, both listings; no process listed: no resume script.
  EXPECT_EQ(node.remote().command_count(), 3u);
}

TEST(HealNode, RemovesIp6tablesRulesTooAndSkipsIpv6WithoutIp6tables) {
  fakes::FakeNode node("n1", {}, "");
  ASSERT_TRUE(ApplyRules(node.remote(), IpFamily::kIpv6, "dead", {"fd00::2"}, false).ok());
  Result<NodeHealReport> report = HealNode(node.remote(), HealOptions{});
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->removed_rules);
  EXPECT_FALSE(node.ip6tables().HasChain(kChain));
  EXPECT_TRUE(node.ip6tables().Rules("INPUT").empty());

  fakes::FakeNode bare("n2", {}, "");
  bare.SetHasIp6tables(false);
  Result<NodeHealReport> healthy = HealNode(bare.remote(), HealOptions{});
  ASSERT_TRUE(healthy.ok()) << healthy.status().message();
  EXPECT_TRUE(bare.IptablesCalls("ip6tables").empty());
}

TEST(HealNode, ASudoFailureIsNotMistakenForMissingIp6tables) {
  fakes::FakeNode node("n4", {}, "");
  node.remote().When("command -v ip6tables",
                     control::CommandResult{1, "", "sudo: a password is required\n"});
  Result<NodeHealReport> report = HealNode(node.remote(), HealOptions{});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("sudo: a password is required"), std::string::npos)
      << report.status().message();
}

TEST(HealNode, RefusesAChainFaultlineDidNotCreateAndLeavesItUntouched) {
  fakes::FakeNode node("n5", {}, "");
  node.iptables().AddForeign("FAULTLINE", "-A FAULTLINE -p tcp --dport 22 -j ACCEPT");
  node.iptables().AddForeign("INPUT", "-A INPUT -j FAULTLINE");
  const std::string before = node.iptables().Listing();
  Result<NodeHealReport> report = HealNode(node.remote(), HealOptions{});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("n5: iptables chain FAULTLINE exists but was not "
                                           "created by faultline"),
            std::string::npos)
      << report.status().message();
  EXPECT_EQ(node.iptables().Listing(), before);
  EXPECT_EQ(node.IptablesCalls(), (std::vector<std::string>{"-S"}));
}

TEST(HealNode, PassesEachPidFileAndCommandNameToTheNodeWithSudo) {
  fakes::FakeNode node("n1", {}, "");
  node.remote().When("faultline-heal", control::CommandResult{0, "1234\n", ""});
  HealOptions options;
  options.sudo = true;
  options.processes = {{"/var/lib/etcd/n1/etcd.pid", "etcd"}, {"/tmp/a b.pid", "redis-server"}};
  Result<NodeHealReport> report = HealNode(node.remote(), options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->resumed_pids, std::vector<int>{1234});
  std::vector<control::FakeRemote::Record> records = node.remote().records();
  const control::Command& resume = records.back().command;
  EXPECT_TRUE(resume.sudo);
  ASSERT_EQ(resume.argv.size(), 8u);
  EXPECT_EQ(std::vector<std::string>(resume.argv.begin() + 3, resume.argv.end()),
            (std::vector<std::string>{"faultline-heal", "/var/lib/etcd/n1/etcd.pid", "etcd",
                                      "/tmp/a b.pid", "redis-server"}));
  EXPECT_TRUE(records.front().command.sudo);  // iptables too
}

TEST(HealNode, AnIptablesErrorNamesTheNodeAndStops) {
  fakes::FakeNode node("n7", {}, "");
  node.FailIptablesWith("-S");
  Result<NodeHealReport> report = HealNode(node.remote(), HealOptions{});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("n7"), std::string::npos);
  EXPECT_NE(report.status().message().find("iptables -w -S"), std::string::npos);
}

// A child running `sleep`, stopped (SIGSTOP) or running, killed and reaped at the end.
class Child {
 public:
  explicit Child(bool stopped) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sleep", "sleep", "300", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Stopped before its exec, the child would still carry the test's name.
    for (int wait = 0; wait < 500 && Comm() != "sleep\n"; ++wait) ::usleep(10'000);
    if (stopped) {
      ::kill(pid_, SIGSTOP);
      int status = 0;
      ::waitpid(pid_, &status, WUNTRACED);  // returns once it is really stopped
    }
  }
  ~Child() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  int pid() const { return pid_; }
  std::string Comm() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/comm");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  char State() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    return close == std::string::npos ? '?' : stat[close + 2];
  }

 private:
  pid_t pid_ = -1;
};

TEST(ResumeOwnedProcesses, ContinuesOnlyStoppedProcessesWithTheirPidFileAndName) {
  if (!fs::exists("/bin/sleep")) FAULTLINE_SKIP() << "/bin/sleep is missing";
  char pattern[] = "/tmp/faultline_heal_XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const fs::path directory = pattern;
  Child owned(true), other_name(true), running(false), unlisted(true);
  auto pid_file = [&](const std::string& name, int pid) {
    std::ofstream(directory / name) << pid << "\n";
    return (directory / name).string();
  };
  std::vector<OwnedProcess> processes = {
      {pid_file("owned.pid", owned.pid()), "sleep"},
      {pid_file("other.pid", other_name.pid()), "etcd"},  // pid reused by another program
      {pid_file("running.pid", running.pid()), "sleep"},
      {(directory / "missing.pid").string(), "sleep"},
  };
  ASSERT_EQ(owned.State(), 'T');
  control::LocalRemote local("local");
  Result<std::vector<int>> resumed = ResumeOwnedProcesses(local, processes, false);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(*resumed, std::vector<int>{owned.pid()});
  EXPECT_NE(owned.State(), 'T');
  EXPECT_EQ(other_name.State(), 'T');
  EXPECT_EQ(unlisted.State(), 'T');
  EXPECT_NE(running.State(), 'T');
  // Again: nothing is stopped any more among the owned ones.
  Result<std::vector<int>> again = ResumeOwnedProcesses(local, processes, false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  fs::remove_all(directory);
}

TEST(ResumeOwnedProcesses, RefusesAnEntryWithoutFileOrName) {
  fakes::FakeNode node("n1", {}, "");
  EXPECT_EQ(ResumeOwnedProcesses(node.remote(), {{"", "etcd"}}, false).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(node.remote().command_count(), 0u);
}

}  // namespace
}  // namespace faultline::nemesis
