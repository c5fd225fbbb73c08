// Remote: how faultline runs commands on a node and moves files to and from it.
//
// One Remote is one session to one node, used by one thread at a time (the thread that owns it);
// different Remotes may be used concurrently. Implementations: SSH through libssh (ssh_remote.h),
// local execution (local_remote.h), and a scripted fake for tests (fake_remote.h).
//
// Every argument of a Command is shell-escaped before it reaches the node, so an argument is
// always literal text there, whatever characters it holds. Errors carry the node, the command
// line, the exit code and the tail of stderr.
//
// What a node sends back is bounded: a command's stdout and stderr together may hold at most
// Command::max_output_bytes (past it the command is stopped, as on a timeout, and Execute returns
// an error), and a download at most kDefaultMaxDownloadBytes unless an implementation is told
// otherwise, so a node that answers endlessly cannot exhaust the controller's memory or disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace faultline::control {

// A command's stdout and stderr together, unless Command::max_output_bytes says otherwise.
inline constexpr int64_t kDefaultMaxOutputBytes = int64_t{64} << 20;
// One downloaded file, unless the implementation's options say otherwise.
inline constexpr int64_t kDefaultMaxDownloadBytes = int64_t{1} << 30;

struct Command {
  std::vector<std::string> argv;  // argv[0] is the program; each element is escaped
  std::string stdin_data;         // written to the command's stdin, then closed
  bool sudo = false;              // run as root through sudo (with the password, if any)
  std::string directory;          // cd here first, if not empty
  int64_t timeout_ms = 60'000;    // the command is abandoned (and the error says so) after this
  // Past this many bytes of stdout and stderr together, the command is stopped like a timed-out
  // one and Execute returns OutputLimitError.
  int64_t max_output_bytes = kDefaultMaxOutputBytes;
};

struct CommandResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// `text` quoted for a POSIX shell so that it is one literal word.
std::string ShellEscape(std::string_view text);
// The full command line as sent to the node's shell (cd, sudo, escaping applied). Without sudo:
// `cd DIR && ARGV...`. With sudo and no password: `sudo -n -- sh -c '<that>'`, which fails at
// once instead of waiting for a password nobody will type. With a password, the line first reads
// the password from stdin (see CommandStdin) and gives it to `sudo -S` only when sudo asks for
// one, so the password never appears in the command line or reaches the command's stdin.
std::string CommandLine(const Command& command, const std::string& sudo_password = "");
// What an implementation writes to the command's stdin: the sudo password line first when the
// command uses sudo and a password is set, then command.stdin_data. A password holding a newline
// cannot be sent this way; implementations reject it (see CheckSudoPassword).
std::string CommandStdin(const Command& command, const std::string& sudo_password = "");
// InvalidArgument when `sudo_password` cannot be fed on stdin (it holds a newline or NUL).
Status CheckSudoPassword(const std::string& sudo_password);
// The last `max_lines` lines / `max_bytes` bytes of `text`, trailing newlines removed, with
// "..." in front when something was cut: what error messages quote of a command's output.
std::string OutputTail(std::string_view text, size_t max_lines = 20, size_t max_bytes = 2048);

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

// The error for a command whose output passed command.max_output_bytes: "node: `cmd` output
// exceeded N bytes" followed by `what_was_done` (e.g. "; its process group was killed").
Status OutputLimitError(const std::string& node, const Command& command,
                        const std::string& what_was_done);
// The error for a download that passed `max_bytes`: "node: download REMOTE to LOCAL: the file
// exceeds N bytes" followed by `what_was_done` (e.g. "; the partial copy was removed").
Status DownloadLimitError(const std::string& node, const std::string& remote_path,
                          const std::filesystem::path& local, int64_t max_bytes,
                          const std::string& what_was_done);

// The local side of a download: writes `local` (truncated first), at most `max_bytes` of it.
// Implementations feed it what they read; an Append past the limit removes the partial file and
// returns DownloadLimitError, so that a node cannot fill the controller's disk.
class DownloadedFile {
 public:
  DownloadedFile(std::string node, std::string remote_path, std::filesystem::path local,
                 int64_t max_bytes);
  Status Open();
  Status Append(const char* data, size_t size);
  Status Close();  // flushes; an error when writing failed

 private:
  const std::string node_;
  const std::string remote_path_;
  const std::filesystem::path local_;
  const int64_t max_bytes_;
  std::ofstream out_;
  int64_t written_ = 0;
};

// Execute, turning a non-zero exit into an error "node: `cmd` exited N: <stderr tail>" (the
// stdout tail when stderr is empty). The status code is kIoError.
Result<CommandResult> Run(Remote& remote, const Command& command);
// The error Run returns for a command that exited non-zero; for implementations and tests.
Status ExitError(const std::string& node, const Command& command, const CommandResult& result);

}  // namespace faultline::control
