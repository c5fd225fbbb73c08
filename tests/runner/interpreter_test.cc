// The interpreter and lifecycle with scripted clients: process numbering after info, exceptions,
// failed opens, node assignment, the nemesis thread, and healing when a phase fails.
#include "runner/interpreter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>

#include "generators/combinators.h"
#include "runner/control/fake_remote.h"
#include "runner/lifecycle.h"

namespace faultline {
namespace {

// Answers by f: "ok", "fail", "info", "throw"; records which node each process opened.
class ScriptedClient : public Client {
 public:
  explicit ScriptedClient(std::map<int64_t, std::string>* nodes, std::mutex* mutex)
      : nodes_(nodes), mutex_(mutex) {}
  Status Open(const Test&, const std::string& node) override {
    node_ = node;
    if (node == "refuses") return Status::IoError("connection refused");
    return Status::Ok();
  }
  Op Invoke(const Test&, const Op& invoke) override {
    {
      std::lock_guard lock(*mutex_);
      (*nodes_)[invoke.process] = node_;
    }
    if (invoke.f == "throw") throw std::runtime_error("boom");
    Op completion = invoke;
    completion.type = invoke.f == "fail"   ? OpType::kFail
                      : invoke.f == "info" ? OpType::kInfo
                                           : OpType::kOk;
    return completion;
  }

 private:
  std::map<int64_t, std::string>* nodes_;
  std::mutex* mutex_;
  std::string node_;
};

class RecordingNemesis : public Nemesis {
 public:
  Status Setup(const Test&, const NodeRemotes&) override {
    ++setups;
    return Status::Ok();
  }
  Op Invoke(const Test&, const Op& invoke) override {
    Op completion = invoke;
    completion.type = OpType::kInfo;
    completion.value = "partitioned";
    return completion;
  }
  Status Teardown(const Test&) override {
    ++teardowns;
    return Status::Ok();
  }
  int setups = 0;
  int teardowns = 0;
};

struct Fixture {
  std::map<int64_t, std::string> nodes_by_process;
  std::mutex mutex;
  Test test;
  Fixture(int concurrency, std::vector<std::string> nodes) {
    test.options.concurrency = concurrency;
    test.options.nodes = std::move(nodes);
    test.options.operation_timeout_s = 5;
    test.new_client = [this] {
      return std::make_unique<ScriptedClient>(&nodes_by_process, &mutex);
    };
    test.model = {"register", Json()};
  }
};

std::vector<Op> Completions(const History& history) {
  std::vector<Op> completions;
  for (const Op& op : history.ops) {
    if (op.is_completion()) completions.push_back(op);
  }
  return completions;
}

TEST(Interpreter, InfoAndExceptionsStartANewProcess) {
  Fixture fixture(1, {"n1"});
  Interpreter interpreter(fixture.test, nullptr, nullptr, 1);
  ASSERT_TRUE(
      interpreter
          .Run(gen::Clients(gen::Concat({gen::Once("ok"), gen::Once("info"), gen::Once("ok"),
                                         gen::Once("throw"), gen::Once("ok")})))
          .ok());
  std::vector<int64_t> processes;
  std::vector<OpType> types;
  for (const Op& op : Completions(interpreter.history())) {
    processes.push_back(op.process);
    types.push_back(op.type);
  }
  EXPECT_EQ(processes, (std::vector<int64_t>{0, 0, 1, 1, 2}));
  EXPECT_EQ(types, (std::vector<OpType>{OpType::kOk, OpType::kInfo, OpType::kOk, OpType::kInfo,
                                        OpType::kOk}));
  EXPECT_EQ(Completions(interpreter.history())[3].error, "client threw: boom");
  const History& history = interpreter.history();
  for (size_t i = 0; i < history.ops.size(); ++i) EXPECT_EQ(history.ops[i].index, int64_t(i));
}

TEST(Interpreter, ThreadITalksToNodeIModN) {
  Fixture fixture(4, {"n1", "n2", "n3"});
  Interpreter interpreter(fixture.test, nullptr, nullptr, 1);
  ASSERT_TRUE(interpreter.Run(gen::Clients(gen::EachThread(gen::Once("ok")))).ok());
  EXPECT_EQ(fixture.nodes_by_process,
            (std::map<int64_t, std::string>{{0, "n1"}, {1, "n2"}, {2, "n3"}, {3, "n1"}}));
}

TEST(Interpreter, AClientThatCannotOpenFailsItsOp) {
  Fixture fixture(1, {"refuses"});
  Interpreter interpreter(fixture.test, nullptr, nullptr, 1);
  ASSERT_TRUE(interpreter.Run(gen::Clients(gen::Once("ok"))).ok());
  std::vector<Op> completions = Completions(interpreter.history());
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].type, OpType::kFail);  // nothing was sent
  EXPECT_EQ(completions[0].error, "client open failed: connection refused");
}

