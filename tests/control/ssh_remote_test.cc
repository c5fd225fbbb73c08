// SshRemote against a real OpenSSH sshd that the test starts on 127.0.0.1 with its own host key,
// authorized_keys and pid file in a temp dir, and stops (by the pid it recorded) afterwards.
// Skipped unless running as root with /usr/sbin/sshd present. CTest label: ssh.
#include "runner/control/ssh_remote.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "control/flood.h"
#include "runner/control/remote.h"
#include "support/skip.h"

namespace faultline::control {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char kSshd[] = "/usr/sbin/sshd";
const char kSshKeygen[] = "/usr/bin/ssh-keygen";

Command Cmd(std::vector<std::string> argv, std::string stdin_data = "") {
  Command command;
  command.argv = std::move(argv);
  command.stdin_data = std::move(stdin_data);
  return command;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// Spawns argv with stdout and stderr appended to `log`; returns the pid, or -1. The child gets
// SIGTERM if this process dies, so a crashed test leaves no sshd behind.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: only async-signal-safe calls from here to exec.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  int null = ::open("/dev/null", O_RDONLY);
  int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (null < 0 || out < 0) ::_exit(127);
  ::dup2(null, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  ::close_range(3, ~0U, 0);
  ::execv(args[0], args.data());
  ::_exit(127);
}

bool RunToCompletion(const std::vector<std::string>& argv, const fs::path& log) {
  pid_t pid = Spawn(argv, log);
  int status = 0;
  return pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

// A port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

// The pids of every process below `root` (its children, their children, ...).
std::vector<pid_t> Descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(entry.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state;
    pid_t parent;
    if (rest >> state >> parent) children.emplace(parent, std::stoi(name));
  }
  std::vector<pid_t> found;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    pid_t pid = frontier.back();
    frontier.pop_back();
    auto [begin, end] = children.equal_range(pid);
    for (auto it = begin; it != end; ++it) {
      found.push_back(it->second);
      frontier.push_back(it->second);
    }
  }
  return found;
}

bool ProcessIsDead(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return true;
  return stat[close + 2] == 'Z' || stat[close + 2] == 'X';
}

// The pids of the processes that have `argument` as one of their arguments.
std::vector<pid_t> ProcessesWithArgument(const std::string& argument) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string command_line = ReadFile(entry.path() / "cmdline");
    for (size_t start = 0; start < command_line.size();) {
      size_t end = command_line.find('\0', start);
      if (end == std::string::npos) end = command_line.size();
      if (command_line.compare(start, end - start, argument) == 0) {
        pid_t pid = std::stoi(name);
        if (!ProcessIsDead(pid)) found.push_back(pid);
        break;
      }
      start = end + 1;
    }
  }
  return found;
}

// A number no other process on the machine has as an argument: `sleep 1000 NONCE` sleeps 1000 s
// (GNU sleep adds its arguments) and can be found by it.
std::string Nonce() {
  std::random_device random;
  return "0.000" + std::to_string(100'000'000 + random() % 900'000'000);
}

