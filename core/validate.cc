#include "core/validate.h"

#include <cstddef>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace faultline {
namespace {

// Lenient mode keeps this many warnings; past it only a count is kept, so a badly broken history
// of millions of ops cannot turn its warnings into the largest thing in memory.
constexpr size_t kMaxWarnings = 100;

// A FIFO of op positions with lazy deletion: entries that got paired through another queue stay
// here until they reach the front, where they are skipped. A vector with a head offset rather than
// std::deque, because libstdc++'s deque allocates ~600 bytes even when empty and a history can
// hold hundreds of thousands of processes (one per info completion).
class PositionQueue {
 public:
  void Push(int64_t position) { items_.push_back(position); }

  // The oldest entry for which `paired(position)` is false, dropping paired ones on the way.
  template <class Paired>
  std::optional<int64_t> Front(const Paired& paired) {
    while (head_ < items_.size() && paired(items_[head_])) ++head_;
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
      return std::nullopt;
    }
    if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return items_[head_];
  }

 private:
  std::vector<int64_t> items_;
  size_t head_ = 0;
};

struct ProcessState {
  // Outstanding invocations in history order, and the same split by f (interned id). In a
  // well-formed history each holds at most one entry; lenient mode may pile up more.
  PositionQueue outstanding;
  std::unordered_map<int, PositionQueue> outstanding_by_f;
  // Position of the info completion that ended this process, or -1 while it is live.
  int64_t ended_by = -1;
};

class Pairer {
 public:
  Pairer(const History& history, bool lenient) : history_(history), lenient_(lenient) {
    pairing_.partner.assign(history.ops.size(), -1);
  }

