#include "generators/choice.h"

#include <algorithm>
#include <cassert>

#include "generators/random.h"

namespace faultline::gen::internal {

size_t ChooseSoonest(const std::vector<Candidate>& candidates, Rng& rng) {
  assert(!candidates.empty());
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].step.is_log()) return i;
  }
  int64_t soonest_ns = candidates[0].step.op.time_ns;
  for (const Candidate& candidate : candidates) {
    soonest_ns = std::min(soonest_ns, candidate.step.op.time_ns);
  }
  int64_t total_weight = 0;
  size_t tied = 0;
  size_t last_tied = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].step.op.time_ns != soonest_ns) continue;
    assert(candidates[i].weight > 0);
    total_weight += candidates[i].weight;
    ++tied;
    last_tied = i;
  }
  // Draw only on a tie, so that untied choices leave the RNG (and the rest of the schedule) alone.
  if (tied == 1) return last_tied;
  int64_t draw = static_cast<int64_t>(UniformBelow(rng, static_cast<uint64_t>(total_weight)));
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].step.op.time_ns != soonest_ns) continue;
    if (draw < candidates[i].weight) return i;
    draw -= candidates[i].weight;
  }
  return last_tied;
}

bool WakeComesFirst(const std::vector<Candidate>& candidates, int64_t wake_ns, int64_t now_ns) {
  if (wake_ns <= now_ns) return false;
  for (const Candidate& candidate : candidates) {
    if (candidate.step.is_log() || candidate.step.op.time_ns <= wake_ns) return false;
  }
  return true;
}

int64_t EarlierWake(int64_t a_ns, int64_t b_ns) {
  if (a_ns < 0) return b_ns;
  if (b_ns < 0) return a_ns;
  return std::min(a_ns, b_ns);
}

}  // namespace faultline::gen::internal
