// The real local cluster for the nemesis tests: 5 network namespaces with one sshd each, built
// under the machine-wide cluster lock (skipped when another cluster is up or without root), one
// ssh session per node, torn down at the end; the host's own iptables rules must be unchanged.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "runner/cluster/cluster.h"
#include "runner/control/local_remote.h"
#include "runner/control/ssh_remote.h"
#include "runner/test.h"
#include "support/cluster_lock.h"
#include "support/skip.h"

namespace faultline::nemesis {

// A command's stdout on this machine (the host, outside the nodes).
inline std::string Host(const std::vector<std::string>& argv) {
  control::LocalRemote local;
  control::Command command;
  command.argv = argv;
  Result<control::CommandResult> result = control::Run(local, command);
  return result.ok() ? result->out : "ERROR: " + result.status().message();
}

class LocalClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    if (::geteuid() != 0) FAULTLINE_SKIP() << "needs root (namespaces, bridge, sshd, iptables)";
    for (const char* program : {"/usr/sbin/ip", "/usr/sbin/sshd", "/usr/sbin/iptables"}) {
      if (!fs::exists(program)) FAULTLINE_SKIP() << program << " is missing";
    }
    lock_ = std::make_unique<faultline::testing::ClusterLock>();
    ASSERT_TRUE(lock_->held());
    if (fs::exists(std::string("/sys/class/net/") + cluster::kBridge)) {
      FAULTLINE_SKIP() << cluster::kBridge
                       << " exists: another local cluster is up on this machine";
    }
    host_iptables_before_ = Host({"iptables", "-S"});
    char pattern[] = "/tmp/faultline_nemesis_cluster_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    options_.state_directory = pattern;
    options_.nodes = 5;
    set_up_ = true;
    auto start = std::chrono::steady_clock::now();
    Result<cluster::ClusterInfo> info = cluster::ClusterUp(options_);
    ASSERT_TRUE(info.ok()) << info.status().message();
    info_ = *info;
    std::cout << "cluster up in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
              << " s\n";
    for (const cluster::NodeInfo& node : info_.nodes) {
      test_.options.nodes.push_back(node.name);
      Result<std::unique_ptr<control::Remote>> remote =
          control::ConnectSsh(node.name, cluster::NodeSshOptions(info_, node));
      ASSERT_TRUE(remote.ok()) << remote.status().message();
      remotes_.push_back(std::move(*remote));
      node_remotes_.push_back(remotes_.back().get());
    }
  }

  void TearDown() override {
    if (!set_up_) return;
    namespace fs = std::filesystem;
    remotes_.clear();  // sessions close before their sshd goes
    Status down = cluster::ClusterDown(options_);
    EXPECT_TRUE(down.ok()) << down.message();
    std::error_code ignored;
    fs::remove_all(options_.state_directory, ignored);
    EXPECT_EQ(Host({"iptables", "-S"}), host_iptables_before_) << "the host's rules changed";
    lock_.reset();
  }

  cluster::ClusterOptions options_;
  cluster::ClusterInfo info_;
  faultline::Test test_;
  std::vector<std::unique_ptr<control::Remote>> remotes_;
  NodeRemotes node_remotes_;
  std::unique_ptr<faultline::testing::ClusterLock> lock_;
  bool set_up_ = false;
  std::string host_iptables_before_;
};

}  // namespace faultline::nemesis