// A private sshd on 127.0.0.1:port, for one test.
class SshRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) FAULTLINE_SKIP() << "needs root (sshd and root login)";
    if (!fs::exists(kSshd) || !fs::exists(kSshKeygen)) {
      FAULTLINE_SKIP() << kSshd << " or " << kSshKeygen
                       << " is missing (scripts/setup.sh installs them)";
    }
    std::string pattern = (fs::temp_directory_path() / "faultline_sshd_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    const fs::path log = dir_ / "keygen.log";
    for (const char* key : {"host_key", "client_key", "other_host_key", "stranger_key"}) {
      ASSERT_TRUE(RunToCompletion(
          {kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", (dir_ / key).string()},
          log))
          << ReadFile(log);
    }
    fs::copy_file(dir_ / "client_key.pub", dir_ / "authorized_keys");
    // sshd's privilege separation needs this directory; the openssh-server package creates it
    // at boot, which a container may not have had.
    std::error_code ignored;
    fs::create_directories("/run/sshd", ignored);
    for (int attempt = 0; attempt < 5 && sshd_pid_ <= 0; ++attempt) StartSshd();
    ASSERT_GT(sshd_pid_, 0) << "sshd did not start: " << ReadFile(dir_ / "sshd.log");
    WriteFile(dir_ / "known_hosts", KnownHostsLine("host_key"));
  }

  void TearDown() override {
    if (sshd_pid_ > 0) {
      // The per-connection children first, then the listener; only processes this test started.
      for (pid_t child : Descendants(sshd_pid_)) ::kill(child, SIGKILL);
      ::kill(sshd_pid_, SIGTERM);
      int status = 0;
      auto deadline = Clock::now() + std::chrono::seconds(5);
      while (::waitpid(sshd_pid_, &status, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          ::kill(sshd_pid_, SIGKILL);
          ::waitpid(sshd_pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      sshd_pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
  }

  void StartSshd() {
    port_ = FreePort();
    if (port_ <= 0) return;
    const fs::path config = dir_ / "sshd_config";
    WriteFile(config, "ListenAddress 127.0.0.1:" + std::to_string(port_) +
                          "\n"
                          "HostKey " +
                          (dir_ / "host_key").string() +
                          "\n"
                          "PidFile " +
                          (dir_ / "sshd.pid").string() +
                          "\n"
                          "AuthorizedKeysFile " +
                          (dir_ / "authorized_keys").string() +
                          "\n"
                          "UsePAM no\n"
                          "StrictModes no\n"
                          "PermitRootLogin prohibit-password\n"
                          "PubkeyAuthentication yes\n"
                          "PasswordAuthentication no\n"
                          "KbdInteractiveAuthentication no\n"
                          "MaxStartups 100:30:200\n"
                          "MaxSessions 100\n"
                          "Subsystem sftp internal-sftp\n"
                          "LogLevel ERROR\n");
    // -D: stay in the foreground as this test's child, so its pid is known without a pid file;
    // -e: log to stderr (the log file).
    pid_t pid = Spawn({kSshd, "-D", "-e", "-f", config.string()}, dir_ / "sshd.log");
    if (pid <= 0) return;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return;  // exited: port taken? try another
      if (Accepts(port_)) {
        sshd_pid_ = pid;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }

  // A known_hosts line saying that 127.0.0.1 at our port has the key in `key`.pub.
  std::string KnownHostsLine(const std::string& key) {
    return "[127.0.0.1]:" + std::to_string(port_) + " " + ReadFile(dir_ / (key + ".pub"));
  }

  SshOptions Options() {
    SshOptions options;
    options.host = "127.0.0.1";
    options.port = port_;
    options.username = "root";
    options.private_key_path = dir_ / "client_key";
    options.use_agent = false;  // the developer's agent must not change what the test proves
    options.known_hosts_path = dir_ / "known_hosts";
    options.connect_timeout_ms = 5'000;
    options.retry_backoff_ms = 20;
    return options;
  }

  std::unique_ptr<Remote> Connect() {
    Result<std::unique_ptr<Remote>> remote = ConnectSsh("n1", Options());
    EXPECT_TRUE(remote.ok()) << remote.status().message();
    return remote.ok() ? std::move(remote).value() : nullptr;
  }

  fs::path dir_;
  int port_ = -1;
  pid_t sshd_pid_ = -1;
};

TEST_F(SshRemoteTest, RunsCommandsWithOutputAndExitCodes) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->node(), "n1");
  Result<CommandResult> result = remote->Execute(Cmd({"echo", "hello", "world"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->out, "hello world\n");
  EXPECT_EQ(result->err, "");

  result = remote->Execute(Cmd({"sh", "-c", "echo out; echo err >&2; exit 5"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 5);
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");

  Result<CommandResult> failed =
      control::Run(*remote, Cmd({"sh", "-c", "echo broken >&2; exit 3"}));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "n1: `sh -c 'echo broken >&2; exit 3'` exited 3: broken");

  // A command killed by a signal: the exit code a shell would report.
  result = remote->Execute(Cmd({"sh", "-c", "kill -9 $$"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 128 + 9);

  // Many commands on the one session, each on its own channel.
  for (int i = 0; i < 10; ++i) {
    result = remote->Execute(Cmd({"echo", std::to_string(i)}));
    ASSERT_TRUE(result.ok()) << result.status().message();
    ASSERT_EQ(result->out, std::to_string(i) + "\n");
  }
}

TEST_F(SshRemoteTest, ArgumentsReachTheNodeAsLiteralText) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  const fs::path marker = dir_ / "x";
  const std::string argument = "$(touch " + marker.string() + "); rm -rf";
  Result<CommandResult> result = remote->Execute(Cmd({"echo", argument}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, argument + "\n");
  EXPECT_FALSE(fs::exists(marker)) << "the argument was run by the node's shell";
  const std::vector<std::string> nasty = {"it's",     "\"q\"",      "`id`",        "a;b && c",
                                          "*",        "$HOME",      "line\nbreak", "",
                                          "日本語 ✓", "back\\slash"};
  std::vector<std::string> argv = {"printf", "[%s]"};
  std::string expected;
  for (const std::string& text : nasty) {
    argv.push_back(text);
    expected += "[" + text + "]";
  }
  result = remote->Execute(Cmd(argv));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, expected);
  Command in_directory = Cmd({"pwd"});
  fs::create_directory(dir_ / "a dir's $(name)");
  in_directory.directory = (dir_ / "a dir's $(name)").string();
  result = remote->Execute(in_directory);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, in_directory.directory + "\n");
}

TEST_F(SshRemoteTest, StdinIsWrittenThenClosed) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  Result<CommandResult> result = remote->Execute(Cmd({"cat"}, "one\ntwo"));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "one\ntwo");
  // Larger than the channel window both ways.
  std::string big;
  for (int i = 0; big.size() < 4'000'000; ++i) big += std::to_string(i) + "\n";
  result = remote->Execute(Cmd({"cat"}, big));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out.size(), big.size());
  EXPECT_TRUE(result->out == big);
  result = remote->Execute(Cmd({"wc", "-c"}, big));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(std::stoul(result->out), big.size());
  // A command that exits without reading its stdin is not an error.
  result = remote->Execute(Cmd({"sh", "-c", "echo done; exit 3"}, big));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->out, "done\n");
  result = remote->Execute(Cmd({"true"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
}

TEST_F(SshRemoteTest, TimeoutKillsTheCommandAndKeepsTheSession) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  const fs::path pid_file = dir_ / "pid";
  // The timeout leaves room for the login shell's start: root's ~/.bashrc (pyenv init) took over
  // 1.5 s on the 2-core box under a parallel ctest.
  Command command = Cmd({"sh", "-c", "echo $$ > " + pid_file.string() + "; exec sleep 30"});
  command.timeout_ms = 4'000;
  auto start = Clock::now();
  Result<CommandResult> result = remote->Execute(command);
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_GE(elapsed, std::chrono::milliseconds(4'000));
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  const std::string& message = result.status().message();
  EXPECT_NE(message.find("n1: `sh -c"), std::string::npos) << message;
  EXPECT_NE(message.find("timed out after 4000 ms"), std::string::npos) << message;
  EXPECT_NE(message.find("killed its process group"), std::string::npos) << message;
  const std::string pid_text = ReadFile(pid_file);
  ASSERT_FALSE(pid_text.empty()) << "the command did not start within its timeout";
  pid_t pid = std::stoi(pid_text);
  bool dead = false;
  for (int i = 0; i < 300 && !(dead = ProcessIsDead(pid)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(dead) << "sleep " << pid << " survived its timeout";
  if (!dead) ::kill(pid, SIGKILL);
  result = remote->Execute(Cmd({"echo", "still here"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "still here\n");
  EXPECT_EQ(result->err, "");  // the process group marker never reaches the caller
}

TEST_F(SshRemoteTest, SftpUploadAndDownload) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  std::string content(300'000, '\0');
  std::mt19937 random(7);
  for (char& c : content) c = static_cast<char>(random());
  WriteFile(dir_ / "local.bin", content);
  fs::permissions(dir_ / "local.bin",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::owner_exec);
  const std::string remote_path = (dir_ / "remote.bin").string();
  Status uploaded = remote->Upload(dir_ / "local.bin", remote_path);
  ASSERT_TRUE(uploaded.ok()) << uploaded.message();
  EXPECT_TRUE(ReadFile(remote_path) == content);
  EXPECT_EQ(fs::status(remote_path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::owner_exec);
  Status downloaded = remote->Download(remote_path, dir_ / "back.bin");
  ASSERT_TRUE(downloaded.ok()) << downloaded.message();
  EXPECT_TRUE(ReadFile(dir_ / "back.bin") == content);

  Status missing = remote->Download((dir_ / "missing").string(), dir_ / "missing.local");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("n1: download " + (dir_ / "missing").string()),
            std::string::npos)
      << missing.message();
  EXPECT_NE(missing.message().find("no such file"), std::string::npos) << missing.message();
  Status no_directory = remote->Upload(dir_ / "local.bin", (dir_ / "no/such/dir").string());
  EXPECT_FALSE(no_directory.ok());
  // The session still runs commands after SFTP errors.
  Result<CommandResult> result = remote->Execute(Cmd({"true"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
}

TEST_F(SshRemoteTest, StrictHostKeyCheckingRejectsAWrongOrMissingEntry) {
  WriteFile(dir_ / "known_hosts", KnownHostsLine("other_host_key"));
  Result<std::unique_ptr<Remote>> wrong = ConnectSsh("n1", Options());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("HOST KEY MISMATCH"), std::string::npos)
      << wrong.status().message();
  EXPECT_NE(wrong.status().message().find("SHA256:"), std::string::npos)
      << wrong.status().message();

  WriteFile(dir_ / "known_hosts", "");
  Result<std::unique_ptr<Remote>> unknown = ConnectSsh("n1", Options());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("not in " + (dir_ / "known_hosts").string()),
            std::string::npos)
      << unknown.status().message();

  SshOptions missing_file = Options();
  missing_file.known_hosts_path = dir_ / "no_such_known_hosts";
  EXPECT_FALSE(ConnectSsh("n1", missing_file).ok());

  // With checking off the same wrong entry is accepted.
  WriteFile(dir_ / "known_hosts", KnownHostsLine("other_host_key"));
  SshOptions trusting = Options();
  trusting.strict_host_key_checking = false;
  Result<std::unique_ptr<Remote>> remote = ConnectSsh("n1", trusting);
  ASSERT_TRUE(remote.ok()) << remote.status().message();
  Result<CommandResult> result = (*remote)->Execute(Cmd({"echo", "trusted"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "trusted\n");
}

TEST_F(SshRemoteTest, AuthenticationFailureIsNotRetriedAndSaysWhatWasTried) {
  SshOptions options = Options();
  options.private_key_path = dir_ / "stranger_key";
  options.retries = 3;
  options.retry_backoff_ms = 1'000;
  auto start = Clock::now();
  Result<std::unique_ptr<Remote>> remote = ConnectSsh("n1", options);
  ASSERT_FALSE(remote.ok());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));  // no backoff: not retried
  const std::string& message = remote.status().message();
  EXPECT_NE(
      message.find("n1: ssh root@127.0.0.1:" + std::to_string(port_) + ": authentication failed"),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("stranger_key: denied"), std::string::npos) << message;
}

TEST_F(SshRemoteTest, AuthenticatesThroughTheAgent) {
  if (!fs::exists("/usr/bin/ssh-agent") || !fs::exists("/usr/bin/ssh-add")) {
    FAULTLINE_SKIP() << "ssh-agent or ssh-add is missing (openssh-client)";
  }
  // A private ssh-agent holding the client key; no key file is configured.
  const fs::path socket = dir_ / "agent.sock";
  pid_t agent = Spawn({"/usr/bin/ssh-agent", "-D", "-a", socket.string()}, dir_ / "agent.log");
  ASSERT_GT(agent, 0);
  for (int i = 0; i < 500 && !fs::exists(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const char* previous = std::getenv("SSH_AUTH_SOCK");
  const std::string saved = previous != nullptr ? previous : "";
  ::setenv("SSH_AUTH_SOCK", socket.c_str(), 1);
  bool added =
      RunToCompletion({"/usr/bin/ssh-add", (dir_ / "client_key").string()}, dir_ / "agent.log");
  SshOptions options = Options();
  options.private_key_path.clear();
  options.use_agent = true;
  Result<std::unique_ptr<Remote>> remote = ConnectSsh("n1", options);
  if (previous != nullptr) {
    ::setenv("SSH_AUTH_SOCK", saved.c_str(), 1);
  } else {
    ::unsetenv("SSH_AUTH_SOCK");
  }
  ::kill(agent, SIGTERM);
  ::waitpid(agent, nullptr, 0);
  ASSERT_TRUE(added) << ReadFile(dir_ / "agent.log");
  ASSERT_TRUE(remote.ok()) << remote.status().message();
  Result<CommandResult> result = (*remote)->Execute(Cmd({"echo", "agent"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "agent\n");

  // No key file, no agent, no password: the error says nothing was configured.
  options.use_agent = false;
  Result<std::unique_ptr<Remote>> nothing = ConnectSsh("n1", options);
  ASSERT_FALSE(nothing.ok());
  EXPECT_NE(nothing.status().message().find("no method configured"), std::string::npos)
      << nothing.status().message();
}

TEST_F(SshRemoteTest, ConnectionRefusedIsRetriedABoundedNumberOfTimes) {
  SshOptions options = Options();
  options.port = FreePort();
  options.retries = 2;
  options.retry_backoff_ms = 50;
  auto start = Clock::now();
  Result<std::unique_ptr<Remote>> remote = ConnectSsh("n1", options);
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(remote.ok());
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));  // backoff 50 then 100 ms
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_NE(remote.status().message().find("gave up after 3 attempts"), std::string::npos)
      << remote.status().message();
}

TEST_F(SshRemoteTest, ReconnectsAfterTheSessionDrops) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  ASSERT_TRUE(remote->Execute(Cmd({"true"})).ok());
  // Drop the connection from the server side: kill this sshd's per-connection processes.
  std::vector<pid_t> connections = Descendants(sshd_pid_);
  ASSERT_FALSE(connections.empty());
  for (pid_t pid : connections) ::kill(pid, SIGKILL);
  for (pid_t pid : connections) {
    for (int i = 0; i < 200 && !ProcessIsDead(pid); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // Nothing of this command was sent before the drop was noticed, so it runs on a new session.
  Result<CommandResult> result = remote->Execute(Cmd({"echo", "again"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "again\n");
  Status uploaded = remote->Upload(dir_ / "known_hosts", (dir_ / "copy").string());
  EXPECT_TRUE(uploaded.ok()) << uploaded.message();
}

TEST_F(SshRemoteTest, ADropDuringACommandIsAnErrorNotASilentRerun) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  const fs::path runs = dir_ / "runs";
  // The command records that it ran, then its connection is killed under it.
  Command command = Cmd({"sh", "-c", "echo ran >> " + runs.string() + "; sleep 30"});
  command.timeout_ms = 10'000;
  std::thread killer([&] {
    for (int i = 0; i < 500 && !fs::exists(runs); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (pid_t pid : Descendants(sshd_pid_)) ::kill(pid, SIGKILL);
  });
  Result<CommandResult> result = remote->Execute(command);
  killer.join();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("may or may not have run"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(ReadFile(runs), "ran\n");  // run once, never again behind the caller's back
  result = remote->Execute(Cmd({"echo", "next"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "next\n");
}

TEST_F(SshRemoteTest, EndlessOutputStopsTheCommandAtTheLimit) {
  std::unique_ptr<Remote> remote = Connect();
  ASSERT_NE(remote, nullptr);
  const fs::path pid_file = dir_ / "pid";
  for (bool to_stderr : {false, true}) {
    // Without the limit this would be read until the timeout, all of it held in memory.
    Command command = FloodCommand(pid_file, to_stderr);
    auto start = Clock::now();
    Result<CommandResult> result = remote->Execute(command);
    ASSERT_FALSE(result.ok()) << "to stderr: " << to_stderr;
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
    const std::string& message = result.status().message();
    EXPECT_NE(message.find("n1: `sh -c"), std::string::npos) << message;
    // Closing the channel may end `yes` (SIGPIPE) before the kill arrives; either way it is gone.
    EXPECT_NE(message.find("` output exceeded 1048576 bytes; closed its channel and killed its "
                           "process group"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("failed"), std::string::npos) << message;
    EXPECT_LT(message.size(), 4'096u);  // no flood quoted back
    const pid_t flooder = std::stoi(ReadFile(pid_file));
    bool dead = false;
    for (int i = 0; i < 300 && !(dead = ProcessIsDead(flooder)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(dead) << "yes " << flooder << " survived";
    if (!dead) ::kill(flooder, SIGKILL);
  }
  // Output up to the limit is a result as usual, and the session goes on.
  Command within = Cmd({"head", "-c", "1048576", "/dev/zero"});
  within.max_output_bytes = 1 << 20;
  Result<CommandResult> result = remote->Execute(within);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out.size(), 1u << 20);
}

TEST_F(SshRemoteTest, DownloadStopsAtTheLimitAndRemovesThePartialCopy) {
  SshOptions options = Options();
  options.max_download_bytes = 100'000;
  Result<std::unique_ptr<Remote>> connected = ConnectSsh("n1", options);
  ASSERT_TRUE(connected.ok()) << connected.status().message();
  Remote& remote = **connected;
  WriteFile(dir_ / "small", std::string(100'000, 'x'));
  Status small = remote.Download((dir_ / "small").string(), dir_ / "small.copy");
  ASSERT_TRUE(small.ok()) << small.message();
  EXPECT_EQ(fs::file_size(dir_ / "small.copy"), 100'000u);

  // Larger than the limit already: refused before anything is written.
  WriteFile(dir_ / "large", std::string(100'001, 'x'));
  const fs::path copy = dir_ / "copy";
  Status large = remote.Download((dir_ / "large").string(), copy);
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.message(), "n1: download " + (dir_ / "large").string() + " to " + copy.string() +
                                 ": the file exceeds 100000 bytes");
  EXPECT_FALSE(fs::exists(copy));

  // A file that never ends: cut off at the limit, the partial copy removed.
  Status endless = remote.Download("/dev/zero", copy);
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.message(), "n1: download /dev/zero to " + copy.string() +
                                   ": the file exceeds 100000 bytes; the partial copy was removed");
  EXPECT_FALSE(fs::exists(copy));
  Result<CommandResult> result = remote.Execute(Cmd({"true"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
}

TEST_F(SshRemoteTest, WithoutHostKeyCheckingEachConnectionWarnsWithTheFingerprint) {
  // The fingerprint as ssh-keygen prints it: "256 SHA256:... host_key (ED25519)".
  const fs::path listing = dir_ / "fingerprint";
  ASSERT_TRUE(RunToCompletion(
      {kSshKeygen, "-l", "-E", "sha256", "-f", (dir_ / "host_key.pub").string()}, listing));
  std::istringstream fields(ReadFile(listing));
  std::string bits, fingerprint;
  fields >> bits >> fingerprint;
  ASSERT_EQ(fingerprint.rfind("SHA256:", 0), 0u) << ReadFile(listing);

  WriteFile(dir_ / "known_hosts", KnownHostsLine("other_host_key"));  // would be a mismatch
  std::vector<std::string> warnings;
  SshOptions trusting = Options();
  trusting.strict_host_key_checking = false;
  trusting.warn = [&](const std::string& line) { warnings.push_back(line); };
  Result<std::unique_ptr<Remote>> remote = ConnectSsh("n1", trusting);
  ASSERT_TRUE(remote.ok()) << remote.status().message();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*remote)->Execute(Cmd({"true"})).ok());
  ASSERT_EQ(warnings.size(), 1u);  // once per connection, not per command
  const std::string address = "127.0.0.1:" + std::to_string(port_);
  EXPECT_EQ(warnings[0], "n1: ssh root@" + address +
                             ": the host key was NOT verified (strict host key checking is off); "
                             "the server presented ssh-ed25519 " +
                             fingerprint +
                             ", and anyone who can answer at that address would have been "
                             "trusted the same");

  // Without a sink of its own, the warning goes to standard error.
  trusting.warn = nullptr;
  ::testing::internal::CaptureStderr();
  Result<std::unique_ptr<Remote>> quiet_sink = ConnectSsh("n1", trusting);
  const std::string stderr_text = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(quiet_sink.ok()) << quiet_sink.status().message();
  EXPECT_NE(stderr_text.find("faultline: warning: n1: ssh root@" + address +
                             ": the host key was NOT verified"),
            std::string::npos)
      << stderr_text;
  EXPECT_NE(stderr_text.find(fingerprint), std::string::npos) << stderr_text;

  // A verified key is not warned about.
  WriteFile(dir_ / "known_hosts", KnownHostsLine("host_key"));
  SshOptions strict = Options();
  strict.warn = [&](const std::string& line) { warnings.push_back(line); };
  warnings.clear();
  ASSERT_TRUE(ConnectSsh("n1", strict).ok());
  EXPECT_TRUE(warnings.empty()) << warnings[0];
}

// A non-root user who may run anything as root through sudo without a password, with
// `Defaults use_pty` in effect (Debian's default), made for one test: the user (its home in the
// test's directory) and its sudoers file are removed afterwards. Each test has a user of its
// own, so that CTest may run them side by side.
class SshSudoTest : public SshRemoteTest {
 protected:
  static constexpr char kComment[] = "faultline ssh_remote_test";

  SshSudoTest() {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    char suffix[9];
    std::snprintf(suffix, sizeof suffix, "%08zx", std::hash<std::string>()(test) & 0xffffffff);
    user_ = std::string("faultline-sudo-") + suffix;
    sudoers_ = std::string("/etc/sudoers.d/faultline-ssh-") + suffix;
  }

  void SetUp() override {
    SshRemoteTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* tool : {"/usr/bin/sudo", "/usr/sbin/visudo", "/usr/sbin/useradd",
                             "/usr/sbin/userdel", "/usr/bin/setsid", "/bin/bash"}) {
      if (!fs::exists(tool)) {
        FAULTLINE_SKIP() << tool << " is missing (scripts/setup.sh installs sudo)";
      }
    }
    const fs::path log = dir_ / "user.log";
    // A user of this name left by a test that crashed is removed; any other is not touched.
    if (const passwd* existing = ::getpwnam(user_.c_str()); existing != nullptr) {
      ASSERT_STREQ(existing->pw_gecos, kComment) << "a user " << user_ << " exists already";
      ASSERT_TRUE(RunToCompletion({"/usr/sbin/userdel", "--force", user_}, log)) << ReadFile(log);
    }
    home_ = dir_ / "home";
    // sshd reads authorized_keys as the user, through the test's directory.
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    fs::permissions(dir_ / "authorized_keys", fs::perms::owner_read | fs::perms::owner_write |
                                                  fs::perms::group_read | fs::perms::others_read);
    // "*" (not useradd's "!"): a locked account may not log in even with a key.
    ASSERT_TRUE(
        RunToCompletion({"/usr/sbin/useradd", "--no-create-home", "--home-dir", home_.string(),
                         "--shell", "/bin/bash", "--comment", kComment, "--password", "*", user_},
                        log))
        << ReadFile(log);
    user_created_ = true;
    const passwd* user = ::getpwnam(user_.c_str());
    ASSERT_NE(user, nullptr);
    fs::create_directory(home_);
    ASSERT_EQ(::chown(home_.c_str(), user->pw_uid, user->pw_gid), 0);
    const fs::path rules = dir_ / "sudoers";
    WriteFile(rules, "Defaults:" + user_ + " use_pty\n" + user_ + " ALL=(ALL) NOPASSWD: ALL\n");
    ASSERT_TRUE(RunToCompletion({"/usr/sbin/visudo", "-c", "-q", "-f", rules.string()}, log))
        << ReadFile(log);
    fs::permissions(rules, fs::perms::owner_read | fs::perms::group_read);
    // (Over one of this name that a crashed run left.)
    ASSERT_TRUE(fs::copy_file(rules, sudoers_, fs::copy_options::overwrite_existing));
    sudoers_installed_ = true;
  }

  void TearDown() override {
    std::error_code ignored;
    if (sudoers_installed_) fs::remove(sudoers_, ignored);
    SshRemoteTest::TearDown();  // stops sshd and with it the user's sessions
    if (user_created_) {
      RunToCompletion({"/usr/sbin/userdel", "--force", user_}, "/dev/null");
    }
  }

  std::unique_ptr<Remote> ConnectAsUser() {
    SshOptions options = Options();
    options.username = user_;
    Result<std::unique_ptr<Remote>> remote = ConnectSsh("n1", options);
    EXPECT_TRUE(remote.ok()) << remote.status().message();
    return remote.ok() ? std::move(remote).value() : nullptr;
  }

  // Runs `sudo sleep 1000 NONCE` with a 2 s timeout and checks that the sleep ran and that
  // nothing with the nonce is left afterwards. Returns the error message.
  std::string TimeOutSudoSleep(Remote& remote) {
    Result<CommandResult> root = remote.Execute([] {
      Command command = Cmd({"id", "-u"});
      command.sudo = true;
      return command;
    }());
    EXPECT_TRUE(root.ok() && root->out == "0\n" && root->err.empty())
        << (root.ok() ? root->out + root->err : root.status().message());
    const std::string nonce = Nonce();
    Command command = Cmd({"sleep", "1000", nonce});
    command.sudo = true;
    command.timeout_ms = 2'000;
    std::atomic<bool> done = false, seen = false;
    std::thread watcher([&] {
      while (!done && !seen) {
        seen = !ProcessesWithArgument(nonce).empty();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    Result<CommandResult> result = remote.Execute(command);
    done = true;
    watcher.join();
    EXPECT_TRUE(seen) << "sudo sleep never ran";
    EXPECT_FALSE(result.ok());
    std::vector<pid_t> left = ProcessesWithArgument(nonce);
    for (int i = 0; i < 300 && !left.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      left = ProcessesWithArgument(nonce);
    }
    EXPECT_TRUE(left.empty()) << left.size() << " processes of `sudo sleep 1000 " << nonce
                              << "` survived its timeout, the first " << left[0];
    for (pid_t pid : left) ::kill(pid, SIGKILL);  // found by the nonce: this test's own
    // The session goes on, and no marker reaches the caller.
    root = remote.Execute([] {
      Command command = Cmd({"echo", "still here"});
      command.sudo = true;
      return command;
    }());
    EXPECT_TRUE(root.ok() && root->out == "still here\n" && root->err.empty())
        << (root.ok() ? root->out + root->err : root.status().message());
    return result.ok() ? "" : result.status().message();
  }

  std::string user_;
  std::string sudoers_;
  fs::path home_;
  bool user_created_ = false;
  bool sudoers_installed_ = false;
};

TEST_F(SshSudoTest, ATimedOutSudoCommandIsKilled) {
  std::unique_ptr<Remote> remote = ConnectAsUser();
  ASSERT_NE(remote, nullptr);
  const std::string message = TimeOutSudoSleep(*remote);
  EXPECT_NE(message.find("n1: `sudo -n -- sh -c 'sleep 1000 0.000"), std::string::npos) << message;
  EXPECT_NE(message.find("timed out after 2000 ms; closed its channel and killed its process"),
            std::string::npos)
      << message;
}

// sudo with use_pty and a terminal runs the command in a session of its own, out of reach of a
// kill of the login shell's process group. The SSH channel has no terminal, so Debian's sudo does
// not do that here; a stand-in `sudo` first in the user's PATH does (setsid, then the real sudo).
TEST_F(SshSudoTest, ASudoCommandInASessionOfItsOwnIsKilledToo) {
  fs::create_directory(home_ / "bin");
  WriteFile(home_ / "bin/sudo", "#!/bin/sh\nexec setsid -w /usr/bin/sudo \"$@\"\n");
  fs::permissions(home_ / "bin/sudo", fs::perms::owner_all | fs::perms::group_read |
                                          fs::perms::group_exec | fs::perms::others_read |
                                          fs::perms::others_exec);
  // bash reads ~/.bashrc for each command over SSH.
  WriteFile(home_ / ".bashrc", "PATH=$HOME/bin:$PATH\n");
  std::unique_ptr<Remote> remote = ConnectAsUser();
  ASSERT_NE(remote, nullptr);
  Result<CommandResult> which = remote->Execute(Cmd({"sh", "-c", "command -v sudo"}));
  ASSERT_TRUE(which.ok()) << which.status().message();
  ASSERT_EQ(which->out, (home_ / "bin/sudo").string() + "\n") << "the stand-in is not in use";
  const std::string message = TimeOutSudoSleep(*remote);
  EXPECT_NE(message.find("timed out after 2000 ms; closed its channel and killed its process "
                         "groups "),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace faultline::control
