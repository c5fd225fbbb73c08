// Partitions on the real local cluster (5 network namespaces, one sshd each): the grudged pairs,
// and only those, lose TCP between them while the controller keeps reaching every node; healing
// restores everything and leaves no FAULTLINE chain. Needs root; takes the machine-wide cluster
// lock and tears the cluster down at the end (local_cluster_fixture.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "generators/combinators.h"
#include "nemesis/heal.h"
#include "nemesis/internal.h"
#include "nemesis/local_cluster_fixture.h"
#include "nemesis/nemesis.h"
#include "nemesis/partition/partition.h"
#include "runner/cluster/cluster.h"
#include "runner/control/local_remote.h"
#include "runner/control/ssh_remote.h"

namespace faultline::nemesis {
namespace {

namespace fs = std::filesystem;

// Tries a TCP connection from the node to port 22 (every node's sshd) of each address, all at
// once, 1 s each; prints "<address> open" or "<address> cut" per address.
constexpr char kProbeScript[] = R"sh(for ip in "$@"; do
  (if timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null; then echo "$ip open";
   else echo "$ip cut"; fi) &
done
wait)sh";

class NemesisClusterTest : public LocalClusterTest {
 protected:
  // (from, to) -> whether a TCP connection from `from` to `to` got through.
  std::map<std::pair<std::string, std::string>, bool> Reachability() {
    std::map<std::string, std::string> name_of;
    for (const cluster::NodeInfo& node : info_.nodes) name_of[node.address] = node.name;
    // All nodes probe at once: a cut pair costs the 1 s timeout, once.
    std::vector<std::string> outputs(info_.nodes.size());
    Status probed = Combine(InParallel(info_.nodes.size(), [&](size_t i) {
      control::Command command;
      command.argv = {"bash", "-c", kProbeScript, "probe"};
      for (const cluster::NodeInfo& peer : info_.nodes) {
        if (peer.name != info_.nodes[i].name) command.argv.push_back(peer.address);
      }
      Result<control::CommandResult> result = control::Run(*remotes_[i], command);
      if (!result.ok()) return result.status();
      outputs[i] = result->out;
      return Status::Ok();
    }));
    EXPECT_TRUE(probed.ok()) << probed.message();
    std::map<std::pair<std::string, std::string>, bool> open;
    for (size_t i = 0; i < info_.nodes.size(); ++i) {
      std::istringstream lines(outputs[i]);
      for (std::string address, state; lines >> address >> state;) {
        open[{info_.nodes[i].name, name_of[address]}] = state == "open";
      }
    }
    return open;
  }

  // Every pair is open except those the grudge cuts in either direction (a dropped SYN or a
  // dropped SYN-ACK both stop the connection).
  void ExpectExactlyCut(const Grudge& grudge) {
    auto drops = [&](const std::string& a, const std::string& b) {
      auto found = grudge.find(a);
      return found != grudge.end() && found->second.count(b) > 0;
    };
    std::map<std::pair<std::string, std::string>, bool> open = Reachability();
    EXPECT_EQ(open.size(), 20u);
    for (const auto& [pair, is_open] : open) {
      const bool cut = drops(pair.first, pair.second) || drops(pair.second, pair.first);
      EXPECT_EQ(is_open, !cut) << pair.first << " -> " << pair.second << " in "
                               << GrudgeToJson(grudge).dump();
    }
  }

  // A fresh ssh connection to every node succeeds: the controller's traffic is never dropped.
  void ExpectControllerReachesEveryNode() {
    for (const cluster::NodeInfo& node : info_.nodes) {
      Result<std::unique_ptr<control::Remote>> remote =
          control::ConnectSsh(node.name, cluster::NodeSshOptions(info_, node));
      ASSERT_TRUE(remote.ok()) << node.name << ": " << remote.status().message();
      control::Command hostname;
      hostname.argv = {"hostname"};
      Result<control::CommandResult> result = control::Run(**remote, hostname);
      ASSERT_TRUE(result.ok()) << result.status().message();
      EXPECT_EQ(result->out, node.name + "\n");
    }
  }

  // The node's `iptables -S`.
  std::string Listing(size_t node) {
    Result<control::CommandResult> result =
        control::Run(*remotes_[node], IptablesCommand({"-S"}, false));
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? result->out : "";
  }

  void ExpectNoChainLeft() {
    for (size_t i = 0; i < remotes_.size(); ++i) {
      const std::string listing = Listing(i);
      EXPECT_EQ(listing.find(kChain), std::string::npos) << info_.nodes[i].name << ":\n"
                                                         << listing;
    }
  }

  // Healed but not torn down: every node keeps its (empty) chain, the run's lock.
  void ExpectNoDropRuleLeft() {
    for (size_t i = 0; i < remotes_.size(); ++i) {
      const std::string listing = Listing(i);
      EXPECT_EQ(listing.find("-A FAULTLINE"), std::string::npos) << info_.nodes[i].name << ":\n"
                                                                 << listing;
    }
  }

