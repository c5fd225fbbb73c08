#include "nemesis/partition/partition.h"

#include <arpa/inet.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>
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

// Whether the address can carry traffic between nodes: not loopback, link-local (it needs an
// interface named with it, which no database's peer address has), IPv4-mapped (that is IPv4
// traffic), unspecified or multicast.
bool IsRoutableIpv6(const in6_addr& address) {
  return !IN6_IS_ADDR_LOOPBACK(&address) && !IN6_IS_ADDR_LINKLOCAL(&address) &&
         !IN6_IS_ADDR_V4MAPPED(&address) && !IN6_IS_ADDR_UNSPECIFIED(&address) &&
         !IN6_IS_ADDR_MULTICAST(&address);
}

std::string Ipv6Text(const in6_addr& address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &address, text, sizeof text);
  return text;
}

// `text` in the canonical form ip6tables prints when it is a routable IPv6 address, else "".
std::string RoutableIpv6(const std::string& text) {
  in6_addr parsed{};
  if (inet_pton(AF_INET6, text.c_str(), &parsed) != 1 || !IsRoutableIpv6(parsed)) return "";
  return Ipv6Text(parsed);
}

std::string FirstField(const std::string& text) {
  std::vector<std::string> words = Words(text);
  return words.empty() ? "" : words[0];
}

const char* ToolName(IpFamily family) {
  return family == IpFamily::kIpv4 ? "iptables" : "ip6tables";
}

std::string Mark(const std::string& run_id) { return kMarkPrefix + run_id; }

// The arguments of the jump of run `run_id` to `chain`, after the action and the hook.
std::vector<std::string> JumpArguments(const OwnChainSpec& chain, const std::string& run_id) {
  return {"-m", "comment", "--comment", Mark(run_id), "-j", chain.name};
}

// What `iptables -S` says of our chain.
struct ChainState {
  bool exists = false;
  std::vector<std::string> runs;  // the run ids of the hook's marked jumps to the chain
  std::vector<std::string> other_references;  // any other rule jumping to it, as listed
  int rules = 0;                              // rules in the chain
};

Result<ChainState> ReadChainState(control::Remote& remote, IpFamily family,
                                  const OwnChainSpec& own, bool sudo) {
  Result<control::CommandResult> listing =
      control::Run(remote, IptablesCommand({"-S"}, sudo, family));
  if (!listing.ok()) return listing.status();
  ChainState state;
  const std::string& chain = own.name;
  for (const std::string& line : Lines(listing->out)) {
    std::vector<std::string> words = Words(line);
    if (words == std::vector<std::string>{"-N", chain}) state.exists = true;
    if (words.size() >= 2 && words[0] == "-A" && words[1] == chain) ++state.rules;
    if (words.size() < 4 || words[0] != "-A") continue;
    const std::string& target = words[words.size() - 1];
    const std::string& how = words[words.size() - 2];
    if (target != chain || (how != "-j" && how != "-g")) continue;
    // Ours is exactly `-A <hook> -m comment --comment faultline-run-<id> -j <chain>`.
    std::string comment = words.size() == 8 ? words[5] : "";
    if (comment.size() >= 2 && comment.front() == '"' && comment.back() == '"') {
      comment = comment.substr(1, comment.size() - 2);
    }
    const std::vector<std::string> ours = {"-A", own.hook, "-m", "comment", "--comment", comment,
                                           "-j", chain};
    if (words.size() == 8 && words == ours && comment.rfind(kMarkPrefix, 0) == 0) {
      state.runs.push_back(comment.substr(std::string(kMarkPrefix).size()));
    } else {
      state.other_references.push_back(line);
    }
  }
  return state;
}

