// The packet fault through fake nodes: the draw, the exact tc commands where the node has netem,
// the exact iptables rules and shaper command line where it has not, healing whatever a start
// left, and leaving other programs' rules and qdiscs alone.
#include "nemesis/packet/packet.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nemesis/fake_nodes.h"

namespace faultline::nemesis {
namespace {

using fakes::FakeCluster;
using fakes::FakeNode;

constexpr char kShaper[] = "/opt/faultline/faultline-shaper";

std::string Join(const std::vector<std::string>& words, size_t from = 0) {
  std::string joined;
  for (size_t i = from; i < words.size(); ++i) joined += (i > from ? " " : "") + words[i];
  return joined;
}

// A node's tc (root qdiscs per interface, what was added below them), its routes (every peer
// through eth0), whether the kernel has netem, and a shaper process.
class TcNode {
 public:
  TcNode(FakeNode& node, bool netem) : node_(node), netem_(netem) {
    roots_["eth0"] = "noqueue 0:";
    roots_["lo"] = "noqueue 0:";
    node.SetHandler([this](const std::vector<std::string>& argv) { return Handle(argv); });
  }
  // Another program's root qdisc on `interface` ("tbf 1:").
  void SetRoot(const std::string& interface, const std::string& qdisc) {
    roots_[interface] = qdisc;
  }
  std::string Root(const std::string& interface) { return roots_[interface]; }
  void SetShaperInstalled(bool installed) { shaper_installed_ = installed; }
  // Every tc command that changes something, space-joined, in order.
  const std::vector<std::string>& changes() const { return changes_; }
  const std::vector<std::string>& children() const { return children_; }
  // The command line the shaper was started with (empty: none runs).
  const std::vector<std::string>& shaper() const { return shaper_; }
  const std::vector<std::string>& stop_calls() const { return stop_calls_; }

 private:
  using Answer = std::optional<control::CommandResult>;
  static control::CommandResult Ok(std::string out = "") { return {0, std::move(out), ""}; }
  static control::CommandResult Error(std::string err) { return {2, "", std::move(err)}; }

  Answer Handle(const std::vector<std::string>& argv) {
    if (argv.at(0) == "tc") return Tc(argv);
    if (argv.at(0) != "sh" || argv.size() < 4) return std::nullopt;
    const std::string& name = argv[3];
    if (name == "faultline-routes") {
      std::string out;
      for (size_t i = 4; i < argv.size(); ++i) {
        out += argv[i] + " dev eth0 src " + node_.remote().node() + "-address uid 0 \\    cache\n";
      }
      return Ok(out);
    }
    if (name == "faultline-netem-probe") {
      return Ok(std::string(netem_ ? "netem\n" : "no-netem\n") +
                (shaper_installed_ && argv.at(4) == kShaper ? "shaper\n" : "no-shaper\n"));
    }
    if (name == "faultline-shaper-start") {
      shaper_.assign(argv.begin() + 6, argv.end());
      pid_file_ = argv.at(4);
      return Ok("4242\n");
    }
    if (name == "faultline-shaper-stop") {
      stop_calls_.push_back(Join(argv, 4));
      // As the script: only the shaper started with that pid file and run id.
      if (!shaper_.empty() && argv.at(4) == pid_file_ &&
          std::find(shaper_.begin(), shaper_.end(), argv.at(5)) != shaper_.end()) {
        shaper_.clear();
        return Ok("stopped 4242\n");
      }
      return Ok();
    }
    return std::nullopt;
  }