  Result<Pairing> Run() {
    const std::vector<Op>& ops = history_.ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      const int64_t position = static_cast<int64_t>(i);
      CheckOrder(position);
      if (violation_) return Status::MalformedHistory(std::move(*violation_));
      if (ops[i].is_invoke()) {
        Invoke(position);
      } else {
        Complete(position);
      }
      if (violation_) return Status::MalformedHistory(std::move(*violation_));
    }
    if (suppressed_warnings_ > 0) {
      pairing_.warnings.push_back("and " + std::to_string(suppressed_warnings_) + " more warnings");
    }
    return std::move(pairing_);
  }

 private:
  // "op 7" by Jepsen index, or by position when the history carries no index.
  std::string OpName(int64_t position) const {
    const Op& op = history_.ops[static_cast<size_t>(position)];
    if (op.index >= 0) return "op " + std::to_string(op.index);
    return "op at position " + std::to_string(position);
  }

  // Records a violation of the rules by the op at `position`: the first one ends strict mode;
  // lenient mode keeps it as a warning and goes on.
  void Violation(int64_t position, std::string_view what) { Report(position, what, !lenient_); }
  void Warning(int64_t position, std::string_view what) { Report(position, what, false); }

  void Report(int64_t position, std::string_view what, bool fatal) {
    if (!fatal && pairing_.warnings.size() >= kMaxWarnings) {
      ++suppressed_warnings_;
      return;
    }
    const Op& op = history_.ops[static_cast<size_t>(position)];
    std::string message;
    if (!history_.source.empty()) {
      message += history_.source;
      message += op.line > 0 ? ":" + std::to_string(op.line) + ": " : ": ";
    } else if (op.line > 0) {
      message += "line " + std::to_string(op.line) + ": ";
    }
    message += what;
    message +=
        ", " + OpName(position) + " (process " + ProcessName(op.process) + ", f " + op.f + ")";
    if (!fatal) {
      pairing_.warnings.push_back(std::move(message));
    } else if (!violation_) {
      violation_ = std::move(message);
    }
  }

  // Indices strictly increase and times never decrease, over every op, the nemesis's included.
  // Negative values mean "unknown" (the file had none) and are compared with nothing.
  void CheckOrder(int64_t position) {
    const Op& op = history_.ops[static_cast<size_t>(position)];
    if (op.index >= 0) {
      if (last_index_ >= 0 && op.index <= last_index_) {
        Violation(position, "index " + std::to_string(op.index) +
                                " does not increase (previous index " +
                                std::to_string(last_index_) + ")");
      }
      last_index_ = op.index;
    }
    if (op.time_ns >= 0) {
      // Real Jepsen histories (Knossos' own corpus among them) record times on many threads, so
      // a time may step back a little: the file's order is the real-time order the checkers use,
      // and a backwards time is worth a warning, never a rejection.
      if (last_time_ns_ >= 0 && op.time_ns < last_time_ns_ && !time_warned_) {
        time_warned_ = true;
        Warning(position, "time " + std::to_string(op.time_ns) +
                              " ns is before the previous op's time " +
                              std::to_string(last_time_ns_) +
                              " ns (later ones not reported; file order is used)");
      }
      last_time_ns_ = op.time_ns;
    }
  }

  int InternF(const std::string& f) {
    auto [it, inserted] = f_ids_.try_emplace(f, static_cast<int>(f_ids_.size()));
    return it->second;
  }

  bool Paired(int64_t position) const {
    return pairing_.partner[static_cast<size_t>(position)] != -1;
  }

  void Invoke(int64_t position) {
    const Op& op = history_.ops[static_cast<size_t>(position)];
    ProcessState& state = processes_[op.process];
    // The nemesis may overlap its own ops (real Jepsen histories do), so only clients are held
    // to one outstanding invocation and to ending at an info.
    if (!op.is_nemesis()) {
      const auto paired = [this](int64_t p) { return Paired(p); };
      if (state.ended_by >= 0) {
        Violation(position, "process " + ProcessName(op.process) +
                                " invoked again after its info completion (" +
                                OpName(state.ended_by) + ")");
      } else if (std::optional<int64_t> previous = state.outstanding.Front(paired)) {
        Violation(position, "process " + ProcessName(op.process) + " invoked while its " +
                                OpName(*previous) + " is still outstanding");
      }
    }
    state.outstanding.Push(position);
    state.outstanding_by_f[InternF(op.f)].Push(position);
  }

  void Complete(int64_t position) {
    const Op& op = history_.ops[static_cast<size_t>(position)];
    ProcessState& state = processes_[op.process];
    const auto paired = [this](int64_t p) { return Paired(p); };
    std::optional<int64_t> invoke;
    if (auto by_f = state.outstanding_by_f.find(InternF(op.f));
        by_f != state.outstanding_by_f.end()) {
      invoke = by_f->second.Front(paired);
    }
    if (!invoke) {
      invoke = state.outstanding.Front(paired);
      if (invoke && !op.is_nemesis()) {
        const Op& invocation = history_.ops[static_cast<size_t>(*invoke)];
        Violation(position, "completion's f " + op.f + " does not match its invocation's f " +
                                invocation.f + " (" + OpName(*invoke) + ")");
      }
    }
    if (invoke) {
      pairing_.partner[static_cast<size_t>(position)] = *invoke;
      pairing_.partner[static_cast<size_t>(*invoke)] = position;
    } else if (!op.is_nemesis()) {
      Violation(position,
                "completion with no outstanding invocation of process " + ProcessName(op.process));
    }
    if (op.type == OpType::kInfo && !op.is_nemesis() && state.ended_by < 0) {
      state.ended_by = position;
    }
  }

  const History& history_;
  const bool lenient_;
  Pairing pairing_;
  std::optional<std::string> violation_;  // strict mode: the first violation
  size_t suppressed_warnings_ = 0;
  int64_t last_index_ = -1;
  int64_t last_time_ns_ = -1;
  bool time_warned_ = false;
  std::unordered_map<int64_t, ProcessState> processes_;
  std::unordered_map<std::string, int> f_ids_;
};

}  // namespace

Result<Pairing> PairHistory(const History& history, bool lenient) {
  return Pairer(history, lenient).Run();
}

}  // namespace faultline