// Ok when the listed chain may be changed by run `run_id` (any faultline run when it is empty):
// it exists, only marked jumps of that run reach it. Else the refusal, naming the node.
Status CheckOwner(const control::Remote& remote, IpFamily family, const OwnChainSpec& own,
                  const ChainState& state, const std::string& run_id) {
  const std::string where = remote.node() + ": " + ToolName(family) + " chain " + own.name;
  if (state.runs.empty()) {
    return Status::InvalidArgument(
        where + " exists but was not created by faultline (no jump from " + own.hook +
        " carries a " +
        kMarkPrefix + " mark); refusing to flush or delete it. Remove or rename it by hand");
  }
  if (!state.other_references.empty()) {
    return Status::InvalidArgument(where + " is also used by rules faultline did not add (" +
                                   state.other_references.front() +
                                   "); refusing to flush or delete it");
  }
  for (const std::string& run : state.runs) {
    if (!run_id.empty() && run != run_id) {
      return Status::InvalidArgument(
          where + " belongs to another faultline run (" + run + ", this is " + run_id +
          "): two runs partitioning the same nodes would heal each other's partitions. Wait for "
          "it to end; if its controller was killed, `faultline cluster heal` removes its rules");
    }
  }
  return Status::Ok();
}

Status RunIptables(control::Remote& remote, IpFamily family, std::vector<std::string> arguments,
                   bool sudo) {
  Result<control::CommandResult> result =
      control::Run(remote, IptablesCommand(std::move(arguments), sudo, family));
  return result.ok() ? Status::Ok() : result.status();
}