  Op PartitionOp(PartitionKind kind, uint64_t seed, Grudge* grudge) {
    gen::Rng rng(seed);
    Result<Grudge> made = MakeGrudge(kind, test_.options.nodes, rng);
    EXPECT_TRUE(made.ok());
    *grudge = *made;
    Op op = gen::MakeOp("start-partition",
                        {{"kind", ToString(kind)}, {"drops", GrudgeToJson(*grudge)}});
    op.process = kNemesisProcess;
    return op;
  }

};

TEST_F(NemesisClusterTest, IsolateOneAndMajoritiesRingCutExactlyTheGrudgedPairs) {
  NemesisOptions options;
  options.faults = {"partition"};
  options.nodes = test_.options.nodes;
  options.protected_addresses = {cluster::kControllerAddress};
  Result<NemesisPackage> package = BuildNemesis(options);
  ASSERT_TRUE(package.ok());
  Nemesis& nemesis = *package->nemesis;
  ASSERT_TRUE(nemesis.Setup(test_, node_remotes_).ok());
  ExpectExactlyCut({});  // everything flows before

  for (PartitionKind kind : {PartitionKind::kIsolateOne, PartitionKind::kMajoritiesRing}) {
    SCOPED_TRACE(std::string(ToString(kind)));
    Grudge grudge;
    Op completion = nemesis.Invoke(test_, PartitionOp(kind, 17, &grudge));
    ASSERT_EQ(completion.type, OpType::kOk) << completion.ToJson().dump();
    ExpectExactlyCut(grudge);
    ExpectControllerReachesEveryNode();
    Op heal = gen::MakeOp("stop-partition");
    heal.process = kNemesisProcess;
    ASSERT_EQ(nemesis.Invoke(test_, heal).type, OpType::kOk);
    ExpectExactlyCut({});
    ExpectNoDropRuleLeft();
  }
  ASSERT_TRUE(nemesis.Teardown(test_).ok());
  ExpectNoChainLeft();
}

TEST_F(NemesisClusterTest, HealNodeRemovesLeftoversOfAKilledController) {
  PartitionFault fault(PartitionOptions{false, {cluster::kControllerAddress}, "killed"});
  ASSERT_TRUE(fault.Setup(test_, node_remotes_).ok());
  gen::Rng rng(3);
  Result<Grudge> grudge = MakeGrudge(PartitionKind::kRandomHalves, test_.options.nodes, rng);
  ASSERT_TRUE(fault.Apply(*grudge, nullptr).ok());
  ExpectExactlyCut(*grudge);
  // The controller dies here without healing; `faultline cluster heal` runs HealNode.
  for (const std::unique_ptr<control::Remote>& remote : remotes_) {
    Result<NodeHealReport> report = HealNode(*remote, HealOptions{});
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->removed_rules);
    EXPECT_EQ(report->runs, std::set<std::string>{"killed"});
  }
  ExpectExactlyCut({});
  ExpectNoChainLeft();
}

// On real iptables in the cluster's namespaces: the mark reads back as written; a second run is
// refused while the first holds the nodes, and its heal and teardown leave the first run's
// partition cutting TCP; a FAULTLINE chain somebody else made is refused and left as it was.
TEST_F(NemesisClusterTest, ASecondRunAndAForeignChainAreRefusedOnRealIptables) {
  const std::vector<std::string> protected_addresses = {cluster::kControllerAddress};
  PartitionFault first(PartitionOptions{false, protected_addresses, "first"});
  ASSERT_TRUE(first.Setup(test_, node_remotes_).ok());
  EXPECT_NE(Listing(0).find("-A INPUT -m comment --comment faultline-run-first -j FAULTLINE"),
            std::string::npos)
      << Listing(0);
  const Grudge grudge =
      CompleteGrudge({{test_.options.nodes[0]},
                      {test_.options.nodes.begin() + 1, test_.options.nodes.end()}});
  ASSERT_TRUE(first.Apply(grudge, nullptr).ok());

  PartitionFault second(PartitionOptions{false, protected_addresses, "second"});
  Status refused = second.Setup(test_, node_remotes_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("belongs to another faultline run (first"), std::string::npos)
      << refused.message();
  EXPECT_TRUE(second.Heal().ok());
  EXPECT_TRUE(second.Teardown().ok());
  ExpectExactlyCut(grudge);  // the first run's partition still holds
  ASSERT_TRUE(first.Teardown().ok());
  ExpectExactlyCut({});
  ExpectNoChainLeft();

  // Somebody else's chain of that name on n2.
  for (std::vector<std::string> arguments :
       {std::vector<std::string>{"-N", kChain},
        std::vector<std::string>{"-A", kChain, "-s", "192.0.2.9", "-j", "ACCEPT"},
        std::vector<std::string>{"-I", "INPUT", "-j", kChain}}) {
    ASSERT_TRUE(control::Run(*remotes_[1], IptablesCommand(arguments, false)).ok());
  }
  const std::string before = Listing(1);
  PartitionFault third(PartitionOptions{false, protected_addresses, "third"});
  Status foreign = third.Setup(test_, node_remotes_);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.message().find("not created by faultline"), std::string::npos)
      << foreign.message();
  EXPECT_FALSE(HealNode(*remotes_[1], HealOptions{}).ok());
  EXPECT_EQ(Listing(1), before);
  for (std::vector<std::string> arguments : {std::vector<std::string>{"-D", "INPUT", "-j", kChain},
                                             std::vector<std::string>{"-F", kChain},
                                             std::vector<std::string>{"-X", kChain}}) {
    ASSERT_TRUE(control::Run(*remotes_[1], IptablesCommand(arguments, false)).ok());
  }
  ExpectNoChainLeft();
}

}  // namespace
}  // namespace faultline::nemesis
