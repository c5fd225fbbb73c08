// Grudges (pure) and their iptables rules on fake nodes: exact command sequences, heal, refusals.
#include "nemesis/partition/partition.h"

#include <gtest/gtest.h>

#include <set>

#include "nemesis/fake_nodes.h"

namespace faultline::nemesis {
namespace {

using fakes::FakeCluster;

std::vector<std::string> Nodes(size_t count) {
  std::vector<std::string> nodes;
  for (size_t i = 1; i <= count; ++i) nodes.push_back("n" + std::to_string(i));
  return nodes;
}

Grudge Make(PartitionKind kind, size_t count, uint64_t seed) {
  gen::Rng rng(seed);
  Result<Grudge> grudge = MakeGrudge(kind, Nodes(count), rng);
  EXPECT_TRUE(grudge.ok()) << grudge.status().message();
  return grudge.ok() ? *grudge : Grudge{};
}

const std::set<std::string>& Drops(const Grudge& grudge, const std::string& node) {
  static const std::set<std::string> none;
  auto found = grudge.find(node);
  return found == grudge.end() ? none : found->second;
}

bool Symmetric(const Grudge& grudge, const std::vector<std::string>& nodes) {
  for (const std::string& a : nodes) {
    for (const std::string& b : nodes) {
      if (Drops(grudge, a).count(b) != Drops(grudge, b).count(a)) return false;
    }
  }
  return true;
}

// What each node still sees: every node (itself included) it does not drop.
std::set<std::string> Sees(const Grudge& grudge, const std::vector<std::string>& nodes,
                           const std::string& node) {
  std::set<std::string> seen;
  for (const std::string& other : nodes) {
    if (!Drops(grudge, node).count(other)) seen.insert(other);
  }
  return seen;
}

TEST(PartitionGrudge, NamesRoundTrip) {
  for (PartitionKind kind : PartitionKindsFor(5)) {
    EXPECT_EQ(ParsePartitionKind(ToString(kind)), kind);
  }
  EXPECT_EQ(PartitionKindsFor(5).size(), 4u);
  EXPECT_EQ(PartitionKindsFor(2).size(), 2u);  // no ring, no bridge with two nodes
  EXPECT_TRUE(PartitionKindsFor(1).empty());
  EXPECT_FALSE(ParsePartitionKind("majority-ring").has_value());
}

TEST(PartitionGrudge, RandomHalvesCutsTwoHalvesSymmetrically) {
  for (size_t count : {2u, 5u, 6u}) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      Grudge grudge = Make(PartitionKind::kRandomHalves, count, seed);
      std::vector<std::string> nodes = Nodes(count);
      EXPECT_TRUE(Symmetric(grudge, nodes));
      std::multiset<size_t> sizes;
      for (const std::string& node : nodes) {
        sizes.insert(Sees(grudge, nodes, node).size());
        EXPECT_FALSE(Drops(grudge, node).count(node));
      }
      // The smaller half's nodes see count/2 nodes, the larger half's the rest.
      EXPECT_EQ(sizes.count(count / 2), count % 2 == 0 ? count : count / 2) << count;
      EXPECT_EQ(sizes.count(count - count / 2), count % 2 == 0 ? count : count - count / 2);
    }
  }
}

TEST(PartitionGrudge, IsolateOneCutsExactlyOneNodeFromAllOthers) {
  std::set<std::string> isolated_ever;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Grudge grudge = Make(PartitionKind::kIsolateOne, 5, seed);
    std::vector<std::string> nodes = Nodes(5);
    EXPECT_TRUE(Symmetric(grudge, nodes));
    std::vector<std::string> isolated;
    for (const std::string& node : nodes) {
      if (Drops(grudge, node).size() == 4) isolated.push_back(node);
    }
    ASSERT_EQ(isolated.size(), 1u);
    for (const std::string& node : nodes) {
      if (node != isolated[0]) {
        EXPECT_EQ(Drops(grudge, node), std::set<std::string>{isolated[0]});
      }
    }
    isolated_ever.insert(isolated[0]);
  }
  EXPECT_EQ(isolated_ever.size(), 5u);  // the RNG really picks the node
}