Status RunAll(control::Remote& remote, IpFamily family,
              std::vector<std::vector<std::string>> commands, bool sudo) {
  for (std::vector<std::string>& arguments : commands) {
    Status status = RunIptables(remote, family, std::move(arguments), sudo);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

// The chain of run `run_id`, created with its marked jump when missing; refused when another
// run's or program's.
Result<ChainState> OwnChain(control::Remote& remote, IpFamily family, const OwnChainSpec& own,
                            const std::string& run_id, bool sudo) {
  Result<ChainState> state = ReadChainState(remote, family, own, sudo);
  if (!state.ok()) return state.status();
  if (state->exists) {
    Status owner = CheckOwner(remote, family, own, *state, run_id);
    if (!owner.ok()) return owner;
    return state;
  }
  // -N fails when another run or program creates the chain at the same moment: that is the lock.
  std::vector<std::string> jump = {"-I", own.hook};
  for (std::string& argument : JumpArguments(own, run_id)) jump.push_back(std::move(argument));
  Status created = RunAll(remote, family, {{"-N", own.name}, jump}, sudo);
  if (!created.ok()) return created;
  ChainState fresh;
  fresh.exists = true;
  fresh.runs = {run_id};
  return fresh;
}

}  // namespace

Result<Resolved> ResolveOnNode(control::Remote& remote, const std::string& name) {
  control::Command command;
  command.argv = {"getent", "ahosts", name};
  command.timeout_ms = 10'000;
  Result<control::CommandResult> result = control::Run(remote, command);
  if (!result.ok()) {
    return Status::IoError(remote.node() + ": cannot resolve " + name + ": " +
                           result.status().message());
  }
  Resolved resolved;
  for (const std::string& line : Lines(result->out)) {
    const std::string address = FirstField(line);
    if (resolved.ipv4.empty() && IsIpv4(address)) resolved.ipv4 = address;
    if (std::string ipv6 = RoutableIpv6(address); !ipv6.empty()) resolved.ipv6.insert(ipv6);
  }
  if (resolved.ipv4.empty()) {
    return Status::IoError(remote.node() + ": `getent ahosts " + name +
                           "` gave no IPv4 address: " + control::OutputTail(result->out));
  }
  return resolved;
}

// The routable IPv6 addresses on the node's interfaces, from /proc/net/if_inet6 (lines of 32 hex
// digits, interface index, prefix length, scope, flags, name); none when the kernel has no IPv6.
Result<std::set<std::string>> InterfaceIpv6(control::Remote& remote) {
  control::Command command;
  command.argv = {"cat", "/proc/net/if_inet6"};
  command.timeout_ms = 10'000;
  Result<control::CommandResult> result = remote.Execute(command);
  if (!result.ok()) return result.status();
  std::set<std::string> addresses;
  if (result->exit_code != 0) return addresses;
  for (const std::string& line : Lines(result->out)) {
    const std::string hex = FirstField(line);
    if (hex.size() != 32 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      continue;
    in6_addr address{};
    for (size_t i = 0; i < 16; ++i) {
      address.s6_addr[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
    if (IsRoutableIpv6(address)) addresses.insert(Ipv6Text(address));
  }
  return addresses;
}

// The controller's addresses as the node sees them: the client end of the ssh session, if any
// (an IPv4-mapped IPv6 address counts as both forms).
std::set<std::string> ControllerAddresses(control::Remote& remote) {
  control::Command command;
  command.argv = {"printenv", "SSH_CLIENT"};
  command.timeout_ms = 10'000;
  Result<control::CommandResult> result = remote.Execute(command);
  if (!result.ok() || result->exit_code != 0) return {};
  const std::string address = FirstField(result->out);
  if (IsIpv4(address)) return {address};
  in6_addr parsed{};
  if (inet_pton(AF_INET6, address.c_str(), &parsed) != 1) return {};
  std::set<std::string> addresses = {Ipv6Text(parsed)};
  if (IN6_IS_ADDR_V4MAPPED(&parsed)) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &parsed.s6_addr[12], text, sizeof text);
    addresses.insert(text);
  }
  return addresses;
}


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

control::Command IptablesCommand(std::vector<std::string> arguments, bool sudo,
                                 IpFamily family) {
  control::Command command;
  // -w: wait for the xtables lock instead of failing when another iptables runs on the node.
  command.argv = {ToolName(family), "-w"};
  command.argv.insert(command.argv.end(), arguments.begin(), arguments.end());
  command.sudo = sudo;
  command.timeout_ms = 30'000;
  return command;
}

std::string NewRunId() {
  std::random_device device;
  char random[9] = {};
  std::snprintf(random, sizeof random, "%08x", static_cast<unsigned>(device()));
  return std::to_string(::getpid()) + "-" + random;
}

Status CheckRunId(const std::string& run_id) {
  const bool safe = !run_id.empty() && run_id.size() <= 40 &&
                    std::all_of(run_id.begin(), run_id.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                    });
  if (safe) return Status::Ok();
  return Status::InvalidArgument("partition: the run id \"" + run_id +
                                 "\" must be 1-40 letters, digits, '-' or '_'");
}

const OwnChainSpec& PartitionChain() {
  static const OwnChainSpec chain = {kChain, "INPUT"};
  return chain;
}

Status TakeOwnChain(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                    const std::string& run_id, bool sudo) {
  Result<ChainState> state = OwnChain(remote, family, chain, run_id, sudo);
  return state.ok() ? Status::Ok() : state.status();
}

Status ReplaceChainRules(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                         const std::string& run_id,
                         const std::vector<std::vector<std::string>>& rules, bool sudo) {
  Result<ChainState> state = OwnChain(remote, family, chain, run_id, sudo);
  if (!state.ok()) return state.status();
  std::vector<std::vector<std::string>> commands;
  if (state->rules > 0) commands.push_back({"-F", chain.name});  // the new rules replace the old
  for (const std::vector<std::string>& rule : rules) {
    std::vector<std::string> command = {"-A", chain.name};
    command.insert(command.end(), rule.begin(), rule.end());
    commands.push_back(std::move(command));
  }
  return RunAll(remote, family, std::move(commands), sudo);
}

Status FlushOwnChain(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                     const std::string& run_id, bool sudo) {
  Result<ChainState> state = ReadChainState(remote, family, chain, sudo);
  if (!state.ok()) return state.status();
  if (!state->exists) return Status::Ok();
  Status owner = CheckOwner(remote, family, chain, *state, run_id);
  if (!owner.ok()) return owner;
  return state->rules > 0 ? RunIptables(remote, family, {"-F", chain.name}, sudo) : Status::Ok();
}

Status RemoveOwnChain(control::Remote& remote, IpFamily family, const OwnChainSpec& chain,
                      const std::string& run_id, bool sudo, std::string* removed_run) {
  if (removed_run) removed_run->clear();
  Result<ChainState> state = ReadChainState(remote, family, chain, sudo);
  if (!state.ok()) return state.status();
  if (!state->exists) return Status::Ok();
  Status owner = CheckOwner(remote, family, chain, *state, run_id);
  if (!owner.ok()) return owner;
  std::vector<std::vector<std::string>> commands;
  for (const std::string& run : state->runs) {
    std::vector<std::string> jump = {"-D", chain.hook};
    for (std::string& argument : JumpArguments(chain, run)) jump.push_back(std::move(argument));
    commands.push_back(std::move(jump));
  }
  commands.push_back({"-F", chain.name});
  commands.push_back({"-X", chain.name});
  Status removed = RunAll(remote, family, std::move(commands), sudo);
  if (removed.ok() && removed_run) *removed_run = state->runs.front();
  return removed;
}

Status ApplyRules(control::Remote& remote, IpFamily family, const std::string& run_id,
                  const std::vector<std::string>& addresses, bool sudo) {
  std::vector<std::vector<std::string>> rules;
  for (const std::string& address : addresses) rules.push_back({"-s", address, "-j", "DROP"});
  return ReplaceChainRules(remote, family, PartitionChain(), run_id, rules, sudo);
}

Status FlushRules(control::Remote& remote, IpFamily family, const std::string& run_id, bool sudo) {
  return FlushOwnChain(remote, family, PartitionChain(), run_id, sudo);
}

Status RemoveRules(control::Remote& remote, IpFamily family, const std::string& run_id, bool sudo,
                   std::string* removed_run) {
  return RemoveOwnChain(remote, family, PartitionChain(), run_id, sudo, removed_run);
}

Result<bool> HasIp6tables(control::Remote& remote, bool sudo) {
  control::Command command;
  command.argv = {"sh", "-c", "command -v ip6tables"};
  command.sudo = sudo;
  command.timeout_ms = 10'000;
  Result<control::CommandResult> result = remote.Execute(command);
  if (!result.ok()) return result.status();
  // `command -v` fails silently when the program is missing; anything on stderr is another
  // failure (sudo refusing), which must not read as "no ip6tables".
  if (result->exit_code != 0 && !result->err.empty()) {
    return control::ExitError(remote.node(), command, *result);
  }
  return result->exit_code == 0;
}

PartitionFault::PartitionFault(PartitionOptions options) : options_(std::move(options)) {
  if (options_.run_id.empty()) options_.run_id = NewRunId();
}

std::vector<IpFamily> PartitionFault::Families(const std::string& node) const {
  if (ipv6_addresses_.count(node)) return {IpFamily::kIpv4, IpFamily::kIpv6};
  return {IpFamily::kIpv4};
}

Status PartitionFault::Setup(const Test& test, const NodeRemotes& remotes) {
  if (Status released = Teardown(); !released.ok()) return released;
  if (Status valid = CheckRunId(options_.run_id); !valid.ok()) return valid;
  nodes_ = test.options.nodes;
  remotes_ = remotes;
  addresses_.clear();
  ipv6_addresses_.clear();
  protected_.clear();
  held_.clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i >= remotes_.size() || remotes_[i] == nullptr) {
      return Status::InvalidArgument("partition: no session to node " + nodes_[i] +
                                     " (this database runs no nodes)");
    }
    addresses_[nodes_[i]];
    held_[nodes_[i]];
    protected_[nodes_[i]].insert(options_.protected_addresses.begin(),
                                 options_.protected_addresses.end());
  }
  // Per node: the IPv6 addresses each name resolves to there, and those on its interfaces.
  std::vector<std::map<std::string, std::set<std::string>>> resolved_ipv6(nodes_.size());
  std::vector<std::set<std::string>> interface_ipv6(nodes_.size());
  Status resolved = Combine(InParallel(nodes_.size(), [&](size_t i) {
    control::Remote& remote = *remotes_[i];
    // Each thread changes only its node's entries, found with at(), which never inserts.
    for (const std::string& address : ControllerAddresses(remote)) {
      protected_.at(nodes_[i]).insert(address);
    }
    for (const std::string& peer : nodes_) {
      Result<Resolved> address = ResolveOnNode(remote, peer);
      if (!address.ok()) return address.status();
      addresses_.at(nodes_[i])[peer] = address->ipv4;
      resolved_ipv6[i][peer] = address->ipv6;
    }
    Result<std::set<std::string>> interfaces = InterfaceIpv6(remote);
    if (!interfaces.ok()) return interfaces.status();
    interface_ipv6[i] = *interfaces;
    return Status::Ok();
  }));
  if (!resolved.ok()) return resolved;
  // Which nodes talk IPv6, and why (for the refusal): what a peer drops for a node is every
  // IPv6 address the node's name resolves to there and every one on the node's interfaces.
  std::vector<std::string> ipv6_reasons(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!interface_ipv6[i].empty()) {
      ipv6_reasons[i] = "has " + *interface_ipv6[i].begin() + " on an interface";
    }
    for (const auto& [peer, addresses] : resolved_ipv6[i]) {
      if (ipv6_reasons[i].empty() && !addresses.empty()) {
        ipv6_reasons[i] = "resolves " + peer + " to " + *addresses.begin();
      }
    }
    if (ipv6_reasons[i].empty()) continue;
    for (size_t j = 0; j < nodes_.size(); ++j) {
      std::set<std::string>& addresses = ipv6_addresses_[nodes_[i]][nodes_[j]];
      addresses = resolved_ipv6[i][nodes_[j]];
      addresses.insert(interface_ipv6[j].begin(), interface_ipv6[j].end());
    }
  }
  for (const std::string& node : nodes_) {
    for (const std::string& peer : nodes_) {
      std::set<std::string> addresses = {addresses_[node][peer]};
      if (ipv6_addresses_.count(node)) {
        const std::set<std::string>& ipv6 = ipv6_addresses_[node][peer];
        addresses.insert(ipv6.begin(), ipv6.end());
      }
      for (const std::string& address : addresses) {
        if (peer != node && protected_[node].count(address)) {
          return Status::InvalidArgument("partition: on " + node + ", node " + peer +
                                         " has the protected (controller's) address " + address +
                                         "; a partition would cut the controller off");
        }
      }
    }
  }
  // An IPv4-only partition of a node that talks IPv6 would silently let traffic through.
  Status tools = Combine(InParallel(nodes_.size(), [&](size_t i) {
    if (ipv6_reasons[i].empty()) return Status::Ok();
    Result<bool> present = HasIp6tables(*remotes_[i], options_.sudo);
    if (!present.ok()) return present.status();
    if (*present) return Status::Ok();
    return Status::Unsupported("partition: " + nodes_[i] + " talks IPv6 (it " + ipv6_reasons[i] +
                               ") but has no ip6tables: an IPv4-only partition would let its "
                               "IPv6 traffic through. Install ip6tables or disable IPv6 there");
  }));
  if (!tools.ok()) return tools;
  Status taken = Combine(InParallel(nodes_.size(), [&](size_t i) {
    for (IpFamily family : Families(nodes_[i])) {
      Status chain =
          TakeOwnChain(*remotes_[i], family, PartitionChain(), options_.run_id, options_.sudo);
      if (!chain.ok()) return chain;
      held_.at(nodes_[i]).insert(family);
    }
    return Status::Ok();
  }));
  if (!taken.ok()) {
    (void)Teardown();  // gives back what was taken; the refusal is the error worth reporting
    return taken;
  }
  return Status::Ok();
}

