// Test doubles for the runner's extension points, shared by the lifecycle and interpreter tests
// of several folders: a nemesis that breaks nothing and counts its calls, and a history's
// completions.
#pragma once

#include <atomic>
#include <vector>

#include "core/op.h"
#include "runner/test.h"

namespace faultline::testing {

// Counts its setups and teardowns (the heal) and answers every op with info "partitioned".
class RecordingNemesis : public Nemesis {
 public:
  Status Setup(const Test&, const NodeRemotes&) override {
    ++setups;
    return Status::Ok();
  }
  Op Invoke(const Test&, const Op& invoke) override {
    Op completion = invoke;
    completion.type = OpType::kInfo;
    completion.value = "partitioned";
    return completion;
  }
  Status Teardown(const Test&) override {
    ++teardowns;
    return Status::Ok();
  }
  std::atomic<int> setups{0};
  std::atomic<int> teardowns{0};
};

// The completions of `history`, in the order recorded.
inline std::vector<Op> Completions(const History& history) {
  std::vector<Op> completions;
  for (const Op& op : history.ops) {
    if (op.is_completion()) completions.push_back(op);
  }
  return completions;
}

}  // namespace faultline::testing
