// The four guarantees on register, kv and rw-register histories. A read returns one value, which
// names the write it observed only when exactly one op wrote that value to the key; no version
// order between writes is known. Each check therefore reports only what no version order can
// explain (docs/session.md, "registers").
#include <optional>
#include <unordered_map>

#include "checker/session/internal.h"

namespace faultline::session {
namespace {

using Step = Findings::Step;

const std::string kNullText = "null";

struct Read {
  size_t event;
  const Access* access;
};

// The writes of one value to one key. Only a value written once (count == 1) names its write.
struct Write {
  size_t count = 0;
  size_t event = 0;
  const Access* access = nullptr;
  int64_t session = 0;
  size_t ordinal = 0;
  bool ok = false;
  std::optional<Read> read_before;  // the session's latest read of the key before this write
};

using Writes = std::unordered_map<std::string, std::unordered_map<std::string, Write>>;

// Per session and key, while walking the session in order.
struct KeyState {
  std::optional<std::pair<size_t, const Access*>> own_write;  // latest ok write, earlier op
  std::optional<Read> last_read;
  std::optional<Read> last_written_read;  // latest read of a value that is not the initial one
  // For each value the session read and then moved away from: the last read of it, and the read
  // that moved away (monotonic reads: it can never come back).
  std::unordered_map<std::string, std::pair<Read, Read>> left;
  // Per writing session: the read of its latest-in-session write observed so far.
  std::unordered_map<int64_t, Read> latest_of_session;
  // For values that must not be read any more: the read of the write that came after them.
  std::unordered_map<std::string, Read> superseded;
};

class RegisterChecker {
 public:
  RegisterChecker(const Model& model, Findings& findings) : model_(model), findings_(findings) {}

  void Run() {
    IndexWrites();
    for (const auto& [session, events] : model_.sessions) {
      std::unordered_map<std::string, KeyState> keys;
      for (size_t event : events) Walk(session, event, keys);
    }
    if (ambiguous_reads_ > 0) {
      findings_.Warn(std::to_string(ambiguous_reads_) +
                     " reads returned a value written more than once to its key; such a value "
                     "names no write and is not evidence");
    }
  }

 private:
  Step StepOf(size_t event, const Access* access) const {
    return {event, Describe(*access, model_.type)};
  }
  Step StepOf(const Read& read) const { return StepOf(read.event, read.access); }

  void IndexWrites() {
    for (const auto& [session, events] : model_.sessions) {
      std::unordered_map<std::string, std::optional<Read>> last_read;
      for (size_t index : events) {
        const Event& event = model_.events[index];
        for (const Access& access : event.accesses) {
          if (!access.is_write) {
            last_read[access.key] = Read{index, &access};
            continue;
          }
          Write& write = writes_[access.key][access.value.dump()];
          if (++write.count > 1) continue;
          write = {1, index, &access, session, event.ordinal, event.ok, last_read[access.key]};
        }
      }
    }
  }

  // The write a value names, or null when the value was written never or more than once.
  const Write* Named(const std::string& key, const std::string& value) const {
    auto writes = writes_.find(key);
    if (writes == writes_.end()) return nullptr;
    auto found = writes->second.find(value);
    if (found == writes->second.end() || found->second.count != 1) return nullptr;
    return &found->second;
  }

  // The initial value is nil, and is recognisable as such when no op wrote nil to the key.
  bool IsInitial(const Access& read) const {
    if (!read.value.is_null()) return false;
    auto writes = writes_.find(read.key);
    return writes == writes_.end() || !writes->second.count(kNullText);
  }

  void Walk(int64_t session, size_t index, std::unordered_map<std::string, KeyState>& keys) {
    const Event& event = model_.events[index];
    for (const Access& access : event.accesses) {
      if (access.is_write) continue;
      KeyState& state = keys[access.key];
      const Read read{index, &access};
      const std::string value = access.value.dump();
      const Write* named = Named(access.key, value);
      if (!named && !IsInitial(access)) ++ambiguous_reads_;
      if (findings_.Enabled(Guarantee::kReadYourWrites)) {
        ReadYourWrites(session, state, read, value, named);
      }
      if (findings_.Enabled(Guarantee::kMonotonicReads)) {
        MonotonicReads(session, state, read, value, named);
      }
      if (findings_.Enabled(Guarantee::kMonotonicWrites)) MonotonicWrites(state, read, named);
      if (findings_.Enabled(Guarantee::kWritesFollowReads)) {
        WritesFollowReads(state, read, value, named);
      }
      state.last_read = read;
      if (!IsInitial(access)) state.last_written_read = read;
    }
    for (const Access& access : event.accesses) {
      if (access.is_write && event.ok) keys[access.key].own_write = {index, &access};
    }
  }

