// Packet faults (registered as "packet"): delay with jitter, loss, duplication, reordering and
// rate limits on chosen directed node pairs, or on everything a node sends to the other nodes
// (docs/nemesis.md, "Packet faults").
//
// The start value says exactly what is done: {"target": "pairs" | "node", "edges": {"n1":
// ["n2"], ...}, "behaviour": {"delay_ms", "jitter_ms", "loss", "duplicate", "reorder",
// "rate_kbit"}}. An edge n1 -> n2 shapes the packets n1 sends to n2 (egress), so a round trip
// between n1 and n2 crosses it once: its delay adds once, its loss counts once. The controller's
// traffic is never shaped: only packets to the nodes' own addresses are matched, and Setup
// refuses a node whose address is a protected (controller's) one.
//
// Two mechanisms, chosen per node at Setup:
// - netem, where the kernel has it (detected by adding a netem qdisc to lo and removing it at
//   once): on each interface towards a shaped peer, a root htb qdisc with handle fa17: whose
//   unclassified traffic passes unshaped (default 0), one class fa17:1 (the rate, or 10 Gbit
//   when none is asked) holding a netem qdisc fa18: with the behaviour, and one u32 filter per
//   shaped peer address sending its packets to fa17:1.
// - Where netem is missing (this project's local cluster): loss, delay, jitter, duplication and
//   reordering through faultline-shaper (nemesis/packet/shaper/) bound to NFQUEUE queue
//   kQueueNumber, reached by `-j NFQUEUE --queue-bypass` (packets flow unshaped if it dies);
//   the rate through the same htb class without netem. Loss is the shaper's NF_DROP verdict, not
//   an iptables `-m statistic ... -j DROP` in OUTPUT: that fails the sender's send with EPERM
//   (measured: a UDP sender's sendto raised it), which no lossy wire does.
// The iptables rules live in the filter table's chain FAULTLINE-PACKET reached from OUTPUT by
// one jump marked with the run id (partition.h's own-chain rules: the chain is the run's lock on
// the node; a chain of another run or program is refused and left alone). A qdisc is only
// added where the interface's root qdisc is the kernel's default (handle 0:) or this fault's
// own (fa17:); anything else is another program's and the start is refused.
//
// Stop and HealAll, whatever state a start left (a lost completion, a half-applied start):
// flush the chain, stop the shaper by the pid file it was started with (only after checking
// /proc/<pid>/comm is faultline-shape and its command line carries this run id; SIGTERM, then
// SIGKILL after 3 s), and delete every root qdisc with handle fa17:. HealAll also removes the
// chain and its jump.
//
// The shaper binary must exist at the same path on every node without netem: on the local
// cluster the nodes share the controller's filesystem, so the built one works; on remote nodes
// it has to be installed there (with libnetfilter-queue1), or Setup refuses, naming the node and
// the path.
//
// IPv4 only: peers are matched by their IPv4 address as the node resolves them.
//
// Thread safety: the draw and the builders are pure. PacketFault is used by one thread at a
// time; it runs the nodes' commands in parallel.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"
#include "nemesis/fault.h"
#include "nemesis/partition/partition.h"
#include "runner/control/remote.h"
#include "runner/test.h"

namespace faultline::nemesis {

inline constexpr char kPacketChain[] = "FAULTLINE-PACKET";
inline constexpr char kPacketQdisc[] = "fa17:";           // the root htb qdisc's handle
inline constexpr char kPacketClass[] = "fa17:1";          // its one shaped class
inline constexpr char kNetemQdisc[] = "fa18:";            // the netem qdisc inside that class
inline constexpr int kQueueNumber = 6417;                 // the shaper's NFQUEUE queue
inline constexpr uint32_t kDuplicateMark = 0xfa17;        // the shaper's copies, let through
inline constexpr char kShaperComm[] = "faultline-shape";  // /proc/<pid>/comm of the shaper

const OwnChainSpec& PacketChain();  // FAULTLINE-PACKET from OUTPUT

struct PacketBehaviour {
  int delay_ms = 0;
  int jitter_ms = 0;  // the delay varies uniformly by +- this much
  double loss = 0;    // fractions of the packets, in [0, 1)
  double duplicate = 0;
  double reorder = 0;  // sent at once, overtaking the delayed ones (needs a delay)
  int rate_kbit = 0;   // 0: no limit

