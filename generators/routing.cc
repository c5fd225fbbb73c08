// Combinators that choose among generators or route threads to them: Any, Mix, OnThreads,
// Clients, Nemesis, EachThread, Reserve (combinators.h).
#include <algorithm>
#include <cassert>
#include <map>
#include <memory>
#include <utility>

#include "generators/choice.h"
#include "generators/combinators.h"
#include "generators/random.h"
#include "generators/scratch.h"

namespace faultline::gen {
namespace {

using internal::Candidate;
using internal::ScratchContext;

// A copy of `generators` with `position` set to `replacement`.
std::vector<GenPtr> Replaced(const std::vector<GenPtr>& generators, size_t position,
                             GenPtr replacement) {
  std::vector<GenPtr> replaced = generators;
  replaced[position] = std::move(replacement);
  return replaced;
}

std::vector<GenPtr> WithoutExhausted(std::vector<GenPtr> generators,
                                     const std::vector<bool>& exhausted) {
  std::vector<GenPtr> kept;
  for (size_t i = 0; i < generators.size(); ++i) {
    if (!exhausted[i]) kept.push_back(std::move(generators[i]));
  }
  return kept;
}

class AnyGenerator : public Generator {
 public:
  explicit AnyGenerator(std::vector<GenPtr> generators) : generators_(std::move(generators)) {}

  Step Next(const Context& context) const override {
    // `after` is each generator's state if this step is taken: pending answers are adopted,
    // unchosen ops are not (they were not emitted).
    std::vector<GenPtr> after = generators_;
    // An exhausted generator stays exhausted (generator.h), so it is dropped from the state.
    std::vector<bool> exhausted(generators_.size(), false);
    std::vector<Candidate> candidates;
    int64_t wake_ns = -1;
    bool pending = false;
    for (size_t i = 0; i < generators_.size(); ++i) {
      Step step = generators_[i]->Next(context);
      if (step.is_exhausted()) {
        exhausted[i] = true;
      } else if (step.is_log()) {
        after[i] = step.next;
        step.next = With(std::move(after), exhausted);
        return step;
      } else if (step.is_pending()) {
        pending = true;
        after[i] = step.next;
        wake_ns = internal::EarlierWake(wake_ns, step.wake_ns);
      } else {
        candidates.push_back({i, 1, std::move(step)});
      }
    }
    if (!candidates.empty() && !internal::WakeComesFirst(candidates, wake_ns, context.time_ns)) {
      Candidate& chosen = candidates[internal::ChooseSoonest(candidates, *context.rng)];
      after[chosen.source] = chosen.step.next;
      return Step::Emit(std::move(chosen.step.op), With(std::move(after), exhausted));
    }
    if (pending) return Step::Pending(With(std::move(after), exhausted), wake_ns);
    return Step::Exhausted();
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    std::vector<GenPtr> updated;
    updated.reserve(generators_.size());
    for (const GenPtr& generator : generators_)
      updated.push_back(generator->Update(context, event));
    return With(std::move(updated), {});
  }

 private:
  // This generator with the given states (minus the exhausted ones; `exhausted` may be empty for
  // none): itself when nothing changed.
  GenPtr With(std::vector<GenPtr> after, const std::vector<bool>& exhausted) const {
    bool any_exhausted = std::find(exhausted.begin(), exhausted.end(), true) != exhausted.end();
    if (!any_exhausted && after == generators_) return shared_from_this();
    if (any_exhausted) after = WithoutExhausted(std::move(after), exhausted);
    return std::make_shared<AnyGenerator>(std::move(after));
  }

  std::vector<GenPtr> generators_;
};

class MixGenerator : public Generator {
 public:
  // chosen < 0: choose at the next ask.
  MixGenerator(std::vector<GenPtr> generators, int64_t chosen)
      : generators_(std::move(generators)), chosen_(chosen) {}

