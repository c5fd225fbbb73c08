// What other modules' code throws never crosses a thread boundary: the per-node threads of the
// lifecycle and the nemesis, the interpreter's workers, and the lifecycle itself turn it into an
// error (a Status, or a fail/info op), and the run still heals and tears down. Before, any of
// these reached std::terminate (this binary would die) or left RunTest without the teardown.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "checker/linearizable/linearizable.h"
#include "core/catch.h"
#include "generators/combinators.h"
#include "nemesis/internal.h"
#include "runner/control/fake_remote.h"
#include "runner/interpreter.h"
#include "runner/lifecycle.h"
#include "support/runner_doubles.h"

namespace faultline {
namespace {

using testing::Completions;

// What each part throws, by name: "setup", "teardown", "open", "close", "invoke", "invoke-int",
// "nemesis-setup", "nemesis-invoke".
struct Throws {
  std::vector<std::string> where;
  bool at(const std::string& name) const {
    return std::find(where.begin(), where.end(), name) != where.end();
  }
};

class ThrowingDb : public Db {
 public:
  explicit ThrowingDb(const Throws* throws) : throws_(throws) {}
  Status Setup(const Test&, const std::string& node, control::Remote&) override {
    // The type_error a node's {"health":true} used to raise, on the setup thread.
    if (throws_->at("setup") && node == "n2") throw std::runtime_error("type must be string");
    return Status::Ok();
  }
  Status Teardown(const Test&, const std::string&, control::Remote&) override {
    ++teardowns;
    if (throws_->at("teardown")) throw std::runtime_error("teardown broke");
    return Status::Ok();
  }
  std::atomic<int> teardowns{0};

 private:
  const Throws* throws_;
};

class ThrowingClient : public Client {
 public:
  explicit ThrowingClient(const Throws* throws) : throws_(throws) {}
  Status Open(const Test&, const std::string&) override {
    if (throws_->at("open")) throw std::runtime_error("open broke");
    return Status::Ok();
  }
  Op Invoke(const Test&, const Op& invoke) override {
    if (throws_->at("invoke-int")) throw 42;
    Op completion = invoke;
    completion.type = invoke.f == "info" ? OpType::kInfo : OpType::kOk;
    return completion;
  }
  void Close(const Test&) override {
    if (throws_->at("close")) throw std::runtime_error("close broke");
  }

 private:
  const Throws* throws_;
};

// Throws from Setup or Invoke when asked; counts like RecordingNemesis.
class ThrowingNemesis : public testing::RecordingNemesis {
 public:
  explicit ThrowingNemesis(const Throws* throws) : throws_(throws) {}
  Status Setup(const Test& test, const NodeRemotes& remotes) override {
    if (throws_->at("nemesis-setup")) throw std::runtime_error("nemesis setup broke");
    return RecordingNemesis::Setup(test, remotes);
  }
  Op Invoke(const Test& test, const Op& invoke) override {
    if (throws_->at("nemesis-invoke")) throw "a C string";
    return RecordingNemesis::Invoke(test, invoke);
  }

 private:
  const Throws* throws_;
};

class ThrowingRun {
 public:
  explicit ThrowingRun(const std::string& name, std::vector<std::string> throws) {
    throws_.where = std::move(throws);
    test.options.name = name;
    test.options.nodes = {"n1", "n2", "n3"};
    test.options.concurrency = 2;
    test.options.operation_timeout_s = 2;
    store_ = std::filesystem::temp_directory_path() / ("faultline_threads_" + name);
    std::filesystem::remove_all(store_);
    test.options.store_dir = store_.string();
    test.checker = MakeLinearizableChecker({"register", Json()});
    test.db = db;
    test.nemesis = nemesis;
    test.new_client = [this] { return std::make_unique<ThrowingClient>(&throws_); };
    test.generator = gen::Clients(gen::Limit(4, gen::Repeat("read")));  // reads of nil: valid
  }
  ~ThrowingRun() { std::filesystem::remove_all(store_); }

  RunOutcome Go() {
    Connector connect = [](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
      return std::unique_ptr<control::Remote>(std::make_unique<control::FakeRemote>(node));
    };
    return RunTest(test, connect, {});
  }

