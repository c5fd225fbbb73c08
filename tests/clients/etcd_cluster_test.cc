// EtcdDb and EtcdClient against real etcd members on the local cluster (3 namespaces, one sshd
// each, real SSH): setup, reads/writes/cas through the gateway, kill + start, pause + resume,
// teardown; short register and list-append runs through the lifecycle. Skipped unless root with
// etcd installed and no other cluster up. Takes the machine's cluster lock
// (tests/support/cluster_lock.h) and brings its cluster down in TearDown.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checker/linearizable/linearizable.h"
#include "checker/verdict.h"
#include "clients/etcd/etcd.h"
#include "clients/etcd_test_support.h"
#include "clients/registry.h"
#include "core/history_io.h"
#include "generators/combinators.h"
#include "runner/cluster/cluster.h"
#include "runner/control/remote.h"
#include "runner/control/ssh_remote.h"
#include "runner/lifecycle.h"
#include "support/cluster_lock.h"
#include "support/skip.h"

namespace faultline::etcd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using testing::Gone;
using testing::ProcessState;
using testing::ReadFile;

Op Invoke(const std::string& f, Json value) {
  Op op;
  op.f = f;
  op.value = std::move(value);
  return op;
}

class EtcdClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) FAULTLINE_SKIP() << "needs root (namespaces, bridge, sshd)";
    if (!fs::exists("/usr/bin/etcd")) {
      FAULTLINE_SKIP() << "etcd is not installed (scripts/setup.sh)";
    }
    lock_ = std::make_unique<faultline::testing::ClusterLock>();
    ASSERT_TRUE(lock_->held());
    for (const char* program : {"/usr/sbin/ip", "/usr/sbin/sshd", "/usr/sbin/start-stop-daemon"}) {
      if (!fs::exists(program)) FAULTLINE_SKIP() << program << " is missing";
    }
    if (fs::exists(std::string("/sys/class/net/") + cluster::kBridge)) {
      FAULTLINE_SKIP() << cluster::kBridge
                       << " exists: another local cluster is up on this machine";
    }
    char pattern[] = "/tmp/faultline_etcd_cluster_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    cluster_options_.state_directory = pattern;
    cluster_options_.nodes = 3;
    set_up_ = true;
    Result<cluster::ClusterInfo> cluster = cluster::ClusterUp(cluster_options_);
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = *cluster;
    for (const cluster::NodeInfo& node : cluster_.nodes) {
      test_.options.nodes.push_back(node.name);
      test_.options.node_addresses[node.name] = node.address;
      auto remote = control::ConnectSsh(node.name, cluster::NodeSshOptions(cluster_, node));
      ASSERT_TRUE(remote.ok()) << remote.status().message();
      remotes_.push_back(std::move(*remote));
    }
    test_.options.name = "etcd-cluster-test";
    test_.options.operation_timeout_s = 1;
    EtcdOptions etcd;
    etcd.key_prefix = "etcd-cluster-test/";
    etcd_ = etcd;
    db_ = std::make_unique<EtcdDb>(etcd);
  }

  void TearDown() override {
    if (set_up_) {
      if (db_ && !torn_down_) {
        for (size_t i = 0; i < remotes_.size(); ++i) {
          (void)db_->Teardown(test_, test_.options.nodes[i], *remotes_[i]);
        }
      }
      remotes_.clear();
      Status down = cluster::ClusterDown(cluster_options_);
      EXPECT_TRUE(down.ok()) << down.message();
      std::error_code ignored;
      fs::remove_all(cluster_options_.state_directory, ignored);
    }
    lock_.reset();
  }

  // Setup on every node at once, as the lifecycle does (a member is healthy only with a quorum).
  Status SetupAll() {
    std::vector<Status> statuses(remotes_.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < remotes_.size(); ++i) {
      threads.emplace_back(
          [&, i] { statuses[i] = db_->Setup(test_, test_.options.nodes[i], *remotes_[i]); });
    }
    for (std::thread& thread : threads) thread.join();
    for (const Status& status : statuses) {
      if (!status.ok()) return status;
    }
    return Status::Ok();
  }

  // The node's etcd directory as the host sees it (the node's /root is state/n<i>/root).
  fs::path HostDirectory(size_t node) const {
    return cluster_.nodes[node].directory / "root" / "faultline-etcd";
  }

  int Pid(size_t node) const {
    std::string text = ReadFile(HostDirectory(node) / "etcd.pid");
    return text.empty() ? 0 : std::stoi(text);
  }

  std::unique_ptr<EtcdClient> OpenClient(
      size_t node, ReadConsistency consistency = ReadConsistency::kLinearizable) {
    EtcdOptions options = etcd_;
    options.read_consistency = consistency;
    auto client = std::make_unique<EtcdClient>(options);
    EXPECT_TRUE(client->Open(test_, test_.options.nodes[node]).ok());
    return client;
  }

  // The lifecycle's way to the nodes: SSH to the local cluster's sshds.
  Connector Connect() {
    return [this](const std::string& node) {
      for (const cluster::NodeInfo& info : cluster_.nodes) {
        if (info.name == node)
          return control::ConnectSsh(node, cluster::NodeSshOptions(cluster_, info));
      }
      return Result<std::unique_ptr<control::Remote>>(Status::InvalidArgument("no node " + node));
    };
  }

  // Invokes until the completion is ok or `timeout_s` passes; returns the last completion.
  Op InvokeUntilOk(EtcdClient& client, const Op& invoke, double timeout_s) {
    auto start = Clock::now();
    Op completion = client.Invoke(test_, invoke);
    while (completion.type != OpType::kOk && SecondsSince(start) < timeout_s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      completion = client.Invoke(test_, invoke);
    }
    return completion;
  }

  cluster::ClusterOptions cluster_options_;
  cluster::ClusterInfo cluster_;
  std::unique_ptr<faultline::testing::ClusterLock> lock_;
  std::vector<std::unique_ptr<control::Remote>> remotes_;
  faultline::Test test_;
  EtcdOptions etcd_;
  std::unique_ptr<EtcdDb> db_;
  bool set_up_ = false;
  bool torn_down_ = false;
};

