// FakeRemote: the record, and each way of scripting responses.
#include "runner/control/fake_remote.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace faultline::control {
namespace {

namespace fs = std::filesystem;

// A Command from its argv; the other fields keep their defaults.
Command Cmd(std::vector<std::string> argv) {
  Command command;
  command.argv = std::move(argv);
  return command;
}

TEST(FakeRemote, RecordsEveryCommandAndItsCommandLine) {
  FakeRemote remote("n1", "pw");
  EXPECT_EQ(remote.node(), "n1");
  ASSERT_TRUE(remote.Execute(Cmd({"echo", "a b"})).ok());
  Command sudo_id = Cmd({"id"});
  sudo_id.sudo = true;
  ASSERT_TRUE(remote.Execute(sudo_id).ok());
  std::vector<FakeRemote::Record> records = remote.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].command.argv, (std::vector<std::string>{"echo", "a b"}));
  EXPECT_EQ(records[0].command_line, "echo 'a b'");
  EXPECT_TRUE(records[1].command.sudo);
  EXPECT_EQ(records[1].command_line, CommandLine(sudo_id, "pw"));
  EXPECT_EQ(remote.command_lines()[0], "echo 'a b'");
  EXPECT_EQ(remote.command_count(), 2u);
  remote.ClearRecords();
  EXPECT_EQ(remote.command_count(), 0u);
}

TEST(FakeRemote, DefaultResponseIsSuccess) {
  FakeRemote remote;
  Result<CommandResult> result = remote.Execute(Cmd({"anything"}));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->out, "");
}

TEST(FakeRemote, QueueThenRulesThenResponder) {
  FakeRemote remote("n2");
  remote.EnqueueOutput("first\n");
  remote.EnqueueError(Status::IoError("n2: connection lost"));
  remote.When("pgrep", CommandResult{1, "", ""});
  remote.SetResponder([](const Command& command, const std::string& line) -> Result<CommandResult> {
    return CommandResult{0, line + " / " + command.argv[0], ""};
  });
  Result<CommandResult> first = remote.Execute(Cmd({"pgrep", "etcd"}));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->out, "first\n");  // the queue comes before rules
  Result<CommandResult> second = remote.Execute(Cmd({"ls"}));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "n2: connection lost");
  Result<CommandResult> rule = remote.Execute(Cmd({"pgrep", "etcd"}));
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(rule->exit_code, 1);
  Result<CommandResult> responded = remote.Execute(Cmd({"uname", "-a"}));
  ASSERT_TRUE(responded.ok());
  EXPECT_EQ(responded->out, "uname -a / uname");
  EXPECT_FALSE(control::Run(remote, Cmd({"pgrep", "x"})).ok());
}

TEST(FakeRemote, AnAnswerPastTheOutputLimitIsAnError) {
  FakeRemote fake("n1");
  Command command = Cmd({"cat", "big.log"});
  command.max_output_bytes = 10;
  fake.EnqueueOutput("0123456789");
  ASSERT_TRUE(fake.Execute(command).ok());
  fake.EnqueueOutput("01234", 0, "567890");
  Result<CommandResult> result = fake.Execute(command);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "n1: `cat big.log` output exceeded 10 bytes; the command was stopped");
}

TEST(FakeRemote, FilesMoveThroughAnInMemoryMap) {
  std::string pattern = (fs::temp_directory_path() / "faultline_fake_XXXXXX").string();
  fs::path dir = ::mkdtemp(pattern.data());
  FakeRemote remote("n1");
  std::ofstream(dir / "config") << "key = value\n";
  ASSERT_TRUE(remote.Upload(dir / "config", "/etc/thing.conf").ok());
  EXPECT_EQ(remote.File("/etc/thing.conf"), "key = value\n");
  remote.SetFile("/var/log/thing.log", "log line\n");
  ASSERT_TRUE(remote.Download("/var/log/thing.log", dir / "thing.log").ok());
  std::ifstream in(dir / "thing.log");
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "log line\n");
  EXPECT_FALSE(remote.Download("/missing", dir / "missing").ok());
  EXPECT_FALSE(remote.File("/missing").has_value());
  remote.FailNextTransfer(Status::IoError("n1: SFTP down"));
  Status failed = remote.Upload(dir / "config", "/etc/thing.conf");
  EXPECT_EQ(failed.message(), "n1: SFTP down");
  EXPECT_TRUE(remote.Upload(dir / "config", "/etc/thing.conf").ok());  // only the next one fails
  fs::remove_all(dir);
}

TEST(FakeRemote, UsableFromSeveralThreads) {
  FakeRemote remote;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&remote] {
      for (int i = 0; i < 100; ++i) ASSERT_TRUE(remote.Execute(Cmd({"true"})).ok());
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(remote.command_count(), 400u);
}

}  // namespace
}  // namespace faultline::control
