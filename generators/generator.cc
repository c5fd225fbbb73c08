#include "generators/generator.h"

#include <algorithm>
#include <cassert>

#include "generators/random.h"
#include "generators/scratch.h"

namespace faultline::gen {

GenPtr Generator::Update(const Context&, const Op&) const { return shared_from_this(); }

Context Context::Initial(int concurrency, bool with_nemesis, Rng* rng) {
  assert(concurrency >= 0);
  Context context;
  context.concurrency = concurrency;
  context.rng = rng;
  if (with_nemesis) context.threads.push_back(kNemesisThread);
  for (int thread = 0; thread < concurrency; ++thread) {
    context.threads.push_back(thread);
    context.process_of.push_back(thread);
  }
  context.free_threads = context.threads;
  return context;
}

bool Context::IsFree(int thread) const {
  return std::binary_search(free_threads.begin(), free_threads.end(), thread);
}

int64_t Context::ProcessOf(int thread) const {
  if (thread == kNemesisThread) return kNemesisProcess;
  assert(thread >= 0);
  if (static_cast<size_t>(thread) < process_of.size()) return process_of[thread];
  return thread;
}

int Context::ThreadOf(int64_t process) const {
  if (process < 0) return kNemesisThread;
  assert(concurrency > 0);
  return static_cast<int>(process % concurrency);
}

Context Context::WithThreads(const std::function<bool(int)>& keep) const {
  Context restricted;
  RestrictInto(keep, &restricted);
  return restricted;
}

std::vector<int> Context::AllThreads() const {
  if (!threads.empty()) return threads;
  std::vector<int> all;
  for (int thread = 0; thread < concurrency; ++thread) all.push_back(thread);
  return all;
}

bool Context::AllThreadsFree() const {
  // Both are ascending: one merge pass instead of a search per thread.
  if (!threads.empty()) {
    return std::includes(free_threads.begin(), free_threads.end(), threads.begin(), threads.end());
  }
  for (int thread = 0; thread < concurrency; ++thread) {
    if (!IsFree(thread)) return false;
  }
  return true;
}

void Context::SetFree(int thread, bool free) {
  const auto position = std::lower_bound(free_threads.begin(), free_threads.end(), thread);
  if (free) {
    assert(position == free_threads.end() || *position != thread);
    free_threads.insert(position, thread);
  } else {
    assert(position != free_threads.end() && *position == thread);
    free_threads.erase(position);
  }
}

std::optional<int> Context::SomeFreeThread() const {
  if (free_threads.empty()) return std::nullopt;
  assert(rng != nullptr);
  return free_threads[UniformBelow(*rng, free_threads.size())];
}

Step Step::Emit(Op op, GenPtr next) {
  assert(next != nullptr);
  Step step;
  step.kind = Kind::kOp;
  step.op = std::move(op);
  step.next = std::move(next);
  return step;
}

Step Step::Pending(GenPtr next, int64_t wake_ns) {
  assert(next != nullptr);
  Step step;
  step.kind = Kind::kPending;
  step.next = std::move(next);
  step.wake_ns = wake_ns;
  return step;
}

Step Step::LogLine(std::string message, GenPtr next, int64_t now_ns) {
  Step step = Pending(std::move(next), now_ns);
  step.log = std::move(message);
  return step;
}

}  // namespace faultline::gen

namespace faultline::gen::internal {
namespace {

// The calling thread's scratch contexts; the first `depth` are in use. unique_ptr keeps each
// context at one address while the vector grows.
struct ScratchPool {
  std::vector<std::unique_ptr<Context>> contexts;
  size_t depth = 0;
};

ScratchPool& Pool() {
  thread_local ScratchPool pool;
  return pool;
}

}  // namespace

Context* ScratchContext::Acquire() {
  ScratchPool& pool = Pool();
  if (pool.depth == pool.contexts.size()) pool.contexts.push_back(std::make_unique<Context>());
  return pool.contexts[pool.depth++].get();
}

void ScratchContext::Release() {
  ScratchPool& pool = Pool();
  assert(pool.depth > 0);
  --pool.depth;
}

}  // namespace faultline::gen::internal
