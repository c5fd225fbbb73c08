// The local cluster against the real kernel: namespaces, bridge, one sshd per node, libssh with
// host keys verified. Skipped unless root with `ip netns` working, sshd and iptables installed,
// and no cluster already up (fl-br0 is one per machine). Every test tears down in TearDown.
#include "runner/cluster/cluster.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "runner/control/local_remote.h"
#include "runner/control/remote.h"
#include "runner/control/ssh_remote.h"
#include "support/cluster_lock.h"
#include "support/skip.h"

namespace faultline::cluster {
namespace {

namespace fs = std::filesystem;

// Runs argv on this machine; returns stdout, or the error text prefixed with "ERROR: ".
std::string Host(const std::vector<std::string>& argv) {
  control::LocalRemote local;
  control::Command command;
  command.argv = argv;
  Result<control::CommandResult> result = control::Run(local, command);
  return result.ok() ? result->out : "ERROR: " + result.status().message();
}

std::string OnNode(control::Remote& remote, const std::string& line) {
  control::Command command;
  command.argv = {"sh", "-c", line};
  command.timeout_ms = 10'000;
  Result<control::CommandResult> result = control::Run(remote, command);
  return result.ok() ? result->out : "ERROR: " + result.status().message();
}

bool Gone(int pid) {
  std::string stat;
  FILE* file = fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (file == nullptr) return true;
  char buffer[512] = {};
  size_t length = fread(buffer, 1, sizeof(buffer) - 1, file);
  fclose(file);
  stat.assign(buffer, length);
  size_t close = stat.rfind(')');
  return close == std::string::npos || stat[close + 2] == 'Z' || stat[close + 2] == 'X';
}

TEST(ClusterOptionsTest, NodeSshOptionsVerifyHostKeysWithTheClusterKeys) {
  ClusterInfo cluster;
  cluster.private_key_path = "/state/id_ed25519";
  cluster.known_hosts_path = "/state/known_hosts";
  NodeInfo node;
  node.name = "n2";
  node.address = "10.213.0.12";
  control::SshOptions options = NodeSshOptions(cluster, node);
  EXPECT_EQ(options.host, "10.213.0.12");
  EXPECT_EQ(options.username, "root");
  EXPECT_EQ(options.private_key_path, "/state/id_ed25519");
  EXPECT_EQ(options.known_hosts_path, "/state/known_hosts");
  EXPECT_TRUE(options.strict_host_key_checking);
  EXPECT_FALSE(options.use_agent);
}

TEST(ClusterOptionsTest, RejectsBadNodeCountsAndHiddenStateDirectories) {
  ClusterOptions options;
  options.nodes = 0;
  options.state_directory = "/tmp/faultline-never-created";
  EXPECT_EQ(ClusterUp(options).status().code(), StatusCode::kInvalidArgument);
  options.nodes = kMaxNodes + 1;
  EXPECT_EQ(ClusterUp(options).status().code(), StatusCode::kInvalidArgument);
  options.nodes = 1;
  options.state_directory = "/root/cluster";
  EXPECT_EQ(ClusterUp(options).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists("/tmp/faultline-never-created"));
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) FAULTLINE_SKIP() << "needs root (namespaces, bridge, sshd)";
    // CTest runs tests as parallel processes, and the bridge and namespace names are one per
    // machine: every test that builds a cluster takes the machine-wide lock, so they take turns.
    lock_ = std::make_unique<faultline::testing::ClusterLock>();
    ASSERT_TRUE(lock_->held()) << lock_->error();
    for (const char* program : {"/usr/sbin/ip", "/usr/sbin/sshd", "/usr/sbin/iptables"}) {
      if (!fs::exists(program)) FAULTLINE_SKIP() << program << " is missing";
    }
    iptables_before_ = Host({"iptables", "-S"});
    netns_before_ = Host({"ip", "netns", "list"});
    if (netns_before_.rfind("ERROR", 0) == 0) FAULTLINE_SKIP() << "ip netns does not work here";
    if (iptables_before_.rfind("ERROR", 0) == 0) FAULTLINE_SKIP() << "iptables does not work here";
    if (fs::exists(std::string("/sys/class/net/") + kBridge)) {
      FAULTLINE_SKIP() << kBridge << " exists: another local cluster is up on this machine";
    }
    char pattern[] = "/tmp/faultline_cluster_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    options_.state_directory = pattern;
    options_.nodes = 3;
    set_up_ = true;
  }

  void TearDown() override {
    if (set_up_) {
      remotes_.clear();  // sessions close before their sshd goes
      for (const fs::path& directory : extra_state_directories_) {
        ClusterOptions extra = options_;
        extra.state_directory = directory;
        Status down = ClusterDown(extra);
        EXPECT_TRUE(down.ok()) << down.message();
      }
      Status down = ClusterDown(options_);
      EXPECT_TRUE(down.ok()) << down.message();
      std::error_code ignored;
      fs::remove_all(options_.state_directory, ignored);
      for (const fs::path& directory : extra_state_directories_) fs::remove_all(directory, ignored);
    }
    lock_.reset();
  }

