#include "nemesis/packet/packet.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "generators/random.h"
#include "nemesis/internal.h"

namespace faultline::nemesis {
namespace {

constexpr std::pair<PacketMechanism, std::string_view> kMechanismNames[] = {
    {PacketMechanism::kNetem, "netem"},
    {PacketMechanism::kNfqueue, "nfqueue"},
};

// Tells whether the kernel has netem (a throwaway qdisc on lo, removed at once; "kind is
// unknown" means it has not; any other failure is an error) and whether the shaper ($1) is
// there. Prints "netem" or "no-netem", then "shaper" or "no-shaper".
constexpr char kProbeScript[] = R"sh(out=$(tc qdisc add dev lo root handle fa19: netem 2>&1)
if [ $? -eq 0 ]; then
  tc qdisc del dev lo root handle fa19: || exit 1
  echo netem
else
  case "$out" in
    *"kind is unknown"*) echo no-netem ;;
    *) echo "cannot tell whether the kernel has netem: $out" >&2; exit 1 ;;
  esac
fi
if [ -x "$1" ]; then echo shaper; else echo no-shaper; fi)sh";

// One `ip -o -4 route get` line per address.
constexpr char kRouteScript[] =
    R"sh(for address in "$@"; do ip -o -4 route get "$address" || exit 1; done)sh";

// Starts the shaper detached ($1 pid file, $2 log, then its command line), records its pid
// before anything else, and waits up to 5 s for its "ready"; prints the pid.
constexpr char kStartShaperScript[] = R"sh(pid_file=$1; log=$2; shift 2
setsid "$@" </dev/null >"$log" 2>&1 &
pid=$!
echo "$pid" >"$pid_file"
i=0
while [ $i -lt 50 ]; do
  if grep -qx ready "$log" 2>/dev/null; then echo "$pid"; exit 0; fi
  if [ ! -r /proc/$pid/status ] || grep -q '^State:[[:space:]]*Z' /proc/$pid/status; then break; fi
  sleep 0.1; i=$((i + 1))
done
echo "faultline-shaper did not start: $(tail -c 1000 "$log" 2>/dev/null)" >&2
exit 1)sh";

// Stops the shaper whose pid $1 holds, only when /proc says it is faultline's shaper of run $2
// (comm, and the run id among its arguments); then removes the pid file and the log. Ok when
// there is none. Prints "stopped <pid>" when it stopped one.
constexpr char kStopShaperScript[] = R"sh(pid_file=$1; run=$2; log=${pid_file%.pid}.log
[ -f "$pid_file" ] || exit 0
pid=$(cat "$pid_file")
alive() { [ -r /proc/$pid/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$pid/status; }
ours() {
  [ "$(cat /proc/$pid/comm 2>/dev/null)" = faultline-shape ] &&
    tr '\0' '\n' </proc/$pid/cmdline 2>/dev/null | grep -qxF -- "$run"
}
case "$pid" in ''|*[!0-9]*) ;; *)
  if alive && ours; then
    kill -TERM "$pid"
    i=0
    while alive && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
    if alive && ours; then kill -KILL "$pid"; fi
    echo "stopped $pid"
  fi ;;
esac
rm -f "$pid_file" "$log")sh";

// 0.17 -> "0.17", 17 -> "17": what tc and iptables read back exactly.
std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

control::Command Privileged(std::vector<std::string> argv, bool sudo) {
  control::Command command;
  command.argv = std::move(argv);
  command.sudo = sudo;
  command.timeout_ms = 30'000;
  return command;
}

control::Command Script(const char* script, const std::string& name,
                        const std::vector<std::string>& arguments, bool sudo) {
  std::vector<std::string> argv = {"sh", "-c", script, name};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return Privileged(std::move(argv), sudo);
}

Status RunAll(control::Remote& remote, const std::vector<std::vector<std::string>>& commands,
              bool sudo) {
  for (const std::vector<std::string>& argv : commands) {
    Result<control::CommandResult> result = control::Run(remote, Privileged(argv, sudo));
    if (!result.ok()) return result.status();
  }
  return Status::Ok();
}