TEST(PartitionGrudge, MajoritiesRingEveryNodeSeesADistinctMajority) {
  for (size_t count : {3u, 4u, 5u, 6u, 7u}) {
    for (uint64_t seed = 0; seed < 10; ++seed) {
      Grudge grudge = Make(PartitionKind::kMajoritiesRing, count, seed);
      std::vector<std::string> nodes = Nodes(count);
      std::set<std::set<std::string>> majorities;
      for (const std::string& node : nodes) {
        std::set<std::string> seen = Sees(grudge, nodes, node);
        EXPECT_EQ(seen.size(), count / 2 + 1) << count << " nodes, " << node;
        EXPECT_TRUE(seen.count(node));
        majorities.insert(seen);
      }
      EXPECT_EQ(majorities.size(), count) << "two nodes see the same majority, " << count;
    }
  }
  // With 5 nodes each sees its two ring neighbours, so the drops are mutual.
  EXPECT_TRUE(Symmetric(Make(PartitionKind::kMajoritiesRing, 5, 3), Nodes(5)));
}

TEST(PartitionGrudge, BridgeNodeSeesBothHalvesThatCannotTalk) {
  for (size_t count : {3u, 4u, 5u, 7u}) {
    Grudge grudge = Make(PartitionKind::kBridge, count, 11);
    std::vector<std::string> nodes = Nodes(count);
    EXPECT_TRUE(Symmetric(grudge, nodes));
    std::vector<std::string> bridges;
    for (const std::string& node : nodes) {
      if (Drops(grudge, node).empty()) bridges.push_back(node);
    }
    ASSERT_EQ(bridges.size(), 1u) << count;
    size_t dropping = 0;
    for (const std::string& node : nodes) {
      if (node == bridges[0]) continue;
      EXPECT_FALSE(Drops(grudge, node).count(bridges[0]));
      EXPECT_FALSE(Drops(grudge, node).empty());
      dropping += Drops(grudge, node).size();
    }
    // Halves of (count-1)/2 and the rest: every cross pair is dropped both ways.
    const size_t first = (count - 1) / 2, second = count - 1 - first;
    EXPECT_EQ(dropping, 2 * first * second);
  }
}

TEST(PartitionGrudge, SameSeedSameGrudgeOtherSeedsDiffer) {
  std::set<Json> distinct;
  for (PartitionKind kind : PartitionKindsFor(5)) {
    EXPECT_EQ(Make(kind, 5, 42), Make(kind, 5, 42));
    for (uint64_t seed = 0; seed < 10; ++seed) distinct.insert(GrudgeToJson(Make(kind, 5, seed)));
  }
  EXPECT_GT(distinct.size(), 20u);
}

TEST(PartitionGrudge, RefusesTooFewOrRepeatedNodes) {
  gen::Rng rng(1);
  Result<Grudge> ring = MakeGrudge(PartitionKind::kMajoritiesRing, Nodes(2), rng);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(ring.status().message().find("needs 3 nodes"), std::string::npos);
  EXPECT_FALSE(MakeGrudge(PartitionKind::kIsolateOne, {"n1"}, rng).ok());
  EXPECT_FALSE(MakeGrudge(PartitionKind::kRandomHalves, {"n1", "n1", "n2"}, rng).ok());
}

TEST(PartitionGrudge, JsonRoundTripAndValidation) {
  Grudge grudge = Make(PartitionKind::kMajoritiesRing, 5, 7);
  Json json = GrudgeToJson(grudge);
  Result<Grudge> back = GrudgeFromJson(json, Nodes(5));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(GrudgeToJson(*back), json);
  EXPECT_EQ(GrudgeToJson(CompleteGrudge({{"a"}, {"b", "c"}})),
            Json::parse(R"({"a":["b","c"],"b":["a"],"c":["a"]})"));
  EXPECT_FALSE(GrudgeFromJson(Json::parse(R"({"n9":["n1"]})"), Nodes(5)).ok());
  EXPECT_FALSE(GrudgeFromJson(Json::parse(R"({"n1":["n1"]})"), Nodes(5)).ok());
  EXPECT_FALSE(GrudgeFromJson(Json::parse(R"({"n1":"n2"})"), Nodes(5)).ok());
  EXPECT_FALSE(GrudgeFromJson(Json::parse(R"(["n1"])"), Nodes(5)).ok());
}

// --- rules on (fake) nodes ---

constexpr char kJump[] = "-A INPUT -m comment --comment faultline-run-t1 -j FAULTLINE";

PartitionOptions RunOptions(std::string run_id = "t1") {
  PartitionOptions options;
  options.run_id = std::move(run_id);
  return options;
}

