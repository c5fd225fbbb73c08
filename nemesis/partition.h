// Network partitions: grudges computed as pure functions of the nodes and the seeded RNG, applied
// as iptables rules in a chain of faultline's own on each node (docs/nemesis.md).
//
// A grudge maps a node to the nodes whose packets it drops. On a node, the rules live in the
// filter table's chain FAULTLINE, reached by one `-I INPUT -j FAULTLINE` jump; applying a grudge
// replaces the chain's rules (one `-A FAULTLINE -s <peer address> -j DROP` per dropped peer) and
// healing flushes and deletes exactly that chain and that jump, nothing else, so rules that other
// software put on the node survive. Peer addresses are resolved on the node itself (`getent
// ahostsv4`), because the names the test uses may resolve only there (the local cluster's
// n1..nN). A rule never names a protected address (the controller's: the address its ssh session
// comes from, plus any the caller lists) nor the node's own address: the controller must keep
// reaching every node whatever the partition.
//
// Everything uses the `iptables` command only, never iptables-legacy/-nft by name, so one backend
// is used consistently on a node (mixing them leaves rules one cannot see from the other).
//
// Thread safety: the grudge functions are pure. PartitionFault is used by one thread at a time
// (the composed nemesis serializes Invoke and Teardown); it runs the nodes' commands in parallel.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"
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

// The iptables commands, for the remote and for tests that check them exactly.
control::Command IptablesCommand(std::vector<std::string> arguments, bool sudo);
// Makes the node drop packets from exactly `addresses` (IPv4, already checked): creates the
// chain and the jump when missing, then replaces the chain's rules.
Status ApplyRules(control::Remote& remote, const std::vector<std::string>& addresses, bool sudo);
// Removes faultline's jump(s) from INPUT and its chain; ok when neither exists. Touches no other
// rule. Sets *removed (when given) to whether there was anything to remove.
Status RemoveRules(control::Remote& remote, bool sudo, bool* removed = nullptr);

struct PartitionOptions {
  bool sudo = false;  // run iptables through sudo (nodes reached as a user other than root)
  // Addresses no rule may name, besides the controller's own as each node sees it ($SSH_CLIENT).
  std::vector<std::string> protected_addresses;
};

class PartitionFault {
 public:
  explicit PartitionFault(PartitionOptions options) : options_(std::move(options)) {}

  // Resolves, on every node, the address of every node and of the controller. Fails when a node
  // has no session or a name does not resolve, or when a node's address is protected.
  Status Setup(const Test& test, const NodeRemotes& remotes);
  // Applies the grudge on every node named in the test (a node absent from it drops nothing), in
  // parallel. *applied receives the nodes whose rules are fully in place.
  Status Apply(const Grudge& grudge, std::vector<std::string>* applied);
  // Removes the rules from every node, whatever was applied; idempotent.
  Status Heal();

  // Node -> (node name -> its address as that node resolves it); filled by Setup.
  const std::map<std::string, std::map<std::string, std::string>>& addresses() const {
    return addresses_;
  }

 private:
  Result<std::vector<std::string>> DroppedAddresses(const std::string& node,
                                                    const std::set<std::string>& peers) const;

  PartitionOptions options_;
  std::vector<std::string> nodes_;
  NodeRemotes remotes_;
  std::map<std::string, std::map<std::string, std::string>> addresses_;
  std::map<std::string, std::set<std::string>> protected_;  // node -> addresses never dropped
};

}  // namespace faultline::nemesis