// The interfaces whose root qdisc is this fault's (handle fa17:), from `tc qdisc show`.
Result<std::vector<std::string>> OwnQdiscInterfaces(control::Remote& remote, bool sudo) {
  Result<control::CommandResult> listing =
      control::Run(remote, Privileged({"tc", "qdisc", "show"}, sudo));
  if (!listing.ok()) return listing.status();
  std::vector<std::string> interfaces;
  for (const std::string& line : Lines(listing->out)) {
    // qdisc htb fa17: dev eth0 root refcnt 2 ...
    std::vector<std::string> words = Words(line);
    if (words.size() >= 6 && words[0] == "qdisc" && words[2] == kPacketQdisc && words[3] == "dev" &&
        words[5] == "root") {
      interfaces.push_back(words[4]);
    }
  }
  return interfaces;
}

double DrawPercent(gen::Rng& rng, int low, int high) {
  return static_cast<double>(low + static_cast<int>(gen::UniformBelow(rng, high - low + 1))) / 100;
}

int DrawBetween(gen::Rng& rng, int low, int high) {
  return low + static_cast<int>(gen::UniformBelow(rng, high - low + 1));
}

Result<double> Fraction(const Json& value, const char* field) {
  if (!value.contains(field)) return 0.0;
  const Json& number = value[field];
  if (!number.is_number() || number.get<double>() < 0 || number.get<double>() >= 1) {
    return Status::InvalidArgument(std::string("start-packet: \"") + field +
                                   "\" must be a fraction in [0, 1), got " + number.dump());
  }
  return number.get<double>();
}

Result<int> Whole(const Json& value, const char* field, int high) {
  if (!value.contains(field)) return 0;
  const Json& number = value[field];
  if (!number.is_number_integer() || number.get<int64_t>() < 0 || number.get<int64_t>() > high) {
    return Status::InvalidArgument(std::string("start-packet: \"") + field +
                                   "\" must be a whole number in [0, " + std::to_string(high) +
                                   "], got " + number.dump());
  }
  return static_cast<int>(number.get<int64_t>());
}

}  // namespace

const OwnChainSpec& PacketChain() {
  static const OwnChainSpec chain = {kPacketChain, "OUTPUT"};
  return chain;
}

std::string_view ToString(PacketMechanism mechanism) { return NameIn(kMechanismNames, mechanism); }

Json BehaviourToJson(const PacketBehaviour& behaviour) {
  return {{"delay_ms", behaviour.delay_ms}, {"jitter_ms", behaviour.jitter_ms},
          {"loss", behaviour.loss},         {"duplicate", behaviour.duplicate},
          {"reorder", behaviour.reorder},   {"rate_kbit", behaviour.rate_kbit}};
}