  Answer Tc(const std::vector<std::string>& argv) {
    const std::string line = Join(argv, 1);
    if (line == "qdisc show") {
      std::string out;
      for (const auto& [interface, qdisc] : roots_) {
        std::vector<std::string> words = Words(qdisc);
        out += "qdisc " + words[0] + " " + words[1] + " dev " + interface + " root refcnt 2\n";
      }
      return Ok(out);
    }
    if (argv.size() == 6 && argv[1] == "qdisc" && argv[2] == "show" && argv[5] == "root") {
      return Ok("qdisc " + roots_[argv[4]] + " root refcnt 2\n");
    }
    changes_.push_back(line);
    const std::string& interface = argv.at(4);
    if (argv[1] == "qdisc" && argv[2] == "del" && argv.at(5) == "root") {
      roots_[interface] = "noqueue 0:";
      children_.clear();
      return Ok();
    }
    if (argv[1] == "qdisc" && argv[2] == "add" && argv.at(5) == "root") {
      if (Words(roots_[interface])[1] != "0:") return Error("Error: Exclusivity flag on.\n");
      roots_[interface] = argv.at(8) + " " + argv.at(7);
      return Ok();
    }
    if (Words(roots_[interface])[1] != kPacketQdisc) return Error("Error: Parent not found.\n");
    children_.push_back(line);
    return Ok();
  }

  static std::vector<std::string> Words(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream in(text);
    for (std::string word; in >> word;) words.push_back(word);
    return words;
  }

  FakeNode& node_;
  bool netem_;
  bool shaper_installed_ = true;
  std::map<std::string, std::string> roots_;
  std::vector<std::string> changes_;
  std::vector<std::string> children_;
  std::vector<std::string> shaper_;
  std::string pid_file_;
  std::vector<std::string> stop_calls_;
};

class PacketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_.options.nodes = cluster_.names();
    for (size_t i = 0; i < 3; ++i) {
      tc_.push_back(std::make_unique<TcNode>(cluster_.node(i), /*netem=*/i != 0));
    }
  }
  PacketFault MakeFault() { return PacketFault(PacketOptions{false, {}, "r1", kShaper}); }
  static Json Value(const Json& edges, const Json& behaviour) {
    return {{"target", "pairs"}, {"edges", edges}, {"behaviour", behaviour}};
  }
  std::vector<std::string> ChainRules(size_t node) {
    return cluster_.node(node).iptables().Rules(kPacketChain);
  }

  FakeCluster cluster_{3};
  std::vector<std::unique_ptr<TcNode>> tc_;
  faultline::Test test_;
};

TEST(PacketDrawTest, IsSeededAndDrawsEveryMixWithinItsRanges) {
  const std::vector<std::string> nodes = {"n1", "n2", "n3", "n4", "n5"};
  std::map<std::string, int> mixes;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    gen::Rng rng(seed), again(seed);
    const std::string target = PacketTargets()[seed % 3];
    const Json value = DrawPacketValue(nodes, target, rng);
    ASSERT_EQ(value, DrawPacketValue(nodes, target, again));
    EXPECT_EQ(value["target"], target);
    Result<PacketBehaviour> behaviour = BehaviourFromJson(value["behaviour"]);
    ASSERT_TRUE(behaviour.ok()) << behaviour.status().message() << value.dump();
    Result<PacketEdges> edges = EdgesFromJson(value["edges"], nodes);
    ASSERT_TRUE(edges.ok()) << edges.status().message();
    if (value["target"] == "node") {
      ASSERT_EQ(edges->size(), 1u);
      EXPECT_EQ(edges->begin()->second.size(), 4u) << value.dump();
    } else {
      size_t pairs = 0;
      for (const auto& [node, peers] : *edges) pairs += peers.size();
      EXPECT_EQ(pairs, target == "pair" ? 1u : 2u) << value.dump();
    }
    if (behaviour->delay_ms > 0) {
      EXPECT_GE(behaviour->delay_ms, 50);
      EXPECT_LE(behaviour->delay_ms, 200);
      EXPECT_LE(behaviour->jitter_ms * 5, behaviour->delay_ms);
    }
    if (behaviour->loss > 0) {
      EXPECT_GE(behaviour->loss, 0.05);
      EXPECT_LE(behaviour->loss, 0.30);
    }
    if (behaviour->loss > 0) ++mixes[behaviour->delay_ms > 0 ? "delay+loss" : "loss"];
    if (behaviour->duplicate > 0) ++mixes["duplicate"];
    if (behaviour->reorder > 0) ++mixes["reorder"];
    if (behaviour->rate_kbit > 0) ++mixes["rate"];
    if (behaviour->delay_ms > 0 && behaviour->loss == 0 && behaviour->duplicate == 0 &&
        behaviour->reorder == 0)
      ++mixes["delay"];
  }
  EXPECT_EQ(mixes.size(), 6u);
  for (const auto& [mix, count] : mixes) EXPECT_GT(count, 20) << mix;
}

