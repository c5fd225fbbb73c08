#include "nemesis/nemesis.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <sstream>

#include "generators/combinators.h"
#include "generators/random.h"
#include "nemesis/internal.h"
#include "nemesis/partition.h"
#include "nemesis/process.h"
#include "nemesis/schedule.h"

namespace faultline::nemesis {
namespace {

constexpr char kPartition[] = "partition";
constexpr char kKill[] = "kill";
constexpr char kPause[] = "pause";

Json NodeList(const std::vector<std::string>& nodes) { return Json(nodes); }

// The nodes of an op value's "nodes" list; InvalidArgument when it is not a list of strings.
Result<std::vector<std::string>> NodesOf(const Json& value, const std::string& f) {
  const Json* nodes = value.is_object() && value.contains("nodes") ? &value["nodes"] : nullptr;
  if (nodes == nullptr || !nodes->is_array()) {
    return Status::InvalidArgument(f + ": the value needs \"nodes\": [...], got " + value.dump());
  }
  std::vector<std::string> names;
  for (const Json& node : *nodes) {
    if (!node.is_string()) return Status::InvalidArgument(f + ": not a node name: " + node.dump());
    names.push_back(node.get<std::string>());
  }
  return names;
}

// The completion of `invoke`: ok with `value`, or info with `value` and the error.
Op Complete(const Op& invoke, Json value, const Status& status) {
  Op completion = invoke;
  completion.type = status.ok() ? OpType::kOk : OpType::kInfo;
  completion.value = std::move(value);
  if (!status.ok()) completion.error = status.message();
  return completion;
}

class FaultNemesis : public Nemesis {
 public:
  FaultNemesis(const NemesisOptions& options, const std::vector<std::string>& faults)
      : nodes_(options.nodes) {
    for (const std::string& fault : faults) {
      if (fault == kPartition) {
        partition_ = std::make_unique<PartitionFault>(
            PartitionOptions{options.sudo, options.protected_addresses, /*run_id=*/""});
      } else {
        processes_[fault] = std::make_unique<ProcessFault>(
            fault == kKill ? ProcessFaultKind::kKill : ProcessFaultKind::kPause);
      }
    }
  }

