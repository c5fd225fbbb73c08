// The session-guarantees checker: read-your-writes, monotonic reads, monotonic writes and
// writes-follow-reads (Terry et al. 1994), judged per session from what the session's reads
// observed, on register, kv, list-append and rw-register histories. docs/session.md defines each
// check, what is decidable for each data type, and when a case is left unjudged.
//
// A session is the op sequence of one client thread: in "chain" mode the processes p, p+C, p+2C,
// ... (Jepsen starts a new process, process + concurrency C, after an info completion); in
// "process" mode every process is its own session.
//
// Semantics: ok ops happened; fail ops are ignored; an info op (or an invoke never completed) may
// have happened: its writes count when a read observes them, never as writes a read should have
// seen, and its reads are unknown. Nemesis ops are ignored.
//
// CheckSessions is a pure function of the history; any thread may call it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "checker/verdict.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline {

// The guarantee names, in the order results list them.
std::vector<std::string> SessionGuaranteeNames();  // read-your-writes, monotonic-reads, ...
// "auto", "register", "kv", "list-append", "rw-register".
std::vector<std::string> SessionDataTypeNames();

struct SessionOptions {
  std::vector<std::string> guarantees = SessionGuaranteeNames();  // which to check
  std::string data_type = "auto";
  // 0: sessions are process chains with C from the history header's "concurrency" (process
  // sessions when the header has none); > 0: chains with this C; < 0: one session per process.
  int concurrency = 0;
  size_t max_witnesses = 10;  // per guarantee; the count covers every violation
  bool lenient = false;       // accept histories that break well-formedness (see validate.h)
};

// One op of a witness, as the history recorded it.
struct SessionWitnessOp {
  int64_t index = -1;  // Op::index of the completion (of the invocation when pending)
  int64_t invoke_index = -1;
  int64_t process = 0;
  std::string outcome;      // "ok", "info" or "pending"
  int64_t time_ns = -1;     // completion time (invocation time when pending); -1 if unknown
  int64_t invoke_line = 0;  // source lines; 0 when unknown
  int64_t complete_line = 0;
  std::string action;  // "appended 7 to x", "read x = [1, 2]"
};

// The fewest ops that show one violation, in session/history order.
struct SessionWitness {
  std::string guarantee;
  int64_t session = 0;             // the session whose guarantee failed
  std::vector<int64_t> processes;  // the processes of that session seen in the history
  std::string key;                 // "" for a single register
  std::vector<SessionWitnessOp> ops;
  Json missed;             // the write the read missed, or the stale value it returned
  std::string conclusion;  // "without 7", "returned the older value 3"

  Json ToJson() const;
  std::string ToText() const;  // one line
};

struct GuaranteeResult {
  std::string guarantee;
  Verdict verdict = Verdict::kValid;      // unknown: nothing could be judged though cases existed
  size_t violations = 0;                  // every violation found
  size_t checked = 0;                     // cases judged (satisfied or violated)
  size_t unjudged = 0;                    // cases the values could not decide (docs/session.md)
  std::vector<SessionWitness> witnesses;  // the first max_witnesses, in history order
};

struct SessionResult {
  Verdict verdict = Verdict::kValid;  // the worst of the guarantees'
  std::string data_type;
  std::string session_mode;  // "chain" or "process"
  int concurrency = 0;       // C in chain mode
  size_t sessions = 0;
  size_t operations = 0;  // client ops considered (fail ops excluded)
  std::vector<GuaranteeResult> guarantees;
  std::vector<std::string> warnings;

  Json ToJson() const;
  std::string ToText() const;
};

Result<SessionResult> CheckSessions(const History& history, const SessionOptions& options = {});

// CheckSessions with the default options (and the context's leniency) as a checker value
// (checker/checker.h), named "session".
CheckerPtr MakeSessionChecker();

}  // namespace faultline
