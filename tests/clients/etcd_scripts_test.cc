// EtcdDb's shell scripts run for real on this machine (control::LocalRemote), against a stand-in
// `etcd` (a shell script of that name first on PATH, so /proc/<pid>/comm says etcd and its
// cmdline carries the flags): start through start-stop-daemon, idempotent start, pause state,
// kill waiting past the zombie, a pid file pointing at another node's member or at a stranger
// (left alone), teardown. No root, no network; skipped without start-stop-daemon.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "clients/etcd/etcd.h"
#include "clients/etcd_test_support.h"
#include "runner/control/local_remote.h"
#include "support/skip.h"

namespace faultline::etcd {
namespace {

namespace fs = std::filesystem;

using testing::Gone;
using testing::ProcessState;
using testing::ReadFile;
using testing::SettledState;

class EtcdScriptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/sbin/start-stop-daemon") && !fs::exists("/sbin/start-stop-daemon")) {
      FAULTLINE_SKIP() << "start-stop-daemon is missing";
    }
    char pattern[] = "/tmp/faultline_etcd_scripts_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "bin");
    std::ofstream(root_ / "bin" / "etcd") << "#!/bin/sh\nwhile :; do sleep 0.2; done\n";
    fs::permissions(root_ / "bin" / "etcd", fs::perms::owner_all);
    old_path_ = getenv("PATH") ? getenv("PATH") : "";
    setenv("PATH", ((root_ / "bin").string() + ":" + old_path_).c_str(), 1);
    test_.options.name = "scripts";
    test_.options.nodes = {"n1", "n2"};
    test_.options.node_addresses = {{"n1", "127.0.0.1"}, {"n2", "127.0.0.1"}};
  }

  void TearDown() override {
    if (root_.empty()) return;
    for (const char* node : {"n1", "n2"}) {
      if (fs::exists(root_ / node)) (void)Db(node).Teardown(test_, node, remote_);
    }
    setenv("PATH", old_path_.c_str(), 1);
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  EtcdDb Db(const std::string& node) {
    EtcdOptions options;
    options.directory = (root_ / node).string();
    options.start_timeout_s = 5;
    return EtcdDb(options, [](const std::string&, int64_t) { return true; });
  }

  int Pid(const std::string& node) {
    std::string text = ReadFile(root_ / node / "etcd.pid");
    return text.empty() ? 0 : std::stoi(text);
  }

  fs::path root_;
  std::string old_path_;
  faultline::Test test_;
  control::LocalRemote remote_;
};

TEST_F(EtcdScriptsTest, StartsPausesResumesKillsAndTearsDownThisNodesProcessOnly) {
  EtcdDb db = Db("n1");
  Status setup = db.Setup(test_, "n1", remote_);
  ASSERT_TRUE(setup.ok()) << setup.message();
  int pid = Pid("n1");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ReadFile("/proc/" + std::to_string(pid) + "/comm"), "etcd\n");
  std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  EXPECT_NE(cmdline.find("--data-dir=" + (root_ / "n1" / "data").string()), std::string::npos);
  EXPECT_NE(cmdline.find("--initial-cluster=n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2380"),
            std::string::npos);
  ASSERT_TRUE(db.Start(test_, "n1", remote_).ok());
  EXPECT_EQ(Pid("n1"), pid);  // already running: not started twice

  ASSERT_TRUE(db.Pause(test_, "n1", remote_).ok());
  EXPECT_EQ(SettledState(pid, 'T'), 'T');
  ASSERT_TRUE(db.Resume(test_, "n1", remote_).ok());
  EXPECT_NE(ProcessState(pid), 'T');

  // Another node's pid file naming n1's member (a reused pid) must not reach it.
  fs::create_directories(root_ / "n2");
  std::ofstream(root_ / "n2" / "etcd.pid") << pid << "\n";
  EtcdDb other = Db("n2");
  ASSERT_TRUE(other.Kill(test_, "n2", remote_).ok());
  ASSERT_TRUE(other.Pause(test_, "n2", remote_).ok());
  EXPECT_FALSE(Gone(pid));
  EXPECT_NE(ProcessState(pid), 'T');
  // Nor a pid file naming a process that is not etcd at all (this test).
  std::ofstream(root_ / "n2" / "etcd.pid", std::ios::trunc) << ::getpid() << "\n";
  ASSERT_TRUE(other.Kill(test_, "n2", remote_).ok());

  Status killed = db.Kill(test_, "n1", remote_);
  ASSERT_TRUE(killed.ok()) << killed.message();
  EXPECT_TRUE(Gone(pid));
  EXPECT_FALSE(fs::exists(root_ / "n1" / "etcd.pid"));
  EXPECT_TRUE(db.Kill(test_, "n1", remote_).ok());
  EXPECT_TRUE(db.Resume(test_, "n1", remote_).ok());

  ASSERT_TRUE(db.Start(test_, "n1", remote_).ok());
  int restarted = Pid("n1");
  EXPECT_NE(restarted, pid);
  EXPECT_FALSE(Gone(restarted));
  ASSERT_TRUE(db.Teardown(test_, "n1", remote_).ok());
  EXPECT_TRUE(Gone(restarted));
  EXPECT_FALSE(fs::exists(root_ / "n1"));
}