class PartitionRules : public ::testing::Test {
 protected:
  PartitionRules() : cluster_(5) { test_.options.nodes = cluster_.names(); }

  PartitionFault SetUpFault(PartitionOptions options = RunOptions()) {
    PartitionFault fault(std::move(options));
    Status status = fault.Setup(test_, cluster_.remotes());
    EXPECT_TRUE(status.ok()) << status.message();
    ClearRecords();
    return fault;
  }
  void ClearRecords() {
    for (size_t i = 0; i < 5; ++i) cluster_.node(i).remote().ClearRecords();
  }

  FakeCluster cluster_;
  faultline::Test test_;
};

TEST_F(PartitionRules, SetupResolvesEveryNodeAndTakesEveryNodesChain) {
  PartitionFault fault(RunOptions());
  ASSERT_TRUE(fault.Setup(test_, cluster_.remotes()).ok());
  EXPECT_EQ(fault.addresses().at("n3").at("n5"), "10.0.0.5");
  EXPECT_EQ(fault.addresses().size(), 5u);
  // Loopback and link-local IPv6 addresses (every fake node has both) do not make it talk IPv6.
  EXPECT_TRUE(fault.ipv6_addresses().empty());
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(cluster_.node(i).IptablesCalls(),
              (std::vector<std::string>{
                  "-S", "-N FAULTLINE",
                  "-I INPUT -m comment --comment faultline-run-t1 -j FAULTLINE"}));
    EXPECT_TRUE(cluster_.node(i).IptablesCalls("ip6tables").empty());
  }
}

TEST_F(PartitionRules, ApplyHealAndTeardownSendExactlyTheseCommands) {
  PartitionFault fault = SetUpFault();
  cluster_.node(0).iptables().AddForeign("INPUT", "-A INPUT -s 192.0.2.7/32 -j DROP");
  Grudge grudge = CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}});  // isolate n1
  std::vector<std::string> applied;
  ASSERT_TRUE(fault.Apply(grudge, &applied).ok());
  EXPECT_EQ(applied, cluster_.names());
  EXPECT_EQ(cluster_.node(0).IptablesCalls(),
            (std::vector<std::string>{
                "-S", "-A FAULTLINE -s 10.0.0.2 -j DROP", "-A FAULTLINE -s 10.0.0.3 -j DROP",
                "-A FAULTLINE -s 10.0.0.4 -j DROP", "-A FAULTLINE -s 10.0.0.5 -j DROP"}));
  EXPECT_EQ(cluster_.node(2).iptables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s 10.0.0.1/32 -j DROP"}));
  EXPECT_EQ(cluster_.node(0).iptables().Rules("INPUT"),
            (std::vector<std::string>{kJump, "-A INPUT -s 192.0.2.7/32 -j DROP"}));

  ClearRecords();
  ASSERT_TRUE(fault.Heal().ok());
  EXPECT_EQ(cluster_.node(0).IptablesCalls(), (std::vector<std::string>{"-S", "-F FAULTLINE"}));
  EXPECT_TRUE(cluster_.node(0).iptables().Rules("FAULTLINE").empty());
  EXPECT_TRUE(cluster_.node(0).iptables().HasChain("FAULTLINE"));  // the lock stays

  ClearRecords();
  ASSERT_TRUE(fault.Teardown().ok());
  EXPECT_EQ(cluster_.node(0).IptablesCalls(),
            (std::vector<std::string>{
                "-S", "-D INPUT -m comment --comment faultline-run-t1 -j FAULTLINE",
                "-F FAULTLINE", "-X FAULTLINE"}));
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE"));
  // The other program's rule is still there, alone.
  EXPECT_EQ(cluster_.node(0).iptables().Rules("INPUT"),
            (std::vector<std::string>{"-A INPUT -s 192.0.2.7/32 -j DROP"}));
  // Torn down: nothing more is applied.
  EXPECT_FALSE(fault.Apply(grudge, nullptr).ok());
  EXPECT_FALSE(cluster_.node(0).iptables().HasChain("FAULTLINE"));
}

