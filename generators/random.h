// Portable draws from the generators' seeded RNG.
//
// std::uniform_int_distribution and friends are implementation-defined, so the same seed could
// give different schedules with different standard libraries; these helpers use only the raw
// output of std::mt19937_64, which the standard fixes, so a seed replays everywhere. Stateless
// free functions; the Rng belongs to the caller (the interpreter thread).
#pragma once

#include <cstdint>

#include "generators/generator.h"

namespace faultline::gen {

// A uniform integer in [0, bound). bound > 0.
uint64_t UniformBelow(Rng& rng, uint64_t bound);

// A uniform duration in [0, bound_ns); 0 when bound_ns <= 0.
int64_t UniformDuration(Rng& rng, int64_t bound_ns);

// A uniform double in [0, 1).
double UniformUnit(Rng& rng);

}  // namespace faultline::gen
