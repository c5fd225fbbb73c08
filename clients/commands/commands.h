// A database faultline knows nothing about, run on each node by the user's own shell commands
// (`faultline test --db-setup CMD --db-kill CMD ...`, docs/clients.md "Any cluster, through
// commands"). Each command is a template run by `sh -c` on the node, over the test's session
// (SSH on real machines and on the local cluster), with these placeholders replaced, each by one
// shell-escaped word:
//   {node}     the node's name (n1)
//   {address}  the address the controller reaches it at (its name on real machines)
//   {nodes}    every node's name, joined by commas (n1,n2,n3)
// Any other {name} (letters and '_', not after a '$') is an error when the test is built, not
// when the command first runs: a typo must not reach the shell. Other braces are the shell's
// (${var}, awk '{print $1}', find -exec {}) and pass as they are; {{ and }} are literal braces.
//
// Setup and teardown run once per node at the start and end of the run; kill/start and
// pause/resume are what the kill and pause faults call, so with them those faults work on any
// cluster (start must be harmless on a running server: the fault's setup calls it to check it
// works); log files (path templates, replaced without quoting) are downloaded into the run's
// folder at the end. A command
// that exits non-zero is an error quoting its output; one left out makes the operation
// Unsupported (a nemesis that needs it refuses to start).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "runner/test.h"

namespace faultline::clients::commands {

struct DbCommands {
  std::string setup, teardown, kill, start, pause, resume;  // templates; "" = none
  std::vector<std::string> log_files;                       // path templates
  double setup_timeout_s = 300;    // setup and teardown (installing can be slow)
  double command_timeout_s = 60;   // kill, start, pause, resume
  bool sudo = false;               // run through sudo (an SSH user that is not root)

  bool empty() const;
};

// Each command's flag (without its dashes), what it does, and its field: the one list that the
// --db exec flags (clients/exec/kind.cc) and Validate's messages are made from.
struct CommandField {
  const char* flag;
  const char* what;
  std::string DbCommands::*command;
};
const std::vector<CommandField>& CommandFields();
inline constexpr const char* kLogFilesFlag = "db-logs";  // DbCommands::log_files

// `command_template` with the placeholders replaced for `node`, each value one shell-escaped word
// (or as it is, for a path that no shell reads: `shell_words` false); InvalidArgument naming an
// unknown placeholder.
Result<std::string> Expand(const std::string& command_template, const TestOptions& options,
                           const std::string& node, bool shell_words = true);

// InvalidArgument (naming the flag) when a template has an unknown placeholder.
Status Validate(const DbCommands& commands);

class CommandDb : public Db {
 public:
  explicit CommandDb(DbCommands commands) : commands_(std::move(commands)) {}

  Status Setup(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Teardown(const Test& test, const std::string& node, control::Remote& remote) override;
  std::vector<std::string> LogFiles(const Test& test, const std::string& node) const override;
  Status Kill(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Start(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Pause(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Resume(const Test& test, const std::string& node, control::Remote& remote) override;

 private:
  // Runs `command_template` (the one `flag` sets) on the node; Unsupported when it is empty.
  Status RunCommand(const std::string& flag, const std::string& command_template,
                    double timeout_s, const Test& test, const std::string& node,
                    control::Remote& remote) const;

  DbCommands commands_;
};

}  // namespace faultline::clients::commands
