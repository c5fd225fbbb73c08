// Combinators over time: TimeLimit, Stagger, Delay, Rate (combinators.h).
#include <algorithm>
#include <cassert>
#include <cmath>
#include <memory>
#include <utility>

#include "generators/choice.h"
#include "generators/combinators.h"
#include "generators/random.h"

namespace faultline::gen {
namespace {

class TimeLimitGenerator : public Generator {
 public:
  // cutoff_ns < 0: no op emitted yet.
  TimeLimitGenerator(int64_t duration_ns, int64_t cutoff_ns, GenPtr generator)
      : duration_ns_(duration_ns), cutoff_ns_(cutoff_ns), generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    if (cutoff_ns_ >= 0 && context.time_ns >= cutoff_ns_) return Step::Exhausted();
    Step step = generator_->Next(context);
    if (step.is_exhausted()) return step;
    if (step.is_pending()) {
      // Wake at the cutoff, so that the limit ends the generator on time even when nothing else
      // happens.
      if (cutoff_ns_ >= 0) step.wake_ns = internal::EarlierWake(step.wake_ns, cutoff_ns_);
      step.next = With(cutoff_ns_, std::move(step.next));
      return step;
    }
    const int64_t cutoff_ns = cutoff_ns_ >= 0 ? cutoff_ns_ : step.op.time_ns + duration_ns_;
    if (step.op.time_ns >= cutoff_ns) return Step::Exhausted();
    step.next = With(cutoff_ns, std::move(step.next));
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    return With(cutoff_ns_, generator_->Update(context, event));
  }

 private:
  GenPtr With(int64_t cutoff_ns, GenPtr generator) const {
    if (cutoff_ns == cutoff_ns_ && generator == generator_) return shared_from_this();
    return std::make_shared<TimeLimitGenerator>(duration_ns_, cutoff_ns, std::move(generator));
  }

  int64_t duration_ns_;
  int64_t cutoff_ns_;
  GenPtr generator_;
};

class StaggerGenerator : public Generator {
 public:
  // next_ns < 0: no op emitted yet (the first may go at once).
  StaggerGenerator(int64_t max_gap_ns, int64_t next_ns, GenPtr generator)
      : max_gap_ns_(max_gap_ns), next_ns_(next_ns), generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    Step step = generator_->Next(context);
    if (step.is_exhausted()) return step;
    if (step.is_pending()) {
      step.next = With(next_ns_, std::move(step.next));
      return step;
    }
    // The gap is measured from the previous op's due time, not from when it was invoked, so the
    // total rate does not sag when threads are slow to come free.
    const int64_t earliest_ns = next_ns_ >= 0 ? next_ns_ : context.time_ns;
    step.op.time_ns = std::max(step.op.time_ns, earliest_ns);
    // An op asked for again just after its due time (the interpreter sleeps until then, and
    // wakes a little late) keeps its schedule: the next gap starts at the due time, or lateness
    // would add up and the total rate sag. Later than one full gap, the schedule restarts from
    // the op's own time, so a stall is not followed by a burst.
    const bool on_schedule = step.op.time_ns - earliest_ns <= max_gap_ns_;
    const int64_t base_ns = on_schedule ? earliest_ns : step.op.time_ns;
    const int64_t gap_ns = UniformDuration(*context.rng, max_gap_ns_);
    step.next = std::make_shared<StaggerGenerator>(max_gap_ns_, base_ns + gap_ns, step.next);
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    return With(next_ns_, generator_->Update(context, event));
  }

 private:
  GenPtr With(int64_t next_ns, GenPtr generator) const {
    if (next_ns == next_ns_ && generator == generator_) return shared_from_this();
    return std::make_shared<StaggerGenerator>(max_gap_ns_, next_ns, std::move(generator));
  }

  int64_t max_gap_ns_;  // gaps are uniform in [0, max_gap_ns_)
  int64_t next_ns_;
  GenPtr generator_;
};

class DelayGenerator : public Generator {
 public:
  // next_ns < 0: no op emitted yet.
  DelayGenerator(int64_t gap_ns, int64_t next_ns, GenPtr generator)
      : gap_ns_(gap_ns), next_ns_(next_ns), generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    Step step = generator_->Next(context);
    if (step.is_exhausted()) return step;
    if (step.is_pending()) {
      step.next = With(next_ns_, std::move(step.next));
      return step;
    }
    if (next_ns_ >= 0) step.op.time_ns = std::max(step.op.time_ns, next_ns_);
    step.next = std::make_shared<DelayGenerator>(gap_ns_, step.op.time_ns + gap_ns_, step.next);
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    return With(next_ns_, generator_->Update(context, event));
  }

 private:
  GenPtr With(int64_t next_ns, GenPtr generator) const {
    if (next_ns == next_ns_ && generator == generator_) return shared_from_this();
    return std::make_shared<DelayGenerator>(gap_ns_, next_ns, std::move(generator));
  }

  int64_t gap_ns_;
  int64_t next_ns_;
  GenPtr generator_;
};

}  // namespace

GenPtr TimeLimit(int64_t duration_ns, GenPtr generator) {
  assert(duration_ns >= 0 && generator);
  return std::make_shared<TimeLimitGenerator>(duration_ns, -1, std::move(generator));
}

GenPtr Stagger(int64_t mean_gap_ns, GenPtr generator) {
  assert(mean_gap_ns >= 0 && generator);
  return std::make_shared<StaggerGenerator>(2 * mean_gap_ns, -1, std::move(generator));
}

GenPtr Delay(int64_t gap_ns, GenPtr generator) {
  assert(gap_ns >= 0 && generator);
  return std::make_shared<DelayGenerator>(gap_ns, -1, std::move(generator));
}

GenPtr Rate(double ops_per_second, GenPtr generator) {
  assert(ops_per_second > 0);
  return Stagger(std::llround(1e9 / ops_per_second), std::move(generator));
}

}  // namespace faultline::gen