Result<std::vector<std::string>> PartitionFault::DroppedAddresses(
    const std::string& node, const std::set<std::string>& peers, IpFamily family) const {
  std::map<std::string, std::set<std::string>> known;
  if (family == IpFamily::kIpv4) {
    for (const auto& [peer, address] : addresses_.at(node)) known[peer] = {address};
  } else {
    known = ipv6_addresses_.at(node);
  }
  const std::set<std::string> own = known.at(node);
  std::set<std::string> addresses;
  for (const std::string& peer : peers) {
    auto found = known.find(peer);
    if (found == known.end()) return Status::InvalidArgument("partition: unknown node " + peer);
    for (const std::string& address : found->second) {
      if (protected_.at(node).count(address)) {
        return Status::InvalidArgument("partition: refusing to make " + node + " drop " + peer +
                                       " at the controller's address " + address);
      }
      if (!own.count(address)) addresses.insert(address);
    }
  }
  return std::vector<std::string>(addresses.begin(), addresses.end());
}

Status PartitionFault::Apply(const Grudge& grudge, std::vector<std::string>* applied) {
  if (applied) applied->clear();
  if (nodes_.empty()) return Status::InvalidArgument("partition: Setup was not called");
  for (const std::string& node : nodes_) {
    if (held_[node].empty()) {
      return Status::InvalidArgument("partition: " + node +
                                     "'s chain is not held (Setup failed or Teardown ran)");
    }
  }
  // Every node's rules are computed before any is applied, so a refusal changes nothing.
  std::vector<std::map<IpFamily, std::vector<std::string>>> dropped(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto found = grudge.find(nodes_[i]);
    for (IpFamily family : Families(nodes_[i])) {
      dropped[i][family];
      if (found == grudge.end()) continue;
      Result<std::vector<std::string>> addresses =
          DroppedAddresses(nodes_[i], found->second, family);
      if (!addresses.ok()) return addresses.status();
      dropped[i][family] = std::move(*addresses);
    }
  }
  std::vector<Status> statuses = InParallel(nodes_.size(), [&](size_t i) {
    for (const auto& [family, addresses] : dropped[i]) {
      Status status = ApplyRules(*remotes_[i], family, options_.run_id, addresses, options_.sudo);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  });
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const bool drops = !dropped[i][IpFamily::kIpv4].empty() ||
                       (dropped[i].count(IpFamily::kIpv6) && !dropped[i][IpFamily::kIpv6].empty());
    if (statuses[i].ok() && drops && applied) applied->push_back(nodes_[i]);
  }
  return Combine(statuses);
}

