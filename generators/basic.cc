// Single ops, repetition, sequencing, barriers, logs and sleeps (combinators.h).
#include <algorithm>
#include <cassert>
#include <memory>
#include <utility>

#include "generators/combinators.h"

namespace faultline::gen {
namespace {

// Fills in what every emitted op gets from its context: an invocation by `thread`'s process, due
// now unless the template asks for later.
Op Invocation(Op op, const Context& context, int thread) {
  op.index = -1;
  op.type = OpType::kInvoke;
  op.process = context.ProcessOf(thread);
  op.time_ns = std::max(op.time_ns, context.time_ns);
  return op;
}

class VoidGenerator : public Generator {
 public:
  Step Next(const Context&) const override { return Step::Exhausted(); }
};

// One op from `make_op`, or forever when `forever`.
class OpGenerator : public Generator {
 public:
  OpGenerator(OpFunction make_op, bool forever) : make_op_(std::move(make_op)), forever_(forever) {}

  Step Next(const Context& context) const override {
    const std::optional<int> thread = context.SomeFreeThread();
    if (!thread) return Step::Pending(shared_from_this());
    Op op = Invocation(make_op_(context, *context.rng), context, *thread);
    return Step::Emit(std::move(op), forever_ ? shared_from_this() : Void());
  }

 private:
  OpFunction make_op_;
  bool forever_;
};

OpFunction FromTemplate(Op op_template) {
  return [op_template = std::move(op_template)](const Context&, Rng&) { return op_template; };
}

class RepeatGenerator : public Generator {
 public:
  // remaining < 0: forever.
  RepeatGenerator(int64_t remaining, GenPtr generator)
      : remaining_(remaining), generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    if (remaining_ == 0) return Step::Exhausted();
    Step step = generator_->Next(context);
    if (step.is_exhausted()) return step;
    if (step.is_pending()) {
      // A pending answer's state (a sleep's deadline) is kept; only emitted ops leave the
      // repeated generator where it was.
      step.next = With(remaining_, std::move(step.next));
      return step;
    }
    step.next = With(remaining_ < 0 ? -1 : remaining_ - 1, generator_);
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    return With(remaining_, generator_->Update(context, event));
  }

 private:
  // This generator with the given state: itself when nothing changed (no allocation).
  GenPtr With(int64_t remaining, GenPtr generator) const {
    if (remaining == remaining_ && generator == generator_) return shared_from_this();
    return std::make_shared<RepeatGenerator>(remaining, std::move(generator));
  }

  int64_t remaining_;
  GenPtr generator_;
};

class CycleGenerator : public Generator {
 public:
  // remaining < 0: forever.
  CycleGenerator(int64_t remaining, GenPtr original, GenPtr current)
      : remaining_(remaining), original_(std::move(original)), current_(std::move(current)) {}

  Step Next(const Context& context) const override {
    int64_t remaining = remaining_;
    GenPtr current = current_;
    bool restarted = false;
    while (remaining != 0) {
      Step step = current->Next(context);
      if (!step.is_exhausted()) {
        step.next = With(remaining, std::move(step.next));
        return step;
      }
      // A fresh copy that is exhausted at once would restart forever.
      if (restarted) break;
      if (remaining > 0) --remaining;
      current = original_;
      restarted = true;
    }
    return Step::Exhausted();
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    if (remaining_ == 0) return shared_from_this();
    return With(remaining_, current_->Update(context, event));
  }

 private:
  GenPtr With(int64_t remaining, GenPtr current) const {
    if (remaining == remaining_ && current == current_) return shared_from_this();
    return std::make_shared<CycleGenerator>(remaining, original_, std::move(current));
  }

  int64_t remaining_;
  GenPtr original_;
  GenPtr current_;
};

class LimitGenerator : public Generator {
 public:
  LimitGenerator(int64_t remaining, GenPtr generator)
      : remaining_(remaining), generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    if (remaining_ <= 0) return Step::Exhausted();
    Step step = generator_->Next(context);
    if (step.is_exhausted()) return step;
    const int64_t remaining = step.is_op() ? remaining_ - 1 : remaining_;
    step.next = With(remaining, std::move(step.next));
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    if (remaining_ <= 0) return shared_from_this();
    return With(remaining_, generator_->Update(context, event));
  }

 private:
  GenPtr With(int64_t remaining, GenPtr generator) const {
    if (remaining == remaining_ && generator == generator_) return shared_from_this();
    return std::make_shared<LimitGenerator>(remaining, std::move(generator));
  }