  Status Setup(const Test& test, const NodeRemotes& remotes) override {
    std::lock_guard lock(mutex_);
    if (test.options.nodes != nodes_) {
      return Status::InvalidArgument("nemesis: built for nodes other than the test's");
    }
    if (partition_) {
      Status status = partition_->Setup(test, remotes);
      if (!status.ok()) return status;
    }
    for (auto& [name, fault] : processes_) {
      Status status = fault->Setup(test, remotes);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  }

  Op Invoke(const Test& test, const Op& invoke) override {
    std::lock_guard lock(mutex_);
    if (partition_ && invoke.f == StartOpName(kPartition)) return StartPartition(invoke);
    if (partition_ && invoke.f == StopOpName(kPartition)) {
      Status healed = partition_->Heal();
      return Complete(invoke, {{"nodes", NodeList(nodes_)}}, healed);
    }
    for (auto& [name, fault] : processes_) {
      if (invoke.f == StartOpName(name)) return StartProcessFault(test, *fault, invoke);
      if (invoke.f == StopOpName(name)) {
        std::vector<std::string> healed;
        Status status = fault->Heal(test, &healed);
        return Complete(invoke, {{"nodes", NodeList(healed)}}, status);
      }
    }
    return Complete(invoke, invoke.value,
                    Status::InvalidArgument("nemesis: no enabled fault has the op " + invoke.f));
  }

  Status Teardown(const Test& test) override {
    std::lock_guard lock(mutex_);
    // Partitions first, so restarted nodes find their peers; resumed before restarted.
    std::vector<Status> statuses;
    if (partition_) statuses.push_back(partition_->Teardown());
    for (const char* name : {kPause, kKill}) {
      auto found = processes_.find(name);
      if (found != processes_.end()) statuses.push_back(found->second->HealAll(test));
    }
    return Combine(statuses);
  }

 private:
  Op StartPartition(const Op& invoke) {
    const Json& value = invoke.value;
    if (!value.is_object() || !value.contains("drops")) {
      return Complete(invoke, value,
                      Status::InvalidArgument("start-partition: the value needs \"drops\", got " +
                                              value.dump()));
    }
    Result<Grudge> grudge = GrudgeFromJson(value["drops"], nodes_);
    if (!grudge.ok()) return Complete(invoke, value, grudge.status());
    std::vector<std::string> applied;
    Status status = partition_->Apply(*grudge, &applied);
    if (status.ok()) return Complete(invoke, value, status);
    Grudge done;  // what is in place: the nodes whose rules were fully applied
    for (const std::string& node : applied) done[node] = (*grudge)[node];
    Json partial = value;
    partial["drops"] = GrudgeToJson(done);
    return Complete(invoke, partial, status);
  }

  Op StartProcessFault(const Test& test, ProcessFault& fault, const Op& invoke) {
    Result<std::vector<std::string>> nodes = NodesOf(invoke.value, invoke.f);
    if (!nodes.ok()) return Complete(invoke, invoke.value, nodes.status());
    std::vector<std::string> done;
    Status status = fault.Apply(test, *nodes, &done);
    Json value = invoke.value;
    value["nodes"] = NodeList(done);
    return Complete(invoke, value, status);
  }

  std::mutex mutex_;
  std::vector<std::string> nodes_;
  std::unique_ptr<PartitionFault> partition_;
  std::map<std::string, std::unique_ptr<ProcessFault>> processes_;
};

// The distinct faults asked for, in FaultNames() order; entries may join names with ',' or '+'.
Result<std::vector<std::string>> ParseFaults(const std::vector<std::string>& entries) {
  const std::vector<std::string> known = FaultNames();
  std::set<std::string> asked;
  for (const std::string& entry : entries) {
    std::string name;
    std::istringstream in(entry);
    while (std::getline(in, name, ',')) {
      std::istringstream parts(name);
      for (std::string part; std::getline(parts, part, '+');) {
        if (part.empty() || part == "none") continue;
        if (std::find(known.begin(), known.end(), part) == known.end()) {
          return Status::InvalidArgument("unknown fault \"" + part +
                                         "\" (faults: none, partition, kill, pause)");
        }
        asked.insert(part);
      }
    }
  }
  std::vector<std::string> faults;
  for (const std::string& name : known) {
    if (asked.count(name)) faults.push_back(name);
  }
  return faults;
}

FaultPlan PartitionPlan(const std::vector<std::string>& nodes) {
  return {kPartition, [nodes](gen::Rng& rng) {
            const std::vector<PartitionKind> kinds = PartitionKindsFor(nodes.size());
            const PartitionKind kind = kinds[gen::UniformBelow(rng, kinds.size())];
            Result<Grudge> grudge = MakeGrudge(kind, nodes, rng);  // BuildNemesis checked size
            return Json{{"kind", ToString(kind)}, {"drops", GrudgeToJson(*grudge)}};
          }};
}

FaultPlan ProcessPlan(const std::string& name, const std::vector<std::string>& nodes) {
  return {name, [nodes](gen::Rng& rng) {
            const std::vector<Target> targets = TargetsFor(nodes.size());
            const Target target = targets[gen::UniformBelow(rng, targets.size())];
            return Json{{"target", ToString(target)}, {"nodes", PickNodes(target, nodes, rng)}};
          }};
}

}  // namespace

std::vector<std::string> FaultNames() { return {kPartition, kKill, kPause}; }

Result<NemesisPackage> BuildNemesis(const NemesisOptions& options) {
  Result<std::vector<std::string>> faults = ParseFaults(options.faults);
  if (!faults.ok()) return faults.status();
  NemesisPackage package;
  if (faults->empty()) return package;
  if (!(options.interval_s > 0) || !std::isfinite(options.interval_s)) {
    return Status::InvalidArgument("the nemesis interval must be a positive number of seconds");
  }
  if (options.nodes.empty()) return Status::InvalidArgument("the nemesis needs the test's nodes");
  std::vector<FaultPlan> plans;
  std::vector<gen::GenPtr> heals;
  for (const std::string& fault : *faults) {
    if (fault == kPartition && options.nodes.size() < 2) {
      return Status::InvalidArgument("a partition needs at least 2 nodes");
    }
    plans.push_back(fault == kPartition ? PartitionPlan(options.nodes)
                                        : ProcessPlan(fault, options.nodes));
    heals.push_back(gen::Once(StopOpName(fault)));
  }
  package.faults = *faults;
  package.nemesis = std::make_shared<FaultNemesis>(options, *faults);
  const auto interval_ns = static_cast<int64_t>(std::llround(options.interval_s * 1e9));
  package.generator = gen::Nemesis(FaultCycle(std::move(plans), std::max<int64_t>(interval_ns, 1)));
  package.final_generator = gen::Nemesis(gen::Concat(std::move(heals)));
  return package;
}

std::string FaultChange::Summary() const {
  std::string text = fault;
  if (active) {
    if (!detail.empty()) text += " " + detail;
    text += " on";
    for (const std::string& node : nodes) text += " " + node;
  } else {
    text += " healed";
  }
  if (!error.empty()) text += " (failed: " + error + ")";
  return text;
}

std::optional<FaultChange> DescribeFault(const Op& completion) {
  if (!completion.is_nemesis() || !completion.is_completion()) return std::nullopt;
  for (const std::string& fault : FaultNames()) {
    const bool starts = completion.f == StartOpName(fault);
    if (!starts && completion.f != StopOpName(fault)) continue;
    FaultChange change;
    change.fault = fault;
    change.active = starts;
    const Json& value = completion.value;
    if (value.is_object()) {
      for (const char* key : {"kind", "target"}) {
        if (value.contains(key) && value[key].is_string()) change.detail = value[key];
      }
      if (value.contains("drops") && value["drops"].is_object()) {
        for (const auto& [node, peers] : value["drops"].items()) change.nodes.push_back(node);
      } else if (Result<std::vector<std::string>> nodes = NodesOf(value, completion.f);
                 nodes.ok()) {
        change.nodes = *nodes;
      }
    }
    if (!completion.error.is_null()) {
      change.error = completion.error.is_string() ? completion.error.get<std::string>()
                                                  : completion.error.dump();
    }
    return change;
  }
  return std::nullopt;
}

}  // namespace faultline::nemesis
