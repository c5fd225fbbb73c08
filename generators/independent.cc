// Independent: Jepsen's concurrent generator over independent keys (combinators.h).
#include <algorithm>
#include <cassert>
#include <memory>
#include <optional>
#include <utility>

#include "core/op_values.h"
#include "generators/choice.h"
#include "generators/combinators.h"
#include "generators/scratch.h"

namespace faultline::gen {
namespace {

using internal::Candidate;

struct KeySource {
  KeyFunction key_at;
  KeyGenerator per_key;
  int threads_per_key = 1;
  int64_t ops_per_key = 0;  // <= 0: no limit
};

// What one group of threads is doing: a key and that key's generator, or nothing (keys ran out).
struct GroupState {
  bool active = false;
  Json key;
  GenPtr generator;
};

class IndependentGenerator : public Generator {
 public:
  // groups empty: not started (the thread count is known only from the first context).
  IndependentGenerator(std::shared_ptr<const KeySource> source, int64_t next_key,
                       std::vector<GroupState> groups)
      : source_(std::move(source)), next_key_(next_key), groups_(std::move(groups)) {}

  Step Next(const Context& context) const override {
    const std::vector<std::vector<int>> group_threads = GroupThreads(context);
    int64_t next_key = next_key_;
    std::vector<GroupState> groups = groups_;
    if (groups.empty()) {
      // Keys are handed to groups in order: group 0 gets the first key, group 1 the second...
      for (size_t i = 0; i < group_threads.size(); ++i) groups.push_back(TakeKey(next_key));
    }
    assert(groups.size() == group_threads.size());

    std::vector<Candidate> candidates;
    int64_t wake_ns = -1;
    bool pending = false;
    for (size_t i = 0; i < groups.size(); ++i) {
      const internal::ScratchContext restricted(context, internal::InThreads{&group_threads[i]});
      Step step = Step::Exhausted();
      // A group whose key is done takes the next key at once, so it never idles while keys
      // remain (a key may end with its last ops still running, as in Jepsen).
      while (groups[i].active) {
        step = groups[i].generator->Next(restricted.get());
        if (!step.is_exhausted()) break;
        groups[i] = TakeKey(next_key);
      }
      if (!groups[i].active) continue;
      if (step.is_log()) {
        groups[i].generator = step.next;
        step.next = std::make_shared<IndependentGenerator>(source_, next_key, std::move(groups));
        return step;
      }
      if (step.is_pending()) {
        pending = true;
        groups[i].generator = step.next;
        wake_ns = internal::EarlierWake(wake_ns, step.wake_ns);
        continue;
      }
      step.op.value = KeyedValue(groups[i].key, std::move(step.op.value));
      candidates.push_back({i, 1, std::move(step)});
    }
    if (!candidates.empty() && !internal::WakeComesFirst(candidates, wake_ns, context.time_ns)) {
      Candidate& chosen = candidates[internal::ChooseSoonest(candidates, *context.rng)];
      groups[chosen.source].generator = chosen.step.next;
      return Step::Emit(std::move(chosen.step.op), std::make_shared<IndependentGenerator>(
                                                       source_, next_key, std::move(groups)));
    }
    if (pending) {
      return Step::Pending(
          std::make_shared<IndependentGenerator>(source_, next_key, std::move(groups)), wake_ns);
    }
    return Step::Exhausted();
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    if (groups_.empty()) return shared_from_this();
    const std::vector<std::vector<int>> group_threads = GroupThreads(context);
    const int thread = context.ThreadOf(event.process);
    for (size_t i = 0; i < group_threads.size(); ++i) {
      const std::vector<int>& threads = group_threads[i];
      if (std::find(threads.begin(), threads.end(), thread) == threads.end()) continue;
      const GroupState& group = groups_[i];
      // Completions of a key the group has left belong to no generator any more.
      if (!group.active || !event.value.is_array() || event.value.size() != 2 ||
          event.value[0] != group.key) {
        return shared_from_this();
      }
      Op unwrapped = event;
      unwrapped.value = event.value[1];
      const internal::ScratchContext restricted(context, internal::InThreads{&threads});
      GenPtr updated = group.generator->Update(restricted.get(), unwrapped);
      if (updated == group.generator) return shared_from_this();
      std::vector<GroupState> groups = groups_;
      groups[i].generator = std::move(updated);
      return std::make_shared<IndependentGenerator>(source_, next_key_, std::move(groups));
    }
    return shared_from_this();
  }

 private:
  GroupState TakeKey(int64_t& next_key) const {
    std::optional<Json> key = source_->key_at(next_key);
    if (!key) return GroupState{};
    ++next_key;
    GenPtr generator = source_->per_key(*key);
    assert(generator && "Independent: the per-key function returned no generator");
    if (source_->ops_per_key > 0) generator = Limit(source_->ops_per_key, std::move(generator));
    return GroupState{true, std::move(*key), std::move(generator)};
  }

  // Contiguous groups of the context's client threads; the nemesis never runs keyed ops.
  std::vector<std::vector<int>> GroupThreads(const Context& context) const {
    std::vector<int> clients;
    for (int thread : context.AllThreads()) {
      if (thread != kNemesisThread) clients.push_back(thread);
    }
    const size_t per_group = static_cast<size_t>(source_->threads_per_key);
    assert(clients.size() >= per_group && clients.size() % per_group == 0 &&
           "Independent: the client thread count must be a multiple of threads_per_key");
    std::vector<std::vector<int>> groups;
    for (size_t start = 0; start < clients.size(); start += per_group) {
      groups.emplace_back(clients.begin() + start, clients.begin() + start + per_group);
    }
    return groups;
  }

  std::shared_ptr<const KeySource> source_;
  int64_t next_key_;  // the position of the next key to hand out
  std::vector<GroupState> groups_;
};

}  // namespace

GenPtr Independent(std::vector<Json> keys, int threads_per_key, int64_t ops_per_key,
                   KeyGenerator per_key) {
  auto shared_keys = std::make_shared<const std::vector<Json>>(std::move(keys));
  return Independent(
      [shared_keys](int64_t position) -> std::optional<Json> {
        if (position < 0 || static_cast<size_t>(position) >= shared_keys->size()) {
          return std::nullopt;
        }
        return (*shared_keys)[position];
      },
      threads_per_key, ops_per_key, std::move(per_key));
}

GenPtr Independent(KeyFunction keys, int threads_per_key, int64_t ops_per_key,
                   KeyGenerator per_key) {
  assert(keys && per_key && threads_per_key > 0);
  auto source = std::make_shared<const KeySource>(
      KeySource{std::move(keys), std::move(per_key), threads_per_key, ops_per_key});
  return std::make_shared<IndependentGenerator>(std::move(source), 0, std::vector<GroupState>{});
}

}  // namespace faultline::gen