TEST_F(PartitionRules, ANewGrudgeReplacesTheOldRulesAndReusesTheChain) {
  PartitionFault fault = SetUpFault();
  ASSERT_TRUE(fault.Apply(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}), nullptr).ok());
  cluster_.node(1).remote().ClearRecords();
  ASSERT_TRUE(fault.Apply(CompleteGrudge({{"n1", "n2"}, {"n3", "n4", "n5"}}), nullptr).ok());
  EXPECT_EQ(cluster_.node(1).IptablesCalls(),
            (std::vector<std::string>{"-S", "-F FAULTLINE", "-A FAULTLINE -s 10.0.0.3 -j DROP",
                                      "-A FAULTLINE -s 10.0.0.4 -j DROP",
                                      "-A FAULTLINE -s 10.0.0.5 -j DROP"}));
  EXPECT_EQ(cluster_.node(1).iptables().Rules("INPUT"),
            (std::vector<std::string>{kJump}));  // one jump, not two
}

TEST_F(PartitionRules, ANodeThatDropsNothingCarriesNoDropRules) {
  PartitionFault fault = SetUpFault();
  Grudge grudge = CompleteGrudge({{"n1", "n2"}, {"n4", "n5"}});
  grudge["n3"];  // the bridge
  std::vector<std::string> applied;
  ASSERT_TRUE(fault.Apply(grudge, &applied).ok());
  EXPECT_EQ(applied, (std::vector<std::string>{"n1", "n2", "n4", "n5"}));
  EXPECT_TRUE(cluster_.node(2).iptables().Rules("FAULTLINE").empty());
  EXPECT_EQ(cluster_.node(2).IptablesCalls(), (std::vector<std::string>{"-S"}));
}

TEST_F(PartitionRules, HealAndTeardownAreIdempotent) {
  PartitionFault fault = SetUpFault();
  ASSERT_TRUE(fault.Heal().ok());
  EXPECT_EQ(cluster_.node(4).IptablesCalls(), (std::vector<std::string>{"-S"}));
  ASSERT_TRUE(fault.Apply(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}), nullptr).ok());
  ASSERT_TRUE(fault.Heal().ok());
  ASSERT_TRUE(fault.Heal().ok());
  ASSERT_TRUE(fault.Teardown().ok());
  ClearRecords();
  ASSERT_TRUE(fault.Teardown().ok());
  ASSERT_TRUE(fault.Heal().ok());
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(cluster_.node(i).IptablesCalls().empty());  // nothing held, nothing sent
    EXPECT_EQ(cluster_.node(i).iptables().Listing(),
              "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n");
  }
}

TEST_F(PartitionRules, AFailedRuleNamesTheNodeAndTheCommandAndHealStillCleans) {
  PartitionFault fault = SetUpFault();
  cluster_.node(3).FailIptablesWith("-s 10.0.0.1");
  std::vector<std::string> applied;
  Status status = fault.Apply(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}), &applied);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("n4"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("iptables -w -A FAULTLINE -s 10.0.0.1 -j DROP"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(applied, (std::vector<std::string>{"n1", "n2", "n3", "n5"}));
  ASSERT_TRUE(fault.Heal().ok());
  ASSERT_TRUE(fault.Teardown().ok());
  EXPECT_FALSE(cluster_.node(3).iptables().HasChain("FAULTLINE"));
}

// --- IPv6: partitioned with ip6tables too, or refused ---

// n1..n5 with the global (ULA) address fd00::N on an interface, names resolving to IPv4 only.
void AddGlobalIpv6(FakeCluster& cluster) {
  for (size_t i = 0; i < 5; ++i) {
    cluster.node(i).AddInterfaceAddress("fd00::" + std::to_string(i + 1));
  }
}

TEST_F(PartitionRules, NodesWithGlobalIpv6ArePartitionedWithIp6tablesToo) {
  AddGlobalIpv6(cluster_);
  PartitionFault fault(RunOptions());
  ASSERT_TRUE(fault.Setup(test_, cluster_.remotes()).ok());
  EXPECT_EQ(fault.ipv6_addresses().at("n1").at("n2"), std::set<std::string>{"fd00::2"});
  EXPECT_EQ(cluster_.node(0).IptablesCalls("ip6tables"),
            (std::vector<std::string>{
                "-S", "-N FAULTLINE",
                "-I INPUT -m comment --comment faultline-run-t1 -j FAULTLINE"}));
  ClearRecords();
  ASSERT_TRUE(fault.Apply(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}), nullptr).ok());
  EXPECT_EQ(cluster_.node(0).IptablesCalls("ip6tables"),
            (std::vector<std::string>{"-S", "-A FAULTLINE -s fd00::2 -j DROP",
                                      "-A FAULTLINE -s fd00::3 -j DROP",
                                      "-A FAULTLINE -s fd00::4 -j DROP",
                                      "-A FAULTLINE -s fd00::5 -j DROP"}));
  EXPECT_EQ(cluster_.node(3).ip6tables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s fd00::1/128 -j DROP"}));
  EXPECT_EQ(cluster_.node(3).iptables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s 10.0.0.1/32 -j DROP"}));
  ASSERT_TRUE(fault.Heal().ok());
  EXPECT_TRUE(cluster_.node(3).ip6tables().Rules("FAULTLINE").empty());
  ASSERT_TRUE(fault.Teardown().ok());
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_FALSE(cluster_.node(i).ip6tables().HasChain("FAULTLINE"));
    EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE"));
  }
}

