// The four guarantees on list-append histories. A read of a key returns the key's list, so one
// read shows which appends it observed and in which order: every check here is a prefix or
// membership test on lists (docs/session.md, "list-append").
#include <optional>
#include <unordered_map>

#include "checker/session/internal.h"

namespace faultline::session {
namespace {

using Step = Findings::Step;

struct Read {
  size_t event;
  const Access* access;
};

// What is known about the append of one element to one key. An element appended more than once
// (count > 1) identifies no single append and is never used as evidence.
struct Append {
  size_t count = 0;
  size_t event = 0;
  const Access* access = nullptr;
  int64_t session = 0;
  // The session's latest ok append to the key in an earlier op: must be visible before this one
  // (monotonic writes).
  std::optional<std::pair<size_t, const Access*>> previous_own;
  // The session's latest read of the key before this append: what it read must be visible before
  // this one (writes-follow-reads).
  std::optional<Read> read_before;
};

using Appends = std::unordered_map<std::string, std::unordered_map<std::string, Append>>;

// One read list as element texts, with each element's first position.
struct List {
  explicit List(const Json& list) {
    if (!list.is_array()) return;
    for (const Json& element : list) {
      texts.push_back(element.dump());
      position.try_emplace(texts.back(), texts.size() - 1);
    }
  }
  std::optional<size_t> Find(const std::string& text) const {
    auto found = position.find(text);
    if (found == position.end()) return std::nullopt;
    return found->second;
  }
  std::vector<std::string> texts;
  std::unordered_map<std::string, size_t> position;
};

// Per session and key, while walking the session in order.
struct KeyState {
  std::vector<std::pair<size_t, const Access*>> own_ok_appends;  // from earlier ops
  std::optional<Read> last_read;
  std::optional<Read> frontier;  // the longest list read so far that the later ones extend
};

class ListAppendChecker {
 public:
  ListAppendChecker(const Model& model, Findings& findings) : model_(model), findings_(findings) {}

  void Run() {
    IndexAppends();
    for (const auto& [session, events] : model_.sessions) {
      std::unordered_map<std::string, KeyState> keys;
      for (size_t event : events) Walk(session, event, keys);
    }
    if (unknown_elements_ > 0) {
      findings_.Warn(std::to_string(unknown_elements_) +
                     " read elements were never appended by any op; they are not evidence");
    }
  }

 private:
  Step AppendStep(size_t event, const Access* access) const {
    return {event, Describe(*access, DataType::kListAppend)};
  }
  Step ReadStep(const Read& read) const {
    return {read.event, Describe(*read.access, DataType::kListAppend)};
  }

  // Pass 1: every append with what its session did to the key before it.
  void IndexAppends() {
    for (const auto& [session, events] : model_.sessions) {
      std::unordered_map<std::string, KeyState> keys;
      for (size_t index : events) {
        const Event& event = model_.events[index];
        std::vector<const Access*> ok_appends;
        for (const Access& access : event.accesses) {
          KeyState& state = keys[access.key];
          if (!access.is_write) {
            state.last_read = Read{index, &access};
            continue;
          }
          Append& append = appends_[access.key][access.value.dump()];
          if (++append.count > 1) continue;
          append = {1, index, &access, session, std::nullopt, state.last_read};
          if (!state.own_ok_appends.empty()) append.previous_own = state.own_ok_appends.back();
          if (event.ok) ok_appends.push_back(&access);
        }
        for (const Access* access : ok_appends) {
          keys[access->key].own_ok_appends.emplace_back(index, access);
        }
      }
    }
  }

  // Pass 2: the session's reads, in session order.
  void Walk(int64_t session, size_t index, std::unordered_map<std::string, KeyState>& keys) {
    const Event& event = model_.events[index];
    std::vector<const Access*> ok_appends;
    for (const Access& access : event.accesses) {
      KeyState& state = keys[access.key];
      if (access.is_write) {
        if (event.ok) ok_appends.push_back(&access);
        continue;
      }
      const Read read{index, &access};
      const List list(access.value);
      CountUnknown(access.key, list);
      if (findings_.Enabled(Guarantee::kReadYourWrites)) ReadYourWrites(session, state, read, list);
      if (findings_.Enabled(Guarantee::kMonotonicReads)) MonotonicReads(session, state, read, list);
      if (findings_.Enabled(Guarantee::kMonotonicWrites)) MonotonicWrites(read, list);
      if (findings_.Enabled(Guarantee::kWritesFollowReads)) WritesFollowReads(read, list);
    }
    for (const Access* access : ok_appends) {
      keys[access->key].own_ok_appends.emplace_back(index, access);
    }
  }