Status PartitionFault::ForEachHeld(const std::function<Status(size_t, IpFamily)>& action) {
  return Combine(InParallel(nodes_.size(), [&](size_t i) {
    // A node without a session was never partitioned (Setup refused to start).
    auto held = held_.find(nodes_[i]);
    if (held == held_.end() || i >= remotes_.size() || remotes_[i] == nullptr) return Status::Ok();
    std::vector<Status> statuses;
    for (IpFamily family : held->second) statuses.push_back(action(i, family));
    return Combine(statuses);
  }));
}

Status PartitionFault::Heal() {
  return ForEachHeld([&](size_t i, IpFamily family) {
    return FlushRules(*remotes_[i], family, options_.run_id, options_.sudo);
  });
}

Status PartitionFault::Teardown() {
  // A chain whose removal failed stays held, so a later Teardown tries again.
  std::vector<std::set<IpFamily>> still_held(nodes_.size());
  Status status = ForEachHeld([&](size_t i, IpFamily family) {
    Status removed = RemoveRules(*remotes_[i], family, options_.run_id, options_.sudo);
    if (!removed.ok()) still_held[i].insert(family);
    return removed;
  });
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (held_.count(nodes_[i])) held_[nodes_[i]] = still_held[i];
  }
  return status;
}

namespace {

// The grudge that cuts the database's current primaries off from the other nodes.
Result<Grudge> PrimariesGrudge(const Test& test, const NodeRemotes& remotes, Json* unanswered) {
  Result<std::vector<std::string>> primaries = CurrentPrimaries(test, remotes, unanswered);
  if (!primaries.ok()) return primaries.status();
  std::vector<std::string> others;
  for (const std::string& node : test.options.nodes) {
    if (std::find(primaries->begin(), primaries->end(), node) == primaries->end())
      others.push_back(node);
  }
  if (others.empty()) return Status::InvalidArgument("every node is a primary: nothing to cut off");
  return CompleteGrudge({*primaries, others});
}

}  // namespace