TEST(PartitionIpv6, NamesThatResolveToIpv6AreDroppedAtEveryAddress) {
  // Names resolve to both families; only n2 also has another global address on an interface.
  std::map<std::string, std::string> hosts = {{"n1", "10.0.0.1 2001:db8::1"},
                                              {"n2", "10.0.0.2 2001:db8:0:0::2"},
                                              {"n3", "10.0.0.3 ::ffff:10.0.0.3"}};
  fakes::FakeNode n1("n1", hosts, "10.0.0.100"), n2("n2", hosts, "10.0.0.100"),
      n3("n3", hosts, "10.0.0.100");
  n2.AddInterfaceAddress("2001:db8:1::2");
  faultline::Test test;
  test.options.nodes = {"n1", "n2", "n3"};
  PartitionFault fault(RunOptions());
  ASSERT_TRUE(fault.Setup(test, {&n1.remote(), &n2.remote(), &n3.remote()}).ok());
  ASSERT_TRUE(fault.Apply(CompleteGrudge({{"n1"}, {"n2", "n3"}}), nullptr).ok());
  // n1 drops n2 at its resolved and its interface address (canonical form); n3's name resolves
  // only to an IPv4-mapped address, which is IPv4 traffic.
  EXPECT_EQ(n1.ip6tables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s 2001:db8:1::2/128 -j DROP",
                                      "-A FAULTLINE -s 2001:db8::2/128 -j DROP"}));
  EXPECT_EQ(n3.ip6tables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s 2001:db8::1/128 -j DROP"}));
  EXPECT_EQ(n3.iptables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s 10.0.0.1/32 -j DROP"}));
  ASSERT_TRUE(fault.Teardown().ok());
  for (fakes::FakeNode* node : {&n1, &n2, &n3}) {
    EXPECT_FALSE(node->ip6tables().HasChain("FAULTLINE"));
  }
}

TEST_F(PartitionRules, ANodeThatTalksIpv6WithoutIp6tablesIsRefusedAndNothingIsTaken) {
  cluster_.node(2).AddInterfaceAddress("2001:db8::3");
  cluster_.node(2).SetHasIp6tables(false);
  PartitionFault fault(RunOptions());
  Status status = fault.Setup(test_, cluster_.remotes());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("n3 talks IPv6"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("2001:db8::3"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("ip6tables"), std::string::npos) << status.message();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE")) << i;
    EXPECT_FALSE(cluster_.node(i).ip6tables().HasChain("FAULTLINE")) << i;
  }
  EXPECT_FALSE(fault.Apply(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}), nullptr).ok());
}

TEST(PartitionIpv6, NeverDropsTheControllersIpv6Address) {
  // The controller reaches the nodes over IPv6 from n2's address.
  std::map<std::string, std::string> hosts = {{"n1", "10.0.0.1 fd00::1"},
                                              {"n2", "10.0.0.2 fd00::2"}};
  fakes::FakeNode n1("n1", hosts, "fd00::2"), n2("n2", hosts, "fd00::2");
  faultline::Test test;
  test.options.nodes = {"n1", "n2"};
  PartitionFault fault(RunOptions());
  Status status = fault.Setup(test, {&n1.remote(), &n2.remote()});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("controller"), std::string::npos) << status.message();
}

// --- one run at a time on a node; chains of others are never touched ---