  void CountUnknown(const std::string& key, const List& list) {
    auto appends = appends_.find(key);
    for (const std::string& text : list.texts) {
      if (appends == appends_.end() || !appends->second.count(text)) ++unknown_elements_;
    }
  }

  const Append* Identified(const std::string& key, const std::string& text) const {
    auto appends = appends_.find(key);
    if (appends == appends_.end()) return nullptr;
    auto found = appends->second.find(text);
    if (found == appends->second.end() || found->second.count != 1) return nullptr;
    return &found->second;
  }

  // Every ok append the session made to the key in an earlier op is in the list.
  void ReadYourWrites(int64_t session, const KeyState& state, const Read& read, const List& list) {
    if (state.own_ok_appends.empty()) return;
    for (const auto& [event, access] : state.own_ok_appends) {
      if (list.Find(access->value.dump())) continue;
      findings_.Violation(
          Guarantee::kReadYourWrites, session, read.access->key, read.event,
          [&] {
            return std::vector<Step>{AppendStep(event, access), ReadStep(read)};
          },
          access->value, "without " + Show(access->value));
      return;
    }
    findings_.Checked(Guarantee::kReadYourWrites);
  }

  // Each read extends the longest list the session read before: it is a prefix of this one.
  void MonotonicReads(int64_t session, KeyState& state, const Read& read, const List& list) {
    if (!state.frontier) {
      state.frontier = read;
      return;
    }
    const List earlier(state.frontier->access->value);
    size_t common = 0;
    while (common < earlier.texts.size() && common < list.texts.size() &&
           earlier.texts[common] == list.texts[common]) {
      ++common;
    }
    if (common == earlier.texts.size()) {
      findings_.Checked(Guarantee::kMonotonicReads);
      state.frontier = read;
      return;
    }
    const Json& first_lost = state.frontier->access->value[common];
    const bool missing = !list.Find(earlier.texts[common]);
    const Read frontier = *state.frontier;
    findings_.Violation(
        Guarantee::kMonotonicReads, session, read.access->key, read.event,
        [&] {
          return std::vector<Step>{ReadStep(frontier), ReadStep(read)};
        },
        first_lost,
        missing ? "without " + Show(first_lost) + ", which the earlier read saw"
                : "with " + Show(first_lost) + " at another place than the earlier read saw");
  }

  // A list holding a session's append holds the session's previous ok append to the key, before.
  void MonotonicWrites(const Read& read, const List& list) {
    bool judged = false;
    for (size_t i = 0; i < list.texts.size(); ++i) {
      const Append* append = Identified(read.access->key, list.texts[i]);
      if (!append || !append->previous_own) continue;
      const auto [earlier_event, earlier] = *append->previous_own;
      std::optional<size_t> at = list.Find(earlier->value.dump());
      judged = true;
      if (at && *at < i) continue;
      findings_.Violation(
          Guarantee::kMonotonicWrites, append->session, read.access->key, read.event,
          [&] {
            return std::vector<Step>{AppendStep(earlier_event, earlier),
                                     AppendStep(append->event, append->access), ReadStep(read)};
          },
          earlier->value,
          (at ? "with " + Show(earlier->value) + " after "
              : "without " + Show(earlier->value) + " before ") +
              Show(append->access->value));
      return;
    }
    if (judged) findings_.Checked(Guarantee::kMonotonicWrites);
  }

  // A list holding an append holds, before it, what the appending session had read of the key
  // (the appends of other sessions in its latest earlier read).
  void WritesFollowReads(const Read& read, const List& list) {
    bool judged = false;
    for (size_t i = 0; i < list.texts.size(); ++i) {
      const Append* append = Identified(read.access->key, list.texts[i]);
      if (!append || !append->read_before) continue;
      const Read before = *append->read_before;
      for (const Json& element : before.access->value) {
        const Append* seen = Identified(read.access->key, element.dump());
        if (!seen || seen->session == append->session) continue;
        std::optional<size_t> at = list.Find(element.dump());
        judged = true;
        if (at && *at < i) continue;
        findings_.Violation(
            Guarantee::kWritesFollowReads, append->session, read.access->key, read.event,
            [&] {
              return std::vector<Step>{ReadStep(before), AppendStep(append->event, append->access),
                                       ReadStep(read)};
            },
            element,
            (at ? "with " + Show(element) + " after " : "without " + Show(element) + " before ") +
                Show(append->access->value));
        return;
      }
    }
    if (judged) findings_.Checked(Guarantee::kWritesFollowReads);
  }

  const Model& model_;
  Findings& findings_;
  Appends appends_;
  size_t unknown_elements_ = 0;
};

}  // namespace

void CheckListAppend(const Model& model, Findings& findings) {
  ListAppendChecker(model, findings).Run();
}

}  // namespace faultline::session
