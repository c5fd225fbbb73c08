#include "nemesis/nemesis.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <sstream>

#include "generators/combinators.h"
#include "generators/random.h"
#include "core/parse_text.h"
#include "nemesis/fault.h"
#include "nemesis/internal.h"
#include "nemesis/schedule.h"

namespace faultline::nemesis {
namespace {

// The completion of `invoke`: ok with the outcome's value, or info with it and the error.
Op Complete(const Op& invoke, FaultOutcome outcome) {
  Op completion = invoke;
  completion.type = outcome.status.ok() ? OpType::kOk : OpType::kInfo;
  completion.value = std::move(outcome.value);
  if (!outcome.status.ok()) completion.error = outcome.status.message();
  return completion;
}

// A fault of the test, with its kind's name and heal order.
struct HeldFault {
  std::string name;
  int heal_order = 0;
  std::unique_ptr<Fault> fault;
};

// The faults composed: each op goes to the fault whose name it carries, and Teardown heals every
// fault, in heal order, whatever state each is in.
class ComposedNemesis : public Nemesis {
 public:
  ComposedNemesis(std::vector<std::string> nodes, std::vector<HeldFault> faults)
      : nodes_(std::move(nodes)), faults_(std::move(faults)) {}

  Status Setup(const Test& test, const NodeRemotes& remotes) override {
    std::lock_guard lock(mutex_);
    if (test.options.nodes != nodes_) {
      return Status::InvalidArgument("nemesis: built for nodes other than the test's");
    }
    for (HeldFault& held : faults_) {
      Status status = held.fault->Setup(test, remotes);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  }

  Op Invoke(const Test& test, const Op& invoke) override {
    std::lock_guard lock(mutex_);
    for (HeldFault& held : faults_) {
      if (invoke.f == StartOpName(held.name))
        return Complete(invoke, held.fault->Start(test, invoke.value));
      if (invoke.f == StopOpName(held.name)) return Complete(invoke, held.fault->Stop(test));
    }
    return Complete(invoke, {invoke.value, Status::InvalidArgument(
                                               "nemesis: no enabled fault has the op " + invoke.f)});
  }

  Status Teardown(const Test& test) override {
    std::lock_guard lock(mutex_);
    std::vector<const HeldFault*> order;
    for (const HeldFault& held : faults_) order.push_back(&held);
    std::stable_sort(order.begin(), order.end(), [](const HeldFault* a, const HeldFault* b) {
      return a->heal_order < b->heal_order;
    });
    std::vector<Status> statuses;
    for (const HeldFault* held : order) {
      statuses.push_back(CatchAll("healing " + held->name,
                                  [&] { return held->fault->HealAll(test); }));
    }
    return Combine(statuses);
  }

 private:
  std::mutex mutex_;
  const std::vector<std::string> nodes_;
  std::vector<HeldFault> faults_;
};

std::string KnownFaults(const std::vector<FaultKind>& kinds) {
  std::vector<std::string> names = {"none"};
  for (const FaultKind& kind : kinds) names.push_back(kind.name);
  return text::JoinedWords(names, ", ");
}

// The distinct faults asked for, in the order of `kinds`; entries may join names with ',' or '+'.
Result<std::vector<const FaultKind*>> ParseFaults(const std::vector<std::string>& entries,
                                                  const std::vector<FaultKind>& kinds) {
  std::set<std::string> asked;
  for (const std::string& entry : entries) {
    std::string name;
    std::istringstream in(entry);
    while (std::getline(in, name, ',')) {
      std::istringstream parts(name);
      for (std::string part; std::getline(parts, part, '+');) {
        if (part.empty() || part == "none") continue;
        auto known = std::find_if(kinds.begin(), kinds.end(),
                                  [&](const FaultKind& kind) { return kind.name == part; });
        if (known == kinds.end()) {
          return Status::InvalidArgument("unknown fault \"" + part + "\" (faults: " +
                                         KnownFaults(kinds) + ")");
        }
        asked.insert(part);
      }
    }
  }
  std::vector<const FaultKind*> faults;
  for (const FaultKind& kind : kinds) {
    if (asked.count(kind.name)) faults.push_back(&kind);
  }
  return faults;
}

// The choices of `kind` on these nodes that `targets` names (all of them when it is empty), each
// inserted into *used; InvalidArgument when none is left.
Result<std::vector<std::string>> ChosenTargets(const FaultKind& kind, const FaultOptions& options,
                                               const std::vector<std::string>& targets,
                                               std::set<std::string>* used) {
  const std::vector<std::string> offered = kind.choices(options);
  std::vector<std::string> chosen;
  for (const std::string& choice : offered) {
    if (targets.empty() || std::find(targets.begin(), targets.end(), choice) != targets.end()) {
      chosen.push_back(choice);
      used->insert(choice);
    }
  }
  if (chosen.empty()) {
    return Status::InvalidArgument("--nemesis-targets leaves " + kind.name +
                                   " nothing to aim at (on these nodes it can aim at " +
                                   text::JoinedWords(offered, ", ") + ")");
  }
  return chosen;
}

}  // namespace

std::vector<std::string> FaultNames() {
  std::vector<std::string> names;
  for (const FaultKind& kind : FaultKinds()) names.push_back(kind.name);
  return names;
}

Result<NemesisPackage> BuildNemesis(const NemesisOptions& options) {
  Result<std::vector<const FaultKind*>> kinds =
      ParseFaults(options.faults, options.kinds ? *options.kinds : FaultKinds());
  if (!kinds.ok()) return kinds.status();
  NemesisPackage package;
  if (kinds->empty()) return package;
  if (!(options.interval_s > 0) || !std::isfinite(options.interval_s)) {
    return Status::InvalidArgument("the nemesis interval must be a positive number of seconds");
  }
  if (options.nodes.empty()) return Status::InvalidArgument("the nemesis needs the test's nodes");
  FaultOptions fault_options;
  fault_options.nodes = options.nodes;
  fault_options.primaries = options.primaries;
  fault_options.protected_addresses = options.protected_addresses;
  fault_options.sudo = options.sudo;
  std::vector<HeldFault> faults;
  std::vector<FaultPlan> plans;
  std::vector<gen::GenPtr> heals;
  std::set<std::string> targets_used;
  for (const FaultKind* kind : *kinds) {
    Result<std::unique_ptr<Fault>> fault = kind->make(fault_options);
    if (!fault.ok()) return fault.status();
    Result<std::vector<std::string>> choices =
        ChosenTargets(*kind, fault_options, options.targets, &targets_used);
    if (!choices.ok()) return choices.status();
    faults.push_back({kind->name, kind->heal_order, std::move(*fault)});
    plans.push_back({kind->name, [draw = kind->draw, nodes = options.nodes,
                                  choices = *choices](gen::Rng& rng) {
                       const std::string& choice = choices[gen::UniformBelow(rng, choices.size())];
                       return draw(nodes, choice, rng);
                     }});
    heals.push_back(gen::Once(StopOpName(kind->name)));
    package.faults.push_back(kind->name);
  }
  for (const std::string& target : options.targets) {
    if (!targets_used.count(target)) {
      return Status::InvalidArgument("--nemesis-targets " + target + ": no fault asked for (" +
                                     text::JoinedWords(package.faults, ", ") +
                                     ") can aim at it on these nodes");
    }
  }
  package.nemesis = std::make_shared<ComposedNemesis>(options.nodes, std::move(faults));
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