  int64_t remaining_;
  GenPtr generator_;
};

class MapGenerator : public Generator {
 public:
  MapGenerator(std::shared_ptr<const std::function<Op(Op)>> transform, GenPtr generator)
      : transform_(std::move(transform)), generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    Step step = generator_->Next(context);
    if (step.is_exhausted()) return step;
    if (step.is_op()) step.op = (*transform_)(std::move(step.op));
    step.next = With(std::move(step.next));
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    return With(generator_->Update(context, event));
  }

 private:
  GenPtr With(GenPtr generator) const {
    if (generator == generator_) return shared_from_this();
    return std::make_shared<MapGenerator>(transform_, std::move(generator));
  }

  std::shared_ptr<const std::function<Op(Op)>> transform_;
  GenPtr generator_;
};

class LogGenerator : public Generator {
 public:
  explicit LogGenerator(std::string message) : message_(std::move(message)) {}

  Step Next(const Context& context) const override {
    return Step::LogLine(message_, Void(), context.time_ns);
  }

 private:
  std::string message_;
};

class SleepGenerator : public Generator {
 public:
  // deadline_ns < 0: not asked yet.
  SleepGenerator(int64_t duration_ns, int64_t deadline_ns)
      : duration_ns_(duration_ns), deadline_ns_(deadline_ns) {}

  Step Next(const Context& context) const override {
    const int64_t deadline_ns =
        deadline_ns_ >= 0 ? deadline_ns_ : context.time_ns + std::max<int64_t>(duration_ns_, 0);
    if (context.time_ns >= deadline_ns) return Step::Exhausted();
    if (deadline_ns == deadline_ns_) return Step::Pending(shared_from_this(), deadline_ns);
    return Step::Pending(std::make_shared<SleepGenerator>(duration_ns_, deadline_ns), deadline_ns);
  }

 private:
  int64_t duration_ns_;
  int64_t deadline_ns_;
};

class ConcatGenerator : public Generator {
 public:
  // `current` is generators[position] as it has evolved.
  ConcatGenerator(std::shared_ptr<const std::vector<GenPtr>> generators, size_t position,
                  GenPtr current)
      : generators_(std::move(generators)), position_(position), current_(std::move(current)) {}

  Step Next(const Context& context) const override {
    size_t position = position_;
    GenPtr current = current_;
    while (position < generators_->size()) {
      Step step = current->Next(context);
      if (!step.is_exhausted()) {
        step.next = With(position, std::move(step.next));
        return step;
      }
      ++position;
      if (position < generators_->size()) current = (*generators_)[position];
    }
    return Step::Exhausted();
  }

  // Only the running generator hears of events; later ones start from their original values.
  GenPtr Update(const Context& context, const Op& event) const override {
    if (position_ >= generators_->size()) return shared_from_this();
    return With(position_, current_->Update(context, event));
  }

 private:
  GenPtr With(size_t position, GenPtr current) const {
    if (position == position_ && current == current_) return shared_from_this();
    return std::make_shared<ConcatGenerator>(generators_, position, std::move(current));
  }

  std::shared_ptr<const std::vector<GenPtr>> generators_;
  size_t position_;
  GenPtr current_;
};

class SynchronizeGenerator : public Generator {
 public:
  explicit SynchronizeGenerator(GenPtr generator) : generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    // Once the barrier is passed the wrapper is gone from the returned state: it holds once.
    if (context.AllThreadsFree()) return generator_->Next(context);
    return Step::Pending(shared_from_this());
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    GenPtr updated = generator_->Update(context, event);
    if (updated == generator_) return shared_from_this();
    return std::make_shared<SynchronizeGenerator>(std::move(updated));
  }

 private:
  GenPtr generator_;
};

class UntilOkGenerator : public Generator {
 public:
  UntilOkGenerator(GenPtr generator, bool done, std::vector<int64_t> active_processes)
      : generator_(std::move(generator)),
        done_(done),
        active_processes_(std::move(active_processes)) {}

