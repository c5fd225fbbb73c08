// Where `faultline test` takes the SSH password from, which is also the sudo password on every
// node unless FAULTLINE_SUDO_PASSWORD sets another. A password given as `--password` shows in
// `ps` to every local user and stays in shell history, so the other sources are the documented
// ones, in this order of preference:
//   FAULTLINE_SSH_PASSWORD     the environment (read when no flag names a source)
//   --password-file FILE       the file's first line; the file must be a regular file (not a
//                              symlink) owned by the caller or root, with no group/other access
//   --ask-password             a prompt on the controlling terminal, echo off
//   --password P               still accepted, with a warning; main() overwrites the value in
//                              argv right after parsing, so `ps` shows it only for that moment.
// Called from the CLI's thread before the run starts.
#pragma once

#include <iosfwd>
#include <string>

#include "core/status.h"
#include "runner/control/ssh_remote.h"

namespace faultline::cli {

inline constexpr char kPasswordEnvironment[] = "FAULTLINE_SSH_PASSWORD";
inline constexpr char kSudoPasswordEnvironment[] = "FAULTLINE_SUDO_PASSWORD";

struct PasswordSources {
  std::string command_line;  // --password
  std::string file;          // --password-file
  bool ask = false;          // --ask-password
};

// Sets ssh.password and ssh.sudo_password from at most one of the flags, else from the
// environment. InvalidArgument when two flags are given, when the file fails ReadPasswordFile or
// when --ask-password finds no terminal. The command-line warning goes to `err`.
Status ResolvePasswords(const PasswordSources& sources, control::SshOptions& ssh,
                        std::ostream& err);

// The first line of `path` (without its line end). Refused, naming the file and what is wrong:
// a symlink, not a regular file, owned by another user than the caller or root, readable or
// writable by group or others, empty, or over 4 KiB.
Result<std::string> ReadPasswordFile(const std::string& path);

// Writes `prompt` to `terminal` (an open tty), reads one line with echo off, restores the
// terminal's settings and ends the line. IoError when `terminal` is not a tty or input ends.
Result<std::string> ReadSecretFromTerminal(int terminal, const std::string& prompt);

// Overwrites the value of every `--password P` / `--password=P` in argv with '*', so that
// `ps` and /proc/<pid>/cmdline stop showing it. Call after the arguments were parsed (CLI11
// keeps its own copies).
void HidePasswordArguments(int argc, char** argv);

}  // namespace faultline::cli
