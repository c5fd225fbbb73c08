// The nemesis's schedule: a generator that, every interval, starts one of the enabled faults, and
// one interval after that fault's start has completed, stops it; forever (the caller bounds it
// with the test's time limit). Faults come in rounds: each round is a seeded shuffle of every
// enabled fault, so with `partition,kill,pause` all three happen within the first three faults
// (a free random choice left a 30 s test without any partition), in an order the seed decides.
//
//   |-- interval --| start-kill {target, nodes} ... completes |-- interval --| stop-kill ...
//   completes |-- interval --| start-partition {kind, drops} ...
//
// Intervals count from the completion of the previous nemesis op, so a slow fault (a restart
// that waits for the server) never overlaps the next one; at most one fault is active at a time.
// Everything a fault will do is decided here and written into the invocation's value (the
// partition's grudge, the nodes to kill), so the history and the seed say exactly what happened
// and a replay with the same seed and event order makes the same faults.
//
// Op names: "start-<fault>" and "stop-<fault>" for every fault (partition, kill, pause).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/op.h"
#include "generators/generator.h"

namespace faultline::nemesis {

std::string StartOpName(const std::string& fault);  // "start-partition"
std::string StopOpName(const std::string& fault);   // "stop-partition"

// One fault the schedule may start: its name and how to draw the value of its start op.
struct FaultPlan {
  std::string name;
  std::function<Json(gen::Rng& rng)> draw_value;
};

// The schedule described above. It emits on the nemesis thread only: route it with
// gen::Nemesis (a context without the nemesis thread leaves it exhausted). interval_ns > 0 and
// faults not empty.
gen::GenPtr FaultCycle(std::vector<FaultPlan> faults, int64_t interval_ns);

}  // namespace faultline::nemesis
