// LocalRemote: the issue's escaping proof, exit codes, stdin, timeouts, sudo's password path
// (through a stand-in sudo), and file copies.
#include "runner/control/local_remote.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "control/flood.h"

namespace faultline::control {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A Command from its argv and stdin; the other fields keep their defaults.
Command Cmd(std::vector<std::string> argv, std::string stdin_data = "") {
  Command command;
  command.argv = std::move(argv);
  command.stdin_data = std::move(stdin_data);
  return command;
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "faultline_control_XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// True when the process is gone or a zombie (killed, waiting to be reaped by its parent).
bool ProcessIsDead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t state = line.rfind(')');
  return state == std::string::npos || state + 2 >= line.size() || line[state + 2] == 'Z' ||
         line[state + 2] == 'X';
}

bool EventuallyDead(pid_t pid) {
  for (int i = 0; i < 200 && !ProcessIsDead(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ProcessIsDead(pid);
}

TEST(LocalRemote, CommandSubstitutionInAnArgumentIsLiteralText) {
  TempDir dir;
  const fs::path marker = dir.path() / "x";
  const std::string argument = "$(touch " + marker.string() + "); rm -rf";
  LocalRemote remote("local");
  Result<CommandResult> result = remote.Execute(Cmd({"echo", argument}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->out, argument + "\n");
  EXPECT_FALSE(fs::exists(marker)) << "the argument was run by the shell";
  // Backticks, separators and redirections stay text too.
  const std::string other = "`touch " + marker.string() + "` ; touch " + marker.string() + " > " +
                            marker.string() + " && touch " + marker.string();
  result = remote.Execute(Cmd({"printf", "%s", other}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, other);
  EXPECT_FALSE(fs::exists(marker));
}

TEST(LocalRemote, ExitCodeOutputAndStderr) {
  LocalRemote remote("local");
  Result<CommandResult> result =
      remote.Execute(Cmd({"sh", "-c", "echo out; echo err >&2; exit 7"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 7);
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");
  result = remote.Execute(Cmd({"sh", "-c", "kill -9 $$"}));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 128 + 9);
}

TEST(LocalRemote, RunErrorNamesNodeCommandExitCodeAndStderrTail) {
  LocalRemote remote("box1");
  Command command = Cmd({"sh", "-c", "for i in $(seq 1 30); do echo problem $i >&2; done; exit 4"});
  Result<CommandResult> result = control::Run(remote, command);
  ASSERT_FALSE(result.ok());
  const std::string& message = result.status().message();
  EXPECT_EQ(message.rfind("box1: `sh -c 'for i in $(seq 1 30); do echo problem $i >&2; done; "
                          "exit 4'` exited 4: ...problem 11\n",
                          0),
            0)
      << message;
  EXPECT_NE(message.find("problem 30"), std::string::npos) << message;
  EXPECT_EQ(message.find("problem 10\n"), std::string::npos) << message;
}

TEST(LocalRemote, StdinIsWrittenThenClosed) {
  LocalRemote remote("local");
  Result<CommandResult> result = remote.Execute(Cmd({"cat"}, "a\nb"));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "a\nb");
  // Larger than any pipe buffer both ways: no deadlock between writing stdin and reading stdout.
  std::string big;
  for (int i = 0; big.size() < 3'000'000; ++i) big += std::to_string(i) + "\n";
  result = remote.Execute(Cmd({"cat"}, big));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, big);
  // A command that ignores its stdin is not an error.
  result = remote.Execute(Cmd({"true"}, big));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 0);
}

TEST(LocalRemote, DirectoryWithAwkwardName) {
  TempDir dir;
  const fs::path inner = dir.path() / "it's a $(dir)";
  fs::create_directory(inner);
  LocalRemote remote("local");
  Command command = Cmd({"pwd"});
  command.directory = inner.string();
  Result<CommandResult> result = remote.Execute(command);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, inner.string() + "\n");
}

TEST(LocalRemote, TimeoutKillsTheCommandAndWhatItStarted) {
  TempDir dir;
  const fs::path pid_file = dir.path() / "pids";
  LocalRemote remote("local");
  Command command = Cmd({"sh", "-c",
                         "sleep 30 & echo $! > " + pid_file.string() + "; echo $$ >> " +
                             pid_file.string() + "; echo started >&2; wait"});
  command.timeout_ms = 200;
  auto start = Clock::now();
  Result<CommandResult> result = remote.Execute(command);
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  const std::string& message = result.status().message();
  EXPECT_NE(message.find("local: `sh -c"), std::string::npos) << message;
  EXPECT_NE(message.find("timed out after 200 ms"), std::string::npos) << message;
  EXPECT_NE(message.find("stderr so far: started"), std::string::npos) << message;
  std::istringstream pids(ReadFile(pid_file));
  pid_t sleeper = 0, shell = 0;
  pids >> sleeper >> shell;
  ASSERT_GT(sleeper, 0);
  ASSERT_GT(shell, 0);
  EXPECT_TRUE(EventuallyDead(shell));
  EXPECT_TRUE(EventuallyDead(sleeper));  // killed with its process group
}

TEST(LocalRemote, TimeoutOfACommandThatExecsSleep) {
  TempDir dir;
  const fs::path pid_file = dir.path() / "pid";
  LocalRemote remote("local");
  auto start = Clock::now();
  Command command = Cmd({"sh", "-c", "echo $$ > " + pid_file.string() + "; exec sleep 30"});
  command.timeout_ms = 200;
  Result<CommandResult> result = remote.Execute(command);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  ASSERT_FALSE(result.ok());
  pid_t pid = std::stoi(ReadFile(pid_file));
  // The outer shell may have forked the inner one: then `sleep` is a member of the killed group,
  // not Execute's child, and finishes dying a moment later.
  EXPECT_TRUE(EventuallyDead(pid));
}

// A stand-in for sudo that asks for a password unless FAKE_SUDO_NOPASSWD is set, checks it
// against FAKE_SUDO_PASSWORD and runs the command, as sudo -n/-S/-k/-p do.
const char kFakeSudo[] = R"(#!/bin/sh
noninteractive=0; from_stdin=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) noninteractive=1; shift ;;
    -S) from_stdin=1; shift ;;
    -k) shift ;;
    -p) shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [ -z "$FAKE_SUDO_NOPASSWD" ]; then
  if [ $noninteractive = 1 ]; then echo "sudo: a password is required" >&2; exit 1; fi
  if [ $from_stdin = 0 ]; then echo "sudo: no tty" >&2; exit 1; fi
  IFS= read -r typed
  if [ "$typed" != "$FAKE_SUDO_PASSWORD" ]; then echo "sudo: wrong password" >&2; exit 1; fi
