// Remote: how faultline runs commands on a node and moves files to and from it.
//
// One Remote is one session to one node, used by one thread at a time (the thread that owns it);
// different Remotes may be used concurrently. Implementations: SSH through libssh (ssh_remote.h),
// local execution (local_remote.h), and a scripted fake for tests (fake_remote.h).
//
// Every argument of a Command is shell-escaped before it reaches the node, so an argument is
// always literal text there, whatever characters it holds. Errors carry the node, the command
// line, the exit code and the tail of stderr.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace faultline::control {

struct Command {
  std::vector<std::string> argv;  // argv[0] is the program; each element is escaped
  std::string stdin_data;         // written to the command's stdin, then closed
  bool sudo = false;              // run as root through sudo (with the password, if any)
  std::string directory;          // cd here first, if not empty
  int64_t timeout_ms = 60'000;    // the command is abandoned (and the error says so) after this
};

struct CommandResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// `text` quoted for a POSIX shell so that it is one literal word.
std::string ShellEscape(std::string_view text);
// The full command line as sent to the node's shell (cd, sudo, escaping applied).
std::string CommandLine(const Command& command, const std::string& sudo_password = "");

class Remote {
 public:
  virtual ~Remote() = default;
  virtual const std::string& node() const = 0;
  // Runs the command. A non-zero exit is a CommandResult, not an error; errors are failures to
  // run it at all (connection lost, timeout).
  virtual Result<CommandResult> Execute(const Command& command) = 0;
  virtual Status Upload(const std::filesystem::path& local, const std::string& remote_path) = 0;
  virtual Status Download(const std::string& remote_path, const std::filesystem::path& local) = 0;
};

// Execute, turning a non-zero exit into an error "node: `cmd` exited N: <stderr tail>".
Result<CommandResult> Run(Remote& remote, const Command& command);

}  // namespace faultline::control