  // Whether the NFQUEUE shaper is needed where there is no netem.
  bool NeedsShaper() const { return delay_ms > 0 || loss > 0 || duplicate > 0 || reorder > 0; }
  bool operator==(const PacketBehaviour&) const = default;
};

Json BehaviourToJson(const PacketBehaviour& behaviour);
// InvalidArgument naming the field when a value is missing, of the wrong type or out of range
// (delay and jitter 0-10000 ms, jitter at most the delay, fractions in [0, 1), reorder only with
// a delay, rate 0-10000000 kbit) or when the behaviour does nothing.
Result<PacketBehaviour> BehaviourFromJson(const Json& value);

// node -> the peers whose packets from that node are shaped.
using PacketEdges = std::map<std::string, std::set<std::string>>;
Json EdgesToJson(const PacketEdges& edges);
// InvalidArgument when a name is not one of `nodes`, a node names itself, or it shapes nothing.
Result<PacketEdges> EdgesFromJson(const Json& value, const std::vector<std::string>& nodes);

// What a start-packet may aim at (the choices --nemesis-targets picks among): "pair" (one
// random directed pair), "pairs" (two: another pair when there are 4 nodes, else the first pair
// both ways) and "node" (one node to every other node).
std::vector<std::string> PacketTargets();
// The value of a start-packet aimed at `target` (one of PacketTargets()): its edges, and one of
// the mixes delay (50-200 ms, jitter up to a fifth of it), loss (5-30%), delay with loss,
// duplication (5-20%, with 50 ms delay), reordering (20-40% of packets, 100 ms delay) and a rate
// limit (256-2048 kbit). Pure; needs 2 nodes.
Json DrawPacketValue(const std::vector<std::string>& nodes, const std::string& target,
                     gen::Rng& rng);

enum class PacketMechanism { kNetem, kNfqueue };
std::string_view ToString(PacketMechanism mechanism);  // "netem", "nfqueue"

// The tc commands (argv, "tc" first) that shape the packets to `addresses` on `interface`:
// htb root, class, netem (with kNetem) and one filter per address. Empty when the mechanism is
// kNfqueue and there is no rate.
std::vector<std::vector<std::string>> TcCommands(const std::string& interface,
                                                 const std::vector<std::string>& addresses,
                                                 const PacketBehaviour& behaviour,
                                                 PacketMechanism mechanism);
// The rules of FAULTLINE-PACKET for the fallback (each the arguments after -A <chain>): let the
// shaper's copies through, then per address the NFQUEUE jump.
std::vector<std::vector<std::string>> FallbackRules(const std::vector<std::string>& addresses,
                                                    const PacketBehaviour& behaviour);
// The shaper's command line for this behaviour.
std::vector<std::string> ShaperCommand(const std::string& shaper_path, const std::string& run_id,
                                       const PacketBehaviour& behaviour);
// Where the shaper keeps its pid and its log on `node` (they share /tmp on the local cluster).
std::string ShaperPidFile(const std::string& run_id, const std::string& node);
// The shaper next to this program (an installed or built faultline), else the build tree's.
std::string DefaultShaperPath();

struct PacketOptions {
  bool sudo = false;
  std::vector<std::string> protected_addresses;
  std::string run_id;       // empty: NewRunId()
  std::string shaper_path;  // empty: DefaultShaperPath()
};

class PacketFault : public Fault {
 public:
  explicit PacketFault(PacketOptions options);

  // Per node: resolves every node's address there and the interface towards it, refuses a
  // protected one, detects netem, checks the shaper binary where netem is missing, and takes
  // the node's FAULTLINE-PACKET chain. Holds nothing when it fails.
  Status Setup(const Test& test, const NodeRemotes& remotes) override;
  // Heals what a previous start left, then applies the value on every node that shapes
  // something; the completion's value adds "mechanisms": {node: "netem" | "nfqueue"} and, on a
  // partial failure, "edges" holds the nodes fully applied.
  FaultOutcome Start(const Test& test, const Json& value) override;
  FaultOutcome Stop(const Test& test) override;
  // Heal, then removes the chains.
  Status HealAll(const Test& test) override;

  // Flush the chain, stop the shaper, delete fa17: qdiscs, on every node; idempotent.
  Status Heal();
  const std::string& run_id() const { return options_.run_id; }
  // node -> its mechanism, after Setup.
  const std::map<std::string, PacketMechanism>& mechanisms() const { return mechanisms_; }

 private:
  struct NodeState {
    std::map<std::string, std::string> addresses;   // peer -> its IPv4 address here
    std::map<std::string, std::string> interfaces;  // peer -> the interface towards it
    PacketMechanism mechanism = PacketMechanism::kNfqueue;
    bool held = false;  // this run's chain is taken
  };
  Status ApplyNode(size_t index, const std::set<std::string>& peers,
                   const PacketBehaviour& behaviour);
  Status HealNode(size_t index);

  PacketOptions options_;
  std::vector<std::string> nodes_;
  NodeRemotes remotes_;
  std::vector<NodeState> states_;
  std::map<std::string, PacketMechanism> mechanisms_;
};

}  // namespace faultline::nemesis
