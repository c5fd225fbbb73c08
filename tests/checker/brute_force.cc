#include "checker/brute_force.h"

#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <vector>

namespace faultline::testkit {
namespace {

// One client operation: its invoke, and its completion if that was ok.
struct Call {
  std::string f;
  Json invoke_value;
  bool ok = false;  // false: info or pending, the outcome is unknown
  Json ok_value;    // the ok completion's value
  size_t invoke_position = 0;
  size_t ok_position = 0;  // meaningful only when ok
};

// Pairs each completion with the latest earlier invoke of its process that has no completion yet
// (a well-formed history has exactly one), and keeps the calls that may have happened.
std::vector<Call> CallsOf(const History& history) {
  const std::vector<Op>& ops = history.ops;
  std::vector<bool> completed(ops.size(), false);
  std::vector<Call> calls;
  std::vector<int> call_of_invoke(ops.size(), -1);
  std::vector<bool> dropped(ops.size(), false);
  for (size_t j = 0; j < ops.size(); ++j) {
    if (ops[j].is_nemesis() || ops[j].is_invoke()) continue;
    bool found = false;
    for (size_t i = j; i-- > 0;) {
      if (ops[i].is_invoke() && ops[i].process == ops[j].process && !completed[i]) {
        completed[i] = true;
        found = true;
        if (ops[j].type == OpType::kFail) dropped[i] = true;
        if (ops[j].type == OpType::kOk) call_of_invoke[i] = static_cast<int>(j);
        break;
      }
    }
    assert(found && "the oracle needs a well-formed history");
    (void)found;
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].is_nemesis() || !ops[i].is_invoke() || dropped[i]) continue;
    Call call;
    call.f = ops[i].f;
    call.invoke_value = ops[i].value;
    call.invoke_position = i;
    if (call_of_invoke[i] >= 0) {
      call.ok = true;
      call.ok_position = static_cast<size_t>(call_of_invoke[i]);
      call.ok_value = ops[call.ok_position].value;
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

// The sequential specifications, as plainly as they can be written.
struct State {
  Json value;                             // register, cas-register
  std::map<std::string, std::string> kv;  // kv: absent keys read ""
};

struct Spec {
  std::string model;
  bool nil_read_is_unrecorded = false;  // a register that starts non-nil: nil reads match all
};

std::string Text(const Json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

// Applies `call` to `state`; false when the model forbids it (or its ok result differs).
bool Step(const Spec& spec, const Call& call, State& state) {
  const std::string& model = spec.model;
  if (model == "register" || model == "cas-register") {
    if (call.f == "read") {
      if (!call.ok) return true;
      if (call.ok_value.is_null() && spec.nil_read_is_unrecorded) return true;
      return call.ok_value == state.value;
    }
    if (call.f == "write") {
      state.value = call.invoke_value;
      return true;
    }
    if (call.f == "cas" && model == "cas-register") {
      if (state.value != call.invoke_value.at(0)) return false;
      state.value = call.invoke_value.at(1);
      return true;
    }
  } else if (model == "kv") {
    const std::string key = call.invoke_value.at(0).get<std::string>();
    if (call.f == "get") return !call.ok || Text(call.ok_value.at(1)) == state.kv[key];
    if (call.f == "put") {
      state.kv[key] = Text(call.invoke_value.at(1));
      return true;
    }
    if (call.f == "append") {
      state.kv[key] += Text(call.invoke_value.at(1));
      return true;
    }
  }
  assert(false && "the oracle does not know this model or f");
  std::abort();
}

// Some order of every not-yet-placed op in `ops`, respecting real time, runs through the model.
bool SomeOrderWorks(const Spec& spec, const std::vector<const Call*>& ops,
                    std::vector<bool>& placed, size_t placed_count, const State& state) {
  if (placed_count == ops.size()) return true;
  for (size_t b = 0; b < ops.size(); ++b) {
    if (placed[b]) continue;
    bool must_wait = false;  // some unplaced op completed (ok) before b was invoked
    for (size_t a = 0; a < ops.size(); ++a) {
      if (a != b && !placed[a] && ops[a]->ok && ops[a]->ok_position < ops[b]->invoke_position) {
        must_wait = true;
      }
    }
    if (must_wait) continue;
    State next = state;
    if (!Step(spec, *ops[b], next)) continue;  // no order with this prefix can work
    placed[b] = true;
    if (SomeOrderWorks(spec, ops, placed, placed_count + 1, next)) return true;
    placed[b] = false;
  }
  return false;
}

}  // namespace

bool BruteForceLinearizable(const History& history, const std::string& model,
                            const Json& initial_value) {
  const std::vector<Call> calls = CallsOf(history);
  assert(calls.size() <= 16 && "the oracle is exponential; keep histories tiny");
  std::vector<const Call*> required;
  std::vector<const Call*> optional;
  for (const Call& call : calls) (call.ok ? required : optional).push_back(&call);
  State initial;
  Spec spec{model};
  if (model != "kv") {
    initial.value = initial_value;
    spec.nil_read_is_unrecorded = !initial_value.is_null();
  }
  for (uint32_t subset = 0; subset < (1u << optional.size()); ++subset) {
    std::vector<const Call*> included = required;
    for (size_t i = 0; i < optional.size(); ++i) {
      if (subset & (1u << i)) included.push_back(optional[i]);
    }
    std::vector<bool> placed(included.size(), false);
    if (SomeOrderWorks(spec, included, placed, 0, initial)) return true;
  }
  return false;
}

}  // namespace faultline::testkit
