// Process faults through the database's own capabilities (Db::Kill/Start, Db::Pause/Resume):
// kill a target set of nodes' servers and restart them, or pause them (SIGSTOP) and resume them.
//
// Targets are drawn with the seeded RNG by the generator (schedule.h); the sizes are fixed by
// the kind of target so that what a fault did is plain from its name: one node, a minority
// ((n - 1) / 2 nodes: the largest group that cannot form a quorum), a majority (n / 2 + 1) or all.
//
// A ProcessFault remembers which nodes it has killed or paused, marking them before it calls the
// database, so healing restarts or resumes exactly those even when the fault was half applied.
// HealAll, for teardown, heals every node: the Db's methods are idempotent (Db's contract), so
// this also covers a fault whose completion was lost.
//
// Thread safety: one thread at a time (the composed nemesis serializes Invoke and Teardown); the
// nodes' calls run in parallel, each through its own LockedRemote.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "generators/generator.h"
#include "nemesis/fault.h"
#include "runner/test.h"

namespace faultline::nemesis {

enum class Target { kOne, kMinority, kMajority, kAll };
// A start whose value is {"target": "primaries"} (offered when the database names its primaries)
// aims at the nodes that are primaries when it starts; the completion's value names them.
inline constexpr char kPrimaries[] = "primaries";

std::string_view ToString(Target target);  // "one", "minority", "majority", "all"
std::optional<Target> ParseTarget(std::string_view name);
// How many of node_count nodes the target names: 1, (n - 1) / 2, n / 2 + 1, n.
size_t TargetSize(Target target, size_t node_count);
// The targets that name at least one node (a minority of 1 or 2 nodes is nobody).
std::vector<Target> TargetsFor(size_t node_count);
// TargetSize(target) distinct nodes drawn with rng, in the order of `nodes`.
std::vector<std::string> PickNodes(Target target, const std::vector<std::string>& nodes,
                                   gen::Rng& rng);

// kAmnesia: killed and wiped (Db::Wipe) at the start, restarted empty at the stop.
enum class ProcessFaultKind { kKill, kPause, kAmnesia };

std::string_view ToString(ProcessFaultKind kind);  // "kill", "pause", "amnesia"

// The kill and pause faults (registered as "kill" and "pause"): start-kill's value is {"target",
// "nodes"}, and the completion's nodes are those where the database said ok; stop-kill's value
// names the nodes restarted.
class ProcessFault : public Fault {
 public:
  explicit ProcessFault(ProcessFaultKind kind) : kind_(kind) {}

  // Checks that the database can do this fault by calling its healing method (Start or Resume,
  // idempotent on a healthy node) on the first node: Unsupported refuses the nemesis at setup
  // instead of failing every fault during the run.
  Status Setup(const Test& test, const NodeRemotes& remotes) override;
  // Apply on the value's "nodes" (for the primaries target, the primaries now).
  FaultOutcome Start(const Test& test, const Json& value) override;
  // Heal.
  FaultOutcome Stop(const Test& test) override;
  // Kills or pauses `nodes` (names of the test's nodes) in parallel; *done receives those where
  // the database said ok.
  Status Apply(const Test& test, const std::vector<std::string>& nodes,
               std::vector<std::string>* done);
  // Restarts or resumes exactly the nodes this fault affected; *healed receives those where the
  // database said ok. A node that fails stays affected, for the next heal.
  Status Heal(const Test& test, std::vector<std::string>* healed);
  // Restarts or resumes every node of the test (teardown) once any fault was applied, and forgets
  // what was affected; without any fault applied it calls nothing.
  Status HealAll(const Test& test) override;

  ProcessFaultKind kind() const { return kind_; }
  const std::set<std::string>& affected() const { return affected_; }

 private:
  // The database call that breaks (breaking = true) or mends one node.
  Status Call(const Test& test, const std::string& node, bool breaking) const;
  // Calls the database on `nodes` in parallel; *succeeded receives the nodes where it said ok.
  Status CallAll(const Test& test, const std::vector<std::string>& nodes, bool breaking,
                 std::vector<std::string>* succeeded) const;

  ProcessFaultKind kind_;
  std::vector<std::string> nodes_;
  NodeRemotes remotes_;
  std::set<std::string> affected_;
  bool ever_applied_ = false;
};

}  // namespace faultline::nemesis