  Step Next(const Context& context) const override {
    std::vector<GenPtr> generators = generators_;
    int64_t chosen = chosen_;
    while (!generators.empty()) {
      if (chosen < 0) chosen = static_cast<int64_t>(UniformBelow(*context.rng, generators.size()));
      Step step = generators[chosen]->Next(context);
      if (step.is_exhausted()) {
        generators.erase(generators.begin() + chosen);
        chosen = -1;
        continue;
      }
      generators[chosen] = step.next;
      // A pending choice is kept, so that re-asking does not re-draw until the chosen generator
      // has emitted: otherwise generators that are often pending would be under-represented.
      step.next = With(std::move(generators), step.is_op() ? -1 : chosen);
      return step;
    }
    return Step::Exhausted();
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    std::vector<GenPtr> updated;
    updated.reserve(generators_.size());
    for (const GenPtr& generator : generators_)
      updated.push_back(generator->Update(context, event));
    return With(std::move(updated), chosen_);
  }

 private:
  GenPtr With(std::vector<GenPtr> generators, int64_t chosen) const {
    if (chosen == chosen_ && generators == generators_) return shared_from_this();
    return std::make_shared<MixGenerator>(std::move(generators), chosen);
  }

  std::vector<GenPtr> generators_;
  int64_t chosen_;
};

// Which threads an OnThreads generator keeps. Clients and Nemesis are tested without calling a
// std::function: they route every op of most tests, several times per op.
struct Routing {
  enum class Kind { kClients, kNemesis, kFunction };
  Kind kind = Kind::kFunction;
  std::function<bool(int)> keep;  // kFunction only

  bool Keeps(int thread) const {
    switch (kind) {
      case Kind::kClients:
        return thread != kNemesisThread;
      case Kind::kNemesis:
        return thread == kNemesisThread;
      case Kind::kFunction:
        break;
    }
    return keep(thread);
  }
};

class OnThreadsGenerator : public Generator {
 public:
  OnThreadsGenerator(std::shared_ptr<const Routing> routing, GenPtr generator)
      : routing_(std::move(routing)), generator_(std::move(generator)) {}

  Step Next(const Context& context) const override {
    const ScratchContext restricted(context, Keep{routing_.get()});
    if (restricted->threads.empty()) return Step::Exhausted();
    Step step = generator_->Next(restricted.get());
    if (step.is_exhausted()) return step;
    step.next = With(std::move(step.next));
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    if (!routing_->Keeps(context.ThreadOf(event.process))) return shared_from_this();
    const ScratchContext restricted(context, Keep{routing_.get()});
    return With(generator_->Update(restricted.get(), event));
  }

 private:
  struct Keep {
    const Routing* routing;
    bool operator()(int thread) const { return routing->Keeps(thread); }
  };

  GenPtr With(GenPtr generator) const {
    if (generator == generator_) return shared_from_this();
    return std::make_shared<OnThreadsGenerator>(routing_, std::move(generator));
  }

  std::shared_ptr<const Routing> routing_;
  GenPtr generator_;
};

auto OnlyThread(int thread) {
  return [thread](int other) { return other == thread; };
}

class EachThreadGenerator : public Generator {
 public:
  EachThreadGenerator(GenPtr fresh, std::map<int, GenPtr> per_thread)
      : fresh_(std::move(fresh)), per_thread_(std::move(per_thread)) {}