TEST(PacketDrawTest, NonsenseBehavioursAreRefusedNamingTheField) {
  const std::map<std::string, Json> refused = {
      {"\"loss\"", {{"loss", 1.5}}},
      {"jitter_ms 50 is larger than delay_ms 10", {{"delay_ms", 10}, {"jitter_ms", 50}}},
      {"reorder needs a delay", {{"reorder", 0.2}}},
      {"unknown behaviour \"latency\"", {{"latency", 3}}},
      {"does nothing", Json::object()},
      {"\"delay_ms\"", {{"delay_ms", -1}}},
  };
  for (const auto& [message, value] : refused) {
    Result<PacketBehaviour> behaviour = BehaviourFromJson(value);
    ASSERT_FALSE(behaviour.ok()) << value.dump();
    EXPECT_NE(behaviour.status().message().find(message), std::string::npos)
        << behaviour.status().message();
  }
  EXPECT_FALSE(EdgesFromJson({{"n1", {"n1"}}}, {"n1", "n2"}).ok());
  EXPECT_FALSE(EdgesFromJson({{"n1", {"n9"}}}, {"n1", "n2"}).ok());
}

TEST_F(PacketTest, WithNetemTheNodeGetsExactlyTheseTcCommandsAndHealRemovesThem) {
  PacketFault fault = MakeFault();
  ASSERT_TRUE(fault.Setup(test_, cluster_.remotes()).ok());
  EXPECT_EQ(fault.mechanisms().at("n2"), PacketMechanism::kNetem);
  EXPECT_EQ(fault.mechanisms().at("n1"), PacketMechanism::kNfqueue);
  FaultOutcome started = fault.Start(
      test_, Value({{"n2", {"n1", "n3"}}},
                   {{"delay_ms", 100}, {"jitter_ms", 10}, {"loss", 0.1}, {"reorder", 0.25}}));
  ASSERT_TRUE(started.status.ok()) << started.status.message();
  EXPECT_EQ(started.value["mechanisms"], (Json{{"n2", "netem"}}));
  EXPECT_EQ(tc_[1]->changes(),
            (std::vector<std::string>{
                "qdisc add dev eth0 root handle fa17: htb default 0",
                "class add dev eth0 parent fa17: classid fa17:1 htb rate 10gbit",
                "qdisc add dev eth0 parent fa17:1 handle fa18: netem delay 100ms 10ms loss 10% "
                "reorder 25%",
                "filter add dev eth0 parent fa17: protocol ip prio 1 u32 match ip dst "
                "10.0.0.1/32 flowid fa17:1",
                "filter add dev eth0 parent fa17: protocol ip prio 1 u32 match ip dst "
                "10.0.0.3/32 flowid fa17:1"}));
  EXPECT_TRUE(ChainRules(1).empty()) << "netem needs no iptables rule";
  EXPECT_TRUE(tc_[0]->changes().empty());
  EXPECT_TRUE(tc_[2]->changes().empty());
  EXPECT_TRUE(tc_[1]->shaper().empty());

  ASSERT_TRUE(fault.Stop(test_).status.ok());
  EXPECT_EQ(tc_[1]->changes().back(), "qdisc del dev eth0 root");
  EXPECT_EQ(tc_[1]->Root("eth0"), "noqueue 0:");
  ASSERT_TRUE(fault.HealAll(test_).ok());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(cluster_.node(i).iptables().HasChain(kPacketChain));
    EXPECT_TRUE(cluster_.node(i).iptables().Rules("OUTPUT").empty());
  }
}