TEST_F(EtcdScriptsTest, SetupReportsAMemberThatExitsWithItsLog) {
  std::ofstream(root_ / "bin" / "etcd", std::ios::trunc)
      << "#!/bin/sh\necho 'bind: address already in use' >&2\nsleep 0.5\nexit 1\n";
  EtcdOptions options;
  options.directory = (root_ / "n1").string();
  EtcdDb db(options, [](const std::string&, int64_t) { return false; });
  Status status = db.Setup(test_, "n1", remote_);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("etcd exited while starting"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("address already in use"), std::string::npos);
}

// Setup marks the directory it makes; Teardown removes only a marked (or empty) directory, and
// Setup refuses a non-empty one without the mark: a directory option pointed at someone's files
// never loses them.
TEST_F(EtcdScriptsTest, TeardownRemovesOnlyWhatSetupMarked) {
  EtcdDb db = Db("n1");
  ASSERT_TRUE(db.Setup(test_, "n1", remote_).ok());
  EXPECT_TRUE(fs::exists(root_ / "n1" / ".faultline-etcd"));
  ASSERT_TRUE(db.Teardown(test_, "n1", remote_).ok());
  EXPECT_FALSE(fs::exists(root_ / "n1"));

  // Someone's directory: Setup refuses it and starts nothing; Teardown leaves every file.
  fs::create_directories(root_ / "n2" / "data");
  std::ofstream(root_ / "n2" / "data" / "precious") << "keep me\n";
  EtcdDb other = Db("n2");
  Status setup = other.Setup(test_, "n2", remote_);
  ASSERT_FALSE(setup.ok());
  EXPECT_NE(setup.message().find((root_ / "n2").string() +
                                 " is not empty and has no .faultline-etcd marker"),
            std::string::npos)
      << setup.message();
  EXPECT_FALSE(fs::exists(root_ / "n2" / "etcd.pid"));
  Status teardown = other.Teardown(test_, "n2", remote_);
  ASSERT_FALSE(teardown.ok());
  EXPECT_NE(teardown.message().find("has no .faultline-etcd marker (Setup did not make it): "
                                    "not removed"),
            std::string::npos)
      << teardown.message();
  EXPECT_EQ(ReadFile(root_ / "n2" / "data" / "precious"), "keep me\n");

  // An empty directory (Kill on a node Setup never reached makes one) goes quietly.
  ASSERT_TRUE(Db("n3").Kill(test_, "n3", remote_).ok());
  EXPECT_TRUE(fs::exists(root_ / "n3"));
  ASSERT_TRUE(Db("n3").Teardown(test_, "n3", remote_).ok());
  EXPECT_FALSE(fs::exists(root_ / "n3"));
}

}  // namespace
}  // namespace faultline::etcd