  ClusterInfo Up() {
    auto start = std::chrono::steady_clock::now();
    Result<ClusterInfo> cluster = ClusterUp(options_);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(cluster.ok()) << cluster.status().message();
    if (!cluster.ok()) return ClusterInfo{};
    EXPECT_LT(seconds, 10.0);
    std::cout << "cluster up (" << options_.nodes << " nodes" << (cluster->reused ? ", reused" : "")
              << ") in " << seconds * 1000 << " ms\n";
    return *cluster;
  }

  control::Remote& Connect(const ClusterInfo& cluster, const NodeInfo& node) {
    Result<std::unique_ptr<control::Remote>> remote =
        control::ConnectSsh(node.name, NodeSshOptions(cluster, node));
    EXPECT_TRUE(remote.ok()) << remote.status().message();
    if (!remote.ok()) throw std::runtime_error(remote.status().message());
    remotes_.push_back(std::move(*remote));
    return *remotes_.back();
  }

  ClusterOptions options_;
  std::vector<fs::path> extra_state_directories_;  // torn down first
  std::unique_ptr<faultline::testing::ClusterLock> lock_;
  bool set_up_ = false;
  std::string iptables_before_;
  std::string netns_before_;
  std::vector<std::unique_ptr<control::Remote>> remotes_;
};

TEST_F(ClusterTest, NodesAreIsolatedReachableOverSshAndDownRemovesEverything) {
  ClusterInfo cluster = Up();
  ASSERT_EQ(cluster.nodes.size(), 3u);
  EXPECT_FALSE(cluster.reused);

  std::vector<control::Remote*> remotes;
  for (size_t i = 0; i < cluster.nodes.size(); ++i) {
    const NodeInfo& node = cluster.nodes[i];
    const std::string name = "n" + std::to_string(i + 1);
    const std::string address = "10.213.0." + std::to_string(11 + i);
    EXPECT_EQ(node.name, name);
    EXPECT_EQ(node.address, address);
    EXPECT_GT(node.sshd_pid, 0);
    control::Remote& remote = Connect(cluster, node);
    remotes.push_back(&remote);
    EXPECT_EQ(OnNode(remote, "hostname"), name + "\n");
    std::string addresses = OnNode(remote, "ip -4 -o addr show");
    EXPECT_NE(addresses.find("inet " + address + "/24"), std::string::npos) << addresses;
    // Its own address and loopback, nothing of the other nodes or the host.
    size_t count = 0;
    for (size_t at = addresses.find("inet "); at != std::string::npos;
         at = addresses.find("inet ", at + 1)) {
      ++count;
    }
    EXPECT_EQ(count, 2u) << addresses;
    EXPECT_EQ(OnNode(remote, "ip route show default"), "");
    std::string hosts = OnNode(remote, "cat /etc/hosts");
    EXPECT_NE(hosts.find("10.213.0.11 n1\n"), std::string::npos) << hosts;
    EXPECT_NE(hosts.find("10.213.0.13 n3\n"), std::string::npos) << hosts;
    EXPECT_NE(hosts.find("10.213.0.1 controller\n"), std::string::npos) << hosts;
    EXPECT_EQ(OnNode(remote, "echo $HOME; ls /root/.ssh"), "/root\nauthorized_keys\n");
    EXPECT_EQ(OnNode(remote, "test -d " + node.data_directory.string() + " && echo ok"), "ok\n");
  }

  // A firewall rule in n1 drops n2 only, and is visible nowhere else.
  EXPECT_EQ(OnNode(*remotes[0],
                   "iptables -N fl-test && iptables -A fl-test -s 10.213.0.12 -j DROP"
                   " && iptables -A INPUT -j fl-test && echo ok"),
            "ok\n");
  EXPECT_NE(OnNode(*remotes[0], "iptables -S").find("-A fl-test -s 10.213.0.12/32 -j DROP"),
            std::string::npos);
  EXPECT_EQ(OnNode(*remotes[1], "iptables -S | grep -c fl-test || true"), "0\n");
  EXPECT_EQ(Host({"iptables", "-S"}), iptables_before_);
  const std::string probe =
      "timeout 2 bash -c '</dev/tcp/10.213.0.11/22' && echo open || echo shut";
  EXPECT_EQ(OnNode(*remotes[1], probe), "shut\n");  // n2 is dropped by n1
  EXPECT_EQ(OnNode(*remotes[2], probe), "open\n");  // n3 is not

  // Up again: the same cluster, the same sshds.
  ClusterInfo again = Up();
  EXPECT_TRUE(again.reused);
  ASSERT_EQ(again.nodes.size(), cluster.nodes.size());
  for (size_t i = 0; i < again.nodes.size(); ++i) {
    EXPECT_EQ(again.nodes[i].sshd_pid, cluster.nodes[i].sshd_pid);
  }

  Result<ClusterInfo> status = ClusterStatus(options_);
  ASSERT_TRUE(status.ok()) << status.status().message();
  for (const NodeInfo& node : status->nodes) {
    EXPECT_TRUE(node.sshd_running && node.ssh_works) << node.name << ": " << node.problem;
  }

  remotes_.clear();
  auto start = std::chrono::steady_clock::now();
  Status down = ClusterDown(options_);
  ASSERT_TRUE(down.ok()) << down.message();
  std::cout
      << "cluster down in "
      << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count()
      << " ms\n";
  for (const NodeInfo& node : cluster.nodes) {
    EXPECT_TRUE(Gone(node.sshd_pid)) << node.name << " sshd " << node.sshd_pid;
    EXPECT_FALSE(fs::exists("/run/netns/" + node.namespace_name));
    EXPECT_FALSE(fs::exists("/sys/class/net/" + node.host_link));
  }
  EXPECT_FALSE(fs::exists(std::string("/sys/class/net/") + kBridge));
  EXPECT_EQ(Host({"iptables", "-S"}), iptables_before_);
  EXPECT_EQ(Host({"ip", "netns", "list"}), netns_before_);
  EXPECT_FALSE(ClusterStatus(options_).ok());  // nothing recorded any more
  EXPECT_TRUE(ClusterDown(options_).ok());     // down twice is fine
}