Result<PacketBehaviour> BehaviourFromJson(const Json& value) {
  if (!value.is_object()) {
    return Status::InvalidArgument("start-packet: \"behaviour\" must be an object, got " +
                                   value.dump());
  }
  for (const auto& [field, ignored] : value.items()) {
    if (!BehaviourToJson({}).contains(field)) {
      return Status::InvalidArgument("start-packet: unknown behaviour \"" + field + "\"");
    }
  }
  PacketBehaviour behaviour;
  Result<int> delay = Whole(value, "delay_ms", 10'000);
  Result<int> jitter = Whole(value, "jitter_ms", 10'000);
  Result<int> rate = Whole(value, "rate_kbit", 10'000'000);
  Result<double> loss = Fraction(value, "loss");
  Result<double> duplicate = Fraction(value, "duplicate");
  Result<double> reorder = Fraction(value, "reorder");
  for (const Status& status : {delay.status(), jitter.status(), rate.status(), loss.status(),
                               duplicate.status(), reorder.status()}) {
    if (!status.ok()) return status;
  }
  behaviour = {*delay, *jitter, *loss, *duplicate, *reorder, *rate};
  if (behaviour.jitter_ms > behaviour.delay_ms) {
    return Status::InvalidArgument(
        "start-packet: jitter_ms " + std::to_string(behaviour.jitter_ms) +
        " is larger than delay_ms " + std::to_string(behaviour.delay_ms));
  }
  if (behaviour.reorder > 0 && behaviour.delay_ms == 0) {
    return Status::InvalidArgument(
        "start-packet: reorder needs a delay (the reordered packets "
        "overtake the delayed ones)");
  }
  if (behaviour == PacketBehaviour{}) {
    return Status::InvalidArgument("start-packet: the behaviour does nothing: " + value.dump());
  }
  return behaviour;
}

Json EdgesToJson(const PacketEdges& edges) { return GrudgeToJson(edges); }

Result<PacketEdges> EdgesFromJson(const Json& value, const std::vector<std::string>& nodes) {
  // The same shape as a partition's grudge: node -> the peers it acts on.
  Result<Grudge> edges = GrudgeFromJson(value, nodes);
  if (!edges.ok()) {
    return Status::InvalidArgument("start-packet: \"edges\": " + edges.status().message());
  }
  if (GrudgeToJson(*edges).empty()) {
    return Status::InvalidArgument("start-packet: no edge to shape: " + value.dump());
  }
  return *edges;
}

std::vector<std::string> PacketTargets() { return {"pair", "pairs", "node"}; }

Json DrawPacketValue(const std::vector<std::string>& nodes, const std::string& target,
                     gen::Rng& rng) {
  const std::vector<std::string> order = Shuffled(nodes, rng);
  PacketEdges edges;
  if (target == "pair") {
    edges[order[0]].insert(order[1]);
  } else if (target == "pairs") {  // another pair when there are 4 nodes, else the pair both ways
    edges[order[0]].insert(order[1]);
    if (order.size() >= 4) {
      edges[order[2]].insert(order[3]);
    } else {
      edges[order[1]].insert(order[0]);
    }
  } else {  // "node": one node to every other node
    edges[order[0]].insert(order.begin() + 1, order.end());
  }
  PacketBehaviour behaviour;
  switch (gen::UniformBelow(rng, 6)) {
    case 0:
      behaviour.delay_ms = DrawBetween(rng, 50, 200);
      behaviour.jitter_ms = DrawBetween(rng, 0, behaviour.delay_ms / 5);
      break;
    case 1:
      behaviour.loss = DrawPercent(rng, 5, 30);
      break;
    case 2:
      behaviour.delay_ms = DrawBetween(rng, 50, 200);
      behaviour.loss = DrawPercent(rng, 5, 30);
      break;
    case 3:
      behaviour.delay_ms = 50;
      behaviour.duplicate = DrawPercent(rng, 5, 20);
      break;
    case 4:
      behaviour.delay_ms = 100;
      behaviour.reorder = DrawPercent(rng, 20, 40);
      break;
    default:
      behaviour.rate_kbit = DrawBetween(rng, 256, 2048);
  }
  return {
      {"target", target}, {"edges", EdgesToJson(edges)}, {"behaviour", BehaviourToJson(behaviour)}};
}

std::vector<std::vector<std::string>> TcCommands(const std::string& interface,
                                                 const std::vector<std::string>& addresses,
                                                 const PacketBehaviour& behaviour,
                                                 PacketMechanism mechanism) {
  const bool netem = mechanism == PacketMechanism::kNetem;
  if (!netem && behaviour.rate_kbit == 0) return {};
  const std::string rate =
      behaviour.rate_kbit > 0 ? std::to_string(behaviour.rate_kbit) + "kbit" : "10gbit";
  std::vector<std::vector<std::string>> commands = {
      // default 0: what no filter classifies leaves unshaped (the controller's ssh among it).
      {"tc", "qdisc", "add", "dev", interface, "root", "handle", kPacketQdisc, "htb", "default",
       "0"},
      {"tc", "class", "add", "dev", interface, "parent", kPacketQdisc, "classid", kPacketClass,
       "htb", "rate", rate}};
  if (netem) {
    std::vector<std::string> qdisc = {"tc",     "qdisc",      "add",    "dev",       interface,
                                      "parent", kPacketClass, "handle", kNetemQdisc, "netem"};
    if (behaviour.delay_ms > 0) {
      qdisc.insert(qdisc.end(), {"delay", std::to_string(behaviour.delay_ms) + "ms"});
      if (behaviour.jitter_ms > 0) qdisc.push_back(std::to_string(behaviour.jitter_ms) + "ms");
    }
    if (behaviour.loss > 0) qdisc.insert(qdisc.end(), {"loss", Number(behaviour.loss * 100) + "%"});
    if (behaviour.duplicate > 0) {
      qdisc.insert(qdisc.end(), {"duplicate", Number(behaviour.duplicate * 100) + "%"});
    }
    if (behaviour.reorder > 0) {
      qdisc.insert(qdisc.end(), {"reorder", Number(behaviour.reorder * 100) + "%"});
    }
    commands.push_back(std::move(qdisc));
  }
  for (const std::string& address : addresses) {
    commands.push_back({"tc", "filter", "add", "dev", interface, "parent", kPacketQdisc, "protocol",
                        "ip", "prio", "1", "u32", "match", "ip", "dst", address + "/32", "flowid",
                        kPacketClass});
  }
  return commands;
}

std::vector<std::vector<std::string>> FallbackRules(const std::vector<std::string>& addresses,
                                                    const PacketBehaviour& behaviour) {
  std::vector<std::vector<std::string>> rules;
  if (behaviour.duplicate > 0) {
    rules.push_back({"-m", "mark", "--mark", Number(kDuplicateMark), "-j", "RETURN"});
  }
  for (const std::string& address : addresses) {
    if (behaviour.NeedsShaper()) {
      rules.push_back({"-d", address, "-j", "NFQUEUE", "--queue-num", std::to_string(kQueueNumber),
                       "--queue-bypass"});
    }
  }
  return rules;
}

std::vector<std::string> ShaperCommand(const std::string& shaper_path, const std::string& run_id,
                                       const PacketBehaviour& behaviour) {
  return {shaper_path,
          "--queue",
          std::to_string(kQueueNumber),
          "--run-id",
          run_id,
          "--delay-ms",
          std::to_string(behaviour.delay_ms),
          "--jitter-ms",
          std::to_string(behaviour.jitter_ms),
          "--loss",
          Number(behaviour.loss),
          "--duplicate",
          Number(behaviour.duplicate),
          "--reorder",
          Number(behaviour.reorder),
          "--mark",
          Number(kDuplicateMark)};
}

std::string ShaperPidFile(const std::string& run_id, const std::string& node) {
  return "/tmp/faultline-shaper-" + run_id + "-" + node + ".pid";
}

std::string DefaultShaperPath() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path beside = self.parent_path() / "faultline-shaper";
    if (std::filesystem::exists(beside, error)) return beside.string();
  }
#ifdef FAULTLINE_SHAPER_BUILD_PATH
  return FAULTLINE_SHAPER_BUILD_PATH;
#else
  return "faultline-shaper";
#endif
}