TEST_F(PacketTest, WithoutNetemLossAndDelayAreTheShapersOnNfqueueAndTheRateIsHtb) {
  PacketFault fault = MakeFault();
  ASSERT_TRUE(fault.Setup(test_, cluster_.remotes()).ok());
  EXPECT_EQ(cluster_.node(0).iptables().Rules("OUTPUT"),
            (std::vector<std::string>{
                "-A OUTPUT -m comment --comment faultline-run-r1 -j FAULTLINE-PACKET"}));
  FaultOutcome started = fault.Start(test_, Value({{"n1", {"n2", "n3"}}}, {{"delay_ms", 150},
                                                                           {"jitter_ms", 20},
                                                                           {"loss", 0.2},
                                                                           {"duplicate", 0.05},
                                                                           {"rate_kbit", 512}}));
  ASSERT_TRUE(started.status.ok()) << started.status.message();
  EXPECT_EQ(started.value["mechanisms"], (Json{{"n1", "nfqueue"}}));
  EXPECT_EQ(ChainRules(0),
            (std::vector<std::string>{
                "-A FAULTLINE-PACKET -m mark --mark 64023 -j RETURN",
                "-A FAULTLINE-PACKET -d 10.0.0.2/32 -j NFQUEUE --queue-num 6417 --queue-bypass",
                "-A FAULTLINE-PACKET -d 10.0.0.3/32 -j NFQUEUE --queue-num 6417 "
                "--queue-bypass"}));
  EXPECT_EQ(tc_[0]->shaper(),
            (std::vector<std::string>{kShaper, "--queue", "6417", "--run-id", "r1", "--delay-ms",
                                      "150", "--jitter-ms", "20", "--loss", "0.2", "--duplicate", "0.05",
                                      "--reorder", "0", "--mark", "64023"}));
  // The rate alone goes through tc: htb without netem.
  EXPECT_EQ(tc_[0]->changes(),
            (std::vector<std::string>{
                "qdisc add dev eth0 root handle fa17: htb default 0",
                "class add dev eth0 parent fa17: classid fa17:1 htb rate 512kbit",
                "filter add dev eth0 parent fa17: protocol ip prio 1 u32 match ip dst "
                "10.0.0.2/32 flowid fa17:1",
                "filter add dev eth0 parent fa17: protocol ip prio 1 u32 match ip dst "
                "10.0.0.3/32 flowid fa17:1"}));

  ASSERT_TRUE(fault.Stop(test_).status.ok());
  EXPECT_TRUE(ChainRules(0).empty());
  EXPECT_TRUE(tc_[0]->shaper().empty()) << "the shaper was not stopped";
  EXPECT_EQ(tc_[0]->stop_calls().back(), "/tmp/faultline-shaper-r1-n1.pid r1");
  EXPECT_EQ(tc_[0]->Root("eth0"), "noqueue 0:");
  EXPECT_TRUE(cluster_.node(0).iptables().HasChain(kPacketChain)) << "the lock stays until HealAll";
  ASSERT_TRUE(fault.HealAll(test_).ok());
  EXPECT_FALSE(cluster_.node(0).iptables().HasChain(kPacketChain));
}

TEST_F(PacketTest, HealAllUndoesAHalfAppliedStart) {
  PacketFault fault = MakeFault();
  ASSERT_TRUE(fault.Setup(test_, cluster_.remotes()).ok());
  cluster_.node(0).FailIptablesWith("NFQUEUE");  // after the shaper and the htb are in place
  FaultOutcome started = fault.Start(
      test_, Value({{"n1", {"n2"}}, {"n3", {"n1"}}}, {{"delay_ms", 100}, {"rate_kbit", 300}}));
  ASSERT_FALSE(started.status.ok());
  EXPECT_NE(started.status.message().find("simulated failure"), std::string::npos);
  EXPECT_EQ(started.value["edges"], (Json{{"n3", {"n1"}}})) << "only n3 is fully applied";
  ASSERT_FALSE(tc_[0]->shaper().empty());
  ASSERT_EQ(tc_[0]->Root("eth0"), "htb fa17:");

  cluster_.node(0).FailIptablesWith("");
  ASSERT_TRUE(fault.HealAll(test_).ok());
  EXPECT_TRUE(tc_[0]->shaper().empty());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(tc_[i]->Root("eth0"), "noqueue 0:") << i;
    EXPECT_FALSE(cluster_.node(i).iptables().HasChain(kPacketChain)) << i;
  }
  EXPECT_TRUE(fault.HealAll(test_).ok()) << "idempotent";
}

