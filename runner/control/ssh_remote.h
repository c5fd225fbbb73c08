// SSH: a Remote over one libssh session to one node.
//
// ConnectSsh opens the session (TCP_NODELAY on: a command on an open session then costs a few
// milliseconds instead of ~45), verifies the host key against a known_hosts file unless strict
// host key checking is off, and authenticates with, in order, the private key file, the ssh-agent
// and the password, as far as each is configured. Each Execute opens one channel on that session,
// writes stdin then EOF, reads stdout and stderr until the command's deadline, and closes the
// channel. Upload and Download use SFTP (files owned by the SSH user; no sudo).
//
// Failures: connecting is retried a bounded number of times with exponential backoff, except for
// host key and authentication failures, which retrying cannot fix. When the session has dropped,
// Execute reconnects and runs the command on the new session only if nothing of it was sent yet
// (the channel could not be opened); once the exec request has left, a lost connection is an error
// saying the command may or may not have run, and the next call reconnects. Uploads and downloads
// overwrite their target, so they are retried once on a new session.
//
// Timeouts: a command past its timeout has its channel closed and its process group killed with
// `kill -s KILL -- -PGID` over a second channel (through sudo when the command used sudo); the
// session stays usable. For that, the line sent to the node is `echo faultline-pgid:$$ >&2; `
// followed by CommandLine(command): the login shell sshd starts is a session leader, so its pid
// is the command's process group. sudo may run the command in a process group (and session) of
// its own: with use_pty and a terminal it does. So a sudo command's argv runs under a small root
// shell that first reports the process group it is in (`faultline-sudo-pgid:G`, read from
// /proc), and the kill names that group as well. Both marker lines are removed from the stderr
// Execute returns. (SSH's own "signal" request is not used: OpenSSH refuses it for root logins,
// and it could not reach a command running as root through sudo.) Processes that left the group
// (setsid, daemons) are not killed. Root's login shell reads ~/.bashrc for every command over
// SSH; a slow one costs that much per command.
//
// Limits: a command whose stdout and stderr together pass Command::max_output_bytes is stopped as
// a timed-out one is, and Execute returns OutputLimitError. A download past
// SshOptions::max_download_bytes fails and its partial local copy is removed.
//
// Without host key checking, every new connection (the first and each reconnect) reports what
// was not verified: the node, host:port and the SHA256 fingerprint of the key it presented,
// through SshOptions::warn.
//
// Thread safety: one thread at a time per Remote (libssh sessions are not shared); separate
// Remotes may be used from separate threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "runner/control/remote.h"

namespace faultline::control {

struct SshOptions {
  std::string host;  // the address to connect to; empty: the node name itself
  int port = 22;
  std::string username = "root";
  std::filesystem::path private_key_path;  // empty: no key file ("~/" is expanded)
  std::string private_key_passphrase;      // for an encrypted key file
  bool use_agent = true;                   // try the agent at $SSH_AUTH_SOCK, if set
  std::string password;                    // empty: no password authentication
  bool strict_host_key_checking = true;    // false: accept any host key (trust on every use)
  std::filesystem::path known_hosts_path;  // empty: ~/.ssh/known_hosts
  std::string sudo_password;               // fed to sudo for Commands with sudo = true
  int64_t connect_timeout_ms = 10'000;     // TCP connect, key exchange and each blocking step
  int retries = 3;                         // connection attempts after the first one
  int64_t retry_backoff_ms = 250;          // before the first retry; doubled after each
  int64_t max_download_bytes = kDefaultMaxDownloadBytes;  // per Download
  // Where warnings go (one line each, without a newline); empty: standard error, as
  // "faultline: warning: LINE".
  std::function<void(const std::string&)> warn;
};

// Connects to `node` (at options.host if set). Errors name the node, host and port and say what
// failed: the connection (after the retries), the host key (with its SHA256 fingerprint and how
// to trust it) or each authentication method tried.
Result<std::unique_ptr<Remote>> ConnectSsh(const std::string& node, const SshOptions& options);

}  // namespace faultline::control
