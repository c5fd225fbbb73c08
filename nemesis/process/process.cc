#include "nemesis/process/process.h"

#include <algorithm>

#include "nemesis/internal.h"

namespace faultline::nemesis {
namespace {

constexpr std::pair<Target, std::string_view> kTargetNames[] = {
    {Target::kOne, "one"},
    {Target::kMinority, "minority"},
    {Target::kMajority, "majority"},
    {Target::kAll, "all"},
};

}  // namespace

std::string_view ToString(Target target) { return NameIn(kTargetNames, target); }

std::optional<Target> ParseTarget(std::string_view name) { return ValueIn(kTargetNames, name); }

size_t TargetSize(Target target, size_t node_count) {
  switch (target) {
    case Target::kOne:
      return std::min<size_t>(1, node_count);
    case Target::kMinority:
      return node_count == 0 ? 0 : (node_count - 1) / 2;
    case Target::kMajority:
      return node_count == 0 ? 0 : node_count / 2 + 1;
    case Target::kAll:
      return node_count;
  }
  return 0;
}

std::vector<Target> TargetsFor(size_t node_count) {
  std::vector<Target> targets;
  for (const auto& [target, name] : kTargetNames) {
    if (TargetSize(target, node_count) > 0) targets.push_back(target);
  }
  return targets;
}

std::vector<std::string> PickNodes(Target target, const std::vector<std::string>& nodes,
                                   gen::Rng& rng) {
  std::vector<std::string> order = Shuffled(nodes, rng);
  order.resize(TargetSize(target, nodes.size()));
  std::vector<std::string> picked;
  for (const std::string& node : nodes) {
    if (std::find(order.begin(), order.end(), node) != order.end()) picked.push_back(node);
  }
  return picked;
}

std::string_view ToString(ProcessFaultKind kind) {
  switch (kind) {
    case ProcessFaultKind::kKill:
      return "kill";
    case ProcessFaultKind::kPause:
      return "pause";
    case ProcessFaultKind::kAmnesia:
      return "amnesia";
  }
  return "unknown";
}

Status ProcessFault::Setup(const Test& test, const NodeRemotes& remotes) {
  nodes_ = test.options.nodes;
  remotes_ = remotes;
  affected_.clear();
  ever_applied_ = false;
  if (!test.db) {
    return Status::Unsupported(std::string(ToString(kind_)) + ": the test has no database to " +
                               std::string(ToString(kind_)));
  }
  if (nodes_.empty()) return Status::InvalidArgument(std::string(ToString(kind_)) + ": no nodes");
  if (kind_ == ProcessFaultKind::kAmnesia && !test.db->CanWipe()) {
    return Status::Unsupported("amnesia: this database cannot wipe a node's data");
  }
  return Call(test, nodes_.front(), /*breaking=*/false);
}

Status ProcessFault::Call(const Test& test, const std::string& node, bool breaking) const {
  auto position = std::find(nodes_.begin(), nodes_.end(), node);
  if (position == nodes_.end()) {
    return Status::InvalidArgument(std::string(ToString(kind_)) + ": unknown node " + node);
  }
  const size_t index = static_cast<size_t>(position - nodes_.begin());
  if (!test.db || index >= remotes_.size() || remotes_[index] == nullptr) {
    return Status::Unsupported(std::string(ToString(kind_)) + ": no session to node " + node);
  }
  control::Remote& remote = *remotes_[index];
  switch (kind_) {
    case ProcessFaultKind::kKill:
      return breaking ? test.db->Kill(test, node, remote) : test.db->Start(test, node, remote);
    case ProcessFaultKind::kPause:
      return breaking ? test.db->Pause(test, node, remote) : test.db->Resume(test, node, remote);
    case ProcessFaultKind::kAmnesia:
      if (!breaking) return test.db->Start(test, node, remote);
      if (Status killed = test.db->Kill(test, node, remote); !killed.ok()) return killed;
      return test.db->Wipe(test, node, remote);
  }
  return Status::Internal("unknown process fault");
}

Status ProcessFault::CallAll(const Test& test, const std::vector<std::string>& nodes, bool breaking,
                             std::vector<std::string>* succeeded) const {
  std::vector<Status> statuses =
      InParallel(nodes.size(), [&](size_t i) { return Call(test, nodes[i], breaking); });
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (statuses[i].ok() && succeeded) succeeded->push_back(nodes[i]);
  }
  return Combine(statuses);
}