TEST_F(PartitionRules, ASecondRunIsRefusedAndItsHealAndTeardownLeaveTheFirstRunsRules) {
  PartitionFault first = SetUpFault(RunOptions("first"));
  ASSERT_TRUE(first.Apply(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}), nullptr).ok());
  const std::string before = cluster_.node(1).iptables().Listing();

  PartitionFault second(RunOptions("second"));
  Status refused = second.Setup(test_, cluster_.remotes());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("another faultline run (first, this is second)"),
            std::string::npos)
      << refused.message();
  EXPECT_FALSE(second.Apply(CompleteGrudge({{"n1", "n2"}, {"n3", "n4", "n5"}}), nullptr).ok());
  EXPECT_TRUE(second.Heal().ok());
  EXPECT_TRUE(second.Teardown().ok());
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(cluster_.node(i).iptables().Listing(), before) << i;
  }
  ASSERT_TRUE(first.Teardown().ok());
  EXPECT_TRUE(second.Setup(test_, cluster_.remotes()).ok());  // free again
  EXPECT_TRUE(second.Teardown().ok());
}

TEST_F(PartitionRules, ARefusedSetupGivesBackTheChainsItTookOnOtherNodes) {
  // Another run holds only n4 (it runs on other nodes that include n4).
  PartitionFault other(RunOptions("other"));
  faultline::Test other_test;
  other_test.options.nodes = {"n4"};
  ASSERT_TRUE(other.Setup(other_test, {&cluster_.node(3).remote()}).ok());
  PartitionFault fault(RunOptions());
  ASSERT_FALSE(fault.Setup(test_, cluster_.remotes()).ok());
  for (size_t i : {0u, 1u, 2u, 4u}) {
    EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE")) << i;
  }
  EXPECT_EQ(cluster_.node(3).iptables().Rules("INPUT"),
            (std::vector<std::string>{
                "-A INPUT -m comment --comment faultline-run-other -j FAULTLINE"}));
  ASSERT_TRUE(other.Teardown().ok());
}

TEST_F(PartitionRules, AChainFaultlineDidNotCreateIsRefusedAndLeftUntouched) {
  fakes::IptablesModel& firewall = cluster_.node(2).iptables();
  firewall.AddForeign("FAULTLINE", "-A FAULTLINE -s 192.0.2.9/32 -j ACCEPT");
  firewall.AddForeign("INPUT", "-A INPUT -j FAULTLINE");
  const std::string before = firewall.Listing();
  PartitionFault fault(RunOptions());
  Status status = fault.Setup(test_, cluster_.remotes());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("n3: iptables chain FAULTLINE exists but was not created by "
                                  "faultline"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(firewall.Listing(), before);
  EXPECT_TRUE(fault.Heal().ok());
  EXPECT_TRUE(fault.Teardown().ok());
  EXPECT_EQ(firewall.Listing(), before);
  for (size_t i : {0u, 1u, 3u, 4u}) {
    EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE")) << i;
  }
  // The lower-level calls refuse it too, changing nothing.
  EXPECT_FALSE(RemoveRules(cluster_.node(2).remote(), IpFamily::kIpv4, "", false).ok());
  EXPECT_FALSE(FlushRules(cluster_.node(2).remote(), IpFamily::kIpv4, "t1", false).ok());
  EXPECT_FALSE(
      ApplyRules(cluster_.node(2).remote(), IpFamily::kIpv4, "t1", {"10.0.0.1"}, false).ok());
  EXPECT_EQ(firewall.Listing(), before);
}

TEST_F(PartitionRules, OurChainAlsoReachedByAnotherProgramsRuleIsRefused) {
  PartitionFault fault = SetUpFault();
  ASSERT_TRUE(fault.Apply(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}), nullptr).ok());
  cluster_.node(0).iptables().AddForeign("FORWARD", "-A FORWARD -j FAULTLINE");
  const std::string before = cluster_.node(0).iptables().Listing();
  Status healed = fault.Heal();
  ASSERT_FALSE(healed.ok());
  EXPECT_NE(healed.message().find("-A FORWARD -j FAULTLINE"), std::string::npos)
      << healed.message();
  EXPECT_EQ(cluster_.node(0).iptables().Listing(), before);
  EXPECT_TRUE(cluster_.node(1).iptables().Rules("FAULTLINE").empty());  // the others healed
}