  // After its ok write w, a session reads w's value or a value not known to be older: the
  // initial value, or the value of its own earlier ok write, is older.
  void ReadYourWrites(int64_t session, const KeyState& state, const Read& read,
                      const std::string& value, const Write* named) {
    if (!state.own_write) return;
    const auto [own_event, own] = *state.own_write;
    if (own->value.dump() == value) {
      findings_.Checked(Guarantee::kReadYourWrites);
      return;
    }
    const bool initial = IsInitial(*read.access);
    const bool own_older = named && named->session == session && named->ok &&
                           named->ordinal < model_.events[own_event].ordinal;
    if (!initial && !own_older) {
      findings_.Unjudged(Guarantee::kReadYourWrites);
      return;
    }
    findings_.Violation(
        Guarantee::kReadYourWrites, session, read.access->key, read.event,
        [&] {
          std::vector<Step> steps;
          if (own_older) steps.push_back(StepOf(named->event, named->access));
          steps.push_back(StepOf(own_event, own));
          steps.push_back(StepOf(read));
          return steps;
        },
        own->value,
        initial ? "the initial value, without " + Show(own->value)
                : "the older value " + Show(read.access->value) + ", without " + Show(own->value));
  }

  // A session's reads never return the initial value after a written one, and never return to
  // a value (named by a single write) after having read another one since.
  void MonotonicReads(int64_t session, KeyState& state, const Read& read, const std::string& value,
                      const Write* named) {
    if (!state.last_read) return;
    const Read last = *state.last_read;
    const std::string last_value = last.access->value.dump();
    if (IsInitial(*read.access) && state.last_written_read) {
      const Read written = *state.last_written_read;
      findings_.Violation(
          Guarantee::kMonotonicReads, session, read.access->key, read.event,
          [&] {
            return std::vector<Step>{StepOf(written), StepOf(read)};
          },
          written.access->value, "the initial value after " + Show(written.access->value));
      return;
    }
    if (value == last_value) {
      findings_.Checked(Guarantee::kMonotonicReads);
      return;
    }
    auto left = state.left.find(value);
    if (named && left != state.left.end()) {
      const auto [first, away] = left->second;
      findings_.Violation(
          Guarantee::kMonotonicReads, session, read.access->key, read.event,
          [&] {
            return std::vector<Step>{StepOf(first), StepOf(away), StepOf(read)};
          },
          away.access->value,
          "returned " + Show(read.access->value) + " again after " + Show(away.access->value));
    } else if (named) {
      findings_.Checked(Guarantee::kMonotonicReads);
    } else {
      findings_.Unjudged(Guarantee::kMonotonicReads);
    }
    state.left.insert_or_assign(last_value, std::make_pair(last, read));
  }

  // A session that read a write w2 of session S never reads, later, an ok write S made before
  // w2: S's writes must become visible in S's order.
  void MonotonicWrites(KeyState& state, const Read& read, const Write* named) {
    if (!named) return;
    auto latest = state.latest_of_session.find(named->session);
    if (latest == state.latest_of_session.end()) {
      state.latest_of_session.emplace(named->session, read);
      return;
    }
    const Read later_read = latest->second;
    const Write* later = Named(read.access->key, later_read.access->value.dump());
    if (later->ordinal <= named->ordinal) {
      if (later->ordinal < named->ordinal) latest->second = read;
      findings_.Checked(Guarantee::kMonotonicWrites);
      return;
    }
    if (!named->ok) {
      findings_.Unjudged(Guarantee::kMonotonicWrites);  // an info write may take effect late
      return;
    }
    findings_.Violation(
        Guarantee::kMonotonicWrites, named->session, read.access->key, read.event,
        [&] {
          return std::vector<Step>{StepOf(named->event, named->access),
                                   StepOf(later->event, later->access), StepOf(later_read),
                                   StepOf(read)};
        },
        later->access->value,
        "returned " + Show(read.access->value) + " after " + Show(later->access->value) +
            ", which its session wrote later");
  }

  // A session that read w2, written by S after S read w1 (another session's write), never reads
  // w1 later: w2 must be ordered after w1.
  void WritesFollowReads(KeyState& state, const Read& read, const std::string& value,
                         const Write* named) {
    if (!state.superseded.empty()) {
      auto found = state.superseded.find(value);
      if (found == state.superseded.end() || !named) {
        findings_.Checked(Guarantee::kWritesFollowReads);
      } else {
        ReportWritesFollowReads(found->second, read);
      }
    }
    if (!named || !named->read_before) return;
    const Access& before = *named->read_before->access;
    const Write* source = Named(before.key, before.value.dump());
    if (!source || source->session == named->session) return;
    state.superseded.try_emplace(before.value.dump(), read);
  }

  void ReportWritesFollowReads(const Read& later_read, const Read& read) {
    const Write* later = Named(read.access->key, later_read.access->value.dump());
    const Read before = *later->read_before;
    findings_.Violation(
        Guarantee::kWritesFollowReads, later->session, read.access->key, read.event,
        [&] {
          return std::vector<Step>{StepOf(before), StepOf(later->event, later->access),
                                   StepOf(later_read), StepOf(read)};
        },
        later->access->value,
        "returned " + Show(read.access->value) + " after " + Show(later->access->value) +
            ", which was written after reading " + Show(read.access->value));
  }

  const Model& model_;
  Findings& findings_;
  Writes writes_;
  size_t ambiguous_reads_ = 0;
};

}  // namespace

void CheckRegisters(const Model& model, Findings& findings) {
  RegisterChecker(model, findings).Run();
}

}  // namespace faultline::session
