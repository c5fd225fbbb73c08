// Network partitions: grudges computed as pure functions of the nodes and the seeded RNG, applied
// as iptables (and ip6tables) rules in a chain of faultline's own on each node (docs/nemesis.md).
//
// A grudge maps a node to the nodes whose packets it drops. On a node, the rules live in the
// filter table's chain FAULTLINE, reached by one jump from INPUT that carries the mark of the run
// that created it (`-I INPUT -m comment --comment faultline-run-<run id> -j FAULTLINE`).
//
// The chain is also the run's lock on the node: Setup creates it on every node (`iptables -N` is
// atomic, so of two runs that start together one gets "Chain already exists") and Teardown
// removes it; in between, applying a grudge replaces the chain's rules (one
// `-A FAULTLINE -s <peer address> -j DROP` per dropped peer) and healing flushes them. A second
// run on the same nodes finds the chain marked with another run id and is refused at Setup: two
// runs would heal each other's partitions, and each would run its workload under faults its
// history does not record. A chain named FAULTLINE that no faultline mark points to belongs to
// somebody else: it is refused, never flushed or deleted. Nothing else on the node is touched,
// so rules that other software put there survive.
//
// Addresses. Peer addresses are resolved on the node itself (`getent ahosts`), because the names
// the test uses may resolve only there (the local cluster's n1..nN); the first IPv4 address is
// the peer's. A node talks IPv6 when it has an IPv6 address of global scope on an interface
// (/proc/net/if_inet6; loopback and link-local do not count) or resolves a node's name to an IPv6
// address; then the same grudge is applied with ip6tables, dropping every IPv6 address the peer
// resolves to there and every global one on the peer's interfaces. A node that talks IPv6
// without ip6tables is refused at Setup, naming the node and the address: an IPv4-only partition
// would let IPv6 traffic through and make a wrong "valid". A rule never names a protected
// address (the controller's: the address its ssh session comes from, plus any the caller lists)
// nor the node's own address: the controller must keep reaching every node whatever the
// partition.
//
// Everything uses the `iptables` / `ip6tables` commands only, never -legacy/-nft by name, so one
// backend is used consistently on a node (mixing them leaves rules one cannot see from the other).
//
// Thread safety: the grudge functions are pure. PartitionFault is used by one thread at a time
// (the composed nemesis serializes Invoke and Teardown); it runs the nodes' commands in parallel.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"
#include "nemesis/fault.h"
#include "runner/control/remote.h"
#include "runner/test.h"

namespace faultline::nemesis {

inline constexpr char kChain[] = "FAULTLINE";

// node -> the nodes whose packets it drops. A node absent or with an empty set drops nothing.
using Grudge = std::map<std::string, std::set<std::string>>;

enum class PartitionKind {
  kRandomHalves,    // two random halves (the smaller first) that cannot talk to each other
  kIsolateOne,      // one random node cut off from all the others
  kMajoritiesRing,  // every node sees a majority (itself included), no two the same majority
  kBridge,          // two halves that cannot talk, plus one node that talks to both
};

// A start whose value is {"kind": "isolate-primaries"} (offered when the database names its
// primaries) cuts the nodes that are primaries when it starts off from the others; the
// completion's value holds the drops it resolved.
inline constexpr char kIsolatePrimaries[] = "isolate-primaries";

std::string_view ToString(PartitionKind kind);  // "random-halves", "isolate-one", ...
std::optional<PartitionKind> ParsePartitionKind(std::string_view name);
// The kinds that make sense for this many nodes: halves and isolate-one need 2, the ring and
// the bridge 3 (with fewer, every node would see everybody).
std::vector<PartitionKind> PartitionKindsFor(size_t node_count);

// Every node drops every node outside its own component. Components must be disjoint.
Grudge CompleteGrudge(const std::vector<std::vector<std::string>>& components);
// The grudge of `kind` over `nodes`, drawn with rng; InvalidArgument when the kind needs more
// nodes (PartitionKindsFor) or a node name repeats.
Result<Grudge> MakeGrudge(PartitionKind kind, const std::vector<std::string>& nodes, gen::Rng& rng);

// {"n1": ["n3", "n4"], ...}, only nodes that drop something, peers sorted.
Json GrudgeToJson(const Grudge& grudge);
// The inverse; InvalidArgument when a name is not one of `nodes`, a node drops itself, or the
// shape is wrong.
Result<Grudge> GrudgeFromJson(const Json& drops, const std::vector<std::string>& nodes);

enum class IpFamily { kIpv4, kIpv6 };

// The comment on the jump from INPUT that marks the chain as faultline's: kMarkPrefix + run id.
inline constexpr char kMarkPrefix[] = "faultline-run-";

// The iptables (IPv4) or ip6tables (IPv6) command, for the remote and for tests that check them
// exactly.
control::Command IptablesCommand(std::vector<std::string> arguments, bool sudo,
                                 IpFamily family = IpFamily::kIpv4);
// A fresh run id: this process's pid and 32 random bits ("4242-9f3c01ab").
std::string NewRunId();
// InvalidArgument unless `run_id` is 1-40 characters of [A-Za-z0-9_-] (what iptables prints
// unquoted in a comment, so the mark reads back exactly).
Status CheckRunId(const std::string& run_id);

// Makes the node drop packets from exactly `addresses` (of `family`, already checked) in the
// chain of run `run_id`: creates the chain and the marked jump when missing, refuses a chain of
// another run or of another program, then replaces the chain's rules.
Status ApplyRules(control::Remote& remote, IpFamily family, const std::string& run_id,
                  const std::vector<std::string>& addresses, bool sudo);
// Flushes the chain of run `run_id`; ok when there is none. Refuses (and leaves alone) a chain of
// another run or program.
Status FlushRules(control::Remote& remote, IpFamily family, const std::string& run_id, bool sudo);
// Removes the marked jump(s) from INPUT and the chain, when the chain is run `run_id`'s, or any
// faultline run's when `run_id` is empty (`faultline cluster heal` after a killed controller);
// ok when there is no chain. A chain of another run (with a run id) or one that no faultline mark
// points to is refused and left untouched. Touches no other rule. Sets *removed_run (when given)
// to the run id whose chain was removed, empty when none was.
Status RemoveRules(control::Remote& remote, IpFamily family, const std::string& run_id, bool sudo,
                   std::string* removed_run = nullptr);
// A chain of faultline's own in the filter table, reached from the built-in chain `hook` by one
// jump marked with the run id (kMarkPrefix): the run's lock on the node and the only place its
// rules go. The partition's is FAULTLINE from INPUT; other faults name their own.
struct OwnChainSpec {
  std::string name;
  std::string hook;
};
const OwnChainSpec& PartitionChain();

// The generic forms of ApplyRules, FlushRules and RemoveRules for any such chain: take it
// (create with its marked jump, or check it is this run's), replace its rules (each rule the
// arguments after `-A <chain>`), flush it, remove it and its jumps. Same refusals as above.
Status TakeOwnChain(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                    const std::string& run_id, bool sudo);
Status ReplaceChainRules(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                         const std::string& run_id,
                         const std::vector<std::vector<std::string>>& rules, bool sudo);
Status FlushOwnChain(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                     const std::string& run_id, bool sudo);
Status RemoveOwnChain(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                      const std::string& run_id, bool sudo, std::string* removed_run = nullptr);

// A name's addresses by the node's own resolver (`getent ahosts`): the first IPv4 one and the
// routable IPv6 ones. IoError when it has no IPv4 address there.
struct Resolved {
  std::string ipv4;
  std::set<std::string> ipv6;
};
Result<Resolved> ResolveOnNode(control::Remote& remote, const std::string& name);
// The routable IPv6 addresses on the node's interfaces (/proc/net/if_inet6).
Result<std::set<std::string>> InterfaceIpv6(control::Remote& remote);
// The controller's addresses as the node sees them: the client end of the ssh session
// ($SSH_CLIENT); none when unknown.
std::set<std::string> ControllerAddresses(control::Remote& remote);

// Whether the node has ip6tables (on the PATH sudo uses, when `sudo`); an error when the check
// itself fails (sudo refused).
Result<bool> HasIp6tables(control::Remote& remote, bool sudo);

struct PartitionOptions {
  bool sudo = false;  // run iptables through sudo (nodes reached as a user other than root)
  // Addresses no rule may name, besides the controller's own as each node sees it ($SSH_CLIENT).
  std::vector<std::string> protected_addresses;
  // Marks this run's chains; empty: NewRunId().
  std::string run_id;
};

// The partition fault (registered as "partition"): start-partition's value is {"kind", "drops":
// a grudge as GrudgeToJson}, stop-partition heals every node.
class PartitionFault : public Fault {
 public:
  explicit PartitionFault(PartitionOptions options);

