// The whole lifecycle (RunTest) on etcd's Db and client, with nodes that are a FakeRemote for
// the shell and a stand-in HTTP port on 127.0.0.1 that answers the wrong JSON: the run ends
// with a clear error and still heals the nemesis and tears every node down. Before, a node
// answering {"health":true} threw nlohmann's type_error on a setup thread: std::terminate, with
// the members running and nothing healed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checker/linearizable/linearizable.h"
#include "clients/etcd/etcd.h"
#include "clients/etcd_listener.h"
#include "clients/etcd_test_support.h"
#include "generators/combinators.h"
#include "runner/control/fake_remote.h"
#include "runner/lifecycle.h"
#include "support/runner_doubles.h"

namespace faultline::etcd {
namespace {

using control::CommandResult;
using control::FakeRemote;
using faultline::testing::RecordingNemesis;
using testing::Listener;

// The session RunTest owns, forwarding to a FakeRemote the test keeps, to read its records after
// the run.
class SharedRemote : public control::Remote {
 public:
  explicit SharedRemote(std::shared_ptr<FakeRemote> fake) : fake_(std::move(fake)) {}
  const std::string& node() const override { return fake_->node(); }
  Result<CommandResult> Execute(const control::Command& command) override {
    return fake_->Execute(command);
  }
  Status Upload(const std::filesystem::path& local, const std::string& remote) override {
    return fake_->Upload(local, remote);
  }
  Status Download(const std::string& remote, const std::filesystem::path& local) override {
    return fake_->Download(remote, local);
  }

 private:
  std::shared_ptr<FakeRemote> fake_;
};

// Three nodes on 127.0.0.1 whose HTTP port is `port`, their shells scripted FakeRemotes.
class WrongJsonRun {
 public:
  WrongJsonRun(const std::string& name, int port) {
    TestOptions options;
    options.name = name;
    options.nodes = {"n1", "n2", "n3"};
    options.node_addresses = {{"n1", "127.0.0.1"}, {"n2", "127.0.0.1"}, {"n3", "127.0.0.1"}};
    options.concurrency = 3;
    options.operation_timeout_s = 2;
    store_ = std::filesystem::temp_directory_path() / ("faultline_etcd_" + name);
    std::filesystem::remove_all(store_);
    options.store_dir = store_.string();
    EtcdOptions etcd;
    etcd.client_port = port;
    etcd.start_timeout_s = 20;
    Result<Test> test = BuildEtcdTest(options, etcd, "register");
    EXPECT_TRUE(test.ok()) << test.status().message();
    if (test.ok()) test_ = *test;
    test_.checker = MakeLinearizableChecker({"cas-register", Json()});  // the caller's part
    test_.nemesis = nemesis_;
    for (const std::string& node : options.nodes) {
      auto remote = std::make_shared<FakeRemote>(node);
      remote->When("faultline-etcd-dir", CommandResult{0, "/root/faultline-etcd\n", ""});
      remote->When("faultline-etcd-claim", CommandResult{0, "/root/faultline-etcd\n", ""});
      remote->When("faultline-etcd-alive", CommandResult{0, "running\n", ""});
      remotes_[node] = remote;
    }
  }
  ~WrongJsonRun() { std::filesystem::remove_all(store_); }

  Test& test() { return test_; }
  RecordingNemesis& nemesis() { return *nemesis_; }

  RunOutcome Run() {
    Connector connect =
        [this](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
      return std::unique_ptr<control::Remote>(std::make_unique<SharedRemote>(remotes_.at(node)));
    };
    return RunTest(test_, connect, {});
  }

  // The etcd scripts run on `node`, by name, in order.
  std::vector<std::string> Scripts(const std::string& node) const {
    std::vector<std::string> names;
    for (const FakeRemote::Record& record : remotes_.at(node)->records()) {
      const std::vector<std::string>& argv = record.command.argv;
      if (argv.size() >= 4 && argv[0] == "sh") names.push_back(argv[3]);
    }
    return names;
  }