  Step Next(const Context& context) const override {
    std::map<int, GenPtr> after = per_thread_;
    std::vector<Candidate> candidates;
    std::vector<int> candidate_threads;
    int64_t wake_ns = -1;
    bool pending = false;
    for (int thread : context.AllThreads()) {
      const GenPtr& generator = GeneratorOf(thread);
      if (!context.IsFree(thread)) {
        // A busy thread may still have ops to come, unless its copy is known to be exhausted.
        if (generator != Void()) pending = true;
        continue;
      }
      const ScratchContext only(context, OnlyThread(thread));
      Step step = generator->Next(only.get());
      if (step.is_exhausted()) {
        after[thread] = Void();
      } else if (step.is_log()) {
        after[thread] = step.next;
        step.next = std::make_shared<EachThreadGenerator>(fresh_, std::move(after));
        return step;
      } else if (step.is_pending()) {
        pending = true;
        after[thread] = step.next;
        wake_ns = internal::EarlierWake(wake_ns, step.wake_ns);
      } else {
        candidates.push_back({candidates.size(), 1, std::move(step)});
        candidate_threads.push_back(thread);
      }
    }
    if (!candidates.empty() && !internal::WakeComesFirst(candidates, wake_ns, context.time_ns)) {
      const size_t chosen = internal::ChooseSoonest(candidates, *context.rng);
      after[candidate_threads[chosen]] = candidates[chosen].step.next;
      return Step::Emit(std::move(candidates[chosen].step.op),
                        std::make_shared<EachThreadGenerator>(fresh_, std::move(after)));
    }
    if (pending) {
      return Step::Pending(std::make_shared<EachThreadGenerator>(fresh_, std::move(after)),
                           wake_ns);
    }
    return Step::Exhausted();
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    const int thread = context.ThreadOf(event.process);
    const std::vector<int> threads = context.AllThreads();
    if (std::find(threads.begin(), threads.end(), thread) == threads.end()) {
      return shared_from_this();
    }
    const ScratchContext only(context, OnlyThread(thread));
    GenPtr generator = GeneratorOf(thread)->Update(only.get(), event);
    if (generator == GeneratorOf(thread)) return shared_from_this();
    std::map<int, GenPtr> updated = per_thread_;
    updated[thread] = std::move(generator);
    return std::make_shared<EachThreadGenerator>(fresh_, std::move(updated));
  }

 private:
  const GenPtr& GeneratorOf(int thread) const {
    const auto found = per_thread_.find(thread);
    return found == per_thread_.end() ? fresh_ : found->second;
  }

  GenPtr fresh_;                      // the state of a thread not seen yet
  std::map<int, GenPtr> per_thread_;  // each seen thread's own copy
};

class ReserveGenerator : public Generator {
 public:
  // generators: one per range, then the rest's.
  ReserveGenerator(std::shared_ptr<const std::vector<int>> counts, std::vector<GenPtr> generators)
      : counts_(std::move(counts)), generators_(std::move(generators)) {}

  Step Next(const Context& context) const override {
    const std::vector<std::vector<int>> ranges = Ranges(context);
    std::vector<GenPtr> after = generators_;
    std::vector<Candidate> candidates;
    int64_t wake_ns = -1;
    bool pending = false;
    for (size_t i = 0; i < generators_.size(); ++i) {
      if (ranges[i].empty()) continue;
      const ScratchContext restricted(context, internal::InThreads{&ranges[i]});
      Step step = generators_[i]->Next(restricted.get());
      if (step.is_exhausted()) {
        after[i] = Void();
      } else if (step.is_log()) {
        after[i] = step.next;
        step.next = std::make_shared<ReserveGenerator>(counts_, std::move(after));
        return step;
      } else if (step.is_pending()) {
        pending = true;
        after[i] = step.next;
        wake_ns = internal::EarlierWake(wake_ns, step.wake_ns);
      } else {
        // Weighted by thread count, so that in ties each thread is equally likely to go next.
        candidates.push_back({i, static_cast<int64_t>(ranges[i].size()), std::move(step)});
      }
    }
    if (!candidates.empty() && !internal::WakeComesFirst(candidates, wake_ns, context.time_ns)) {
      Candidate& chosen = candidates[internal::ChooseSoonest(candidates, *context.rng)];
      after[chosen.source] = chosen.step.next;
      return Step::Emit(std::move(chosen.step.op),
                        std::make_shared<ReserveGenerator>(counts_, std::move(after)));
    }
    if (pending) {
      return Step::Pending(std::make_shared<ReserveGenerator>(counts_, std::move(after)), wake_ns);
    }
    return Step::Exhausted();
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    const std::vector<std::vector<int>> ranges = Ranges(context);
    const int thread = context.ThreadOf(event.process);
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (std::find(ranges[i].begin(), ranges[i].end(), thread) == ranges[i].end()) continue;
      const ScratchContext restricted(context, internal::InThreads{&ranges[i]});
      GenPtr updated = generators_[i]->Update(restricted.get(), event);
      if (updated == generators_[i]) return shared_from_this();
      return std::make_shared<ReserveGenerator>(counts_,
                                                Replaced(generators_, i, std::move(updated)));
    }
    return shared_from_this();
  }

