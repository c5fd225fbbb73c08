// ShellEscape, CommandLine, OutputTail and Run: the escaping is proven against a real /bin/sh.
#include "runner/control/remote.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "runner/control/fake_remote.h"

namespace faultline::control {
namespace {

// Strings that break naive quoting: quotes, expansions, separators, whitespace, globs, unicode.
const std::vector<std::string> kNastyStrings = {
    "",
    "plain",
    " ",
    "two words",
    "'",
    "''",
    "\"",
    "it's",
    "'quoted'",
    "\"double\" and 'single'",
    "$HOME",
    "${HOME}",
    "$(touch /nonexistent/faultline)",
    "`id`",
    "a;b",
    "a && b",
    "a || b",
    "a | b",
    "a > b",
    "< /etc/passwd",
    "line one\nline two",
    "\n",
    "tab\there",
    "*",
    "/*",
    "?",
    "[a-z]",
    "~",
    "~root",
    "#comment",
    "!",
    "!!",
    "\\",
    "\\n",
    "back\\slash'quote\"",
    "-n",
    "--",
    "-e \\c",
    "%s %d",
    "A=b",
    "{a,b}",
    "héllo wörld ✓ 日本語",
    "\x01\x7f",
    "'; rm -rf / #",
    "$(touch x); rm -rf",
    "end with backslash\\",
    "'\"'\"'",
};

// A Command from its argv; the other fields keep their defaults.
Command Cmd(std::vector<std::string> argv) {
  Command command;
  command.argv = std::move(argv);
  return command;
}

// Runs `script` with /bin/sh -c and returns its stdout.
std::string RunShell(const std::string& script) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << script;
  return out;
}

TEST(ShellEscape, EveryNastyStringIsOneLiteralWordInARealShell) {
  for (const std::string& text : kNastyStrings) {
    std::string escaped = ShellEscape(text);
    EXPECT_EQ(RunShell("printf '%s' " + escaped), text) << "escaped as " << escaped;
    // One word, whatever it holds: the shell sees exactly one argument.
    EXPECT_EQ(RunShell("set -- " + escaped + "; printf '%s' \"$#\""), "1") << escaped;
  }
}

TEST(ShellEscape, AllNastyStringsTogetherKeepTheirBoundaries) {
  std::string script = "for word in";
  std::string expected;
  for (const std::string& text : kNastyStrings) {
    script += " " + ShellEscape(text);
    expected += "[" + text + "]";
  }
  script += "; do printf '[%s]' \"$word\"; done";
  EXPECT_EQ(RunShell(script), expected);
}

TEST(ShellEscape, Forms) {
  EXPECT_EQ(ShellEscape(""), "''");
  EXPECT_EQ(ShellEscape("ls"), "ls");
  EXPECT_EQ(ShellEscape("/var/lib/etcd-1.2,x:y@z%+"), "/var/lib/etcd-1.2,x:y@z%+");
  EXPECT_EQ(ShellEscape("a b"), "'a b'");
  EXPECT_EQ(ShellEscape("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellEscape("A=b"), "'A=b'");  // bare, a first word would be an assignment
  EXPECT_EQ(ShellEscape("~"), "'~'");
}

TEST(CommandLine, EscapesEveryArgumentAndChangesDirectory) {
  Command command;
  command.argv = {"echo", "$(touch /tmp/x); rm -rf", "it's"};
  EXPECT_EQ(CommandLine(command), "echo '$(touch /tmp/x); rm -rf' 'it'\\''s'");
  command.directory = "/var/my dir";
  EXPECT_EQ(CommandLine(command), "cd '/var/my dir' && echo '$(touch /tmp/x); rm -rf' 'it'\\''s'");
}

TEST(CommandLine, SudoWithoutPasswordNeverWaitsForOne) {
  Command command;
  command.argv = {"cat", "/etc/shadow"};
  command.sudo = true;
  command.directory = "/root";
  EXPECT_EQ(CommandLine(command), "sudo -n -- sh -c 'cd /root && cat /etc/shadow'");
  EXPECT_EQ(CommandStdin(command), "");
}

TEST(CommandLine, SudoPasswordTravelsOnStdinNotInTheCommandLine) {
  Command command;
  command.argv = {"tee", "/etc/motd"};
  command.sudo = true;
  command.stdin_data = "hello\n";
  std::string line = CommandLine(command, "s3cret 'pass'");
  EXPECT_EQ(line.find("s3cret"), std::string::npos) << line;
  EXPECT_NE(line.find("sudo -S -k -p ''"), std::string::npos) << line;
  EXPECT_NE(line.find("sh -c 'tee /etc/motd'"), std::string::npos) << line;
  EXPECT_EQ(CommandStdin(command, "s3cret 'pass'"), "s3cret 'pass'\nhello\n");
  // Without sudo the password is neither used nor sent.
  command.sudo = false;
  EXPECT_EQ(CommandLine(command, "s3cret"), "tee /etc/motd");
  EXPECT_EQ(CommandStdin(command, "s3cret"), "hello\n");
}

TEST(CommandLine, RejectsPasswordsThatCannotTravelOnOneLine) {
  EXPECT_TRUE(CheckSudoPassword("fine 'one' $x").ok());
  EXPECT_FALSE(CheckSudoPassword("two\nlines").ok());
  EXPECT_FALSE(CheckSudoPassword(std::string("nul\0byte", 8)).ok());
}

TEST(OutputTail, KeepsTheLastLinesAndBytes) {
  EXPECT_EQ(OutputTail(""), "");
  EXPECT_EQ(OutputTail("one\ntwo\n\n"), "one\ntwo");
  std::string many;
  for (int i = 1; i <= 30; ++i) many += "line " + std::to_string(i) + "\n";
  std::string tail = OutputTail(many);
  EXPECT_EQ(tail.substr(0, 11), "...line 11\n");
  EXPECT_NE(tail.find("line 30"), std::string::npos);
  EXPECT_EQ(tail.find("line 10\n"), std::string::npos);
  std::string long_line(10'000, 'x');
  EXPECT_EQ(OutputTail(long_line), "..." + std::string(2048, 'x'));
  // A cut never splits a UTF-8 character.
  std::string accents;
  for (int i = 0; i < 2000; ++i) accents += "é";
  std::string cut = OutputTail(accents, 20, 2047);
  EXPECT_EQ(cut.substr(0, 5), "...é");
}

TEST(Run, NonZeroExitIsAnErrorWithNodeCommandExitCodeAndStderrTail) {
  FakeRemote remote("n3");
  std::string err;
  for (int i = 1; i <= 30; ++i) err += "error line " + std::to_string(i) + "\n";
  remote.EnqueueOutput("some output", 3, err);
  Command command;
  command.argv = {"systemctl", "start", "my service"};
  Result<CommandResult> result = control::Run(remote, command);
  ASSERT_FALSE(result.ok());
  const std::string& message = result.status().message();
  EXPECT_EQ(result.status().code(), StatusCode::kIoError);
  EXPECT_EQ(message.rfind("n3: `systemctl start 'my service'` exited 3: ...", 0), 0) << message;
  EXPECT_NE(message.find("error line 30"), std::string::npos) << message;
  EXPECT_NE(message.find("error line 11"), std::string::npos) << message;
  EXPECT_EQ(message.find("error line 10\n"), std::string::npos) << message;
}

TEST(Run, QuotesStdoutWhenStderrIsEmpty) {
  FakeRemote remote("n1");
  remote.EnqueueOutput("Usage: thing\n", 2);
  Result<CommandResult> result = control::Run(remote, Cmd({"thing"}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "n1: `thing` exited 2 (no stderr); stdout: Usage: thing");
}

TEST(Run, SuccessAndExecuteErrorsPassThrough) {
  FakeRemote remote("n1");
  remote.EnqueueOutput("ok\n");
  remote.EnqueueError(Status::IoError("n1: connection lost"));
  Result<CommandResult> ok = control::Run(remote, Cmd({"true"}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->out, "ok\n");
  Result<CommandResult> lost = control::Run(remote, Cmd({"true"}));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().message(), "n1: connection lost");
}

}  // namespace
}  // namespace faultline::control
