// Packet faults on the real local cluster (this kernel has no netem, so the fallback: iptables
// loss and faultline-shaper on NFQUEUE): the measured round trip and loss of UDP probes between
// two nodes match the request, pairs not named stay as they were, the controller's ssh is not
// slowed, healing restores everything, and nothing (rule, qdisc, shaper) is left behind.
// Needs root; takes the machine-wide cluster lock.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "generators/combinators.h"
#include "nemesis/internal.h"
#include "nemesis/local_cluster_fixture.h"
#include "nemesis/nemesis.h"
#include "nemesis/packet/packet.h"

namespace faultline::nemesis {
namespace {

namespace fs = std::filesystem;

// Echoes UDP datagrams on $1:$2 until "quit" or $3 idle seconds.
constexpr char kEchoServer[] = R"py(import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[3]))
try:
    while True:
        data, peer = s.recvfrom(2048)
        if data == b"quit":
            break
        s.sendto(data, peer)
except socket.timeout:
    pass
)py";

// Sends $3 numbered datagrams to $1:$2, one every $4 s, and prints how many came back, how many
// twice, how many after a later one, and the median round trip in ms.
constexpr char kProbeClient[] = R"py(import json, socket, sys, time
host, port, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
time.sleep(0.5)
sent, rtts, seen, duplicates, late, last = {}, [], set(), 0, 0, -1
def drain(until):
    global duplicates, late, last
    while True:
        remaining = until - time.monotonic()
        if remaining <= 0:
            return
        s.settimeout(remaining)
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            return
        i = int(data)
        if i in seen:
            duplicates += 1
            continue
        seen.add(i)
        rtts.append((time.monotonic() - sent[i]) * 1000)
        late += i < last
        last = max(last, i)
start = time.monotonic()
for i in range(count):
    sent[i] = time.monotonic()
    s.sendto(str(i).encode(), (host, port))
    drain(start + (i + 1) * interval)
drain(time.monotonic() + 1.5)
s.sendto(b"quit", (host, port))
rtts.sort()
print(json.dumps({"received": len(seen), "duplicates": duplicates, "late": late,
                  "median_ms": rtts[len(rtts) // 2] if rtts else -1}))
)py";

struct Probe {
  int sent = 0;
  int received = 0;
  int duplicates = 0;
  int late = 0;
  double median_ms = -1;
  double loss() const { return 1.0 - static_cast<double>(received) / sent; }
};

class NemesisClusterPacketTest : public LocalClusterTest {
 protected:
  // UDP probes from node `from` to node `to` (indexes), `count` of them `interval_s` apart.
  Probe Measure(size_t from, size_t to, int count, double interval_s) {
    const std::string address = info_.nodes[to].address;
    const std::string port = "40917";
    std::string out;
    Status probed = Combine(InParallel(2, [&](size_t side) {
      control::Command command;
      if (side == 0) {
        command.argv = {"timeout", "60", "/usr/bin/python3", "-c", kEchoServer, address, port, "4"};
        return control::Run(*remotes_[to], command).status();
      }
      command.argv = {"timeout",
                      "60",
                      "/usr/bin/python3",
                      "-c",
                      kProbeClient,
                      address,
                      port,
                      std::to_string(count),
                      std::to_string(interval_s)};
      Result<control::CommandResult> result = control::Run(*remotes_[from], command);
      if (result.ok()) out = result->out;
      return result.status();
    }));
    EXPECT_TRUE(probed.ok()) << probed.message();
    Probe probe;
    probe.sent = count;
    if (!probed.ok()) return probe;
    const Json json = Json::parse(out);
    probe.received = json["received"];
    probe.duplicates = json["duplicates"];
    probe.late = json["late"];
    probe.median_ms = json["median_ms"];
    std::cout << info_.nodes[from].name << " -> " << info_.nodes[to].name << ": " << out;
    return probe;
  }

  Op Start(const Json& edges, const Json& behaviour) {
    Op op = gen::MakeOp("start-packet",
                        {{"target", "pairs"}, {"edges", edges}, {"behaviour", behaviour}});
    op.process = kNemesisProcess;
    return op;
  }
  Op Stop() {
    Op op = gen::MakeOp("stop-packet");
    op.process = kNemesisProcess;
    return op;
  }

  // No FAULTLINE-PACKET rule (`rules_only`) or chain, no fa17: qdisc on any node, and no
  // faultline-shaper process or pid file on the machine.
  void ExpectNothingLeft(bool rules_only) {
    for (size_t i = 0; i < remotes_.size(); ++i) {
      control::Command listing;
      listing.argv = {"sh", "-c", "iptables -w -S; tc qdisc show"};
      Result<control::CommandResult> result = control::Run(*remotes_[i], listing);
      ASSERT_TRUE(result.ok()) << result.status().message();
      const std::string what = rules_only ? "-A FAULTLINE-PACKET" : "FAULTLINE-PACKET";
      EXPECT_EQ(result->out.find(what), std::string::npos) << info_.nodes[i].name << ":\n"
                                                           << result->out;
      EXPECT_EQ(result->out.find(kPacketQdisc), std::string::npos) << result->out;
    }
    // The nodes share this machine's process table and /tmp.
    for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
      std::ifstream comm(entry.path() / "comm");
      std::string name;
      if (!(comm >> name) || name != kShaperComm) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string pid, command, state;
      stat >> pid >> command >> state;
      EXPECT_EQ(state, "Z") << "a shaper still runs: pid " << entry.path().filename().string();
    }
    for (const fs::directory_entry& entry : fs::directory_iterator("/tmp")) {
      EXPECT_EQ(entry.path().filename().string().rfind("faultline-shaper-", 0), std::string::npos)
          << entry.path();
    }
  }

  Result<NemesisPackage> Build() {
    NemesisOptions options;
    options.faults = {"packet"};
    options.nodes = test_.options.nodes;
    options.protected_addresses = {cluster::kControllerAddress};
    return BuildNemesis(options);
  }
};

// Tolerances: the round trip is the base (< 2 ms here) plus the delay, measured by a Python
// client whose timer adds a few ms: +-15 ms. Loss over 400 probes at 30%: the binomial standard
// deviation is 2.3 points; +-8 points is 3.5 of them.
TEST_F(NemesisClusterPacketTest, DelayAndLossOnOnePairMatchTheRequestAndHealRestoresIt) {
  Result<NemesisPackage> package = Build();
  ASSERT_TRUE(package.ok()) << package.status().message();
  Nemesis& nemesis = *package->nemesis;
  ASSERT_TRUE(nemesis.Setup(test_, node_remotes_).ok());
  const Probe before = Measure(0, 1, 40, 0.01);
  EXPECT_EQ(before.received, 40);
  EXPECT_LT(before.median_ms, 10);

  Op delayed = nemesis.Invoke(test_, Start({{"n1", {"n2"}}}, {{"delay_ms", 100}}));
  ASSERT_EQ(delayed.type, OpType::kOk) << delayed.ToJson().dump();
  EXPECT_EQ(delayed.value["mechanisms"], (Json{{"n1", "nfqueue"}})) << "this kernel has no netem";
  const Probe slow = Measure(0, 1, 60, 0.01);
  EXPECT_EQ(slow.received, 60);
  EXPECT_NEAR(slow.median_ms, 100, 15);
  const Probe other = Measure(2, 3, 40, 0.01);  // a pair not named
  EXPECT_EQ(other.received, 40);
  EXPECT_LT(other.median_ms, 10);
  ASSERT_EQ(nemesis.Invoke(test_, Stop()).type, OpType::kOk);
  ExpectNothingLeft(/*rules_only=*/true);
  EXPECT_LT(Measure(0, 1, 40, 0.01).median_ms, 10);

  Op lossy = nemesis.Invoke(test_, Start({{"n1", {"n2"}}}, {{"loss", 0.3}}));
  ASSERT_EQ(lossy.type, OpType::kOk) << lossy.ToJson().dump();
  const Probe lost = Measure(0, 1, 400, 0.004);
  EXPECT_NEAR(lost.loss(), 0.3, 0.08);
  EXPECT_EQ(Measure(2, 3, 100, 0.004).received, 100);
  ASSERT_EQ(nemesis.Invoke(test_, Stop()).type, OpType::kOk);
  EXPECT_EQ(Measure(0, 1, 100, 0.004).received, 100);

  ASSERT_TRUE(nemesis.Teardown(test_).ok());
  ExpectNothingLeft(/*rules_only=*/false);
}

// A node as a whole: everything it sends to other nodes is delayed, duplicated and reordered;
// other pairs and the controller's ssh to it are not slowed. Teardown right after the start
// (no stop) still leaves nothing behind.
TEST_F(NemesisClusterPacketTest, ANodeAsAWholeIsShapedButNotTheControllersSsh) {
  Result<NemesisPackage> package = Build();
  ASSERT_TRUE(package.ok()) << package.status().message();
  Nemesis& nemesis = *package->nemesis;
  ASSERT_TRUE(nemesis.Setup(test_, node_remotes_).ok());
  Op started = nemesis.Invoke(
      test_, Start({{"n3", {"n1", "n2", "n4", "n5"}}},
                   {{"delay_ms", 80}, {"jitter_ms", 10}, {"duplicate", 0.2}, {"reorder", 0.3}}));
  ASSERT_EQ(started.type, OpType::kOk) << started.ToJson().dump();
  const Probe shaped = Measure(2, 0, 100, 0.01);
  // 70% of the packets wait 80+-10 ms, the reordered 30% go at once: the median is delayed.
  EXPECT_NEAR(shaped.median_ms, 80, 15);
  EXPECT_GT(shaped.duplicates, 5) << "20% of 100 duplicated";
  EXPECT_LT(shaped.duplicates, 40);
  EXPECT_GT(shaped.late, 5) << "reordered packets overtake delayed ones";
  EXPECT_LT(Measure(4, 1, 40, 0.01).median_ms, 10);  // n5 -> n2, not named

  // The controller's ssh to n3: a command's round trip stays fast.
  control::Command nothing;
  nothing.argv = {"true"};
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(control::Run(*remotes_[2], nothing).ok());
  const double each_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count() /
      5;
  EXPECT_LT(each_ms, 40) << "the controller's ssh is shaped";

  ASSERT_TRUE(nemesis.Teardown(test_).ok());
  ExpectNothingLeft(/*rules_only=*/false);
  EXPECT_LT(Measure(2, 0, 40, 0.01).median_ms, 10);
}

}  // namespace
}  // namespace faultline::nemesis