PacketFault::PacketFault(PacketOptions options) : options_(std::move(options)) {
  if (options_.run_id.empty()) options_.run_id = NewRunId();
  if (options_.shaper_path.empty()) options_.shaper_path = DefaultShaperPath();
}

Status PacketFault::Setup(const Test& test, const NodeRemotes& remotes) {
  if (Status released = HealAll(test); !released.ok()) return released;
  if (Status valid = CheckRunId(options_.run_id); !valid.ok()) return valid;
  nodes_ = test.options.nodes;
  remotes_ = remotes;
  states_.assign(nodes_.size(), NodeState{});
  mechanisms_.clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i >= remotes_.size() || remotes_[i] == nullptr) {
      return Status::InvalidArgument("packet: no session to node " + nodes_[i] +
                                     " (this database runs no nodes)");
    }
  }
  Status checked = Combine(InParallel(nodes_.size(), [&](size_t i) {
    control::Remote& remote = *remotes_[i];
    NodeState& state = states_[i];
    std::set<std::string> protected_addresses = ControllerAddresses(remote);
    protected_addresses.insert(options_.protected_addresses.begin(),
                               options_.protected_addresses.end());
    std::vector<std::string> peer_addresses;
    for (const std::string& peer : nodes_) {
      Result<Resolved> address = ResolveOnNode(remote, peer);
      if (!address.ok()) return address.status();
      if (protected_addresses.count(address->ipv4)) {
        return Status::InvalidArgument("packet: on " + nodes_[i] + ", node " + peer +
                                       " has the protected (controller's) address " +
                                       address->ipv4 + "; shaping it would slow the controller");
      }
      state.addresses[peer] = address->ipv4;
      if (peer != nodes_[i]) peer_addresses.push_back(address->ipv4);
    }
    Result<control::CommandResult> routes =
        control::Run(remote, Script(kRouteScript, "faultline-routes", peer_addresses, false));
    if (!routes.ok()) return routes.status();
    std::map<std::string, std::string> interface_of;  // address -> interface
    for (const std::string& line : Lines(routes->out)) {
      std::vector<std::string> words = Words(line);
      for (size_t w = 1; w + 1 < words.size(); ++w) {
        if (words[w] == "dev" && !words.empty()) interface_of[words[0]] = words[w + 1];
      }
    }
    for (const std::string& peer : nodes_) {
      if (peer == nodes_[i]) continue;
      auto found = interface_of.find(state.addresses[peer]);
      if (found == interface_of.end()) {
        return Status::IoError(nodes_[i] + ": no route to " + peer + " (" + state.addresses[peer] +
                               "): " + control::OutputTail(routes->out));
      }
      state.interfaces[peer] = found->second;
    }
    Result<control::CommandResult> probe = control::Run(
        remote,
        Script(kProbeScript, "faultline-netem-probe", {options_.shaper_path}, options_.sudo));
    if (!probe.ok()) return probe.status();
    const std::vector<std::string> answers = Words(probe->out);
    state.mechanism = !answers.empty() && answers[0] == "netem" ? PacketMechanism::kNetem
                                                                : PacketMechanism::kNfqueue;
    if (state.mechanism == PacketMechanism::kNfqueue &&
        (answers.size() < 2 || answers[1] != "shaper")) {
      return Status::Unsupported(
          "packet: " + nodes_[i] + " has no tc netem and no " + options_.shaper_path +
          " (faultline-shaper, needs libnetfilter-queue1): install it at that path on the node");
    }
    Status taken =
        TakeOwnChain(remote, IpFamily::kIpv4, PacketChain(), options_.run_id, options_.sudo);
    if (!taken.ok()) return taken;
    state.held = true;
    return Status::Ok();
  }));
  if (!checked.ok()) {
    (void)HealAll(test);  // gives back the chains taken; the refusal is the error worth reporting
    return checked;
  }
  for (size_t i = 0; i < nodes_.size(); ++i) mechanisms_[nodes_[i]] = states_[i].mechanism;
  return Status::Ok();
}