fi
exec "$@"
)";

class FakeSudo {
 public:
  FakeSudo() {
    fs::path sudo = dir_.path() / "sudo";
    WriteFile(sudo, kFakeSudo);
    fs::permissions(sudo, fs::perms::owner_all);
    const char* path = std::getenv("PATH");
    old_path_ = path != nullptr ? path : "/usr/bin:/bin";
    ::setenv("PATH", (dir_.path().string() + ":" + old_path_).c_str(), 1);
  }
  ~FakeSudo() {
    ::setenv("PATH", old_path_.c_str(), 1);
    ::unsetenv("FAKE_SUDO_PASSWORD");
    ::unsetenv("FAKE_SUDO_NOPASSWD");
  }

 private:
  TempDir dir_;
  std::string old_path_;
};

TEST(LocalRemote, SudoPasswordGoesToSudoAndNotToTheCommand) {
  FakeSudo sudo;
  ::setenv("FAKE_SUDO_PASSWORD", "pa ss'word", 1);
  LocalRemote remote("local", "pa ss'word");
  Command command = Cmd({"cat"}, "data for the command\n");
  command.sudo = true;
  Result<CommandResult> result = remote.Execute(command);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 0) << result->err;
  EXPECT_EQ(result->out, "data for the command\n");

  // When sudo asks for no password (root, NOPASSWD), the command still never sees it.
  ::setenv("FAKE_SUDO_NOPASSWD", "1", 1);
  result = remote.Execute(command);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out, "data for the command\n");
  ::unsetenv("FAKE_SUDO_NOPASSWD");

  LocalRemote wrong("local", "wrong");
  result = wrong.Execute(command);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_NE(result->exit_code, 0);
  EXPECT_NE(result->err.find("wrong password"), std::string::npos) << result->err;

  // Without a password configured, sudo -n fails at once instead of waiting.
  LocalRemote none("local");
  result = none.Execute(command);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_NE(result->err.find("password is required"), std::string::npos) << result->err;

  LocalRemote newline("local", "two\nlines");
  result = newline.Execute(command);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(LocalRemote, EndlessOutputStopsTheCommandAtTheLimit) {
  TempDir dir;
  const fs::path pid_file = dir.path() / "pid";
  LocalRemote remote("local");
  for (bool to_stderr : {false, true}) {
    // Without the limit this would be read until the timeout, all of it held in memory.
    Command command = FloodCommand(pid_file, to_stderr);
    auto start = Clock::now();
    Result<CommandResult> result = remote.Execute(command);
    ASSERT_FALSE(result.ok()) << "to stderr: " << to_stderr;
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
    const std::string& message = result.status().message();
    EXPECT_NE(message.find("local: `sh -c"), std::string::npos) << message;
    EXPECT_NE(message.find("` output exceeded 1048576 bytes; its process group was killed"),
              std::string::npos)
        << message;
    EXPECT_LT(message.size(), 4'096u);  // no flood quoted back
    const pid_t flooder = std::stoi(ReadFile(pid_file));
    EXPECT_TRUE(EventuallyDead(flooder));
  }
  // Output up to the limit is a result as usual.
  Command within = Cmd({"head", "-c", "1048576", "/dev/zero"});
  within.max_output_bytes = 1 << 20;
  Result<CommandResult> result = remote.Execute(within);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->out.size(), 1u << 20);
}

