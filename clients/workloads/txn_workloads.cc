#include "clients/workloads/txn_workloads.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>

#include "core/op_values.h"
#include "generators/combinators.h"

namespace faultline::workloads {
namespace {

enum class Kind { kListAppend, kRwRegister, kSession };

// The session workload's mix: how often a thread leaves its focus key, and which transaction it
// makes on it (the rest are read-then-append transactions).
constexpr double kFocusChange = 0.2;
constexpr double kSessionAppend = 0.4;
constexpr double kSessionRead = 0.4;

// What every value of one workload's generator shares: never changes once built.
struct Spec {
  Kind kind = Kind::kListAppend;
  TxnWorkloadOptions options;
  std::vector<double> cumulative;  // key-slot weights, summed: slot i is drawn with weight w_i
};

// What advances with each op: the active keys, the writes each has taken, and per client thread
// its session focus (a slot and the key it held then; the focus is lost when that key retires).
struct KeyState {
  std::vector<int64_t> keys;
  std::vector<int> writes;
  int64_t next_key = 0;
  std::vector<std::pair<int, int64_t>> focus;  // per thread; slot -1: none yet
};

double Unit(gen::Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

int UniformInt(gen::Rng& rng, int low, int high) {
  return std::uniform_int_distribution<int>(low, high)(rng);
}

std::vector<double> CumulativeWeights(const TxnWorkloadOptions& options) {
  std::vector<double> cumulative;
  double total = 0;
  for (int slot = 0; slot < options.key_count; ++slot) {
    double weight = 1;
    if (options.key_distribution == "exponential") weight = std::ldexp(1.0, -std::min(slot, 1000));
    if (options.key_distribution == "zipf") weight = 1.0 / (slot + 1);
    total += weight;
    cumulative.push_back(total);
  }
  return cumulative;
}

int DrawSlot(const Spec& spec, gen::Rng& rng) {
  double point = Unit(rng) * spec.cumulative.back();
  auto found = std::upper_bound(spec.cumulative.begin(), spec.cumulative.end(), point);
  if (found == spec.cumulative.end()) --found;  // rounding at the top end
  return static_cast<int>(found - spec.cumulative.begin());
}

// The next value for the key in `slot` (1, 2, ...), retiring the key after its last write.
std::pair<int64_t, int64_t> NextWrite(const Spec& spec, int slot, KeyState& state) {
  int64_t key = state.keys[slot];
  int64_t value = ++state.writes[slot];
  if (state.writes[slot] >= spec.options.max_writes_per_key) {
    state.keys[slot] = state.next_key++;
    state.writes[slot] = 0;
  }
  return {key, value};
}

Json WriteMicroOp(const Spec& spec, int slot, KeyState& state) {
  auto [key, value] = NextWrite(spec, slot, state);
  return MicroOpJson(spec.kind == Kind::kRwRegister ? MicroOpKind::kWrite : MicroOpKind::kAppend,
                     key, value);
}

Json ReadMicroOp(int64_t key) { return MicroOpJson(MicroOpKind::kRead, key, nullptr); }

// list-append and rw-register: min..max micro-ops, each a read or a write of a drawn key.
Json RandomTxn(const Spec& spec, gen::Rng& rng, KeyState& state) {
  int length = UniformInt(rng, spec.options.min_txn_length, spec.options.max_txn_length);
  Json txn = Json::array();
  for (int position = 0; position < length; ++position) {
    int slot = DrawSlot(spec, rng);
    txn.push_back(rng() % 2 == 0 ? ReadMicroOp(state.keys[slot]) : WriteMicroOp(spec, slot, state));
  }
  return txn;
}

// session: one transaction on the thread's focus key: an append, a read, or a read then an
// append (the read a later write must follow).
Json SessionTxn(const Spec& spec, int thread, gen::Rng& rng, KeyState& state) {
  if (state.focus.size() <= static_cast<size_t>(thread)) state.focus.resize(thread + 1, {-1, -1});
  auto& [slot, key] = state.focus[thread];
  bool retired = slot < 0 || state.keys[slot] != key;
  if (retired || Unit(rng) < kFocusChange) {
    slot = DrawSlot(spec, rng);
    key = state.keys[slot];
  }
  double kind = Unit(rng);
  if (kind < kSessionAppend) return Json::array({WriteMicroOp(spec, slot, state)});
  if (kind < kSessionAppend + kSessionRead) return Json::array({ReadMicroOp(key)});
  return Json::array({ReadMicroOp(key), WriteMicroOp(spec, slot, state)});
}

// A free client thread, drawn uniformly; never the nemesis's.
std::optional<int> FreeClientThread(const gen::Context& context) {
  auto first = std::lower_bound(context.free_threads.begin(), context.free_threads.end(), 0);
  auto count = context.free_threads.end() - first;
  if (count == 0) return std::nullopt;
  return *(first + UniformInt(*context.rng, 0, static_cast<int>(count) - 1));
}

class TxnGenerator : public gen::Generator {
 public:
  TxnGenerator(std::shared_ptr<const Spec> spec, KeyState state)
      : spec_(std::move(spec)), state_(std::move(state)) {}

  gen::Step Next(const gen::Context& context) const override {
    std::optional<int> thread = FreeClientThread(context);
    if (!thread) return gen::Step::Pending(shared_from_this());
    KeyState state = state_;
    gen::Rng& rng = *context.rng;
    Json txn = spec_->kind == Kind::kSession ? SessionTxn(*spec_, *thread, rng, state)
                                             : RandomTxn(*spec_, rng, state);
    Op op = gen::MakeOp("txn", std::move(txn));
    op.index = -1;
    op.type = OpType::kInvoke;
    op.process = context.ProcessOf(*thread);
    op.time_ns = context.time_ns;
    return gen::Step::Emit(std::move(op), std::make_shared<TxnGenerator>(spec_, std::move(state)));
  }

 private:
  std::shared_ptr<const Spec> spec_;
  KeyState state_;
};

Result<gen::GenPtr> MakeGenerator(Kind kind, const TxnWorkloadOptions& options) {
  Status valid = Validate(options);
  if (!valid.ok()) return valid;
  auto spec = std::make_shared<Spec>();
  spec->kind = kind;
  spec->options = options;
  spec->cumulative = CumulativeWeights(options);
  KeyState state;
  for (int slot = 0; slot < options.key_count; ++slot) {
    state.keys.push_back(slot);
    state.writes.push_back(0);
  }
  state.next_key = options.key_count;
  return gen::GenPtr(std::make_shared<TxnGenerator>(std::move(spec), std::move(state)));
}

Status OutOfRange(const std::string& flag, int value, int low, int high) {
  return Status::InvalidArgument(flag + " must be in [" + std::to_string(low) + ", " +
                                 std::to_string(high) + "], found " + std::to_string(value));
}

}  // namespace

std::vector<std::string> KeyDistributionNames() { return {"uniform", "exponential", "zipf"}; }

Status Validate(const TxnWorkloadOptions& options) {
  if (options.key_count < 1 || options.key_count > kMaxKeyCount) {
    return OutOfRange("--key-count", options.key_count, 1, kMaxKeyCount);
  }
  if (options.min_txn_length < 1 || options.min_txn_length > kMaxTxnLength) {
    return OutOfRange("--min-txn-length", options.min_txn_length, 1, kMaxTxnLength);
  }
  if (options.max_txn_length < options.min_txn_length || options.max_txn_length > kMaxTxnLength) {
    return OutOfRange("--max-txn-length", options.max_txn_length, options.min_txn_length,
                      kMaxTxnLength);
  }
  if (options.max_writes_per_key < 1 || options.max_writes_per_key > kMaxWritesPerKey) {
    return OutOfRange("--max-writes-per-key", options.max_writes_per_key, 1, kMaxWritesPerKey);
  }
  std::vector<std::string> names = KeyDistributionNames();
  if (std::find(names.begin(), names.end(), options.key_distribution) == names.end()) {
    return Status::InvalidArgument(
        "--key-distribution must be uniform, exponential or zipf, found \"" +
        options.key_distribution + "\"");
  }
  return Status::Ok();
}

Result<gen::GenPtr> ListAppendGenerator(const TxnWorkloadOptions& options) {
  return MakeGenerator(Kind::kListAppend, options);
}

Result<gen::GenPtr> RwRegisterGenerator(const TxnWorkloadOptions& options) {
  return MakeGenerator(Kind::kRwRegister, options);
}

Result<gen::GenPtr> SessionGenerator(const TxnWorkloadOptions& options) {
  return MakeGenerator(Kind::kSession, options);
}

}  // namespace faultline::workloads
