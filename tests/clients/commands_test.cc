// The command-driven database (clients/commands/commands.h): templates, escaping, and what each
// lifecycle call runs on a node, through the scripted FakeRemote.
#include "clients/commands/commands.h"

#include <gtest/gtest.h>

#include "clients/registry.h"
#include "runner/control/fake_remote.h"

namespace faultline::clients::commands {
namespace {

TestOptions Options() {
  TestOptions options;
  options.nodes = {"n1", "n2", "n3"};
  options.node_addresses = {{"n2", "10.213.0.12"}};
  return options;
}

TEST(ExpandTest, PlaceholdersBecomeOneEscapedWordEach) {
  Result<std::string> line =
      Expand("mydb --name {node} --listen {address}:2379 --peers {nodes}", Options(), "n2");
  ASSERT_TRUE(line.ok()) << line.status().message();
  // Words that need no quoting stay as they are.
  EXPECT_EQ(*line, "mydb --name n2 --listen 10.213.0.12:2379 --peers n1,n2,n3");
  // A node without an address entry is reached by its name.
  EXPECT_EQ(*Expand("{address}", Options(), "n1"), "n1");
  // Literal braces, doubled.
  EXPECT_EQ(*Expand("awk '{{print $1}}' {node}", Options(), "n3"), "awk '{print $1}' n3");
  // A hostile name stays one literal word.
  TestOptions hostile = Options();
  hostile.nodes = {"a'; rm -rf / #"};
  EXPECT_EQ(*Expand("echo {node}", hostile, "a'; rm -rf / #"), "echo 'a'\\''; rm -rf / #'");
  // Paths (log files) are not shell words.
  EXPECT_EQ(*Expand("/var/log/{node}.log", Options(), "n1", /*shell_words=*/false),
            "/var/log/n1.log");
}

TEST(ExpandTest, TheShellsOwnBracesPassAndUnknownPlaceholdersAreErrors) {
  EXPECT_EQ(Expand("start {host}", Options(), "n1").status().message(),
            "unknown placeholder {host} in `start {host}` (expected {node}, {address} or {nodes}; "
            "write {{host}} for the text itself)");
  // Shell syntax is not a placeholder.
  const std::string shell = "p=${pid:-0}; awk '{print $3}' /proc/$p/stat; find . -exec rm {} \\;";
  EXPECT_EQ(*Expand(shell + " {node", Options(), "n1"), shell + " {node");
  EXPECT_EQ(*Expand("echo ${HOME} {node}}", Options(), "n1"), "echo ${HOME} n1}");
  DbCommands commands;
  commands.kill = "kill {pid}";
  Status valid = Validate(commands);
  EXPECT_EQ(valid.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(valid.message().rfind("--db-kill: unknown placeholder {pid}", 0), 0u)
      << valid.message();
  commands.kill.clear();
  commands.log_files = {"/var/log/{nod}.log"};
  EXPECT_EQ(Validate(commands).message().rfind("--db-logs: ", 0), 0u);
}

TEST(CommandDbTest, EachCallRunsItsCommandOnTheNodeThroughSh) {
  DbCommands commands;
  commands.setup = "systemctl start mydb@{node}";
  commands.kill = "pkill -9 -f 'mydb {node}'";
  commands.start = "mydb-start {address}";
  commands.pause = "pause {node}";
  commands.resume = "resume {node}";
  commands.teardown = "rm -rf /var/lib/mydb/{node}";
  commands.log_files = {"/var/log/mydb/{node}.log"};
  commands.sudo = true;
  CommandDb db(commands);
  faultline::Test test;
  test.options = Options();
  control::FakeRemote remote("n2");
  ASSERT_TRUE(db.Setup(test, "n2", remote).ok());
  ASSERT_TRUE(db.Kill(test, "n2", remote).ok());
  ASSERT_TRUE(db.Start(test, "n2", remote).ok());
  ASSERT_TRUE(db.Pause(test, "n2", remote).ok());
  ASSERT_TRUE(db.Resume(test, "n2", remote).ok());
  ASSERT_TRUE(db.Teardown(test, "n2", remote).ok());
  const std::vector<control::FakeRemote::Record> records = remote.records();
  ASSERT_EQ(records.size(), 6u);
  const std::vector<std::string> expected = {
      "systemctl start mydb@n2", "pkill -9 -f 'mydb n2'", "mydb-start 10.213.0.12",
      "pause n2", "resume n2", "rm -rf /var/lib/mydb/n2"};
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].command.argv,
              (std::vector<std::string>{"sh", "-c", expected[i]}))
        << i;
    EXPECT_TRUE(records[i].command.sudo);
  }
  EXPECT_EQ(records[0].command.timeout_ms, 300'000);  // setup may install
  EXPECT_EQ(records[1].command.timeout_ms, 60'000);
  EXPECT_EQ(db.LogFiles(test, "n2"), (std::vector<std::string>{"/var/log/mydb/n2.log"}));
}

TEST(CommandDbTest, AFailingCommandIsAnErrorNamingItsFlagAndAMissingOneIsUnsupported) {
  DbCommands commands;
  commands.kill = "kill-it {node}";
  CommandDb db(commands);
  faultline::Test test;
  test.options = Options();
  control::FakeRemote remote("n1");
  remote.EnqueueOutput("", 3, "no such process");
  Status killed = db.Kill(test, "n1", remote);
  EXPECT_FALSE(killed.ok());
  EXPECT_EQ(killed.message().rfind("--db-kill: ", 0), 0u) << killed.message();
  EXPECT_NE(killed.message().find("no such process"), std::string::npos) << killed.message();
  Status paused = db.Pause(test, "n1", remote);
  EXPECT_EQ(paused.code(), StatusCode::kUnsupported);
  EXPECT_NE(paused.message().find("no --db-pause command"), std::string::npos);
  // No setup or teardown: a cluster already running, left running.
  EXPECT_TRUE(db.Setup(test, "n1", remote).ok());
  EXPECT_TRUE(db.Teardown(test, "n1", remote).ok());
  EXPECT_EQ(remote.command_count(), 1u);  // the kill only: nothing ran for the others
}

TEST(CommandDbTest, BuildTestTakesTheCommandsOnlyForExec) {
  TestOptions options = Options();
  WorkloadOptions workload;
  workload.db = "exec";
  workload.client_command = "true";
  workload.db_flags["db-kill"] = {"kill {node}"};
  workload.db_flags["db-start"] = {"start {node}"};
  workload.nemesis = "kill";
  Result<faultline::Test> test = BuildTest(options, workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  ASSERT_NE(test->db, nullptr);
  EXPECT_NE(test->nemesis, nullptr);
  workload.db_flags["db-kill"] = {"kill {pid}"};
  EXPECT_EQ(BuildTest(options, workload).status().message().rfind("--db-kill: unknown", 0), 0u);
  workload.db_flags["db-kill"] = {"kill {node}"};
  workload.db = "fake";
  workload.client_command.clear();
  workload.nemesis = "none";
  EXPECT_EQ(BuildTest(options, workload).status().message(),
            "--db-kill applies to --db exec, not --db fake");
}

}  // namespace
}  // namespace faultline::clients::commands