TEST_F(EtcdClusterTest, MembersServeRegistersSurviveKillAndPauseAndLeaveNothingBehind) {
  auto start = Clock::now();
  Status setup = SetupAll();
  ASSERT_TRUE(setup.ok()) << setup.message();
  std::cout << "[ etcd     ] 3 members healthy in " << SecondsSince(start) << " s\n";
  std::vector<int> pids;
  for (size_t i = 0; i < 3; ++i) {
    pids.push_back(Pid(i));
    ASSERT_GT(pids[i], 0);
    EXPECT_EQ(ReadFile("/proc/" + std::to_string(pids[i]) + "/comm"), "etcd\n");
    EXPECT_TRUE(fs::exists(HostDirectory(i) / "data" / "member"));
  }
  EXPECT_NE(pids[0], pids[1]);
  EXPECT_NE(pids[1], pids[2]);
  setup = SetupAll();
  ASSERT_TRUE(setup.ok()) << setup.message();  // idempotent: the same members keep running
  EXPECT_EQ(Pid(0), pids[0]);

  std::vector<std::unique_ptr<EtcdClient>> clients;
  for (size_t i = 0; i < 3; ++i) clients.push_back(OpenClient(i));
  Op missing = clients[0]->Invoke(test_, Invoke("read", Json::array({"a", nullptr})));
  EXPECT_EQ(missing.type, OpType::kOk);
  EXPECT_EQ(missing.value, Json::array({"a", nullptr}));
  EXPECT_EQ(clients[0]->Invoke(test_, Invoke("write", Json::array({"a", 1}))).type, OpType::kOk);
  Op read = clients[1]->Invoke(test_, Invoke("read", Json::array({"a", nullptr})));
  EXPECT_EQ(read.value, Json::array({"a", 1}));  // linearizable: another member sees the write
  EXPECT_EQ(clients[2]->Invoke(test_, Invoke("cas", Json::array({"a", Json::array({1, 2})}))).type,
            OpType::kOk);
  Op lost = clients[0]->Invoke(test_, Invoke("cas", Json::array({"a", Json::array({1, 3})})));
  EXPECT_EQ(lost.type, OpType::kFail);
  EXPECT_EQ(lost.error, "compare failed");
  auto serializable = OpenClient(1, ReadConsistency::kSerializable);
  Op local_read = InvokeUntilOk(*serializable, Invoke("read", Json::array({"a", nullptr})), 5);
  EXPECT_EQ(local_read.type, OpType::kOk);

  // Kill n1: its client is refused (fail), the others go on, Start brings it back with its data.
  auto kill_start = Clock::now();
  ASSERT_TRUE(db_->Kill(test_, "n1", *remotes_[0]).ok());
  std::cout << "[ etcd     ] kill took " << SecondsSince(kill_start) << " s\n";
  EXPECT_TRUE(Gone(pids[0]));
  EXPECT_FALSE(fs::exists(HostDirectory(0) / "etcd.pid"));
  EXPECT_FALSE(Gone(pids[1]));
  EXPECT_TRUE(db_->Kill(test_, "n1", *remotes_[0]).ok());   // killing a dead member is ok
  EXPECT_TRUE(db_->Pause(test_, "n1", *remotes_[0]).ok());  // nothing to pause
  Op refused = clients[0]->Invoke(test_, Invoke("write", Json::array({"a", 4})));
  EXPECT_EQ(refused.type, OpType::kFail) << refused.error;
  EXPECT_EQ(InvokeUntilOk(*clients[1], Invoke("write", Json::array({"b", 7})), 5).type,
            OpType::kOk);
  ASSERT_TRUE(db_->Start(test_, "n1", *remotes_[0]).ok());
  EXPECT_NE(Pid(0), pids[0]);
  ASSERT_TRUE(db_->Start(test_, "n1", *remotes_[0]).ok());  // already running: ok
  Op caught_up = InvokeUntilOk(*clients[0], Invoke("read", Json::array({"b", nullptr})), 10);
  EXPECT_EQ(caught_up.value, Json::array({"b", 7}));

  // Pause n2: a write sent to it times out (info); after Resume it serves again.
  int paused = Pid(1);
  ASSERT_TRUE(db_->Pause(test_, "n2", *remotes_[1]).ok());
  EXPECT_EQ(ProcessState(paused), 'T');
  Op unsure = clients[1]->Invoke(test_, Invoke("write", Json::array({"c", 1})));
  EXPECT_EQ(unsure.type, OpType::kInfo);
  EXPECT_EQ(unsure.error, "timeout");
  EXPECT_EQ(clients[1]->Invoke(test_, Invoke("read", Json::array({"c", nullptr}))).type,
            OpType::kFail);
  ASSERT_TRUE(db_->Resume(test_, "n2", *remotes_[1]).ok());
  EXPECT_NE(ProcessState(paused), 'T');
  EXPECT_EQ(InvokeUntilOk(*clients[1], Invoke("write", Json::array({"c", 2})), 10).type,
            OpType::kOk);

  // The log comes back over SFTP and holds the member's startup.
  fs::path local = cluster_options_.state_directory / "n1-etcd.log";
  ASSERT_EQ(db_->LogFiles(test_, "n1").size(), 1u);
  ASSERT_TRUE(remotes_[0]->Download(db_->LogFiles(test_, "n1")[0], local).ok());
  EXPECT_NE(ReadFile(local).find("starting an etcd server"), std::string::npos);

  auto teardown_start = Clock::now();
  for (size_t i = 0; i < 3; ++i) {
    int pid = Pid(i);
    Status status = db_->Teardown(test_, test_.options.nodes[i], *remotes_[i]);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_TRUE(Gone(pid));
    EXPECT_FALSE(fs::exists(HostDirectory(i)));
  }
  torn_down_ = true;
  std::cout << "[ etcd     ] teardown took " << SecondsSince(teardown_start) << " s, the test "
            << SecondsSince(start) << " s after cluster up\n";
}