Status PacketFault::ApplyNode(size_t index, const std::set<std::string>& peers,
                              const PacketBehaviour& behaviour) {
  control::Remote& remote = *remotes_[index];
  const NodeState& state = states_[index];
  std::map<std::string, std::vector<std::string>> by_interface;
  std::vector<std::string> addresses;
  for (const std::string& peer : peers) {
    by_interface[state.interfaces.at(peer)].push_back(state.addresses.at(peer));
    addresses.push_back(state.addresses.at(peer));
  }
  for (const auto& [interface, interface_addresses] : by_interface) {
    std::vector<std::vector<std::string>> commands =
        TcCommands(interface, interface_addresses, behaviour, state.mechanism);
    if (commands.empty()) continue;
    // Only over the kernel's default root qdisc (handle 0:): another one is somebody else's.
    Result<control::CommandResult> root = control::Run(
        remote, Privileged({"tc", "qdisc", "show", "dev", interface, "root"}, options_.sudo));
    if (!root.ok()) return root.status();
    const std::vector<std::string> words = Words(root->out);
    if (words.size() >= 3 && words[2] != "0:") {
      return Status::InvalidArgument(
          nodes_[index] + ": " + interface + " has a root qdisc of another program (" +
          control::OutputTail(root->out, 1) + "); refusing to replace it");
    }
    Status added = RunAll(remote, commands, options_.sudo);
    if (!added.ok()) return added;
  }
  if (state.mechanism == PacketMechanism::kNetem) return Status::Ok();
  if (behaviour.NeedsShaper()) {
    const std::string pid_file = ShaperPidFile(options_.run_id, nodes_[index]);
    std::vector<std::string> arguments = {pid_file,
                                          pid_file.substr(0, pid_file.size() - 4) + ".log"};
    for (std::string& word : ShaperCommand(options_.shaper_path, options_.run_id, behaviour)) {
      arguments.push_back(std::move(word));
    }
    Result<control::CommandResult> started = control::Run(
        remote, Script(kStartShaperScript, "faultline-shaper-start", arguments, options_.sudo));
    if (!started.ok()) return started.status();
  }
  return ReplaceChainRules(remote, IpFamily::kIpv4, PacketChain(), options_.run_id,
                           FallbackRules(addresses, behaviour), options_.sudo);
}

Status PacketFault::HealNode(size_t index) {
  control::Remote& remote = *remotes_[index];
  std::vector<Status> statuses;
  // Rules first, so that nothing more is queued while the shaper lets go of what it holds.
  if (states_[index].held) {
    statuses.push_back(
        FlushOwnChain(remote, IpFamily::kIpv4, PacketChain(), options_.run_id, options_.sudo));
  }
  Result<control::CommandResult> stopped =
      control::Run(remote, Script(kStopShaperScript, "faultline-shaper-stop",
                                  {ShaperPidFile(options_.run_id, nodes_[index]), options_.run_id},
                                  options_.sudo));
  statuses.push_back(stopped.status());
  Result<std::vector<std::string>> interfaces = OwnQdiscInterfaces(remote, options_.sudo);
  statuses.push_back(interfaces.status());
  if (interfaces.ok()) {
    for (const std::string& interface : *interfaces) {
      statuses.push_back(
          RunAll(remote, {{"tc", "qdisc", "del", "dev", interface, "root"}}, options_.sudo));
    }
  }
  return Combine(statuses);
}

