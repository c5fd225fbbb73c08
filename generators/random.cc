#include "generators/random.h"

#include <cassert>
#include <limits>

namespace faultline::gen {

uint64_t UniformBelow(Rng& rng, uint64_t bound) {
  assert(bound > 0);
  // Rejection keeps the draw exactly uniform: values in the incomplete last block of size
  // `bound` would otherwise favour small results.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  while (true) {
    const uint64_t draw = rng();
    if (draw < limit) return draw % bound;
  }
}

int64_t UniformDuration(Rng& rng, int64_t bound_ns) {
  if (bound_ns <= 0) return 0;
  return static_cast<int64_t>(UniformBelow(rng, static_cast<uint64_t>(bound_ns)));
}

double UniformUnit(Rng& rng) {
  // The top 53 bits fill a double's mantissa exactly.
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace faultline::gen
