// The nemesis package: the faults a test asked for (`--nemesis partition,kill,pause`) composed
// into one Nemesis, the generator that schedules them and the final generator that heals them.
//
//   NemesisOptions options;
//   options.faults = {"partition", "kill"};
//   options.nodes = test.options.nodes;
//   Result<NemesisPackage> package = BuildNemesis(options);
//   test.nemesis = package->nemesis;
//   test.generator = gen::TimeLimit(limit, gen::Any({gen::Clients(client), package->generator}));
//   test.final_generator = gen::Then(package->final_generator, final_reads);
//
// Ops (docs/nemesis.md has their values): start-partition / stop-partition, start-kill /
// stop-kill, start-pause / stop-pause. A completion is ok when the fault was applied on every node
// it names, info with an error naming the node and the command when not (its value then says
// what was done). The nemesis's Teardown heals everything whatever state it is in: partitions on
// every node, and every node restarted or resumed once any process fault was applied.
//
// Thread safety: the Nemesis's Invoke (nemesis thread) and Teardown (lifecycle thread, possibly
// while an interrupted run's Invoke is still under way) take one mutex, so they never interleave.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/op.h"
#include "core/status.h"
#include "generators/generator.h"
#include "nemesis/fault.h"
#include "runner/test.h"

namespace faultline::nemesis {

// The registered faults' names (FaultKinds(), nemesis/fault.h), in --nemesis order.
std::vector<std::string> FaultNames();

struct NemesisOptions {
  // Fault names (FaultNames()); an entry may also hold several joined by ',' or '+'. Empty or
  // only "none": no nemesis at all.
  std::vector<std::string> faults;
  double interval_s = 10;  // between a fault's start and its stop, and between faults
  // The test's nodes (TestOptions::nodes): the generator draws targets and grudges among them.
  std::vector<std::string> nodes;
  // Addresses no partition rule may name, besides the controller's address as each node sees
  // it (discovered from the node's $SSH_CLIENT). The local cluster's 10.213.0.1 belongs here.
  std::vector<std::string> protected_addresses;
  bool sudo = false;  // run iptables through sudo (the nodes' ssh user is not root)
  // The database names its primaries (Db::HasPrimaries): faults also offer to aim at them.
  bool primaries = false;
  // --nemesis-targets: each fault draws only among its choices named here (FaultKind::choices:
  // "one", "minority", "primaries", "isolate-one", ...); empty: among all of them. Every name
  // must be a choice of some fault asked for, and every fault must keep one.
  std::vector<std::string> targets;
  // The faults the names are looked up in: null for the registered ones (FaultKinds()); tests
  // compose faults of their own.
  const std::vector<FaultKind>* kinds = nullptr;
};

struct NemesisPackage {
  std::shared_ptr<Nemesis> nemesis;  // null when no fault was asked for
  // Nemesis ops only, already routed to the nemesis thread and without a time limit: the caller
  // combines it with the client generator and bounds both. Null without faults.
  gen::GenPtr generator;
  // Stops every enabled fault, one op each, so the final heal is in the history. Null without
  // faults.
  gen::GenPtr final_generator;
  std::vector<std::string> faults;  // the enabled faults, in FaultNames() order
};

// InvalidArgument for an unknown fault, an interval that is not positive, no nodes, or a
// partition with fewer than 2 nodes.
Result<NemesisPackage> BuildNemesis(const NemesisOptions& options);

// What a nemesis completion did, for the progress line.
struct FaultChange {
  std::string fault;               // "partition", "kill", "pause"
  bool active = false;             // started (true) or healed (false)
  std::string detail;              // the partition kind or the target ("majorities-ring", "one")
  std::vector<std::string> nodes;  // the nodes it changed (for a partition: those dropping)
  std::string error;               // empty when it was fully applied
  // "partition majorities-ring on n1 n2 n3", "kill healed", "+ error" when it failed.
  std::string Summary() const;
};

// The change a nemesis completion describes; nullopt for client ops, invocations and ops that
// are not one of this package's.
std::optional<FaultChange> DescribeFault(const Op& completion);

}  // namespace faultline::nemesis