Status PacketFault::Heal() {
  return Combine(InParallel(nodes_.size(), [&](size_t i) {
    if (i >= remotes_.size() || remotes_[i] == nullptr || i >= states_.size()) {
      return Status::Ok();
    }
    return HealNode(i);
  }));
}

FaultOutcome PacketFault::Start(const Test&, const Json& value) {
  if (!value.is_object() || !value.contains("edges") || !value.contains("behaviour")) {
    return {value,
            Status::InvalidArgument(
                "start-packet: the value needs \"edges\" and \"behaviour\", got " + value.dump())};
  }
  if (nodes_.empty()) return {value, Status::InvalidArgument("packet: Setup was not called")};
  Result<PacketEdges> edges = EdgesFromJson(value["edges"], nodes_);
  if (!edges.ok()) return {value, edges.status()};
  Result<PacketBehaviour> behaviour = BehaviourFromJson(value["behaviour"]);
  if (!behaviour.ok()) return {value, behaviour.status()};
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!states_[i].held) {
      return {value, Status::InvalidArgument("packet: " + nodes_[i] +
                                             "'s chain is not held (Setup failed or HealAll "
                                             "ran)")};
    }
  }
  // A start replaces what an earlier one left.
  if (Status healed = Heal(); !healed.ok()) return {value, healed};
  std::vector<Status> statuses = InParallel(nodes_.size(), [&](size_t i) {
    auto found = edges->find(nodes_[i]);
    if (found == edges->end() || found->second.empty()) return Status::Ok();
    return ApplyNode(i, found->second, *behaviour);
  });
  Json done = value;
  Json mechanisms = Json::object();
  PacketEdges applied;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto found = edges->find(nodes_[i]);
    if (found == edges->end()) continue;
    mechanisms[nodes_[i]] = ToString(states_[i].mechanism);
    if (statuses[i].ok()) applied[nodes_[i]] = found->second;
  }
  done["mechanisms"] = mechanisms;
  Status status = Combine(statuses);
  if (!status.ok()) done["edges"] = EdgesToJson(applied);
  return {done, status};
}

FaultOutcome PacketFault::Stop(const Test&) {
  Status healed = Heal();
  return {{{"nodes", nodes_}}, healed};
}

Status PacketFault::HealAll(const Test&) {
  std::vector<Status> statuses = {Heal()};
  std::vector<Status> removed = InParallel(nodes_.size(), [&](size_t i) {
    if (i >= remotes_.size() || remotes_[i] == nullptr || i >= states_.size() || !states_[i].held) {
      return Status::Ok();
    }
    Status status = RemoveOwnChain(*remotes_[i], IpFamily::kIpv4, PacketChain(), options_.run_id,
                                   options_.sudo);
    if (status.ok()) states_[i].held = false;  // a failed removal is tried again next time
    return status;
  });
  statuses.insert(statuses.end(), removed.begin(), removed.end());
  return Combine(statuses);
}

// The kind, registered in nemesis/registry.cc. A network fault: healed with the partitions,
// before processes restart.
FaultKind PacketFaultKind() {
  return {"packet",
          "delay (with jitter), lose, duplicate or reorder packets, or limit the rate, between "
          "random node pairs or from one node (tc netem, or iptables and faultline-shaper on "
          "NFQUEUE where the kernel has no netem), heal at the stop",
          0,
          [](const FaultOptions& options) -> Result<std::unique_ptr<Fault>> {
            if (options.nodes.size() < 2) {
              return Status::InvalidArgument("a packet fault needs at least 2 nodes");
            }
            return std::unique_ptr<Fault>(std::make_unique<PacketFault>(
                PacketOptions{options.sudo, options.protected_addresses, "", ""}));
          },
          [](const FaultOptions&) { return PacketTargets(); },
          [](const std::vector<std::string>& nodes, const std::string& choice, gen::Rng& rng) {
            return DrawPacketValue(nodes, choice, rng);
          }};
}

}  // namespace faultline::nemesis