TEST(LocalRemote, DownloadStopsAtTheLimitAndRemovesThePartialCopy) {
  TempDir dir;
  LocalRemote remote("local", "", 100'000);
  WriteFile(dir.path() / "small", std::string(100'000, 'x'));
  ASSERT_TRUE(remote.Download((dir.path() / "small").string(), dir.path() / "small.copy").ok());
  EXPECT_EQ(fs::file_size(dir.path() / "small.copy"), 100'000u);
  WriteFile(dir.path() / "large", std::string(100'001, 'x'));
  const fs::path copy = dir.path() / "large.copy";
  Status large = remote.Download((dir.path() / "large").string(), copy);
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.message(), "local: download " + (dir.path() / "large").string() + " to " +
                                 copy.string() +
                                 ": the file exceeds 100000 bytes; the partial copy was removed");
  EXPECT_FALSE(fs::exists(copy));
  // A file that never ends.
  Status endless = remote.Download("/dev/zero", copy);
  ASSERT_FALSE(endless.ok());
  EXPECT_NE(endless.message().find("exceeds 100000 bytes"), std::string::npos) << endless.message();
  EXPECT_FALSE(fs::exists(copy));
}

TEST(LocalRemote, UploadAndDownloadCopyFiles) {
  TempDir dir;
  LocalRemote remote("local");
  std::string content = "binary\0data\n";
  content += std::string(100'000, '\xff');
  WriteFile(dir.path() / "source", content);
  ASSERT_TRUE(remote.Upload(dir.path() / "source", (dir.path() / "uploaded").string()).ok());
  EXPECT_EQ(ReadFile(dir.path() / "uploaded"), content);
  WriteFile(dir.path() / "downloaded", "old content, overwritten");
  ASSERT_TRUE(remote.Download((dir.path() / "uploaded").string(), dir.path() / "downloaded").ok());
  EXPECT_EQ(ReadFile(dir.path() / "downloaded"), content);
  Status missing = remote.Download((dir.path() / "missing").string(), dir.path() / "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("local: download " + (dir.path() / "missing").string()),
            std::string::npos)
      << missing.message();
}

}  // namespace
}  // namespace faultline::control