FaultOutcome PartitionFault::Start(const Test& test, const Json& invoke_value) {
  Json value = invoke_value;
  if (value.is_object() && value.value("kind", "") == kIsolatePrimaries && !value.contains("drops")) {
    Json unanswered;
    Result<Grudge> grudge = PrimariesGrudge(test, remotes_, &unanswered);
    if (!unanswered.empty()) value["unanswered"] = unanswered;
    if (!grudge.ok()) return {value, grudge.status()};
    value["drops"] = GrudgeToJson(*grudge);  // what the start resolved, in the completion
  }
  if (!value.is_object() || !value.contains("drops")) {
    return {value, Status::InvalidArgument("start-partition: the value needs \"drops\", got " +
                                           value.dump())};
  }
  Result<Grudge> grudge = GrudgeFromJson(value["drops"], nodes_);
  if (!grudge.ok()) return {value, grudge.status()};
  std::vector<std::string> applied;
  Status status = Apply(*grudge, &applied);
  if (status.ok()) return {value, status};
  Grudge done;  // what is in place: the nodes whose rules were fully applied
  for (const std::string& node : applied) done[node] = (*grudge)[node];
  value["drops"] = GrudgeToJson(done);
  return {value, status};
}

FaultOutcome PartitionFault::Stop(const Test&) {
  Status healed = Heal();
  return {{{"nodes", nodes_}}, healed};
}