TEST(Interpreter, NemesisOpsRunOnTheNemesisThread) {
  Fixture fixture(2, {"n1"});
  auto nemesis = std::make_shared<RecordingNemesis>();
  fixture.test.nemesis = nemesis;
  Interpreter interpreter(fixture.test, nullptr, nullptr, 1);
  ASSERT_TRUE(interpreter.Run(gen::Nemesis(gen::Once("start-partition"))).ok());
  std::vector<Op> completions = Completions(interpreter.history());
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].process, kNemesisProcess);
  EXPECT_EQ(completions[0].value, "partitioned");
}

TEST(Interpreter, SameSeedSameSchedule) {
  auto schedule = [](uint64_t seed) {
    Fixture fixture(1, {"n1"});
    Interpreter interpreter(fixture.test, nullptr, nullptr, seed);
    gen::OpFunction random_op = [](const gen::Context&, gen::Rng& rng) {
      return gen::MakeOp("ok", static_cast<int64_t>(rng() % 1000));
    };
    EXPECT_TRUE(interpreter.Run(gen::Clients(gen::Limit(50, gen::Repeat(random_op)))).ok());
    std::vector<Json> values;
    for (const Op& op : interpreter.history().ops) values.push_back(op.value);
    return values;
  };
  EXPECT_EQ(schedule(7), schedule(7));
  EXPECT_NE(schedule(7), schedule(8));
}

// A database whose setup fails: the run still heals the nemesis, tears down, and is not valid.
class FailingDb : public Db {
 public:
  Status Setup(const Test&, const std::string& node, control::Remote&) override {
    return Status::IoError(node + ": install failed");
  }
  Status Teardown(const Test&, const std::string&, control::Remote&) override {
    ++teardowns;
    return Status::Ok();
  }
  std::atomic<int> teardowns{0};
};

TEST(Lifecycle, AFailedSetupStillHealsAndTearsDown) {
  Fixture fixture(2, {"n1", "n2"});
  auto db = std::make_shared<FailingDb>();
  auto nemesis = std::make_shared<RecordingNemesis>();
  fixture.test.db = db;
  fixture.test.nemesis = nemesis;
  fixture.test.generator = gen::Clients(gen::Once("ok"));
  auto store = std::filesystem::temp_directory_path() / "faultline_lifecycle_failed_setup";
  std::filesystem::remove_all(store);
  fixture.test.options.store_dir = store.string();
  Connector connect = [](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
    return std::unique_ptr<control::Remote>(std::make_unique<control::FakeRemote>(node));
  };
  RunOutcome outcome = RunTest(fixture.test, connect, {});
  EXPECT_FALSE(outcome.error.ok());
  EXPECT_NE(outcome.error.message().find("install failed"), std::string::npos);
  EXPECT_EQ(nemesis->teardowns, 1);
  EXPECT_EQ(db->teardowns.load(), 2);
  EXPECT_EQ(outcome.verdict, Verdict::kUnknown);
  EXPECT_EQ(outcome.results["error"], outcome.error.message());
}

}  // namespace
}  // namespace faultline
