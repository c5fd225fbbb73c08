// ScratchContext: storage for the restricted contexts that routing combinators (OnThreads,
// Clients, Nemesis, EachThread, Reserve, Independent) build on every Next and Update. Not part of
// the public API.
//
// Each live ScratchContext holds one Context from a pool owned by the calling thread; the pool's
// contexts keep their vectors' capacity, so once it is warm a restriction costs copying a few
// small arrays and no allocation. Scratch contexts nest (a routing combinator inside another one
// takes the next context of the pool) and must be destroyed in reverse order of construction,
// which scoping guarantees. The context is only valid while the ScratchContext lives: generators
// must not keep references to a context past the call they received it in (they never do; a
// context is an argument, not a value).
#pragma once

#include <cstddef>
#include <vector>

#include "generators/generator.h"

namespace faultline::gen::internal {

// The restriction to a listed set of threads (a short vector, searched linearly).
struct InThreads {
  const std::vector<int>* threads;
  bool operator()(int thread) const {
    for (int kept : *threads) {
      if (kept == thread) return true;
    }
    return false;
  }
};

class ScratchContext {
 public:
  // `from` restricted to the threads for which keep(thread) holds (Context::WithThreads).
  template <typename Keep>
  ScratchContext(const Context& from, const Keep& keep) : context_(Acquire()) {
    from.RestrictInto(keep, context_);
  }
  ~ScratchContext() { Release(); }
  ScratchContext(const ScratchContext&) = delete;
  ScratchContext& operator=(const ScratchContext&) = delete;

  const Context& get() const { return *context_; }
  const Context* operator->() const { return context_; }

 private:
  static Context* Acquire();
  static void Release();

  Context* context_;
};

}  // namespace faultline::gen::internal