TEST_F(PacketTest, OtherProgramsRulesQdiscsAndProcessesAreLeftAlone) {
  cluster_.node(0).iptables().AddForeign("OUTPUT", "-A OUTPUT -d 192.0.2.1/32 -j ACCEPT");
  tc_[0]->SetRoot("eth1", "tbf 1:");
  PacketFault fault = MakeFault();
  ASSERT_TRUE(fault.Setup(test_, cluster_.remotes()).ok());
  ASSERT_TRUE(
      fault.Start(test_, Value({{"n1", {"n2"}}}, {{"loss", 0.3}, {"rate_kbit", 100}})).status.ok());
  EXPECT_FALSE(tc_[0]->shaper().empty()) << "the loss is the shaper's";
  ASSERT_TRUE(fault.HealAll(test_).ok());
  EXPECT_EQ(cluster_.node(0).iptables().Rules("OUTPUT"),
            (std::vector<std::string>{"-A OUTPUT -d 192.0.2.1/32 -j ACCEPT"}));
  EXPECT_EQ(tc_[0]->Root("eth1"), "tbf 1:");
  for (const std::string& change : tc_[0]->changes()) {
    EXPECT_EQ(change.find("eth1"), std::string::npos) << change;
  }
  // A shaper pid file of another run: the stop script is given this run's id, never another.
  for (const std::string& call : tc_[0]->stop_calls()) {
    EXPECT_EQ(call, "/tmp/faultline-shaper-r1-n1.pid r1");
  }

  // Another program's root qdisc on the interface to shape: refused, nothing changed.
  tc_[0]->SetRoot("eth0", "tbf 1:");
  PacketFault second = MakeFault();
  ASSERT_TRUE(second.Setup(test_, cluster_.remotes()).ok());
  const size_t changes = tc_[0]->changes().size();
  FaultOutcome refused = second.Start(test_, Value({{"n1", {"n2"}}}, {{"rate_kbit", 100}}));
  ASSERT_FALSE(refused.status.ok());
  EXPECT_NE(refused.status.message().find("eth0 has a root qdisc of another program"),
            std::string::npos)
      << refused.status.message();
  EXPECT_EQ(tc_[0]->Root("eth0"), "tbf 1:");
  EXPECT_EQ(tc_[0]->changes().size(), changes);
  ASSERT_TRUE(second.HealAll(test_).ok());
  EXPECT_EQ(tc_[0]->Root("eth0"), "tbf 1:");
}

TEST_F(PacketTest, SetupRefusesAProtectedPeerAndANodeWithoutNetemOrShaper) {
  PacketFault shaping_controller(PacketOptions{false, {"10.0.0.2"}, "r1", kShaper});
  Status refused = shaping_controller.Setup(test_, cluster_.remotes());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("node n2 has the protected (controller's) address 10.0.0.2"),
            std::string::npos)
      << refused.message();
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(cluster_.node(i).iptables().HasChain(kPacketChain));

  tc_[0]->SetShaperInstalled(false);
  PacketFault fault = MakeFault();
  refused = fault.Setup(test_, cluster_.remotes());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("n1 has no tc netem and no " + std::string(kShaper)),
            std::string::npos)
      << refused.message();
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(cluster_.node(i).iptables().HasChain(kPacketChain));
}

TEST(PacketKindTest, IsRegisteredAsPacket) {
  const FaultKind* kind = FindFaultKind("packet");
  ASSERT_NE(kind, nullptr);
  EXPECT_FALSE(kind->make(FaultOptions{{"n1"}}).ok());
  EXPECT_TRUE(kind->make(FaultOptions{{"n1", "n2"}}).ok());
}

}  // namespace
}  // namespace faultline::nemesis
