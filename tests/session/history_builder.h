// Hand-written histories for the session checker's tests: each op is an invocation followed by its
// completion (or several invocations before their completions, with Invoke/Complete).
#pragma once

#include <cstdint>
#include <string>

#include "core/op.h"

namespace faultline::testing {

class HistoryBuilder {
 public:
  // concurrency > 0 puts it in the header (sessions are process chains).
  explicit HistoryBuilder(int concurrency = 0) {
    if (concurrency > 0) history_.header["concurrency"] = concurrency;
  }

  int64_t Invoke(int64_t process, const std::string& f, const Json& value) {
    return Add(OpType::kInvoke, process, f, value);
  }
  int64_t Complete(int64_t process, const std::string& f, const Json& value,
                   OpType type = OpType::kOk) {
    return Add(type, process, f, value);
  }
  // An op invoked and completed at once; returns the completion's index.
  int64_t Call(int64_t process, const std::string& f, const Json& invoke_value,
               const Json& completion_value, OpType type = OpType::kOk) {
    Invoke(process, f, invoke_value);
    return Complete(process, f, completion_value, type);
  }

  // list-append and rw-register transactions of one micro-op.
  int64_t Append(int64_t process, const std::string& key, int value, OpType type = OpType::kOk) {
    Json txn = Json::array({Json::array({"append", key, value})});
    return Call(process, "txn", txn, txn, type);
  }
  int64_t ReadList(int64_t process, const std::string& key, const Json& list) {
    return Call(process, "txn", Json::array({Json::array({"r", key, nullptr})}),
                Json::array({Json::array({"r", key, list})}));
  }

  const History& history() const { return history_; }

 private:
  int64_t Add(OpType type, int64_t process, const std::string& f, const Json& value) {
    Op op;
    op.index = static_cast<int64_t>(history_.ops.size());
    op.time_ns = op.index * 1000;
    op.type = type;
    op.process = process;
    op.f = f;
    op.value = value;
    history_.ops.push_back(std::move(op));
    return history_.ops.back().index;
  }

  History history_;
};

}  // namespace faultline::testing