TEST_F(ClusterTest, UpRepairsAClusterWhoseSshdDied) {
  options_.nodes = 2;
  ClusterInfo cluster = Up();
  ASSERT_EQ(cluster.nodes.size(), 2u);
  ASSERT_EQ(::kill(cluster.nodes[1].sshd_pid, SIGKILL), 0);
  for (int i = 0; i < 200 && !Gone(cluster.nodes[1].sshd_pid); ++i) ::usleep(10'000);

  Result<ClusterInfo> status = ClusterStatus(options_);
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_TRUE(status->nodes[0].ssh_works) << status->nodes[0].problem;
  EXPECT_FALSE(status->nodes[1].sshd_running);

  ClusterInfo repaired = Up();
  EXPECT_FALSE(repaired.reused);
  ASSERT_EQ(repaired.nodes.size(), 2u);
  for (const NodeInfo& node : repaired.nodes) {
    control::Remote& remote = Connect(repaired, node);
    EXPECT_EQ(OnNode(remote, "hostname"), node.name + "\n");
  }
  EXPECT_TRUE(Gone(cluster.nodes[0].sshd_pid));  // the rebuild replaced the old sshds
}

TEST_F(ClusterTest, ASecondStateDirectoryLeavesTheFirstClusterAlone) {
  options_.nodes = 2;
  ClusterInfo cluster = Up();
  ASSERT_EQ(cluster.nodes.size(), 2u);
  ClusterOptions other = options_;
  other.state_directory = options_.state_directory.string() + "-other";
  extra_state_directories_.push_back(other.state_directory);

  Result<ClusterInfo> refused = ClusterUp(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(options_.state_directory.string()), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(ClusterDown(other).ok());  // nothing of its own to remove

  Result<ClusterInfo> status = ClusterStatus(options_);
  ASSERT_TRUE(status.ok()) << status.status().message();
  for (const NodeInfo& node : status->nodes) {
    EXPECT_TRUE(node.ssh_works) << node.name << ": " << node.problem;
    EXPECT_EQ(node.sshd_pid, cluster.nodes[node.name == "n1" ? 0 : 1].sshd_pid);
  }
}

TEST_F(ClusterTest, DownFindsAHalfBuiltClusterWhoseRecordIsLost) {
  options_.nodes = 2;
  ClusterInfo cluster = Up();
  ASSERT_EQ(cluster.nodes.size(), 2u);
  // As after a crash: the record is gone, the bridge's alias still names this state directory.
  fs::remove(options_.state_directory / "cluster.json");
  Status down = ClusterDown(options_);
  ASSERT_TRUE(down.ok()) << down.message();
  EXPECT_FALSE(fs::exists(std::string("/sys/class/net/") + kBridge));
  for (const NodeInfo& node : cluster.nodes) {
    EXPECT_FALSE(fs::exists("/run/netns/" + node.namespace_name));
    // Its sshd went with its namespace (the pid file still named it).
    for (int i = 0; i < 200 && !Gone(node.sshd_pid); ++i) ::usleep(10'000);
    EXPECT_TRUE(Gone(node.sshd_pid)) << node.name;
  }
}

}  // namespace
}  // namespace faultline::cluster