 private:
  // The threads of each range, then the rest's. Ranges count client threads of the context (not
  // thread numbers from 0), so a Reserve inside another restriction splits what it was given.
  std::vector<std::vector<int>> Ranges(const Context& context) const {
    std::vector<int> clients;
    std::vector<int> rest;
    for (int thread : context.AllThreads()) {
      (thread == kNemesisThread ? rest : clients).push_back(thread);
    }
    std::vector<std::vector<int>> ranges;
    size_t position = 0;
    for (int count : *counts_) {
      assert(position + count <= clients.size() && "Reserve: more threads reserved than exist");
      ranges.emplace_back(clients.begin() + position, clients.begin() + position + count);
      position += count;
    }
    rest.insert(rest.end(), clients.begin() + position, clients.end());
    std::sort(rest.begin(), rest.end());
    ranges.push_back(std::move(rest));
    return ranges;
  }

  std::shared_ptr<const std::vector<int>> counts_;
  std::vector<GenPtr> generators_;
};

}  // namespace

GenPtr Any(std::vector<GenPtr> generators) {
  for (const GenPtr& generator : generators) assert(generator);
  if (generators.empty()) return Void();
  if (generators.size() == 1) return generators.front();
  return std::make_shared<AnyGenerator>(std::move(generators));
}

GenPtr Mix(std::vector<GenPtr> generators) {
  for (const GenPtr& generator : generators) assert(generator);
  if (generators.empty()) return Void();
  return std::make_shared<MixGenerator>(std::move(generators), -1);
}

GenPtr OnThreads(std::function<bool(int thread)> keep, GenPtr generator) {
  assert(keep && generator);
  return std::make_shared<OnThreadsGenerator>(
      std::make_shared<const Routing>(Routing{Routing::Kind::kFunction, std::move(keep)}),
      std::move(generator));
}

GenPtr Clients(GenPtr generator) {
  assert(generator);
  return std::make_shared<OnThreadsGenerator>(
      std::make_shared<const Routing>(Routing{Routing::Kind::kClients, {}}), std::move(generator));
}

GenPtr Nemesis(GenPtr generator) {
  assert(generator);
  return std::make_shared<OnThreadsGenerator>(
      std::make_shared<const Routing>(Routing{Routing::Kind::kNemesis, {}}), std::move(generator));
}

GenPtr Clients(GenPtr client_generator, GenPtr nemesis_generator) {
  return Any({Clients(std::move(client_generator)), Nemesis(std::move(nemesis_generator))});
}

GenPtr EachThread(GenPtr generator) {
  assert(generator);
  return std::make_shared<EachThreadGenerator>(std::move(generator), std::map<int, GenPtr>{});
}

GenPtr Reserve(std::vector<std::pair<int, GenPtr>> ranges, GenPtr rest) {
  assert(rest);
  auto counts = std::make_shared<std::vector<int>>();
  std::vector<GenPtr> generators;
  for (auto& [count, generator] : ranges) {
    assert(count >= 0 && generator);
    counts->push_back(count);
    generators.push_back(std::move(generator));
  }
  generators.push_back(std::move(rest));
  return std::make_shared<ReserveGenerator>(std::move(counts), std::move(generators));
}

}  // namespace faultline::gen
