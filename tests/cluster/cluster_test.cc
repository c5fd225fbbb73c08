// The local cluster against the real kernel: namespaces, bridge, one sshd per node, libssh with
// host keys verified. Skipped unless root with `ip netns` working, sshd and iptables installed,
// and no cluster already up (fl-br0 is one per machine). Every test tears down in TearDown.
#include "runner/cluster/cluster.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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

// What a local user could prepare before root runs `cluster up --state-dir ...`: each is refused
// before a key, an authorized_keys file or a network device is made, and the user's files stay
// as they were. (Before the state directory was checked, every one of them was used.)
TEST_F(ClusterTest, HostileStateDirectoriesAreRefusedBeforeAnythingIsBuilt) {
  const fs::path base = options_.state_directory;  // root's own, 0700, from mkdtemp
  constexpr uid_t kNobody = 65534;
  auto directory = [](const fs::path& path, mode_t mode, uid_t owner = 0) {
    fs::create_directories(path);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0) << path;
    EXPECT_EQ(::lchown(path.c_str(), owner, owner), 0) << path;
  };
  auto key_pair = [](const fs::path& state, mode_t mode, uid_t owner) {
    const fs::path key = state / "id_ed25519";
    EXPECT_EQ(Host({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.string()}), "");
    EXPECT_EQ(::chmod(key.c_str(), mode), 0);
    EXPECT_EQ(::lchown(key.c_str(), owner, owner), 0);
  };
  struct Case {
    fs::path state;
    std::string words;  // in the refusal
  };
  std::vector<Case> cases;
  directory(base / "nobodys", 0700, kNobody);
  cases.push_back({base / "nobodys", "owned by uid 65534"});
  directory(base / "nobodys-parent", 0755, kNobody);
  cases.push_back({base / "nobodys-parent" / "cluster", "owned by uid 65534"});
  directory(base / "world-writable", 0777);
  cases.push_back({base / "world-writable", "writable by group or others"});
  directory(base / "group-writable-parent", 0770);
  cases.push_back({base / "group-writable-parent" / "cluster", "writable by group or others"});
  directory(base / "real", 0700);
  fs::create_directory_symlink(base / "real", base / "link");
  cases.push_back({base / "link" / "cluster", "symbolic link"});
  directory(base / "readable-key", 0700);
  key_pair(base / "readable-key", 0644, 0);
  cases.push_back({base / "readable-key", "mode 0644, not 0600"});
  directory(base / "nobodys-key", 0700);
  key_pair(base / "nobodys-key", 0600, kNobody);
  cases.push_back({base / "nobodys-key", "owned by uid 65534"});
  // A node's directory pointing elsewhere: its root/.ssh/authorized_keys would be written there.
  directory(base / "node-link", 0700);
  directory(base / "victim", 0700);
  fs::create_directory_symlink(base / "victim", base / "node-link" / "n1");
  cases.push_back({base / "node-link", "symbolic link"});

  for (const Case& hostile : cases) {
    ClusterOptions options = options_;
    options.nodes = 1;
    options.state_directory = hostile.state;
    Result<ClusterInfo> up = ClusterUp(options);
    EXPECT_FALSE(up.ok()) << hostile.state << " was used";
    if (up.ok()) {
      EXPECT_TRUE(ClusterDown(options).ok());
      continue;
    }
    EXPECT_NE(up.status().message().find(hostile.words), std::string::npos)
        << hostile.state << ": " << up.status().message();
    EXPECT_FALSE(fs::exists(std::string("/sys/class/net/") + kBridge)) << hostile.state;
  }
  for (const auto& entry : fs::recursive_directory_iterator(base)) {
    EXPECT_NE(entry.path().filename(), "authorized_keys") << entry.path();
    EXPECT_NE(entry.path().filename(), "cluster.json") << entry.path();
  }
  EXPECT_TRUE(fs::is_empty(base / "victim"));
  EXPECT_EQ(Host({"ip", "netns", "list"}), netns_before_);

  // Down and status refuse such a directory too: its cluster.json would name what to remove.
  ClusterOptions nobodys = options_;
  nobodys.state_directory = base / "nobodys";
  Status down = ClusterDown(nobodys);
  EXPECT_FALSE(down.ok());
  EXPECT_NE(down.message().find("owned by uid 65534"), std::string::npos) << down.message();
  Result<ClusterInfo> status = ClusterStatus(nobodys);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.status().message().find("owned by uid 65534"), std::string::npos)
      << status.status().message();
}

// Symlinks planted for files the cluster writes (even in root's own directory) are replaced,
// never followed: the files they point at stay as they were.
TEST_F(ClusterTest, PlantedSymlinksForItsFilesAreNotFollowed) {
  options_.nodes = 1;
  char pattern[] = "/tmp/faultline_victim_XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const fs::path victim = fs::path(pattern) / "precious";
  std::ofstream(victim) << "precious\n";
  const fs::path state = options_.state_directory;
  for (const char* name : {"cluster.json", "cluster.json.tmp", "known_hosts", "known_hosts.tmp"}) {
    fs::create_symlink(victim, state / name);
  }
  ClusterInfo cluster = Up();
  ASSERT_EQ(cluster.nodes.size(), 1u);
  std::ifstream in(victim);
  std::string contents((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(contents, "precious\n");
  EXPECT_FALSE(fs::is_symlink(state / "cluster.json"));
  EXPECT_FALSE(fs::is_symlink(state / "known_hosts"));
  struct stat info {};
  ASSERT_EQ(::lstat(state.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
  ASSERT_EQ(::lstat((state / "n1/root/.ssh/authorized_keys").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_EQ(info.st_uid, 0u);
  control::Remote& remote = Connect(cluster, cluster.nodes[0]);
  EXPECT_EQ(OnNode(remote, "hostname"), "n1\n");
  std::error_code ignored;
  fs::remove_all(pattern, ignored);
}

}  // namespace
}  // namespace faultline::cluster
