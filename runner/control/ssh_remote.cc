#include "runner/control/ssh_remote.h"

#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace faultline::control {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kChunkBytes = 32 * 1024;  // per channel read/write and per SFTP request
// How long Execute waits for stdout before it looks at stderr again; bounds the extra latency of
// a command that writes only to stderr.
constexpr int kPollSliceMs = 20;
// Sent before every command line: the first stderr line names the command's process group. It
// is removed from the CommandResult. sshd's "signal" request cannot replace it: OpenSSH refuses
// it for root logins and could not signal a command run through sudo anyway.
constexpr char kProcessGroupMarkerCommand[] = "echo faultline-pgid:$$ >&2; ";
constexpr std::string_view kProcessGroupMarker = "faultline-pgid:";
// A sudo command's argv runs under this root shell ("$@"), which first reports its own process
// group: sudo may have put the command in a new one (use_pty with a terminal makes a new session),
// out of reach of a kill of the login shell's group. Not `exec "$@"`: a builtin such as kill must
// stay one on nodes without procps. The group is the fifth field of /proc/PID/stat (the second,
// "(sh)", holds no blank).
constexpr char kSudoProcessGroupScript[] =
    "read -r _ _ _ _ faultline_pgid _ 2>/dev/null </proc/$$/stat && "
    "echo faultline-sudo-pgid:$faultline_pgid >&2; \"$@\"";
constexpr std::string_view kSudoProcessGroupMarker = "faultline-sudo-pgid:";
constexpr int64_t kKillTimeoutMs = 5'000;
// How far into stderr the marker lines are looked for (a login shell's warnings may come first).
constexpr size_t kMarkerSearchBytes = 64 * 1024;

// The process groups a command runs in, as its marker lines named them (0: not known).
struct ProcessGroups {
  int64_t login = 0;  // the login shell's
  int64_t sudo = 0;   // the one sudo ran the command's argv in
};

// Removes the first line of `err` that starts with `marker` and returns the process group it
// names (0 if there is no such complete line or it names none).
int64_t TakeProcessGroup(std::string& err, std::string_view marker) {
  size_t start = 0;
  while (start < err.size() && err.compare(start, marker.size(), marker) != 0) {
    size_t newline = err.find('\n', start);
    if (newline == std::string::npos) return 0;
    start = newline + 1;
  }
  size_t end = err.find('\n', start);
  if (start >= err.size() || end == std::string::npos) return 0;
  const std::string_view digits(err.data() + start + marker.size(), end - start - marker.size());
  int64_t group = 0;
  if (!digits.empty() && digits.size() <= 10 &&
      digits.find_first_not_of("0123456789") == std::string_view::npos) {
    for (char digit : digits) group = group * 10 + (digit - '0');
  }
  err.erase(start, end + 1 - start);
  return group;
}

// True when every line of a kill's stderr says that a group no longer exists (and there is one).
bool OnlyNoSuchProcess(std::string_view err) {
  bool any = false;
  for (size_t start = 0; start < err.size();) {
    size_t end = std::min(err.find('\n', start), err.size());
    std::string_view line = err.substr(start, end - start);
    if (!line.empty()) {
      if (line.find("No such process") == std::string_view::npos) return false;
      any = true;
    }
    start = end + 1;
  }
  return any;
}

// The command as sent: a sudo command's argv goes through kSudoProcessGroupScript.
Command WithGroupReport(const Command& command) {
  if (!command.sudo) return command;
  Command sent = command;
  sent.argv = {"sh", "-c", kSudoProcessGroupScript, "sh"};
  sent.argv.insert(sent.argv.end(), command.argv.begin(), command.argv.end());
  return sent;
}

std::string HomeDirectory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr) return entry->pw_dir;
  return "/";
}

std::filesystem::path ExpandTilde(const std::filesystem::path& path) {
  std::string text = path.string();
  if (text == "~") return HomeDirectory();
  if (text.rfind("~/", 0) == 0) return std::filesystem::path(HomeDirectory()) / text.substr(2);
  return path;
}

int SignalNumber(const std::string& name) {
  static const std::map<std::string, int> kNumbers = {
      {"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ILL", 4},   {"ABRT", 6},
      {"FPE", 8},   {"KILL", 9},  {"USR1", 10}, {"SEGV", 11}, {"USR2", 12},
      {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15}};
  auto found = kNumbers.find(name);
  return found == kNumbers.end() ? 0 : found->second;
}

