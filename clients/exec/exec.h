// The exec protocol (docs/clients.md, "The exec protocol"): a client in any language, run as a
// child process per client process, speaking JSON lines on its stdin and stdout.
//
//   faultline -> client  {"type":"hello","protocol":1,"node":"n1","nodes":[...],"process":3,
//                         "test":{...}}
//   client -> faultline  {"type":"ready"}                    (or {"type":"error","error":"..."})
//   faultline -> client  {"type":"invoke","f":"write","value":3,"process":3,"index":17}
//   client -> faultline  {"type":"ok","value":3}             (ok | fail | info; value, error)
//
// One invocation at a time; the client answers each with exactly one completion line. A
// completion without "value" keeps the invocation's. The client's stderr goes to the run's log,
// a line at a time.
//
// Nothing a client does can hang or break the run: a client that exits, prints a line that is
// not a completion, or does not answer within the op timeout gives an info op whose error quotes
// what it printed (and the last lines of its stderr), and its process group is killed; the
// interpreter then starts a fresh one for the thread's next process. A client that cannot start
// (the command fails, the hello is refused or unanswered) fails the op it was started for: the
// invocation was never sent, so it certainly did not happen.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/op.h"
#include "core/status.h"
#include "runner/test.h"

namespace faultline::clients::exec {

inline constexpr int kProtocolVersion = 1;

struct ExecOptions {
  std::string command;          // run by /bin/sh -c, in the current directory
  double start_timeout_s = 10;  // for the answer to the hello
  // How long an answer may take; the test's operation_timeout_s when <= 0.
  double op_timeout_s = 0;
};

// The lines faultline sends.
Json HelloJson(const Test& test, const std::string& node, int64_t process);
Json InvocationJson(const Op& invoke);

// The client's answer to `invoke` as a completion (process, f and index are the interpreter's to
// fill). An answer that is not a completion is an error naming what was expected and quoting it.
Result<Op> ParseCompletion(std::string_view line, const Op& invoke);

// `text` in quotes for an error: control bytes and invalid UTF-8 as \xNN (core's
// text::Printable), at most about `limit` bytes, and its length when it was cut.
std::string Quoted(std::string_view text, size_t limit = 200);

class ExecClient : public Client {
 public:
  explicit ExecClient(ExecOptions options);
  ~ExecClient() override;

  Status Open(const Test& test, const std::string& node) override;
  Op Invoke(const Test& test, const Op& invoke) override;
  void Close(const Test& test) override;

 private:
  class Child;
  Status Start(const Test& test);
  // "" when the client answered the hello with ready; else why not.
  std::string Greet(const Test& test, int64_t process);
  // `what` went wrong, with how the client ended and its last stderr lines.
  std::string Failure(const std::string& what, bool exiting = false);

  ExecOptions options_;
  std::string node_;
  std::unique_ptr<Child> child_;
  bool greeted_ = false;
};

}  // namespace faultline::clients::exec