TEST(PartitionRunId, FreshIdsDifferAndUnsafeOnesAreRefused) {
  EXPECT_NE(NewRunId(), NewRunId());
  EXPECT_TRUE(CheckRunId(NewRunId()).ok());
  PartitionFault fault(PartitionOptions{});
  EXPECT_TRUE(CheckRunId(fault.run_id()).ok());
  for (const char* bad : {"", "a b", "x\"y", "a/b", "0123456789012345678901234567890123456789x"}) {
    EXPECT_FALSE(CheckRunId(bad).ok()) << bad;
  }
  FakeCluster cluster(2);
  faultline::Test test;
  test.options.nodes = cluster.names();
  PartitionFault unsafe(RunOptions("a b"));
  EXPECT_FALSE(unsafe.Setup(test, cluster.remotes()).ok());
  EXPECT_TRUE(cluster.node(0).IptablesCalls().empty());
}

TEST(PartitionSafety, NeverDropsTheControllerAsTheNodeSeesIt) {
  // n3's address is where the nodes' ssh sessions come from: the controller runs on n3.
  FakeCluster cluster(5, FakeCluster::Address(3));
  faultline::Test test;
  test.options.nodes = cluster.names();
  PartitionFault fault(PartitionOptions{});
  Status status = fault.Setup(test, cluster.remotes());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("controller"), std::string::npos) << status.message();
}

TEST(PartitionSafety, NeverDropsAProtectedAddress) {
  FakeCluster cluster(5);
  faultline::Test test;
  test.options.nodes = cluster.names();
  PartitionFault fault(PartitionOptions{false, {FakeCluster::Address(2)}, "t1"});
  EXPECT_FALSE(fault.Setup(test, cluster.remotes()).ok());
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(cluster.node(i).iptables().HasChain("FAULTLINE"));
}

TEST(PartitionSafety, NeverDropsTheNodesOwnAddress) {
  // "alias" is n2 under another name (a test may name nodes by name or by address).
  std::map<std::string, std::string> hosts = {
      {"n1", "10.0.0.1"}, {"n2", "10.0.0.2"}, {"alias", "10.0.0.2"}};
  fakes::FakeNode n1("n1", hosts, "10.0.0.100"), n2("n2", hosts, "10.0.0.100"),
      alias("alias", hosts, "10.0.0.100");
  faultline::Test test;
  test.options.nodes = {"n1", "n2", "alias"};
  PartitionFault fault(PartitionOptions{});
  ASSERT_TRUE(fault.Setup(test, {&n1.remote(), &n2.remote(), &alias.remote()}).ok());
  ASSERT_TRUE(fault.Apply(CompleteGrudge({{"n1"}, {"n2"}, {"alias"}}), nullptr).ok());
  // n2 drops n1 and alias, but alias is n2 itself: only n1's rule.
  EXPECT_EQ(n2.iptables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s 10.0.0.1/32 -j DROP"}));
  EXPECT_EQ(n1.iptables().Rules("FAULTLINE"),
            (std::vector<std::string>{"-A FAULTLINE -s 10.0.0.2/32 -j DROP"}));  // one, not two
}

TEST(PartitionSafety, SetupFailsClearlyWithoutSessionsOrNames) {
  faultline::Test test;
  test.options.nodes = {"n1", "n2"};
  PartitionFault fault(PartitionOptions{});
  Status no_sessions = fault.Setup(test, {nullptr, nullptr});
  ASSERT_FALSE(no_sessions.ok());
  EXPECT_NE(no_sessions.message().find("no session to node n1"), std::string::npos);
  EXPECT_TRUE(fault.Heal().ok());  // nothing to heal, and no crash on the missing sessions

  fakes::FakeNode n1("n1", {{"n1", "10.0.0.1"}}, "");
  fakes::FakeNode n2("n2", {{"n1", "10.0.0.1"}}, "");
  Status unresolved = fault.Setup(test, {&n1.remote(), &n2.remote()});
  ASSERT_FALSE(unresolved.ok());
  EXPECT_NE(unresolved.message().find("cannot resolve n2"), std::string::npos)
      << unresolved.message();
}

TEST(PartitionSafety, SudoReachesTheCommand) {
  control::Command command = IptablesCommand({"-S"}, true);
  EXPECT_TRUE(command.sudo);
  EXPECT_EQ(command.argv, (std::vector<std::string>{"iptables", "-w", "-S"}));
  EXPECT_EQ(IptablesCommand({"-S"}, true, IpFamily::kIpv6).argv,
            (std::vector<std::string>{"ip6tables", "-w", "-S"}));
}

}  // namespace
}  // namespace faultline::nemesis