std::string SftpErrorText(int code) {
  switch (code) {
    case SSH_FX_NO_SUCH_FILE:
      return "no such file";
    case SSH_FX_PERMISSION_DENIED:
      return "permission denied";
    case SSH_FX_FAILURE:
      return "failure";
    case SSH_FX_NO_SUCH_PATH:
      return "no such path";
    case SSH_FX_FILE_ALREADY_EXISTS:
      return "file already exists";
    case SSH_FX_WRITE_PROTECT:
      return "write protected";
    case SSH_FX_NO_MEDIA:
      return "no media";
    case SSH_FX_CONNECTION_LOST:
      return "connection lost";
    default:
      return "SFTP error " + std::to_string(code);
  }
}

// One command's channel. It records the signal that killed the command, if any, and removes its
// callback before the channel is freed: libssh may keep a closed channel until the peer's close
// arrives, and a late exit-signal must not reach a callback whose data is gone.
class Channel {
 public:
  explicit Channel(ssh_channel channel) : channel_(channel) {
    ssh_callbacks_init(&callbacks_);
    callbacks_.userdata = this;
    callbacks_.channel_exit_signal_function = OnExitSignal;
    ssh_set_channel_callbacks(channel_, &callbacks_);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    ssh_remove_channel_callbacks(channel_, &callbacks_);
    if (ssh_channel_is_open(channel_)) ssh_channel_close(channel_);
    ssh_channel_free(channel_);
  }

  ssh_channel get() const { return channel_; }
  const std::string& exit_signal() const { return exit_signal_; }  // "KILL", ...; empty: none

 private:
  static void OnExitSignal(ssh_session, ssh_channel, const char* signal, int, const char*,
                           const char*, void* userdata) {
    static_cast<Channel*>(userdata)->exit_signal_ = signal != nullptr ? signal : "?";
  }

  ssh_channel channel_;
  ssh_channel_callbacks_struct callbacks_{};
  std::string exit_signal_;
};
using ChannelPtr = std::unique_ptr<Channel>;

struct SftpDeleter {
  void operator()(sftp_session sftp) const { sftp_free(sftp); }
};
using SftpPtr = std::unique_ptr<std::remove_pointer_t<sftp_session>, SftpDeleter>;

struct SftpFileDeleter {
  void operator()(sftp_file file) const { sftp_close(file); }
};
using SftpFilePtr = std::unique_ptr<std::remove_pointer_t<sftp_file>, SftpFileDeleter>;

// The outcome of one connection attempt: retrying helps with a refused or dropped connection,
// not with a wrong host key or credentials.
struct Attempt {
  Status status;
  bool retryable = false;
};

class SshRemote : public Remote {
 public:
  SshRemote(std::string node, SshOptions options)
      : node_(std::move(node)), options_(std::move(options)) {
    if (options_.host.empty()) options_.host = node_;
    options_.private_key_path = ExpandTilde(options_.private_key_path);
    options_.known_hosts_path = options_.known_hosts_path.empty()
                                    ? std::filesystem::path(HomeDirectory()) / ".ssh/known_hosts"
                                    : ExpandTilde(options_.known_hosts_path);
    address_ = options_.host + ":" + std::to_string(options_.port);
  }
  ~SshRemote() override { Disconnect(); }

  const std::string& node() const override { return node_; }