Status ProcessFault::Apply(const Test& test, const std::vector<std::string>& nodes,
                           std::vector<std::string>* done) {
  if (done) done->clear();
  for (const std::string& node : nodes) {
    if (std::find(nodes_.begin(), nodes_.end(), node) == nodes_.end()) {
      return Status::InvalidArgument(std::string(ToString(kind_)) + ": unknown node " + node);
    }
  }
  // Marked first: a call that fails half way may still have stopped the server.
  affected_.insert(nodes.begin(), nodes.end());
  ever_applied_ = true;
  return CallAll(test, nodes, /*breaking=*/true, done);
}

Status ProcessFault::Heal(const Test& test, std::vector<std::string>* healed) {
  std::vector<std::string> mended;
  Status status = CallAll(test, {affected_.begin(), affected_.end()}, /*breaking=*/false, &mended);
  for (const std::string& node : mended) affected_.erase(node);
  if (healed) *healed = std::move(mended);
  return status;
}

Status ProcessFault::HealAll(const Test& test) {
  if (!ever_applied_) return Status::Ok();  // nothing was ever broken: no database call at all
  std::vector<std::string> mended;
  Status status = CallAll(test, nodes_, /*breaking=*/false, &mended);
  for (const std::string& node : mended) affected_.erase(node);
  return status;
}

FaultOutcome ProcessFault::Start(const Test& test, const Json& invoke_value) {
  const std::string f = "start-" + std::string(ToString(kind_));
  Json value = invoke_value;
  if (value.is_object() && value.value("target", "") == kPrimaries && !value.contains("nodes")) {
    Json unanswered;
    Result<std::vector<std::string>> primaries = CurrentPrimaries(test, remotes_, &unanswered);
    if (!unanswered.empty()) value["unanswered"] = unanswered;
    if (!primaries.ok()) return {value, primaries.status()};
    value["nodes"] = *primaries;
  }
  Result<std::vector<std::string>> nodes = NodesOf(value, f);
  if (!nodes.ok()) return {value, nodes.status()};
  std::vector<std::string> done;
  Status status = Apply(test, *nodes, &done);
  value["nodes"] = done;
  return {value, status};
}

FaultOutcome ProcessFault::Stop(const Test& test) {
  std::vector<std::string> healed;
  Status status = Heal(test, &healed);
  return {{{"nodes", healed}}, status};
}

// The kinds kill, pause and amnesia (registered in nemesis/registry.cc). Pause heals before kill: paused servers are
// resumed before killed ones restart, so that the restarted ones find their peers live.
namespace {

// `allowed`: the targets the fault may draw (of those that name a node on the test's nodes), and
// whether it may aim at the primaries.
FaultKind ProcessKind(ProcessFaultKind kind, std::string summary, int heal_order,
                      std::vector<Target> allowed = {Target::kOne, Target::kMinority,
                                                     Target::kMajority, Target::kAll},
                      bool at_primaries = true) {
  return {std::string(ToString(kind)), std::move(summary), heal_order,
          [kind](const FaultOptions&) -> Result<std::unique_ptr<Fault>> {
            return std::unique_ptr<Fault>(std::make_unique<ProcessFault>(kind));
          },
          [allowed, at_primaries](const FaultOptions& options) {
            std::vector<std::string> targets;
            for (Target target : TargetsFor(options.nodes.size())) {
              if (std::find(allowed.begin(), allowed.end(), target) != allowed.end())
                targets.emplace_back(ToString(target));
            }
            if (at_primaries && options.primaries) targets.emplace_back(kPrimaries);
            return targets;
          },
          [](const std::vector<std::string>& nodes, const std::string& choice, gen::Rng& rng) {
            std::optional<Target> target = ParseTarget(choice);
            if (!target) return Json{{"target", choice}};  // primaries: resolved at the start
            return Json{{"target", choice}, {"nodes", PickNodes(*target, nodes, rng)}};
          }};
}

}  // namespace

FaultKind KillFaultKind() {
  return ProcessKind(ProcessFaultKind::kKill,
                     "kill the database on one, a minority, a majority or all nodes (SIGKILL), "
                     "restart it at the stop",
                     2);
}

// Amnesia draws one node or a minority only: wiping a majority would lose what the cluster
// acknowledged by design (and an etcd majority cannot rejoin at all), which tests nothing.
FaultKind AmnesiaFaultKind() {
  return ProcessKind(ProcessFaultKind::kAmnesia,
                     "kill the database on one node or a minority and wipe its data "
                     "(Db::Wipe: etcd removes and re-adds the member), restart it empty at the "
                     "stop",
                     2, {Target::kOne, Target::kMinority}, /*at_primaries=*/false);
}

FaultKind PauseFaultKind() {
  return ProcessKind(ProcessFaultKind::kPause,
                     "pause the database on one, a minority, a majority or all nodes (SIGSTOP), "
                     "resume it at the stop",
                     1);
}

}  // namespace faultline::nemesis
