// A fault as a value (Jepsen's nemesis packages): each kind of fault lives in its own folder
// (nemesis/partition/, nemesis/process/) and is registered once, in FaultKinds()
// (nemesis/registry.cc). The test's nemesis (nemesis.h) composes the faults asked for by name:
// it routes each op to its fault, schedules their starts and stops, and at teardown heals every
// fault it holds, in heal order, whatever state each is in. A fault only says how to heal
// itself; it never has to arrange being healed.
//
// Ops: start-<name> with the value the kind drew (everything the start will do: which nodes,
// which grudge, how much skew), and stop-<name>. A completion's value says what was done.
//
// Thread safety: the kind's functions are pure. A Fault is called by one thread at a time (the
// composed nemesis serializes Invoke and Teardown); it may run its nodes' commands in parallel.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"
#include "runner/test.h"

namespace faultline::nemesis {

// What a start or a stop did: the completion's value (on a partial failure, what is in place)
// and whether it was done in full (the completion is then ok, else info with the error).
struct FaultOutcome {
  Json value;
  Status status;
};

class Fault {
 public:
  virtual ~Fault() = default;
  // Before the workload, once: takes what the fault needs on the nodes and checks that it can
  // work (the database can kill, iptables is there). An error refuses the run before any fault.
  virtual Status Setup(const Test& test, const NodeRemotes& remotes) = 0;
  // start-<name>: applies what `value` (drawn by the kind's draw) names.
  virtual FaultOutcome Start(const Test& test, const Json& value) = 0;
  // stop-<name>: heals what this fault's starts broke.
  virtual FaultOutcome Stop(const Test& test) = 0;
  // Teardown: heals everything this fault may have broken, also what a lost completion or a
  // half-applied start left, and releases what Setup took. Idempotent.
  virtual Status HealAll(const Test& test) = 0;
};

// What every fault may read when it is made.
struct FaultOptions {
  std::vector<std::string> nodes;  // the test's nodes
  // The database names its primaries (Db::HasPrimaries): faults may aim at them ("primaries",
  // "isolate-primaries"), resolved when the fault starts.
  bool primaries = false;
  // Addresses no network fault may cut off, besides the controller's as each node sees it.
  std::vector<std::string> protected_addresses;
  bool sudo = false;  // the nodes' ssh user is not root: privileged commands go through sudo
};

struct FaultKind {
  std::string name;     // --nemesis NAME; its ops are start-NAME and stop-NAME
  std::string summary;  // one line for --help and docs
  // Teardown heals the test's faults in this order, lowest first (network before processes,
  // so that restarted servers find their peers; paused ones resumed before killed ones start).
  int heal_order = 0;
  // The fault for these nodes; InvalidArgument when it cannot work on them (a partition of one
  // node).
  std::function<Result<std::unique_ptr<Fault>>(const FaultOptions&)> make;
  // What a start may aim at on these nodes, by name: targets ("one", "minority", "majority",
  // "all", "primaries") or partition kinds ("isolate-one", ...). --nemesis-targets picks among
  // them; the schedule draws one uniformly for each start.
  std::function<std::vector<std::string>(const FaultOptions&)> choices;
  // The value of the next start op aimed at `choice`, drawn with the seeded rng among `nodes`
  // (pure). A choice resolved only at the start ("primaries") leaves its nodes out.
  std::function<Json(const std::vector<std::string>& nodes, const std::string& choice,
                     gen::Rng& rng)>
      draw;
};

// The nodes whose database says it is a primary now (Db::IsPrimary, asked on every node at
// once). A node that cannot answer (paused, killed) is not one. Unsupported when the database
// names none; FailedPrecondition-like InvalidArgument naming each node's answer when no node is
// a primary.
// *unanswered (not null) gets each node that could not answer, with why: the start records it.
Result<std::vector<std::string>> CurrentPrimaries(const Test& test, const NodeRemotes& remotes,
                                                  Json* unanswered);

// Every fault, in --nemesis order; and the one named (null when none is).
const std::vector<FaultKind>& FaultKinds();
const FaultKind* FindFaultKind(const std::string& name);

}  // namespace faultline::nemesis