// The whole chain through the lifecycle: setup over SSH, 6 clients on 3 members, per-key
// histories checked against the cas-register model, logs downloaded, teardown.
TEST_F(EtcdClusterTest, AShortRegisterRunIsLinearizable) {
  TestOptions options = test_.options;
  options.concurrency = 6;
  options.time_limit_s = 4;
  options.store_dir = (cluster_options_.state_directory / "store").string();
  Result<faultline::Test> built = BuildEtcdTest(options, etcd_, "register");
  ASSERT_TRUE(built.ok()) << built.status().message();
  built->checker = MakeLinearizableChecker({"cas-register", Json()});  // a fresh key reads nil
  gen::KeyFunction keys = [](int64_t position) -> std::optional<Json> { return Json(position); };
  built->generator =
      gen::Clients(gen::TimeLimit(4'000'000'000, gen::Independent(keys, 3, 100, [](const Json&) {
                                    return gen::Repeat(gen::OpFunction(clients::RegisterOp));
                                  })));
  auto start = Clock::now();
  RunOutcome outcome = RunTest(*built, Connect(), {});
  std::cout << "[ etcd     ] register run of 4 s took " << SecondsSince(start) << " s\n";
  EXPECT_TRUE(outcome.error.ok()) << outcome.error.message();
  EXPECT_EQ(outcome.verdict, Verdict::kValid) << outcome.results.dump();
  std::string history = ReadFile(outcome.directory.history());
  size_t oks = 0;
  for (size_t at = history.find("\"type\":\"ok\""); at != std::string::npos;
       at = history.find("\"type\":\"ok\"", at + 1)) {
    ++oks;
  }
  EXPECT_GT(oks, 100u);
  std::cout << "[ etcd     ] " << oks << " ok ops\n";
  EXPECT_NE(ReadFile(outcome.directory.node("n2") / "etcd.log").find("starting an etcd server"),
            std::string::npos);
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(fs::exists(HostDirectory(i)));
}

