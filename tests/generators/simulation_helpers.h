// What the generator tests share: simulation options and a completion function with random
// latency, for running combinators under gen::Simulate.
#pragma once

#include <cstdint>

#include "generators/random.h"
#include "generators/simulator.h"

namespace faultline::gen::testing {

inline constexpr int64_t kMillisecond = 1'000'000;

inline SimulationOptions Options(int concurrency, uint64_t seed = 1, bool nemesis = false) {
  SimulationOptions options;
  options.concurrency = concurrency;
  options.seed = seed;
  options.nemesis = nemesis;
  return options;
}

// Ok after a latency drawn uniformly from [1, 10) ms.
inline CompletionFunction RandomLatency() {
  return [](const Op& invoke, Rng& rng) {
    Completion completion{invoke, kMillisecond + UniformDuration(rng, 9 * kMillisecond)};
    completion.op.type = OpType::kOk;
    return completion;
  };
}

}  // namespace faultline::gen::testing
