// A fixture for a real database's acceptance tests on the local cluster (tests/e2e): root only,
// the machine-wide cluster lock held, a 3-node cluster in a fresh folder of its own, taken down
// at the end (the folder kept when the test failed). Run() drives `faultline test --db DB` through
// the CLI, as a user does.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/op.h"
#include "runner/cluster/cluster.h"
#include "support/cluster_lock.h"
#include "support/command.h"
#include "support/skip.h"

namespace faultline::testing {

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The state letter of /proc/<pid>/stat ('Z' for a zombie), '?' when unreadable.
inline char ProcessState(const std::filesystem::path& process) {
  const std::string stat = ReadText(process / "stat");
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

class DatabaseClusterTest : public ::testing::Test {
 protected:
  // `db` for --db; `programs` that must exist on this machine (scripts/setup.sh installs them).
  DatabaseClusterTest(std::string db, std::vector<std::string> programs)
      : db_(std::move(db)), programs_(std::move(programs)) {}

  void SetUp() override {
    if (::geteuid() != 0) FAULTLINE_SKIP() << "needs root (namespaces, sshd)";
    programs_.insert(programs_.end(), {"/usr/sbin/sshd", "/usr/sbin/ip"});
    for (const std::string& program : programs_) {
      if (!std::filesystem::exists(program))
        FAULTLINE_SKIP() << program << " is missing (scripts/setup.sh)";
    }
    lock_ = std::make_unique<ClusterLock>();
    ASSERT_TRUE(lock_->held()) << lock_->error();
    if (std::filesystem::exists(std::string("/sys/class/net/") + cluster::kBridge)) {
      FAULTLINE_SKIP() << cluster::kBridge
                       << " exists: another local cluster is up on this machine";
    }
    std::string pattern = "/tmp/faultline_" + db_ + "_e2e_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
    set_up_ = true;
  }

  void TearDown() override {
    if (!set_up_) return;
    cluster::ClusterOptions options;
    options.state_directory = directory_ / "cluster";
    Status down = cluster::ClusterDown(options);
    EXPECT_TRUE(down.ok()) << down.message();
    std::error_code ignored;
    if (!HasFailure()) std::filesystem::remove_all(directory_, ignored);
    lock_.reset();
  }

  // `faultline test --db DB` on a 3-node local cluster with `flags`; the run's results.json (an
  // empty object when the run named no run directory). Sets output_ and run_.
  Json Run(const std::string& flags, int* exit_code) {
    CommandOutput run = Faultline("test --local --local-nodes 3 --cluster-state-dir " +
                                  (directory_ / "cluster").string() + " --store " +
                                  (directory_ / "store").string() + " --db " + db_ + " " + flags);
    *exit_code = run.exit_code;
    output_ = run.out;
    size_t at = output_.rfind("run directory ");
    if (at == std::string::npos) return Json::object();
    size_t end = output_.find('\n', at);
    run_ = output_.substr(at + 14, end - at - 14);
    return Json::parse(ReadText(run_ / "results.json"), nullptr, false);
  }

  std::filesystem::path directory_, run_;
  std::string output_;

 private:
  const std::string db_;
  std::vector<std::string> programs_;
  std::unique_ptr<ClusterLock> lock_;
  bool set_up_ = false;
};

}  // namespace faultline::testing