 private:
  std::filesystem::path store_;
  Test test_;
  std::shared_ptr<RecordingNemesis> nemesis_ = std::make_shared<RecordingNemesis>();
  std::map<std::string, std::shared_ptr<FakeRemote>> remotes_;
};

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(EtcdWrongJson, ANodeAnsweringTheWrongHealthJsonGivesAClearErrorAndTheRunHealsAndTearsDown) {
  Listener node(Listener::Mode::kAnswer, 200, R"({"health":true})");
  WrongJsonRun run("etcd-wrong-health", node.port());
  run.test().generator = gen::Clients(gen::Once("read"));
  RunOutcome outcome = run.Run();

  ASSERT_FALSE(outcome.error.ok());
  EXPECT_NE(outcome.error.message().find("/health answered \"{\\\"health\\\":true}\", which is "
                                         "not etcd's health response"),
            std::string::npos)
      << outcome.error.message();
  EXPECT_EQ(outcome.verdict, Verdict::kUnknown);
  EXPECT_EQ(run.nemesis().setups, 0);  // the database never came up
  EXPECT_EQ(run.nemesis().teardowns, 1);
  for (const std::string node_name : {"n1", "n2", "n3"}) {
    std::vector<std::string> scripts = run.Scripts(node_name);
    EXPECT_TRUE(Contains(scripts, "faultline-etcd-kill")) << node_name;
    EXPECT_TRUE(Contains(scripts, "faultline-etcd-teardown")) << node_name;
  }
  std::string log = testing::ReadFile(outcome.directory.log());
  EXPECT_NE(log.find("healing: nemesis teardown"), std::string::npos) << log;
  EXPECT_NE(log.find("tearing down the database"), std::string::npos) << log;
}

// Healthy members whose kv answers have the wrong types: every op completes with the reason
// (reads fail, a cas is unsure), and the run heals and tears down as usual.
TEST(EtcdWrongJson, KvAnswersWithTheWrongTypesCompleteOpsWithTheReason) {
  Listener node([](const std::string& request) {
    if (request.rfind("GET /health", 0) == 0) {
      return Listener::Answer{200, R"({"health":"true"})"};
    }
    if (request.rfind("POST /v3/kv/range", 0) == 0) {
      return Listener::Answer{200, R"({"header":{},"kvs":[{"value":5}]})"};
    }
    return Listener::Answer{200, R"({"header":{},"succeeded":"true"})"};
  });
  WrongJsonRun run("etcd-wrong-kvs", node.port());
  run.test().generator = gen::Clients(
      gen::Limit(30, gen::Mix({gen::Repeat("read", Json::array({1, nullptr})),
                               gen::Repeat("cas", Json::array({1, Json::array({1, 2})}))})));
  RunOutcome outcome = run.Run();

  EXPECT_TRUE(outcome.error.ok()) << outcome.error.message();
  EXPECT_EQ(run.nemesis().setups, 1);
  EXPECT_EQ(run.nemesis().teardowns, 1);
  EXPECT_TRUE(Contains(run.Scripts("n2"), "faultline-etcd-teardown"));
  std::string history = testing::ReadFile(outcome.directory.history());
  int reads = 0;
  int cases = 0;
  for (size_t at = 0;
       (at = history.find("unexpected range response: a key-value's", at)) != std::string::npos;
       ++at) {
    ++reads;
  }
  for (size_t at = 0;
       (at = history.find(R"(unexpected response: \"succeeded\" is not true or false)", at)) !=
       std::string::npos;
       ++at) {
    ++cases;
  }
  EXPECT_GT(reads, 0) << history;
  EXPECT_GT(cases, 0) << history;
  EXPECT_EQ(history.find("threw"), std::string::npos) << history;
}

}  // namespace
}  // namespace faultline::etcd