// list-append through the registry (as `faultline test --db etcd --workload list-append`) and the
// lifecycle: 6 clients on 3 members for 12 s, each txn a range per key and one Txn comparing
// mod_revisions, judged strict-serializable by the list-append checker.
TEST_F(EtcdClusterTest, AShortListAppendRunIsStrictSerializable) {
  TestOptions options = test_.options;
  options.name = "etcd-list-append";
  options.concurrency = 6;
  options.time_limit_s = 12;
  options.store_dir = (cluster_options_.state_directory / "store").string();
  clients::WorkloadOptions workload;
  workload.db = "etcd";
  workload.workload = "list-append";
  Result<faultline::Test> built = clients::BuildTest(options, workload);
  ASSERT_TRUE(built.ok()) << built.status().message();
  EXPECT_EQ(built->checker->Describe()["checkers"][0],
            (Json{{"name", "list-append"}, {"consistency_model", "strict-serializable"}}));
  auto start = Clock::now();
  RunOutcome outcome = RunTest(*built, Connect(), {});
  std::cout << "[ etcd     ] list-append run of 12 s took " << SecondsSince(start) << " s\n";
  EXPECT_TRUE(outcome.error.ok()) << outcome.error.message();
  EXPECT_EQ(outcome.verdict, Verdict::kValid) << outcome.explanation << "\n"
                                              << outcome.results.dump(2);
  EXPECT_TRUE(outcome.results["checkers"].contains("list-append")) << outcome.results.dump(2);
  Result<History> history = ReadHistoryFile(outcome.directory.history().string());
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  size_t invokes = 0, oks = 0, fails = 0, infos = 0, appends = 0, reads = 0, nonempty_reads = 0;
  for (const Op& op : history->ops) {
    if (op.f != "txn") continue;
    if (op.type == OpType::kInvoke) ++invokes;
    if (op.type == OpType::kFail) ++fails;
    if (op.type == OpType::kInfo) ++infos;
    if (op.type != OpType::kOk) continue;
    ++oks;
    for (const Json& mop : op.value) {
      if (mop[0] == "append") ++appends;
      if (mop[0] != "r") continue;
      ++reads;
      if (mop[2].is_array() && !mop[2].empty()) ++nonempty_reads;
    }
  }
  std::cout << "[ etcd     ] " << invokes << " txns: " << oks << " ok (" << appends << " appends, "
            << reads << " reads, " << nonempty_reads << " saw appends), " << fails << " fail, "
            << infos << " info\n";
  EXPECT_GT(oks, 300u);
  EXPECT_GT(appends, 100u);
  EXPECT_GT(nonempty_reads, 100u);
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(fs::exists(HostDirectory(i)));
}

}  // namespace
}  // namespace faultline::etcd