  // Resolves, on every node, the address of every node and of the controller, finds the nodes
  // that talk IPv6, then takes every node's chain (the lock above) for IPv4 and, where the node
  // talks IPv6, for IPv6. Fails, holding nothing, when a node has no session, a name does not
  // resolve, a node's address is protected, a node talks IPv6 without ip6tables, or a node's
  // chain belongs to another run or program.
  Status Setup(const Test& test, const NodeRemotes& remotes) override;
  // Applies the value's grudge (Apply; for isolate-primaries, the grudge of the primaries now);
  // on a partial failure the value's drops are what is in place: the nodes whose rules were
  // fully applied.
  FaultOutcome Start(const Test& test, const Json& value) override;
  // Heal, on every node: the value names them all.
  FaultOutcome Stop(const Test& test) override;
  // Teardown.
  Status HealAll(const Test&) override { return Teardown(); }
  // Applies the grudge on every node named in the test (a node absent from it drops nothing), in
  // parallel. *applied receives the nodes whose rules are fully in place.
  Status Apply(const Grudge& grudge, std::vector<std::string>* applied);
  // Flushes this run's rules on every node, whatever was applied, keeping the chains (the lock);
  // idempotent.
  Status Heal();
  // Removes this run's chains and jumps from every node (releasing the lock); idempotent. Apply
  // refuses afterwards.
  Status Teardown();

  const std::string& run_id() const { return options_.run_id; }
  // Node -> (node name -> its IPv4 address as that node resolves it); filled by Setup.
  const std::map<std::string, std::map<std::string, std::string>>& addresses() const {
    return addresses_;
  }
  // Node -> (node name -> the IPv6 addresses that node drops for it); only for nodes that talk
  // IPv6. Filled by Setup.
  const std::map<std::string, std::map<std::string, std::set<std::string>>>& ipv6_addresses()
      const {
    return ipv6_addresses_;
  }

 private:
  Result<std::vector<std::string>> DroppedAddresses(const std::string& node,
                                                    const std::set<std::string>& peers,
                                                    IpFamily family) const;
  std::vector<IpFamily> Families(const std::string& node) const;
  // Runs action(node index, family) for every chain held, nodes in parallel.
  Status ForEachHeld(const std::function<Status(size_t, IpFamily)>& action);

  PartitionOptions options_;
  std::vector<std::string> nodes_;
  NodeRemotes remotes_;
  std::map<std::string, std::map<std::string, std::string>> addresses_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> ipv6_addresses_;
  std::map<std::string, std::set<std::string>> protected_;  // node -> addresses never dropped
  std::map<std::string, std::set<IpFamily>> held_;          // node -> families whose chain we hold
};

}  // namespace faultline::nemesis
