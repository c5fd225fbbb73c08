// Helpers shared by the combinators that choose among several sub-generators (Any, EachThread,
// Reserve, Independent). Not part of the public API; pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "generators/generator.h"

namespace faultline::gen::internal {

// One sub-generator's answer: an op step (or a log step), with the weight it gets in ties.
struct Candidate {
  size_t source = 0;  // which sub-generator answered
  int64_t weight = 1;
  Step step;
};

// The position in `candidates` (non-empty) of the step to take: the first log step if any, since
// logs cost no thread and no time; otherwise the op due soonest, ties broken at random in
// proportion to weight so that no sub-generator or thread is starved (Jepsen's soonest-op).
size_t ChooseSoonest(const std::vector<Candidate>& candidates, Rng& rng);

// Whether a pending sub-generator's wake_ns (after now_ns) comes before every candidate op:
// then the chooser must answer pending with that wake time, since the interpreter waits for a
// future op's due time and would otherwise oversleep the wake (a Sleep ending inside an Any).
bool WakeComesFirst(const std::vector<Candidate>& candidates, int64_t wake_ns, int64_t now_ns);

// The earlier of two wake times, where -1 means "none".
int64_t EarlierWake(int64_t a_ns, int64_t b_ns);

}  // namespace faultline::gen::internal