  Throws throws_;
  std::filesystem::path store_;
  std::shared_ptr<ThrowingDb> db = std::make_shared<ThrowingDb>(&throws_);
  std::shared_ptr<ThrowingNemesis> nemesis = std::make_shared<ThrowingNemesis>(&throws_);
  Test test;
};

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(ThreadBoundary, ADbSetupThatThrowsOnItsNodeThreadIsThatNodesErrorAndTheRunTearsDown) {
  ThrowingRun run("setup-throws", {"setup"});
  RunOutcome outcome = run.Go();
  EXPECT_EQ(outcome.error.message(), "n2: database setup threw: type must be string");
  EXPECT_EQ(outcome.error.code(), StatusCode::kInternal);
  EXPECT_EQ(outcome.verdict, Verdict::kUnknown);
  EXPECT_EQ(run.nemesis->teardowns, 1);
  EXPECT_EQ(run.db->teardowns, 3);
}

TEST(ThreadBoundary, ATeardownThatThrowsIsLoggedAndEveryNodeIsStillTornDown) {
  ThrowingRun run("teardown-throws", {"teardown"});
  RunOutcome outcome = run.Go();
  EXPECT_TRUE(outcome.error.ok()) << outcome.error.message();
  EXPECT_EQ(run.db->teardowns, 3);
  EXPECT_NE(ReadAll(outcome.directory.log())
                .find(" WARN  teardown failed: n1: database teardown threw: teardown broke"),
            std::string::npos);
}

TEST(ThreadBoundary, ANemesisSetupThatThrowsIsAnErrorAndTheRunHealsAndTearsDown) {
  ThrowingRun run("nemesis-setup-throws", {"nemesis-setup"});
  RunOutcome outcome = run.Go();
  EXPECT_EQ(outcome.error.message(), "the nemesis setup threw: nemesis setup broke");
  EXPECT_EQ(run.nemesis->teardowns, 1);
  EXPECT_EQ(run.db->teardowns, 3);
}

TEST(ThreadBoundary, AGeneratorThatThrowsEndsTheWorkloadAndTheRunHealsAndTearsDown) {
  ThrowingRun run("generator-throws", {});
  gen::OpFunction breaks = [](const gen::Context&, gen::Rng&) -> Op {
    throw std::runtime_error("generator broke");
  };
  run.test.generator = gen::Clients(gen::Repeat(breaks));
  RunOutcome outcome = run.Go();
  EXPECT_EQ(outcome.error.message(), "the workload threw: generator broke");
  EXPECT_EQ(run.nemesis->teardowns, 1);
  EXPECT_EQ(run.db->teardowns, 3);
  EXPECT_EQ(outcome.verdict, Verdict::kUnknown);
}

History RunInterpreter(ThrowingRun& run, gen::GenPtr generator) {
  Interpreter interpreter(run.test, nullptr, nullptr, 1);
  EXPECT_TRUE(interpreter.Run(std::move(generator)).ok());
  return interpreter.TakeHistory();
}

TEST(ThreadBoundary, AClientOpenThatThrowsFailsTheOpOnItsWorker) {
  ThrowingRun run("open-throws", {"open"});
  std::vector<Op> completions = Completions(RunInterpreter(run, gen::Clients(gen::Once("ok"))));
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].type, OpType::kFail);
  EXPECT_EQ(completions[0].error, "client open failed: client open threw: open broke");
}

TEST(ThreadBoundary, AnythingAClientOrNemesisThrowsIsAnInfoOpAndCloseMayThrowToo) {
  ThrowingRun run("invoke-throws", {"invoke-int", "close", "nemesis-invoke"});
  std::vector<Op> completions = Completions(RunInterpreter(
      run, gen::Concat({gen::Clients(gen::Once("ok")), gen::Nemesis(gen::Once("start"))})));
  ASSERT_EQ(completions.size(), 2u);
  if (completions[0].is_nemesis()) std::swap(completions[0], completions[1]);
  EXPECT_EQ(completions[0].type, OpType::kInfo);
  EXPECT_EQ(completions[0].error,
            "client threw: an exception that is not a std::exception");  // and Close threw
  EXPECT_TRUE(completions[1].is_nemesis());
  EXPECT_EQ(completions[1].type, OpType::kInfo);
  EXPECT_EQ(completions[1].error, "nemesis threw: an exception that is not a std::exception");
}

TEST(ThreadBoundary, ANemesisActionThatThrowsOnItsNodeThreadIsAnError) {
  std::vector<Status> statuses = nemesis::InParallel(3, [](size_t i) -> Status {
    if (i == 1) throw std::runtime_error("iptables output unreadable");
    return Status::Ok();
  });
  ASSERT_EQ(statuses.size(), 3u);
  EXPECT_TRUE(statuses[0].ok());
  EXPECT_EQ(statuses[1].message(), "a nemesis action threw: iptables output unreadable");
  EXPECT_TRUE(statuses[2].ok());
}

TEST(ThreadBoundary, CatchAllNamesWhatThrewAndPassesAStatusThrough) {
  EXPECT_EQ(CatchAll("x", [] { return Status::IoError("e"); }).message(), "e");
  EXPECT_EQ(CatchAll("x", []() -> Status { throw std::out_of_range("key"); }).message(),
            "x threw: key");
}

}  // namespace
}  // namespace faultline
