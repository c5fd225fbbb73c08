#include "runner/control/remote.h"

#include <cassert>
#include <string>
#include <system_error>

namespace faultline::control {
namespace {

// Characters that need no quoting anywhere in a POSIX shell word. Leaving such words bare keeps
// command lines in logs and error messages readable (`ls -l /tmp`, not `'ls' '-l' '/tmp'`). '='
// is not among them: a first word like `A=b` would be an assignment, not a program.
bool IsPlainWordCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ',' || c == ':' || c == '@' || c == '%' ||
         c == '+';
}

// The command without sudo: `cd DIR && argv...`.
std::string PlainCommandLine(const Command& command) {
  assert(!command.argv.empty() && "a Command needs a program");
  std::string line;
  if (!command.directory.empty()) line = "cd " + ShellEscape(command.directory) + " && ";
  for (size_t i = 0; i < command.argv.size(); ++i) {
    if (i > 0) line += ' ';
    line += ShellEscape(command.argv[i]);
  }
  return line;
}

}  // namespace

std::string ShellEscape(std::string_view text) {
  if (text.empty()) return "''";
  bool plain = true;
  for (char c : text) plain = plain && IsPlainWordCharacter(c);
  if (plain) return std::string(text);
  // Inside single quotes every character is literal except the closing quote itself, so a quote
  // in the text closes the string, adds an escaped quote, and opens a new one: ' -> '\''.
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string CommandLine(const Command& command, const std::string& sudo_password) {
  std::string line = PlainCommandLine(command);
  if (!command.sudo) return line;
  // `sh -c` under sudo so that the `cd` runs as root too (the directory may be root's only).
  std::string as_root = "-- sh -c " + ShellEscape(line);
  if (sudo_password.empty()) return "sudo -n " + as_root;
  // The first stdin line is the password. `sudo -n -k true` tells whether sudo would ask for
  // one (it does not for root or NOPASSWD rules); only then is the password piped in front of
  // the rest of stdin, so a command that sudo runs without asking never reads the password.
  // -k ignores cached credentials, so whether sudo asks does not depend on earlier commands.
  return "IFS= read -r faultline_sudo_password; if sudo -n -k true 2>/dev/null; then sudo -n " +
         as_root +
         "; else { printf '%s\\n' \"$faultline_sudo_password\"; cat; } | sudo -S -k -p '' " +
         as_root + "; fi";
}

std::string CommandStdin(const Command& command, const std::string& sudo_password) {
  if (!command.sudo || sudo_password.empty()) return command.stdin_data;
  return sudo_password + "\n" + command.stdin_data;
}

Status CheckSudoPassword(const std::string& sudo_password) {
  if (sudo_password.find_first_of(std::string("\n\0", 2)) != std::string::npos) {
    return Status::InvalidArgument("the sudo password holds a newline or NUL byte");
  }
  return Status::Ok();
}

std::string OutputTail(std::string_view text, size_t max_lines, size_t max_bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  size_t start = text.size() > max_bytes ? text.size() - max_bytes : 0;
  size_t lines = 0;
  for (size_t i = text.size(); i > start; --i) {
    if (text[i - 1] == '\n' && ++lines == max_lines) {
      start = i;
      break;
    }
  }
  // Never start in the middle of a UTF-8 character.
  while (start > 0 && start < text.size() &&
         (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
    ++start;
  }
  if (start == 0) return std::string(text);
  return "..." + std::string(text.substr(start));
}

Status ExitError(const std::string& node, const Command& command, const CommandResult& result) {
  std::string message =
      node + ": `" + CommandLine(command) + "` exited " + std::to_string(result.exit_code);
  if (!result.err.empty()) {
    message += ": " + OutputTail(result.err);
  } else if (!result.out.empty()) {
    message += " (no stderr); stdout: " + OutputTail(result.out);
  }
  return Status::IoError(std::move(message));
}

Status OutputLimitError(const std::string& node, const Command& command,
                        const std::string& what_was_done) {
  return Status::IoError(node + ": `" + CommandLine(command) + "` output exceeded " +
                         std::to_string(command.max_output_bytes) + " bytes" + what_was_done);
}

Status DownloadLimitError(const std::string& node, const std::string& remote_path,
                          const std::filesystem::path& local, int64_t max_bytes,
                          const std::string& what_was_done) {
  return Status::IoError(node + ": download " + remote_path + " to " + local.string() +
                         ": the file exceeds " + std::to_string(max_bytes) + " bytes" +
                         what_was_done);
}

DownloadedFile::DownloadedFile(std::string node, std::string remote_path,
                               std::filesystem::path local, int64_t max_bytes)
    : node_(std::move(node)),
      remote_path_(std::move(remote_path)),
      local_(std::move(local)),
      max_bytes_(max_bytes) {}

Status DownloadedFile::Open() {
  out_.open(local_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    return Status::IoError(node_ + ": download " + remote_path_ + " to " + local_.string() +
                           ": cannot write the local file");
  }
  return Status::Ok();
}

Status DownloadedFile::Append(const char* data, size_t size) {
  if (written_ + static_cast<int64_t>(size) > max_bytes_) {
    out_.close();
    std::error_code ignored;
    std::filesystem::remove(local_, ignored);
    return DownloadLimitError(node_, remote_path_, local_, max_bytes_,
                              "; the partial copy was removed");
  }
  out_.write(data, static_cast<std::streamsize>(size));
  written_ += static_cast<int64_t>(size);
  return Status::Ok();
}

Status DownloadedFile::Close() {
  if (!out_.flush()) {
    return Status::IoError(node_ + ": download " + remote_path_ + " to " + local_.string() +
                           ": writing the local file failed");
  }
  out_.close();
  return Status::Ok();
}

Result<CommandResult> Run(Remote& remote, const Command& command) {
  Result<CommandResult> result = remote.Execute(command);
  if (!result.ok()) return result;
  if (result->exit_code != 0) return ExitError(remote.node(), command, *result);
  return result;
}

}  // namespace faultline::control
