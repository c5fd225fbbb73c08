#include "runner/cli/password.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string_view>

#include "core/descriptor.h"

namespace faultline::cli {
namespace {

constexpr size_t kMaxPasswordBytes = 4096;

std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Why a password file with these attributes may not be used; empty when it may.
std::string FileProblem(const struct stat& info) {
  if (!S_ISREG(info.st_mode)) return "not a regular file";
  if (info.st_uid != ::geteuid() && info.st_uid != 0) {
    return "owned by uid " + std::to_string(info.st_uid) + ", not by you or root";
  }
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return std::string("mode ") + mode + " lets others read or change it (chmod 600)";
  }
  if (info.st_size > static_cast<off_t>(kMaxPasswordBytes)) return "larger than 4 KiB";
  return "";
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[512];
  for (ssize_t n; text.size() <= kMaxPasswordBytes && (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

int CountGiven(const PasswordSources& sources) {
  return !sources.command_line.empty() + !sources.file.empty() + sources.ask;
}

Result<std::string> AskOnTerminal(const control::SshOptions& ssh) {
  Descriptor terminal(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (terminal.get() < 0) {
    return Status::InvalidArgument("--ask-password needs a terminal (/dev/tty: " +
                                   std::string(std::strerror(errno)) + "); use " +
                                   kPasswordEnvironment + " or --password-file");
  }
  std::string user = ssh.username.empty() ? "the SSH user" : ssh.username;
  return ReadSecretFromTerminal(terminal.get(), "SSH password for " + user + ": ");
}

Result<std::string> PasswordFromFlags(const PasswordSources& sources,
                                      const control::SshOptions& ssh, std::ostream& err) {
  if (!sources.file.empty()) return ReadPasswordFile(sources.file);
  if (sources.ask) return AskOnTerminal(ssh);
  err << "faultline: warning: --password shows in `ps` to every user of this machine and stays "
         "in your shell history; use "
      << kPasswordEnvironment << ", --password-file FILE (mode 0600) or --ask-password\n";
  return sources.command_line;
}

}  // namespace

Result<std::string> ReadPasswordFile(const std::string& path) {
  Descriptor file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (file.get() < 0) {
    std::string why = errno == ELOOP ? "a symlink (name the file itself)" : std::strerror(errno);
    return Status::InvalidArgument("--password-file " + path + ": " + why);
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) {
    return Status::InvalidArgument("--password-file " + path + ": " + std::strerror(errno));
  }
  if (std::string problem = FileProblem(info); !problem.empty()) {
    return Status::InvalidArgument("--password-file " + path + ": " + problem);
  }
  std::string password = FirstLine(ReadAll(file.get()));
  if (password.empty()) {
    return Status::InvalidArgument("--password-file " + path + ": its first line is empty");
  }
  return password;
}

Result<std::string> ReadSecretFromTerminal(int terminal, const std::string& prompt) {
  struct termios saved {};
  if (::tcgetattr(terminal, &saved) != 0) {
    return Status::IoError("cannot prompt for a password: not a terminal");
  }
  struct termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  ::tcsetattr(terminal, TCSAFLUSH, &quiet);
  (void)!::write(terminal, prompt.data(), prompt.size());
  std::string line;
  char c = 0;
  bool ended = false;
  while (line.size() <= kMaxPasswordBytes) {
    ssize_t n = ::read(terminal, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (c == '\n') {
      ended = true;
      break;
    }
    line += c;
  }
  ::tcsetattr(terminal, TCSAFLUSH, &saved);
  if (!ended) return Status::IoError("no password was entered (input ended)");
  return FirstLine(line);
}

Status ResolvePasswords(const PasswordSources& sources, control::SshOptions& ssh,
                        std::ostream& err) {
  if (CountGiven(sources) > 1) {
    return Status::InvalidArgument(
        "give the SSH password one way: --password-file, --ask-password or --password");
  }
  if (CountGiven(sources) == 1) {
    Result<std::string> password = PasswordFromFlags(sources, ssh, err);
    if (!password.ok()) return password.status();
    ssh.password = *password;
  } else if (const char* environment = std::getenv(kPasswordEnvironment)) {
    ssh.password = environment;
  }
  if (const char* sudo = std::getenv(kSudoPasswordEnvironment)) {
    ssh.sudo_password = sudo;
  } else if (ssh.sudo_password.empty()) {
    ssh.sudo_password = ssh.password;
  }
  return Status::Ok();
}

void HidePasswordArguments(int argc, char** argv) {
  constexpr std::string_view kFlag = "--password";
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    char* value = nullptr;
    if (argument == kFlag && i + 1 < argc) {
      value = argv[++i];
    } else if (argument.size() > kFlag.size() && argument.substr(0, kFlag.size() + 1) == "--password=") {
      value = argv[i] + kFlag.size() + 1;
    }
    if (value) std::memset(value, '*', std::strlen(value));
  }
}

}  // namespace faultline::cli