  // Connects, retrying as SshOptions says.
  Status Connect() {
    Disconnect();
    Status last;
    int64_t backoff_ms = options_.retry_backoff_ms;
    const int attempts = 1 + std::max(0, options_.retries);
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      if (attempt > 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms *= 2;
      }
      Attempt result = ConnectOnce();
      if (result.status.ok()) return result.status;
      Disconnect();
      if (!result.retryable) return result.status;
      last = result.status;
    }
    return Status::IoError(last.message() + " (gave up after " + std::to_string(attempts) +
                           " attempts)");
  }

  Result<CommandResult> Execute(const Command& command) override {
    if (command.sudo && !options_.sudo_password.empty()) {
      if (Status status = CheckSudoPassword(options_.sudo_password); !status.ok()) {
        return Status::InvalidArgument(node_ + ": " + status.message());
      }
    }
    // The markers give the command's process groups (the login shell sshd started is a session
    // leader, so its pid is the group; under sudo, the group the command runs in), which a
    // timeout kills over a second channel.
    const Command sent = WithGroupReport(command);
    const std::string line =
        std::string(kProcessGroupMarkerCommand) + CommandLine(sent, options_.sudo_password);
    const std::string input = CommandStdin(sent, options_.sudo_password);
    const std::string context = node_ + ": `" + CommandLine(command) + "`";
    const auto deadline = Clock::now() + std::chrono::milliseconds(command.timeout_ms);

    // Until the exec request is sent nothing can have run, so a failure to open the channel on
    // a dropped session may be retried on a new one.
    ChannelPtr channel;
    for (int attempt = 1; !channel; ++attempt) {
      if (session_ == nullptr) {
        if (Status status = Connect(); !status.ok()) {
          return Status::IoError(context + " not run: " + status.message());
        }
      }
      channel = OpenChannel();
      if (channel) break;
      std::string error = ssh_get_error(session_);
      Disconnect();
      if (attempt == 2) {
        return Status::IoError(context + " not run: cannot open a channel: " + error);
      }
    }

    if (ssh_channel_request_exec(channel->get(), line.c_str()) != SSH_OK) {
      return LostDuringCommand(std::move(channel), context, "the exec request failed");
    }

    CommandResult result;
    std::vector<char> buffer(kChunkBytes);
    const size_t max_output = static_cast<size_t>(std::max<int64_t>(0, command.max_output_bytes));
    // The process groups, taken out of stderr as soon as their marker lines arrive, so that they
    // count against no limit. Markers come first; past kMarkerSearchBytes nobody looks for them.
    ProcessGroups groups;
    auto take_markers = [&]() {
      if (result.err.size() > kMarkerSearchBytes) return;
      if (groups.login == 0) groups.login = TakeProcessGroup(result.err, kProcessGroupMarker);
      if (command.sudo && groups.sudo == 0) {
        groups.sudo = TakeProcessGroup(result.err, kSudoProcessGroupMarker);
      }
    };
    // Reads what has arrived on both streams without waiting, until more than max_output bytes
    // have come (then too_much_output is set). False on a connection error.
    bool out_done = false, err_done = false, too_much_output = false;
    auto read_available = [&]() {
      for (int is_stderr : {0, 1}) {
        bool& done = is_stderr ? err_done : out_done;
        std::string& into = is_stderr ? result.err : result.out;
        while (!done && !too_much_output) {
          int n =
              ssh_channel_read_nonblocking(channel->get(), buffer.data(), buffer.size(), is_stderr);
          if (n == SSH_EOF) {
            done = true;
          } else if (n == SSH_ERROR) {
            return false;
          } else if (n == 0) {
            break;
          } else {
            into.append(buffer.data(), static_cast<size_t>(n));
            if (is_stderr) take_markers();
            too_much_output = result.out.size() + result.err.size() > max_output;
          }
        }
      }
      return true;
    };
    // Rounded up, so that a command is never abandoned before its full timeout.
    auto remaining_ms = [&]() {
      return std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    };
    const std::string timed_out = context + " timed out after " +
                                  std::to_string(command.timeout_ms) + " ms; closed its channel";
    const std::string output_exceeded =
        OutputLimitError(node_, command, "; closed its channel").message();

    // stdin: write no more than the remote window allows, so that a command which must print
    // before it reads on is never deadlocked against us; keep reading its output meanwhile.
    // A command may finish without reading all of its stdin; the rest is then dropped.
    auto command_finished = [&]() {
      return (out_done && err_done) || ssh_channel_is_closed(channel->get()) != 0;
    };
    size_t written = 0;
    while (written < input.size() && !command_finished()) {
      if (remaining_ms() <= 0)
        return Abandon(std::move(channel), timed_out, command, groups, result);
      size_t window = ssh_channel_window_size(channel->get());
      if (window > 0) {
        size_t size = std::min({window, input.size() - written, kChunkBytes});
        int n =
            ssh_channel_write(channel->get(), input.data() + written, static_cast<uint32_t>(size));
        if (n == SSH_ERROR) {
          if (ssh_is_connected(session_) != 0 && command_finished()) break;
          return LostDuringCommand(std::move(channel), context, "writing stdin failed");
        }
        written += static_cast<size_t>(n);
      } else {
        if (!read_available()) {
          return LostDuringCommand(std::move(channel), context, "reading output failed");
        }
        if (too_much_output)
          return Abandon(std::move(channel), output_exceeded, command, groups, result);
        if (ssh_channel_poll_timeout(channel->get(), kPollSliceMs, 0) == SSH_ERROR) {
          return LostDuringCommand(std::move(channel), context, "reading output failed");
        }
      }
    }
    if (!command_finished() && ssh_channel_send_eof(channel->get()) != SSH_OK &&
        ssh_is_connected(session_) == 0) {
      return LostDuringCommand(std::move(channel), context, "closing stdin failed");
    }

    while (!(out_done && err_done)) {
      if (!read_available()) {
        return LostDuringCommand(std::move(channel), context, "reading output failed");
      }
      if (too_much_output)
        return Abandon(std::move(channel), output_exceeded, command, groups, result);
      if (out_done && err_done) break;
      int64_t remaining = remaining_ms();
      if (remaining <= 0) return Abandon(std::move(channel), timed_out, command, groups, result);
      // Returns as soon as stdout data or EOF arrives; stderr is picked up on the next turn.
      int polled = ssh_channel_poll_timeout(
          channel->get(), static_cast<int>(std::min<int64_t>(remaining, kPollSliceMs)), 0);
      if (polled == SSH_ERROR) {
        return LostDuringCommand(std::move(channel), context, "reading output failed");
      }
    }

    // The exit status follows the EOF at once; ssh_channel_get_exit_status waits for it (or for
    // the channel's close, when the command was killed by a signal) up to the session timeout.
    int exit_status = ssh_channel_get_exit_status(channel->get());
    if (!channel->exit_signal().empty()) {
      int number = SignalNumber(channel->exit_signal());
      result.exit_code = number > 0 ? 128 + number : 255;
      if (!result.err.empty() && result.err.back() != '\n') result.err += '\n';
      result.err += "(killed by signal " + channel->exit_signal() + ")";
    } else if (exit_status < 0) {
      if (ssh_is_connected(session_) == 0) {
        return LostDuringCommand(std::move(channel), context, "no exit status arrived");
      }
      return Status::IoError(context + ": the node sent no exit status");
    } else {
      result.exit_code = exit_status;
    }
    return result;
  }

  Status Upload(const std::filesystem::path& local, const std::string& remote_path) override {
    const std::string context = node_ + ": upload " + local.string() + " to " + remote_path;
    std::ifstream in(local, std::ios::binary);
    if (!in) return Status::IoError(context + ": cannot read the local file");
    std::error_code error;
    auto permissions = std::filesystem::status(local, error).permissions();
    mode_t mode = error ? 0644 : static_cast<mode_t>(permissions) & 0777;
    return WithSftp(context, [&](sftp_session sftp) -> Status {
      in.clear();
      in.seekg(0);
      SftpFilePtr file(sftp_open(sftp, remote_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode));
      if (!file) return SftpError(context, sftp);
      std::vector<char> buffer(kChunkBytes);
      while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        size_t size = static_cast<size_t>(in.gcount());
        for (size_t done = 0; done < size;) {
          ssize_t n = sftp_write(file.get(), buffer.data() + done, size - done);
          if (n <= 0) return SftpError(context, sftp);
          done += static_cast<size_t>(n);
        }
      }
      if (in.bad()) return Status::IoError(context + ": reading the local file failed");
      if (sftp_close(file.release()) != SSH_OK) return SftpError(context, sftp);
      return Status::Ok();
    });
  }

  Status Download(const std::string& remote_path, const std::filesystem::path& local) override {
    const std::string context = node_ + ": download " + remote_path + " to " + local.string();
    const int64_t max_bytes = options_.max_download_bytes;
    return WithSftp(context, [&](sftp_session sftp) -> Status {
      SftpFilePtr file(sftp_open(sftp, remote_path.c_str(), O_RDONLY, 0));
      if (!file) return SftpError(context, sftp);
      // A file already too large is refused before anything is written; one that grows, or a
      // device that never ends (/dev/zero), is cut off by DownloadedFile.
      if (sftp_attributes attributes = sftp_fstat(file.get()); attributes != nullptr) {
        const bool too_large = attributes->type == SSH_FILEXFER_TYPE_REGULAR &&
                               attributes->size > static_cast<uint64_t>(max_bytes);
        sftp_attributes_free(attributes);
        if (too_large) return DownloadLimitError(node_, remote_path, local, max_bytes, "");
      }
      DownloadedFile out(node_, remote_path, local, max_bytes);
      if (Status status = out.Open(); !status.ok()) return status;
      std::vector<char> buffer(kChunkBytes);
      while (true) {
        ssize_t n = sftp_read(file.get(), buffer.data(), buffer.size());
        if (n < 0) return SftpError(context, sftp);
        if (n == 0) break;
        if (Status status = out.Append(buffer.data(), static_cast<size_t>(n)); !status.ok()) {
          return status;
        }
      }
      return out.Close();
    });
  }

 private:
  Attempt ConnectOnce() {
    const std::string context = node_ + ": ssh " + options_.username + "@" + address_;
    session_ = ssh_new();
    if (session_ == nullptr) return {Status::Internal(context + ": ssh_new failed"), false};
    int port = options_.port;
    long timeout_s = static_cast<long>(options_.connect_timeout_ms / 1000);
    long timeout_us = static_cast<long>(options_.connect_timeout_ms % 1000) * 1000;
    int nodelay = 1;
    // The options below are the whole configuration: ~/.ssh/config is not read, so a run does
    // not change with the controller's personal settings.
    bool process_config = false;
    std::string known_hosts = options_.known_hosts_path.string();
    if (ssh_options_set(session_, SSH_OPTIONS_HOST, options_.host.c_str()) != SSH_OK ||
        ssh_options_set(session_, SSH_OPTIONS_PORT, &port) != SSH_OK ||
        ssh_options_set(session_, SSH_OPTIONS_USER, options_.username.c_str()) != SSH_OK ||
        ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &timeout_s) != SSH_OK ||
        ssh_options_set(session_, SSH_OPTIONS_TIMEOUT_USEC, &timeout_us) != SSH_OK ||
        ssh_options_set(session_, SSH_OPTIONS_NODELAY, &nodelay) != SSH_OK ||
        ssh_options_set(session_, SSH_OPTIONS_PROCESS_CONFIG, &process_config) != SSH_OK ||
        ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str()) != SSH_OK) {
      return {Status::InvalidArgument(context + ": bad option: " + ssh_get_error(session_)), false};
    }
    if (ssh_connect(session_) != SSH_OK) {
      return {Status::IoError(context + ": cannot connect: " + ssh_get_error(session_)), true};
    }
    if (options_.strict_host_key_checking) {
      if (Status status = VerifyHostKey(context); !status.ok()) return {status, false};
    } else {
      Warn(context + ": the host key was NOT verified (strict host key checking is off); the " +
           "server presented " + ServerFingerprint() +
           ", and anyone who can answer at that address would have been trusted the same");
    }
    return Authenticate(context);
  }

  std::string ServerFingerprint() {
    ssh_key key = nullptr;
    if (ssh_get_server_publickey(session_, &key) != SSH_OK) return "unknown";
    unsigned char* hash = nullptr;
    size_t length = 0;
    std::string fingerprint = "unknown";
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == SSH_OK) {
      char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
      if (text != nullptr) fingerprint = text;
      ssh_string_free_char(text);
      ssh_clean_pubkey_hash(&hash);
    }
    std::string type = ssh_key_type_to_char(ssh_key_type(key));
    ssh_key_free(key);
    return type + " " + fingerprint;
  }

  Status VerifyHostKey(const std::string& context) {
    const std::string known_hosts = options_.known_hosts_path.string();
    const std::string hint = "; if this key is right, add it with `ssh-keyscan -p " +
                             std::to_string(options_.port) + " " + options_.host + " >> " +
                             known_hosts + "` or turn strict host key checking off";
    switch (ssh_session_is_known_server(session_)) {
      case SSH_KNOWN_HOSTS_OK:
        return Status::Ok();
      case SSH_KNOWN_HOSTS_CHANGED:
        return Status::IoError(context + ": HOST KEY MISMATCH: the server's key (" +
                               ServerFingerprint() + ") differs from the one in " + known_hosts +
                               " (someone may be intercepting the connection)" + hint);
      case SSH_KNOWN_HOSTS_OTHER:
        return Status::IoError(context + ": the server's key (" + ServerFingerprint() +
                               ") is of another type than the one in " + known_hosts + hint);
      case SSH_KNOWN_HOSTS_UNKNOWN:
      case SSH_KNOWN_HOSTS_NOT_FOUND:
        return Status::IoError(context + ": the host is not in " + known_hosts +
                               " (its key: " + ServerFingerprint() + ")" + hint);
      case SSH_KNOWN_HOSTS_ERROR:
        break;
    }
    return Status::IoError(context + ": cannot check the host key against " + known_hosts + ": " +
                           ssh_get_error(session_));
  }

  Attempt Authenticate(const std::string& context) {
    std::vector<std::string> tried;
    // SSH_AUTH_ERROR is a broken connection, worth a retry; SSH_AUTH_DENIED is not.
    auto broken = [&](const std::string& method) {
      return Attempt{Status::IoError(context + ": connection failed during " + method +
                                     " authentication: " + ssh_get_error(session_)),
                     true};
    };
    if (!options_.private_key_path.empty()) {
      const std::string path = options_.private_key_path.string();
      ssh_key key = nullptr;
      const char* passphrase = options_.private_key_passphrase.empty()
                                   ? nullptr
                                   : options_.private_key_passphrase.c_str();
      if (ssh_pki_import_privkey_file(path.c_str(), passphrase, nullptr, nullptr, &key) != SSH_OK) {
        tried.push_back("key " + path + ": cannot read it (or wrong passphrase)");
      } else {
        int rc = ssh_userauth_publickey(session_, nullptr, key);
        ssh_key_free(key);
        if (rc == SSH_AUTH_SUCCESS) return {Status::Ok(), false};
        if (rc == SSH_AUTH_ERROR) return broken("public key");
        tried.push_back("key " + path + ": denied");
      }
    }
    if (options_.use_agent) {
      const char* socket = std::getenv("SSH_AUTH_SOCK");
      if (socket == nullptr || *socket == '\0') {
        tried.push_back("agent: SSH_AUTH_SOCK is not set");
      } else {
        int rc = ssh_userauth_agent(session_, nullptr);
        if (rc == SSH_AUTH_SUCCESS) return {Status::Ok(), false};
        if (rc == SSH_AUTH_ERROR && ssh_is_connected(session_) == 0) return broken("agent");
        tried.push_back("agent: no key accepted");
      }
    }
    if (!options_.password.empty()) {
      int rc = ssh_userauth_password(session_, nullptr, options_.password.c_str());
      if (rc == SSH_AUTH_SUCCESS) return {Status::Ok(), false};
      if (rc == SSH_AUTH_ERROR) return broken("password");
      // Servers with PasswordAuthentication off often still take the password through
      // keyboard-interactive prompts.
      rc = ssh_userauth_kbdint(session_, nullptr, nullptr);
      for (int round = 0; rc == SSH_AUTH_INFO && round < 5; ++round) {
        int prompts = ssh_userauth_kbdint_getnprompts(session_);
        for (int i = 0; i < prompts; ++i) {
          ssh_userauth_kbdint_setanswer(session_, static_cast<unsigned>(i),
                                        options_.password.c_str());
        }
        rc = ssh_userauth_kbdint(session_, nullptr, nullptr);
      }
      if (rc == SSH_AUTH_SUCCESS) return {Status::Ok(), false};
      if (rc == SSH_AUTH_ERROR && ssh_is_connected(session_) == 0) return broken("password");
      tried.push_back("password: denied");
    }
    std::string message = context + ": authentication failed";
    if (tried.empty()) {
      message += ": no method configured (set a private key, the agent or a password)";
    }
    for (size_t i = 0; i < tried.size(); ++i) message += (i == 0 ? ": " : "; ") + tried[i];
    return {Status::IoError(std::move(message)), false};
  }

  void Warn(const std::string& line) {
    if (options_.warn) {
      options_.warn(line);
    } else {
      std::cerr << "faultline: warning: " << line << "\n";
    }
  }

  void Disconnect() {
    if (session_ == nullptr) return;
    if (ssh_is_connected(session_)) ssh_disconnect(session_);
    ssh_free(session_);
    session_ = nullptr;
  }

  ChannelPtr OpenChannel() {
    ssh_channel channel = ssh_channel_new(session_);
    if (channel == nullptr) return nullptr;
    if (ssh_channel_open_session(channel) != SSH_OK) {
      ssh_channel_free(channel);
      return nullptr;
    }
    return std::make_unique<Channel>(channel);
  }

  // The command was sent but the connection failed: it may or may not have run. The session is
  // dropped; the next call reconnects.
  Status LostDuringCommand(ChannelPtr channel, const std::string& context,
                           const std::string& what) {
    std::string error = session_ != nullptr ? ssh_get_error(session_) : "";
    channel.reset();  // before Disconnect: ssh_free frees the session's channels
    Disconnect();
    return Status::IoError(context + ": " + what + " (" + error +
                           "); the connection is lost and the command may or may not have run");
  }

  // Stops a command that ran too long or printed too much: closes its channel and kills its
  // process groups (the login shell's, and the one sudo ran it in) from a second channel.
  // `what` says why and what was done so far; the error adds what became of the command.
  Status Abandon(ChannelPtr channel, const std::string& what, const Command& command,
                 const ProcessGroups& known, const CommandResult& partial) {
    channel.reset();
    std::string message = what;
    std::vector<std::string> groups;
    if (known.sudo > 1 && known.sudo != known.login) groups.push_back(std::to_string(known.sudo));
    if (known.login > 1) groups.push_back(std::to_string(known.login));
    std::string named;
    for (const std::string& each : groups) named += (named.empty() ? "" : " and ") + each;
    if (session_ == nullptr || ssh_is_connected(session_) == 0) {
      Disconnect();
      message += "; the connection is lost, the command may still be running";
    } else if (killing_) {
      message += "; the kill command itself was stopped";
    } else if (groups.empty()) {
      message += "; its process group is unknown, the command may still be running";
    } else {
      // Killed from a second channel, as the same user (through sudo for a sudo command).
      Command kill;
      // `-s KILL --`: dash's kill (sh under sudo on Debian) reads `-KILL --` as a pid "--".
      kill.argv = {"kill", "-s", "KILL", "--"};
      for (const std::string& each : groups) kill.argv.push_back("-" + each);
      kill.sudo = command.sudo;
      kill.timeout_ms = kKillTimeoutMs;
      killing_ = true;  // a kill that is stopped is not killed in turn
      Result<CommandResult> killed = Execute(kill);
      killing_ = false;
      const std::string noun = groups.size() == 1 ? "process group " : "process groups ";
      if (killed.ok() && killed->exit_code == 0) {
        message += " and killed its " + noun + named;
      } else if (killed.ok() && OnlyNoSuchProcess(killed->err)) {
        // Closing the channel can end the command first (SIGPIPE, SIGHUP).
        message += " and killed its " + noun + named + " (or what was left of them)";
      } else {
        message += "; killing its " + noun + named + " failed: " +
                   (killed.ok() ? OutputTail(killed->err, 3, 300) : killed.status().message());
      }
    }
    if (!partial.err.empty()) message += "; stderr so far: " + OutputTail(partial.err);
    return Status::IoError(std::move(message));
  }

  static Status SftpError(const std::string& context, sftp_session sftp) {
    int code = sftp_get_error(sftp);
    std::string text = code != SSH_FX_OK ? SftpErrorText(code) : "";
    std::string session_error = ssh_get_error(sftp->session);
    if (!session_error.empty())
      text += (text.empty() ? "" : " (") + session_error + (text.empty() ? "" : ")");
    return Status::IoError(context + ": " + (text.empty() ? "failed" : text));
  }

  // Runs `transfer` on a fresh SFTP session. Transfers overwrite their target, so one retry on a
  // new connection after a dropped one is safe.
  template <class Transfer>
  Status WithSftp(const std::string& context, Transfer transfer) {
    Status last;
    for (int attempt = 1; attempt <= 2; ++attempt) {
      if (session_ == nullptr) {
        if (Status status = Connect(); !status.ok())
          return Status::IoError(context + ": " + status.message());
      }
      SftpPtr sftp(sftp_new(session_));
      if (!sftp || sftp_init(sftp.get()) != SSH_OK) {
        last = Status::IoError(context + ": cannot start SFTP: " + ssh_get_error(session_));
        sftp.reset();
        Disconnect();
        continue;
      }
      last = transfer(sftp.get());
      if (last.ok() || ssh_is_connected(session_) != 0) return last;
      sftp.reset();
      Disconnect();
    }
    return last;
  }

  const std::string node_;
  SshOptions options_;
  std::string address_;  // host:port, for messages
  ssh_session session_ = nullptr;
  bool killing_ = false;  // Abandon is running the kill command
};

}  // namespace

Result<std::unique_ptr<Remote>> ConnectSsh(const std::string& node, const SshOptions& options) {
  static std::once_flag initialized;
  std::call_once(initialized, [] { ssh_init(); });
  auto remote = std::make_unique<SshRemote>(node, options);
  if (Status status = remote->Connect(); !status.ok()) return status;
  return std::unique_ptr<Remote>(std::move(remote));
}

}  // namespace faultline::control
