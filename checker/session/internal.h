// Internals of the session checker: the history normalised into sessions of reads and writes
// (model.cc), the collector of findings (findings.cc), and the per-data-type checks
// (list_append.cc, registers.cc). Not part of the API; session.h is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "checker/session/session.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline::session {

enum class Guarantee { kReadYourWrites, kMonotonicReads, kMonotonicWrites, kWritesFollowReads };
inline constexpr size_t kGuaranteeCount = 4;

enum class DataType { kRegister, kKv, kListAppend, kRwRegister };

std::string_view ToString(DataType type);

// One read or write of one key inside an op.
struct Access {
  bool is_write = false;
  std::string key;  // the key as JSON text: the identity used for grouping ("" for a register)
  Json value;       // write: value written or element appended; read: value or list observed
};

// A client op that happened (ok) or may have happened (info, or an invoke never completed).
struct Event {
  size_t invoke = 0;                  // position in History::ops (the completion's own position
  size_t completion = kNoCompletion;  // for a completion without invocation)
  bool ok = false;
  int64_t session = 0;
  size_t ordinal = 0;            // position in its session
  std::vector<Access> accesses;  // in the op's order; reads only when ok

  static constexpr size_t kNoCompletion = static_cast<size_t>(-1);
};

struct Model {
  DataType type = DataType::kRegister;
  std::string session_mode;
  int concurrency = 0;
  std::vector<Event> events;                        // in invocation order
  std::map<int64_t, std::vector<size_t>> sessions;  // session -> its events, in session order
  std::map<int64_t, std::set<int64_t>> processes;   // session -> processes seen
  std::vector<std::string> warnings;
};

Result<Model> BuildModel(const History& history, const SessionOptions& options);

// "x" for a string key, the JSON text otherwise; "the register" for "".
std::string KeyName(const std::string& key);

// Collects checked/unjudged counts and violations; builds a witness only while fewer than
// max_witnesses are kept, so a history with millions of violations costs no strings.
class Findings {
 public:
  Findings(const History& history, const Model& model, const SessionOptions& options,
           std::array<bool, kGuaranteeCount> enabled);

  bool Enabled(Guarantee g) const { return enabled_[static_cast<size_t>(g)]; }
  void Checked(Guarantee g) { ++results_[static_cast<size_t>(g)].checked; }
  void Unjudged(Guarantee g) { ++results_[static_cast<size_t>(g)].unjudged; }

  // One op of a witness: the event and what it did there.
  struct Step {
    size_t event;
    std::string action;
  };
  // Counts a violation of `g` by `session` on `key`, revealed by the op `at_event`; `steps`
  // builds the witness only when it is among the first max_witnesses in history order.
  void Violation(Guarantee g, int64_t session, const std::string& key, size_t at_event,
                 const std::function<std::vector<Step>()>& steps, const Json& missed,
                 const std::string& conclusion);

  void Warn(std::string warning) { warnings_.push_back(std::move(warning)); }
  const std::vector<std::string>& warnings() const { return warnings_; }

  std::vector<GuaranteeResult> Finish();

 private:
  SessionWitnessOp MakeOp(const Step& step) const;

  const History& history_;
  const Model& model_;
  size_t max_witnesses_;
  std::array<bool, kGuaranteeCount> enabled_;
  std::array<GuaranteeResult, kGuaranteeCount> results_;
  std::vector<std::string> warnings_;
  // Violations arrive session by session, not in history order: the kept ones, sorted by the
  // position of the op that revealed them, at most max_witnesses.
  std::array<std::vector<std::pair<size_t, SessionWitness>>, kGuaranteeCount> pending_;
};

// A witness step's action: "appended 7 to x", "read x = [1, 2]", "wrote 3", "read 3".
std::string Describe(const Access& access, DataType type);
// A value as witnesses show it: nil, 3, x, [1, 2].
std::string Show(const Json& value);

void CheckListAppend(const Model& model, Findings& findings);
void CheckRegisters(const Model& model, Findings& findings);

}  // namespace faultline::session
