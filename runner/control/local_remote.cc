#include "runner/control/local_remote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>
#include <vector>

#include "core/descriptor.h"

extern char** environ;

namespace faultline::control {
namespace {

using Clock = std::chrono::steady_clock;

std::string ErrnoText(int error) { return std::strerror(error); }

Status MakePipe(Descriptor& read_end, Descriptor& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IoError("pipe: " + ErrnoText(errno));
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  return Status::Ok();
}

// Blocks SIGPIPE in this thread while it lives: writing to the stdin of a command that has
// already exited must be an EPIPE error, not a signal that kills faultline. A SIGPIPE raised by
// this thread's write stays pending on the thread and is consumed before the mask is restored.
class SigpipeBlocker {
 public:
  SigpipeBlocker() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
  }
  ~SigpipeBlocker() {
    timespec zero{};
    while (sigtimedwait(&sigpipe_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
};

// Appends what is readable on `fd`; closes it at end of file or on error. Stops once `into` holds
// more than `limit` bytes, so that a command writing endlessly cannot keep it reading.
void Drain(Descriptor& fd, std::string& into, size_t limit) {
  char buffer[16384];
  while (into.size() <= limit) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fd.Close();
    return;
  }
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);  // as a shell reports it
  return -1;
}

}  // namespace

LocalRemote::LocalRemote(std::string node, std::string sudo_password, int64_t max_download_bytes)
    : node_(std::move(node)),
      sudo_password_(std::move(sudo_password)),
      max_download_bytes_(max_download_bytes) {}

Result<CommandResult> LocalRemote::Execute(const Command& command) {
  if (command.sudo && !sudo_password_.empty()) {
    if (Status status = CheckSudoPassword(sudo_password_); !status.ok()) return status;
  }
  const std::string line = CommandLine(command, sudo_password_);
  const std::string input = CommandStdin(command, sudo_password_);
  const std::string context = node_ + ": `" + CommandLine(command) + "`";

  Descriptor stdin_read, stdin_write, out_read, out_write, err_read, err_write;
  for (auto [read_end, write_end] :
       {std::pair{&stdin_read, &stdin_write}, std::pair{&out_read, &out_write},
        std::pair{&err_read, &err_write}}) {
    if (Status status = MakePipe(*read_end, *write_end); !status.ok()) {
      return Status::IoError(context + ": " + status.message());
    }
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  // Descriptors other threads opened without close-on-exec must not leak into the command.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so that a timeout kills the command and everything it started.
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t all_signals, no_signals;
  sigfillset(&all_signals);
  sigemptyset(&no_signals);
  posix_spawnattr_setsigdefault(&attributes, &all_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  char shell[] = "/bin/sh";
  char dash_c[] = "-c";
  char* argv[] = {shell, dash_c, const_cast<char*>(line.c_str()), nullptr};
  pid_t pid = -1;
  int spawn_error = posix_spawn(&pid, shell, &actions, &attributes, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawn_error != 0)
    return Status::IoError(context + ": spawn /bin/sh: " + ErrnoText(spawn_error));
  stdin_read.Close();
  out_write.Close();
  err_write.Close();

  SigpipeBlocker sigpipe_blocker;
  for (Descriptor* fd : {&stdin_write, &out_read, &err_read}) {
    ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
  }
  if (input.empty()) stdin_write.Close();

  const auto deadline = Clock::now() + std::chrono::milliseconds(command.timeout_ms);
  const size_t max_output = static_cast<size_t>(std::max<int64_t>(0, command.max_output_bytes));
  CommandResult result;
  size_t written = 0;
  bool timed_out = false;
  bool too_much_output = false;
  while (out_read.open() || err_read.open()) {
    if (result.out.size() + result.err.size() > max_output) {
      too_much_output = true;
      break;
    }
    // Rounded up, so that a command is never abandoned before its full timeout.
    auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (remaining <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    nfds_t count = 0;
    if (stdin_write.open()) fds[count++] = {stdin_write.get(), POLLOUT, 0};
    if (out_read.open()) fds[count++] = {out_read.get(), POLLIN, 0};
    if (err_read.open()) fds[count++] = {err_read.get(), POLLIN, 0};
    int ready = ::poll(fds, count, static_cast<int>(std::min<int64_t>(remaining, 1000)));
    if (ready < 0 && errno != EINTR) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return Status::IoError(context + ": poll: " + ErrnoText(errno));
    }
    if (ready <= 0) continue;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == stdin_write.get()) {
        ssize_t n = ::write(stdin_write.get(), input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        // EPIPE: the command stopped reading (or exited); the rest of its stdin is moot.
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          stdin_write.Close();
        }
      } else if (fds[i].fd == out_read.get()) {
        Drain(out_read, result.out, max_output - std::min(max_output, result.err.size()));
      } else if (fds[i].fd == err_read.get()) {
        Drain(err_read, result.err, max_output - std::min(max_output, result.out.size()));
      }
    }
  }
  stdin_write.Close();
  if (too_much_output) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return OutputLimitError(node_, command, "; its process group was killed");
  }

  int wait_status = 0;
  while (!timed_out) {
    pid_t waited = ::waitpid(pid, &wait_status, WNOHANG);
    if (waited == pid) break;
    if (waited < 0 && errno != EINTR)
      return Status::IoError(context + ": waitpid: " + ErrnoText(errno));
    // The command closed its stdout and stderr but has not exited yet: rarely more than a moment.
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::string message = context + " timed out after " + std::to_string(command.timeout_ms) +
                          " ms; its process group was killed";
    if (!result.err.empty()) message += "; stderr so far: " + OutputTail(result.err);
    return Status::IoError(std::move(message));
  }
  result.exit_code = ExitCode(wait_status);
  return result;
}

Status LocalRemote::Upload(const std::filesystem::path& local, const std::string& remote_path) {
  std::error_code error;
  std::filesystem::copy_file(local, remote_path, std::filesystem::copy_options::overwrite_existing,
                             error);
  if (error) {
    return Status::IoError(node_ + ": upload " + local.string() + " to " + remote_path + ": " +
                           error.message());
  }
  return Status::Ok();
}

Status LocalRemote::Download(const std::string& remote_path, const std::filesystem::path& local) {
  // Copied by hand rather than with copy_file: the limit must hold for a file that keeps growing
  // or never ends (a device, a fifo) too.
  std::ifstream in(remote_path, std::ios::binary);
  if (!in) {
    return Status::IoError(node_ + ": download " + remote_path + " to " + local.string() +
                           ": cannot read it: " + ErrnoText(errno));
  }
  DownloadedFile out(node_, remote_path, local, max_download_bytes_);
  if (Status status = out.Open(); !status.ok()) return status;
  std::vector<char> buffer(64 * 1024);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (Status status = out.Append(buffer.data(), static_cast<size_t>(in.gcount())); !status.ok()) {
      return status;
    }
  }
  if (in.bad()) {
    return Status::IoError(node_ + ": download " + remote_path + " to " + local.string() +
                           ": reading it failed");
  }
  return out.Close();
}

}  // namespace faultline::control