  Step Next(const Context& context) const override {
    if (done_) return Step::Exhausted();
    Step step = generator_->Next(context);
    if (step.is_exhausted()) return step;
    if (!step.is_op() && step.next == generator_) {
      step.next = shared_from_this();
      return step;
    }
    std::vector<int64_t> active = active_processes_;
    if (step.is_op()) active.push_back(step.op.process);
    step.next = std::make_shared<UntilOkGenerator>(step.next, false, std::move(active));
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    GenPtr generator = generator_->Update(context, event);
    const auto ours = std::find(active_processes_.begin(), active_processes_.end(), event.process);
    const bool finished = ours != active_processes_.end() && event.is_completion();
    if (!finished && generator == generator_) return shared_from_this();
    std::vector<int64_t> active = active_processes_;
    bool done = done_;
    if (finished) {
      active.erase(active.begin() + (ours - active_processes_.begin()));
      if (event.type == OpType::kOk) done = true;
    }
    return std::make_shared<UntilOkGenerator>(std::move(generator), done, std::move(active));
  }

 private:
  GenPtr generator_;
  bool done_;
  std::vector<int64_t> active_processes_;  // processes running an op this generator emitted
};

}  // namespace

Op MakeOp(std::string f, Json value) {
  Op op;
  op.f = std::move(f);
  op.value = std::move(value);
  return op;
}

GenPtr Void() {
  static const GenPtr kVoid = std::make_shared<VoidGenerator>();
  return kVoid;
}

GenPtr Once(std::string f, Json value) { return Once(MakeOp(std::move(f), std::move(value))); }

GenPtr Once(Op op_template) {
  return std::make_shared<OpGenerator>(FromTemplate(std::move(op_template)), false);
}

GenPtr Once(OpFunction make_op) {
  assert(make_op);
  return std::make_shared<OpGenerator>(std::move(make_op), false);
}

GenPtr Once(GenPtr generator) { return Limit(1, std::move(generator)); }

GenPtr Repeat(std::string f, Json value) { return Repeat(MakeOp(std::move(f), std::move(value))); }

GenPtr Repeat(Op op_template) {
  return std::make_shared<OpGenerator>(FromTemplate(std::move(op_template)), true);
}

GenPtr Repeat(OpFunction make_op) {
  assert(make_op);
  return std::make_shared<OpGenerator>(std::move(make_op), true);
}

GenPtr Repeat(GenPtr generator) {
  assert(generator);
  return std::make_shared<RepeatGenerator>(-1, std::move(generator));
}

GenPtr Repeat(int64_t times, GenPtr generator) {
  assert(times >= 0 && generator);
  return std::make_shared<RepeatGenerator>(times, std::move(generator));
}

GenPtr Cycle(GenPtr generator) {
  assert(generator);
  GenPtr original = generator;
  return std::make_shared<CycleGenerator>(-1, std::move(original), std::move(generator));
}

GenPtr Cycle(int64_t times, GenPtr generator) {
  assert(times >= 0 && generator);
  GenPtr original = generator;
  return std::make_shared<CycleGenerator>(times, std::move(original), std::move(generator));
}

GenPtr Limit(int64_t count, GenPtr generator) {
  assert(generator);
  return std::make_shared<LimitGenerator>(count, std::move(generator));
}

GenPtr Map(std::function<Op(Op)> transform, GenPtr generator) {
  assert(transform && generator);
  return std::make_shared<MapGenerator>(
      std::make_shared<const std::function<Op(Op)>>(std::move(transform)), std::move(generator));
}

GenPtr Log(std::string message) {
  // An empty message could not be told from a plain pending step.
  if (message.empty()) message.push_back(' ');
  return std::make_shared<LogGenerator>(std::move(message));
}

GenPtr Sleep(int64_t duration_ns) { return std::make_shared<SleepGenerator>(duration_ns, -1); }

GenPtr Concat(std::vector<GenPtr> generators) {
  for (const GenPtr& generator : generators) assert(generator);
  if (generators.empty()) return Void();
  GenPtr first = generators.front();
  return std::make_shared<ConcatGenerator>(
      std::make_shared<const std::vector<GenPtr>>(std::move(generators)), 0, std::move(first));
}

GenPtr Synchronize(GenPtr generator) {
  assert(generator);
  return std::make_shared<SynchronizeGenerator>(std::move(generator));
}

GenPtr Phases(std::vector<GenPtr> generators) {
  for (GenPtr& generator : generators) generator = Synchronize(std::move(generator));
  return Concat(std::move(generators));
}

GenPtr Then(GenPtr first, GenPtr second) {
  return Concat({std::move(first), Synchronize(std::move(second))});
}

GenPtr UntilOk(GenPtr generator) {
  assert(generator);
  return std::make_shared<UntilOkGenerator>(std::move(generator), false, std::vector<int64_t>{});
}

}  // namespace faultline::gen
