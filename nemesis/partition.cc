#include "nemesis/partition.h"

#include <arpa/inet.h>

#include <algorithm>
#include <sstream>

#include "generators/random.h"
#include "nemesis/internal.h"

namespace faultline::nemesis {
namespace {

constexpr std::pair<PartitionKind, std::string_view> kKindNames[] = {
    {PartitionKind::kRandomHalves, "random-halves"},
    {PartitionKind::kIsolateOne, "isolate-one"},
    {PartitionKind::kMajoritiesRing, "majorities-ring"},
    {PartitionKind::kBridge, "bridge"},
};

size_t MinimumNodes(PartitionKind kind) {
  return kind == PartitionKind::kMajoritiesRing || kind == PartitionKind::kBridge ? 3 : 2;
}

std::vector<std::string> Slice(const std::vector<std::string>& nodes, size_t begin, size_t end) {
  return {nodes.begin() + static_cast<std::ptrdiff_t>(begin),
          nodes.begin() + static_cast<std::ptrdiff_t>(end)};
}

// The ring in `order`; node i sees the window of a majority of nodes around it, a little more
// to its right when the window is even. Windows shorter than the ring start at distinct
// positions, so no two nodes see the same majority.
Grudge MajoritiesRing(const std::vector<std::string>& order) {
  const size_t count = order.size();
  const size_t majority = count / 2 + 1;
  const size_t left = (majority - 1) / 2;
  Grudge grudge;
  for (size_t i = 0; i < count; ++i) {
    std::set<std::string> seen;
    for (size_t offset = 0; offset < majority; ++offset)
      seen.insert(order[(i + count - left + offset) % count]);
    std::set<std::string>& drops = grudge[order[i]];
    for (const std::string& node : order) {
      if (!seen.count(node)) drops.insert(node);
    }
  }
  return grudge;
}

bool IsIpv4(const std::string& text) {
  in_addr parsed{};
  return inet_pton(AF_INET, text.c_str(), &parsed) == 1;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string FirstField(const std::string& text) {
  std::istringstream in(text);
  std::string field;
  in >> field;
  return field;
}

// What `iptables -S` says of our chain: whether it exists and how many jumps INPUT has to it.
struct ChainState {
  bool exists = false;
  int jumps = 0;
};

const std::string& JumpRule() {
  static const std::string rule = std::string("-A INPUT -j ") + kChain;
  return rule;
}

Result<ChainState> ReadChainState(control::Remote& remote, bool sudo) {
  Result<control::CommandResult> listing = control::Run(remote, IptablesCommand({"-S"}, sudo));
  if (!listing.ok()) return listing.status();
  ChainState state;
  for (const std::string& line : Lines(listing->out)) {
    if (line == std::string("-N ") + kChain) state.exists = true;
    if (line == JumpRule()) ++state.jumps;
  }
  return state;
}

Status RunIptables(control::Remote& remote, std::vector<std::string> arguments, bool sudo) {
  Result<control::CommandResult> result =
      control::Run(remote, IptablesCommand(std::move(arguments), sudo));
  return result.ok() ? Status::Ok() : result.status();
}

// The IPv4 address `name` resolves to on the node, by the node's own resolver.
Result<std::string> ResolveOnNode(control::Remote& remote, const std::string& name) {
  control::Command command;
  command.argv = {"getent", "ahostsv4", name};
  command.timeout_ms = 10'000;
  Result<control::CommandResult> result = control::Run(remote, command);
  if (!result.ok()) {
    return Status::IoError(remote.node() + ": cannot resolve " + name + ": " +
                           result.status().message());
  }
  std::string address = FirstField(result->out);
  if (!IsIpv4(address)) {
    return Status::IoError(remote.node() + ": `getent ahostsv4 " + name +
                           "` gave no IPv4 address: " + control::OutputTail(result->out));
  }
  return address;
}

// The controller's address as the node sees it: the client end of the ssh session, if any.
std::string ControllerAddress(control::Remote& remote) {
  control::Command command;
  command.argv = {"printenv", "SSH_CLIENT"};
  command.timeout_ms = 10'000;
  Result<control::CommandResult> result = remote.Execute(command);
  if (!result.ok() || result->exit_code != 0) return "";
  std::string address = FirstField(result->out);
  return IsIpv4(address) ? address : "";
}

}  // namespace

std::string_view ToString(PartitionKind kind) { return NameIn(kKindNames, kind); }

std::optional<PartitionKind> ParsePartitionKind(std::string_view name) {
  return ValueIn(kKindNames, name);
}

std::vector<PartitionKind> PartitionKindsFor(size_t node_count) {
  std::vector<PartitionKind> kinds;
  for (const auto& [kind, name] : kKindNames) {
    if (node_count >= MinimumNodes(kind)) kinds.push_back(kind);
  }
  return kinds;
}

Grudge CompleteGrudge(const std::vector<std::vector<std::string>>& components) {
  Grudge grudge;
  for (size_t i = 0; i < components.size(); ++i) {
    for (const std::string& node : components[i]) {
      std::set<std::string>& drops = grudge[node];
      for (size_t j = 0; j < components.size(); ++j) {
        if (j != i) drops.insert(components[j].begin(), components[j].end());
      }
    }
  }
  return grudge;
}

Result<Grudge> MakeGrudge(PartitionKind kind, const std::vector<std::string>& nodes,
                          gen::Rng& rng) {
  if (std::set<std::string>(nodes.begin(), nodes.end()).size() != nodes.size()) {
    return Status::InvalidArgument("partition: the node names repeat");
  }
  if (nodes.size() < MinimumNodes(kind)) {
    return Status::InvalidArgument("partition " + std::string(ToString(kind)) + " needs " +
                                   std::to_string(MinimumNodes(kind)) + " nodes, the test has " +
                                   std::to_string(nodes.size()));
  }
  const std::vector<std::string> order = Shuffled(nodes, rng);
  const size_t count = order.size();
  switch (kind) {
    case PartitionKind::kRandomHalves:
      return CompleteGrudge({Slice(order, 0, count / 2), Slice(order, count / 2, count)});
    case PartitionKind::kIsolateOne:
      return CompleteGrudge({Slice(order, 0, 1), Slice(order, 1, count)});
    case PartitionKind::kMajoritiesRing:
      return MajoritiesRing(order);
    case PartitionKind::kBridge: {
      // order = first half, the bridge, second half; the bridge drops nobody.
      const size_t bridge = (count - 1) / 2;
      Grudge grudge = CompleteGrudge({Slice(order, 0, bridge), Slice(order, bridge + 1, count)});
      grudge[order[bridge]];
      return grudge;
    }
  }
  return Status::Internal("partition: unknown kind");
}

Json GrudgeToJson(const Grudge& grudge) {
  Json drops = Json::object();
  for (const auto& [node, peers] : grudge) {
    if (!peers.empty()) drops[node] = Json(std::vector<std::string>(peers.begin(), peers.end()));
  }
  return drops;
}

Result<Grudge> GrudgeFromJson(const Json& drops, const std::vector<std::string>& nodes) {
  const std::set<std::string> known(nodes.begin(), nodes.end());
  if (!drops.is_object()) {
    return Status::InvalidArgument("partition: \"drops\" must map nodes to lists of nodes, got " +
                                   drops.dump());
  }
  Grudge grudge;
  for (const auto& [node, peers] : drops.items()) {
    if (!known.count(node)) return Status::InvalidArgument("partition: unknown node " + node);
    if (!peers.is_array()) {
      return Status::InvalidArgument("partition: drops of " + node + " must be a list, got " +
                                     peers.dump());
    }
    for (const Json& peer : peers) {
      if (!peer.is_string() || !known.count(peer.get<std::string>())) {
        return Status::InvalidArgument("partition: " + node + " drops unknown node " + peer.dump());
      }
      if (peer.get<std::string>() == node) {
        return Status::InvalidArgument("partition: " + node + " cannot drop itself");
      }
      grudge[node].insert(peer.get<std::string>());
    }
  }
  return grudge;
}

control::Command IptablesCommand(std::vector<std::string> arguments, bool sudo) {
  control::Command command;
  // -w: wait for the xtables lock instead of failing when another iptables runs on the node.
  command.argv = {"iptables", "-w"};
  command.argv.insert(command.argv.end(), arguments.begin(), arguments.end());
  command.sudo = sudo;
  command.timeout_ms = 30'000;
  return command;
}

Status ApplyRules(control::Remote& remote, const std::vector<std::string>& addresses, bool sudo) {
  Result<ChainState> state = ReadChainState(remote, sudo);
  if (!state.ok()) return state.status();
  std::vector<std::vector<std::string>> commands;
  if (!state->exists) commands.push_back({"-N", kChain});
  if (state->jumps == 0) commands.push_back({"-I", "INPUT", "-j", kChain});
  commands.push_back({"-F", kChain});  // the new grudge replaces the previous one
  for (const std::string& address : addresses) {
    commands.push_back({"-A", kChain, "-s", address, "-j", "DROP"});
  }
  for (std::vector<std::string>& arguments : commands) {
    Status status = RunIptables(remote, std::move(arguments), sudo);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status RemoveRules(control::Remote& remote, bool sudo, bool* removed) {
  Result<ChainState> state = ReadChainState(remote, sudo);
  if (!state.ok()) return state.status();
  if (removed) *removed = state->exists || state->jumps > 0;
  std::vector<std::vector<std::string>> commands;
  for (int jump = 0; jump < state->jumps; ++jump) commands.push_back({"-D", "INPUT", "-j", kChain});
  if (state->exists) {
    commands.push_back({"-F", kChain});
    commands.push_back({"-X", kChain});
  }
  for (std::vector<std::string>& arguments : commands) {
    Status status = RunIptables(remote, std::move(arguments), sudo);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status PartitionFault::Setup(const Test& test, const NodeRemotes& remotes) {
  nodes_ = test.options.nodes;
  remotes_ = remotes;
  addresses_.clear();
  protected_.clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i >= remotes_.size() || remotes_[i] == nullptr) {
      return Status::InvalidArgument("partition: no session to node " + nodes_[i] +
                                     " (this database runs no nodes)");
    }
    addresses_[nodes_[i]];
    protected_[nodes_[i]].insert(options_.protected_addresses.begin(),
                                 options_.protected_addresses.end());
  }
  Status resolved = Combine(InParallel(nodes_.size(), [&](size_t i) {
    control::Remote& remote = *remotes_[i];
    std::string controller = ControllerAddress(remote);
    if (!controller.empty()) protected_[nodes_[i]].insert(controller);
    for (const std::string& peer : nodes_) {
      Result<std::string> address = ResolveOnNode(remote, peer);
      if (!address.ok()) return address.status();
      addresses_[nodes_[i]][peer] = *address;
    }
    return Status::Ok();
  }));
  if (!resolved.ok()) return resolved;
  for (const std::string& node : nodes_) {
    for (const std::string& peer : nodes_) {
      const std::string& address = addresses_[node][peer];
      if (peer != node && protected_[node].count(address)) {
        return Status::InvalidArgument("partition: on " + node + ", node " + peer +
                                       " resolves to the protected (controller's) address " +
                                       address + "; a partition would cut the controller off");
      }
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> PartitionFault::DroppedAddresses(
    const std::string& node, const std::set<std::string>& peers) const {
  const std::map<std::string, std::string>& known = addresses_.at(node);
  const std::string& own = known.at(node);
  std::set<std::string> addresses;
  for (const std::string& peer : peers) {
    auto found = known.find(peer);
    if (found == known.end()) return Status::InvalidArgument("partition: unknown node " + peer);
    if (protected_.at(node).count(found->second)) {
      return Status::InvalidArgument("partition: refusing to make " + node + " drop " + peer +
                                     " at the controller's address " + found->second);
    }
    if (found->second != own) addresses.insert(found->second);
  }
  return std::vector<std::string>(addresses.begin(), addresses.end());
}

Status PartitionFault::Apply(const Grudge& grudge, std::vector<std::string>* applied) {
  if (applied) applied->clear();
  if (nodes_.empty()) return Status::InvalidArgument("partition: Setup was not called");
  // Every node's rules are computed before any is applied, so a refusal changes nothing.
  std::vector<std::vector<std::string>> dropped(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto found = grudge.find(nodes_[i]);
    if (found == grudge.end()) continue;
    Result<std::vector<std::string>> addresses = DroppedAddresses(nodes_[i], found->second);
    if (!addresses.ok()) return addresses.status();
    dropped[i] = std::move(*addresses);
  }
  std::vector<Status> statuses = InParallel(nodes_.size(), [&](size_t i) {
    // A node that drops nothing carries no rules at all.
    return dropped[i].empty() ? RemoveRules(*remotes_[i], options_.sudo)
                              : ApplyRules(*remotes_[i], dropped[i], options_.sudo);
  });
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (statuses[i].ok() && !dropped[i].empty() && applied) applied->push_back(nodes_[i]);
  }
  return Combine(statuses);
}

Status PartitionFault::Heal() {
  return Combine(InParallel(nodes_.size(), [&](size_t i) {
    // A node without a session was never partitioned (Setup refused to start).
    bool reachable = i < remotes_.size() && remotes_[i] != nullptr;
    return reachable ? RemoveRules(*remotes_[i], options_.sudo) : Status::Ok();
  }));
}

}  // namespace faultline::nemesis
