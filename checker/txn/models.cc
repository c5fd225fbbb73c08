#include "checker/txn/models.h"

#include <algorithm>
#include <map>

namespace faultline::txn {
namespace {

using Relation = std::map<std::string, std::vector<std::string>>;

// anomaly -> anomalies it implies (a G0 cycle is also a G1c cycle, a process cycle is also a
// realtime cycle because processes are sequential, ...).
const Relation& Implications() {
  static const Relation relation = {
      {"G0", {"G1c", "G0-process"}},
      {"G0-process", {"G1c-process", "G0-realtime"}},
      {"G0-realtime", {"G1c-realtime"}},
      {"G1a", {"G1"}},
      {"G1b", {"G1"}},
      {"G1c", {"G1", "G1c-process"}},
      {"G1c-process", {"G1c-realtime", "G1-process"}},
      {"G1c-realtime", {"G1-realtime"}},
      {"G1", {"G1-process"}},
      {"G1-process", {"G1-realtime"}},
      {"G-single-item", {"G-single", "G-single-item-process", "G-nonadjacent-item"}},
      {"G-single-item-process",
       {"G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"}},
      {"G-single-item-realtime", {"G-single-realtime", "G-nonadjacent-item-realtime"}},
      {"G-single", {"G-nonadjacent", "G-single-process"}},
      {"G-single-process", {"G-nonadjacent-process", "G-single-realtime"}},
      {"G-single-realtime", {"G-nonadjacent-realtime"}},
      {"G-nonadjacent-item", {"G-nonadjacent", "G2-item", "G-nonadjacent-item-process"}},
      {"G-nonadjacent-item-process",
       {"G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"}},
      {"G-nonadjacent-item-realtime", {"G2-item-realtime", "G-nonadjacent-realtime"}},
      {"G-nonadjacent", {"G2", "G-nonadjacent-process"}},
      {"G-nonadjacent-process", {"G2-process", "G-nonadjacent-realtime"}},
      {"G-nonadjacent-realtime", {"G2-realtime"}},
      {"G2-item", {"G2", "G2-item-process"}},
      {"G2-item-process", {"G2-process", "G2-item-realtime"}},
      {"G2-item-realtime", {"G2-realtime"}},
      {"G2", {"G2-process"}},
      {"G2-process", {"G2-realtime"}},
      // Non-cycle anomalies, placed where they belong: reading a value from an impossible
      // timeline, from an aborted write, or a value nobody wrote is a dirty read (G1a); a
      // transaction reading its own later write is a one-transaction G1c cycle.
      {"incompatible-order", {"G1a"}},
      {"dirty-update", {"G1a"}},
      {"garbage-read", {"G1a"}},
      {"future-read", {"G1c"}},
      {"lost-update", {"G2-item"}},
      {"internal", {}},
      {"duplicate-elements", {}},
      {"cyclic-versions", {}},
      {"G2-realtime", {}},
  };
  return relation;
}

// model -> weaker models it implies: Elle's lattice (elle.consistency-model, after
// jepsen.io/consistency). Models that forbid no anomaly the checker can find are left out, since
// asking for them would check nothing: view-serializable, session-serializable, 1SR and the
// single-object models (linearizable, sequential, causal, PRAM and the session guarantees, which
// checker/session checks).
const Relation& ModelImplications() {
  static const Relation relation = {
      {"strict-serializable",
       {"serializable", "snapshot-isolation", "strong-snapshot-isolation",
        "strong-session-serializable"}},
      {"strong-session-serializable", {"serializable", "strong-session-snapshot-isolation"}},
      {"strong-snapshot-isolation", {"strong-session-snapshot-isolation", "strong-read-committed"}},
      {"strong-session-snapshot-isolation",
       {"snapshot-isolation", "strong-session-read-committed"}},
      {"strong-read-committed", {"strong-session-read-committed", "strong-read-uncommitted"}},
      {"strong-session-read-committed", {"read-committed", "strong-session-read-uncommitted"}},
      {"strong-read-uncommitted", {"strong-session-read-uncommitted"}},
      {"strong-session-read-uncommitted", {"read-uncommitted"}},
      {"serializable", {"repeatable-read", "snapshot-isolation", "update-serializable"}},
      {"update-serializable", {"forward-consistent-view"}},
      {"snapshot-isolation",
       {"forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read",
        "parallel-snapshot-isolation", "prefix"}},
      {"forward-consistent-view", {"consistent-view"}},
      {"parallel-snapshot-isolation", {"causal-cerone", "update-atomic"}},
      {"prefix", {"causal-cerone"}},
      {"causal-cerone", {"read-atomic"}},
      {"update-atomic", {"read-atomic"}},
      {"read-atomic", {"monotonic-atomic-view"}},
      {"repeatable-read", {"cursor-stability", "monotonic-atomic-view"}},
      {"consistent-view", {"cursor-stability", "monotonic-view"}},
      {"cursor-stability", {"read-committed"}},
      {"monotonic-view", {"read-committed"}},
      {"monotonic-snapshot-read", {"read-committed"}},
      {"monotonic-atomic-view", {"read-committed"}},
      {"read-committed", {"read-uncommitted"}},
      {"read-uncommitted", {}},
  };
  return relation;
}

// model -> anomalies it rules out directly (weaker models' prohibitions are inherited). Elle also
// lists anomalies that neither it nor this checker detects (Adya's G-cursor, G-monotonic, G-MSR,
// G-SIb, G-update, predicate-read-miss); they are left out, so monotonic-view,
// monotonic-snapshot-read, forward-consistent-view and update-serializable are checked as the
// models below them.
const Relation& DirectProhibitions() {
  static const Relation relation = {
      {"read-uncommitted", {"G0", "duplicate-elements", "cyclic-versions"}},
      {"read-committed", {"G1"}},
      {"cursor-stability", {"lost-update"}},
      {"consistent-view", {"G-single"}},
      {"read-atomic", {"internal", "G1a", "future-read"}},
      {"causal-cerone", {"internal", "G1a"}},
      {"prefix", {"internal", "G1a"}},
      {"parallel-snapshot-isolation", {"internal", "G1a"}},
      {"update-atomic", {"lost-update"}},
      {"repeatable-read", {"G2-item", "lost-update"}},
      {"snapshot-isolation", {"internal", "G-nonadjacent"}},
      {"serializable", {"internal", "G2"}},
      {"strong-session-read-uncommitted", {"G0-process"}},
      {"strong-session-read-committed", {"G1c-process"}},
      {"strong-read-uncommitted", {"G0-realtime"}},
      {"strong-read-committed", {"G1c-realtime"}},
      {"strong-session-snapshot-isolation", {"G1-process", "G-nonadjacent-process"}},
      {"strong-snapshot-isolation", {"G1-realtime", "G-nonadjacent-realtime"}},
      {"strong-session-serializable", {"G1-process", "G2-process"}},
      {"strict-serializable", {"G1-realtime", "G2-realtime"}},
  };
  return relation;
}

// Everything reachable from `start` along `relation` (forward), or against it (backward).
std::set<std::string> Closure(const Relation& relation, const std::vector<std::string>& start,
                              bool forward) {
  std::set<std::string> seen(start.begin(), start.end());
  std::vector<std::string> stack(start.begin(), start.end());
  while (!stack.empty()) {
    std::string node = stack.back();
    stack.pop_back();
    for (const auto& [from, targets] : relation) {
      for (const std::string& to : targets) {
        const std::string& next = forward ? to : from;
        if ((forward ? from : to) == node && seen.insert(next).second) stack.push_back(next);
      }
    }
  }
  return seen;
}

}  // namespace

const std::vector<std::string>& ConsistencyModelNames() {
  static const std::vector<std::string> names = {
      "read-uncommitted",
      "read-committed",
      "monotonic-view",
      "monotonic-snapshot-read",
      "cursor-stability",
      "monotonic-atomic-view",
      "read-atomic",
      "causal-cerone",
      "prefix",
      "update-atomic",
      "parallel-snapshot-isolation",
      "consistent-view",
      "forward-consistent-view",
      "repeatable-read",
      "update-serializable",
      "snapshot-isolation",
      "serializable",
      "strong-session-read-uncommitted",
      "strong-session-read-committed",
      "strong-read-uncommitted",
      "strong-read-committed",
      "strong-session-snapshot-isolation",
      "strong-snapshot-isolation",
      "strong-session-serializable",
      "strict-serializable",
  };
  return names;
}

bool IsConsistencyModel(const std::string& name) {
  const auto& names = ConsistencyModelNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsAnomalyName(const std::string& name) { return Implications().count(name) > 0; }

std::set<std::string> ProhibitedAnomalies(const std::vector<std::string>& models,
                                          const std::vector<std::string>& anomalies) {
  std::vector<std::string> direct(anomalies.begin(), anomalies.end());
  for (const std::string& model : Closure(ModelImplications(), models, /*forward=*/true)) {
    auto found = DirectProhibitions().find(model);
    if (found != DirectProhibitions().end()) {
      direct.insert(direct.end(), found->second.begin(), found->second.end());
    }
  }
  return Closure(Implications(), direct, /*forward=*/false);
}

ModelBoundary Boundary(const std::set<std::string>& anomalies) {
  std::set<std::string> implied =
      Closure(Implications(), {anomalies.begin(), anomalies.end()}, true);
  std::vector<std::string> violated;
  for (const auto& [model, prohibited] : DirectProhibitions()) {
    for (const std::string& anomaly : prohibited) {
      if (implied.count(anomaly)) violated.push_back(model);
    }
  }
  std::set<std::string> impossible = Closure(ModelImplications(), violated, /*forward=*/false);
  ModelBoundary boundary;
  for (const std::string& model : ConsistencyModelNames()) {
    std::set<std::string> weaker = Closure(ModelImplications(), {model}, true);
    weaker.erase(model);
    std::set<std::string> stronger = Closure(ModelImplications(), {model}, false);
    stronger.erase(model);
    if (impossible.count(model)) {
      bool weakest = std::none_of(weaker.begin(), weaker.end(),
                                  [&](const std::string& m) { return impossible.count(m) > 0; });
      (weakest ? boundary.not_models : boundary.also_not).push_back(model);
    } else if (std::all_of(stronger.begin(), stronger.end(),
                           [&](const std::string& m) { return impossible.count(m) > 0; })) {
      boundary.strongest_models.push_back(model);
    }
  }
  return boundary;
}

}  // namespace faultline::txn