// The kind, registered in nemesis/registry.cc. Network faults heal first, so that restarted
// servers find their peers.
FaultKind PartitionFaultKind() {
  return {"partition",
          "cut the network into random halves, one node off, a majorities ring, a bridge or the "
          "primaries off (iptables on every node), heal it at the stop",
          0,
          [](const FaultOptions& options) -> Result<std::unique_ptr<Fault>> {
            if (options.nodes.size() < 2) {
              return Status::InvalidArgument("a partition needs at least 2 nodes");
            }
            return std::unique_ptr<Fault>(std::make_unique<PartitionFault>(
                PartitionOptions{options.sudo, options.protected_addresses, /*run_id=*/""}));
          },
          [](const FaultOptions& options) {
            std::vector<std::string> kinds;
            for (PartitionKind kind : PartitionKindsFor(options.nodes.size()))
              kinds.emplace_back(ToString(kind));
            if (options.primaries) kinds.emplace_back(kIsolatePrimaries);
            return kinds;
          },
          [](const std::vector<std::string>& nodes, const std::string& choice, gen::Rng& rng) {
            std::optional<PartitionKind> kind = ParsePartitionKind(choice);
            if (!kind) return Json{{"kind", choice}};  // isolate-primaries: resolved at the start
            Result<Grudge> grudge = MakeGrudge(*kind, nodes, rng);  // a choice for these nodes
            return Json{{"kind", choice}, {"drops", GrudgeToJson(*grudge)}};
          }};
}

}  // namespace faultline::nemesis
