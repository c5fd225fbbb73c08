// The package: options, the schedule under the simulator, the composed nemesis on fake nodes
// driven by that schedule, teardown after failures, and DescribeFault.
#include "nemesis/nemesis.h"

#include <gtest/gtest.h>

#include "generators/combinators.h"
#include "generators/random.h"
#include "generators/simulator.h"
#include "nemesis/fake_nodes.h"
#include "nemesis/fault.h"
#include "nemesis/partition/partition.h"
#include "nemesis/process/process.h"

namespace faultline::nemesis {
namespace {

using fakes::FakeCluster;
using fakes::RecordingDb;

constexpr int64_t kSecond = 1'000'000'000;

NemesisOptions Options(std::vector<std::string> faults, size_t nodes = 5) {
  NemesisOptions options;
  options.faults = std::move(faults);
  options.interval_s = 10;
  for (size_t i = 1; i <= nodes; ++i) options.nodes.push_back("n" + std::to_string(i));
  return options;
}

NemesisPackage Build(const NemesisOptions& options) {
  Result<NemesisPackage> package = BuildNemesis(options);
  EXPECT_TRUE(package.ok()) << package.status().message();
  return package.ok() ? *package : NemesisPackage{};
}

gen::SimulationOptions Simulation(uint64_t seed, int64_t max_time_ns) {
  gen::SimulationOptions options;
  options.concurrency = 2;
  options.nemesis = true;
  options.seed = seed;
  options.max_time_ns = max_time_ns;
  return options;
}

TEST(BuildNemesis, NoFaultsMeansNoNemesis) {
  for (const auto& faults : {std::vector<std::string>{}, std::vector<std::string>{"none"}}) {
    NemesisPackage package = Build(Options(faults));
    EXPECT_EQ(package.nemesis, nullptr);
    EXPECT_EQ(package.generator, nullptr);
    EXPECT_EQ(package.final_generator, nullptr);
  }
}

TEST(BuildNemesis, ParsesListsInCanonicalOrder) {
  EXPECT_EQ(Build(Options({"pause,partition", "kill+pause"})).faults,
            (std::vector<std::string>{"partition", "kill", "pause"}));
  EXPECT_EQ(FaultNames(),
            (std::vector<std::string>{"partition", "kill", "pause", "amnesia", "packet"}));
}

TEST(BuildNemesis, RejectsBadOptionsClearly) {
  Result<NemesisPackage> unknown = BuildNemesis(Options({"partition,clock"}));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown fault \"clock\""), std::string::npos);
  NemesisOptions zero = Options({"kill"});
  zero.interval_s = 0;
  EXPECT_EQ(BuildNemesis(zero).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(BuildNemesis(Options({"kill"}, 0)).ok());
  EXPECT_FALSE(BuildNemesis(Options({"partition"}, 1)).ok());
  EXPECT_TRUE(BuildNemesis(Options({"kill"}, 1)).ok());
}

Op NemesisInvoke(const std::string& f, Json value) {
  Op op = gen::MakeOp(f, std::move(value));
  op.process = kNemesisProcess;
  return op;
}

// A fault of the test's own, recording what the composed nemesis asks of it into a shared log.
class LoggingFault : public Fault {
 public:
  LoggingFault(std::string name, std::vector<std::string>* log, bool heal_fails)
      : name_(std::move(name)), log_(log), heal_fails_(heal_fails) {}
  Status Setup(const Test&, const NodeRemotes&) override {
    log_->push_back(name_ + " setup");
    return Status::Ok();
  }
  FaultOutcome Start(const Test&, const Json& value) override {
    log_->push_back(name_ + " start " + value.dump());
    return {{{"did", value}}, Status::Ok()};
  }
  FaultOutcome Stop(const Test&) override {
    log_->push_back(name_ + " stop");
    return {{{"healed", name_}}, Status::IoError(name_ + ": could not heal n2")};
  }
  Status HealAll(const Test&) override {
    log_->push_back(name_ + " heal-all");
    if (heal_fails_) throw std::runtime_error(name_ + " broke while healing");
    return Status::Ok();
  }

 private:
  std::string name_;
  std::vector<std::string>* log_;
  bool heal_fails_;
};

FaultKind LoggingKind(const std::string& name, int heal_order, std::vector<std::string>* log,
                      bool heal_fails = false) {
  return {name, "a test fault", heal_order,
          [=](const FaultOptions& options) -> Result<std::unique_ptr<Fault>> {
            if (options.nodes.size() > 5) return Status::InvalidArgument(name + ": too many nodes");
            return std::unique_ptr<Fault>(std::make_unique<LoggingFault>(name, log, heal_fails));
          },
          [](const FaultOptions& options) {
            return options.primaries ? std::vector<std::string>{"any", "primaries"}
                                     : std::vector<std::string>{"any"};
          },
          [=](const std::vector<std::string>& nodes, const std::string& choice, gen::Rng& rng) {
            return Json{{"fault", name},
                        {"choice", choice},
                        {"node", nodes[gen::UniformBelow(rng, nodes.size())]}};
          }};
}

TEST(FaultPlugIns, OpsGoToTheirFaultAndTeardownHealsEveryFaultInHealOrder) {
  std::vector<std::string> log;
  // "skew" heals last though listed first; "drop" throws while healing, and "skew" still heals.
  const std::vector<FaultKind> kinds = {LoggingKind("skew", 5, &log),
                                        LoggingKind("drop", 1, &log, /*heal_fails=*/true),
                                        LoggingKind("unused", 0, &log)};
  NemesisOptions options = Options({"drop+skew"}, 3);
  options.kinds = &kinds;
  NemesisPackage package = Build(options);
  ASSERT_NE(package.nemesis, nullptr);
  EXPECT_EQ(package.faults, (std::vector<std::string>{"skew", "drop"}));  // the kinds' order

  faultline::Test test;
  test.options.nodes = options.nodes;
  ASSERT_TRUE(package.nemesis->Setup(test, NodeRemotes(3, nullptr)).ok());
  Op start = NemesisInvoke("start-drop", Json{{"node", "n2"}});
  Op started = package.nemesis->Invoke(test, start);
  EXPECT_EQ(started.type, OpType::kOk);
  EXPECT_EQ(started.value, Json({{"did", {{"node", "n2"}}}}));
  Op stopped = package.nemesis->Invoke(test, NemesisInvoke("stop-skew", Json()));
  EXPECT_EQ(stopped.type, OpType::kInfo);
  EXPECT_EQ(stopped.value, Json({{"healed", "skew"}}));
  EXPECT_EQ(stopped.error, "skew: could not heal n2");
  Op unknown = package.nemesis->Invoke(test, NemesisInvoke("start-unused", Json()));
  EXPECT_EQ(unknown.type, OpType::kInfo);

  Status healed = package.nemesis->Teardown(test);
  EXPECT_FALSE(healed.ok());
  EXPECT_NE(healed.message().find("drop broke while healing"), std::string::npos)
      << healed.message();
  EXPECT_EQ(log, (std::vector<std::string>{"skew setup", "drop setup",
                                           "drop start {\"node\":\"n2\"}", "skew stop",
                                           "drop heal-all", "skew heal-all"}));
}

TEST(FaultPlugIns, TheScheduleDrawsEachFaultsValuesAndTheFinalPhaseStopsEach) {
  std::vector<std::string> log;
  const std::vector<FaultKind> kinds = {LoggingKind("skew", 0, &log),
                                        LoggingKind("drop", 0, &log)};
  NemesisOptions options = Options({"skew,drop"}, 3);
  options.kinds = &kinds;
  NemesisPackage package = Build(options);
  std::set<std::string> drawn;
  for (const Op& op : gen::Invocations(gen::Simulate(
           package.generator, Simulation(2, 100 * kSecond), gen::AlwaysOk(0)))) {
    if (op.f.rfind("start-", 0) != 0) continue;
    EXPECT_EQ(op.value.at("fault"), op.f.substr(6));
    drawn.insert(op.value.at("fault").get<std::string>() + " " +
                 op.value.at("node").get<std::string>());
  }
  EXPECT_GE(drawn.size(), 4u);  // both faults, on several nodes
  std::vector<std::string> finals;
  for (const Op& op : gen::Invocations(gen::Simulate(
           package.final_generator, Simulation(2, 100 * kSecond), gen::AlwaysOk(0))))
    finals.push_back(op.f);
  EXPECT_EQ(finals, (std::vector<std::string>{"stop-skew", "stop-drop"}));
}

TEST(FaultPlugIns, AFaultThatCannotWorkOnTheNodesAndUnknownNamesAreRefused) {
  std::vector<std::string> log;
  const std::vector<FaultKind> kinds = {LoggingKind("skew", 0, &log)};
  NemesisOptions options = Options({"skew"}, 6);
  options.kinds = &kinds;
  EXPECT_EQ(BuildNemesis(options).status().message(), "skew: too many nodes");
  options.faults = {"skew,partition"};
  EXPECT_EQ(BuildNemesis(options).status().message(),
            "unknown fault \"partition\" (faults: none, skew)");
  EXPECT_EQ(BuildNemesis(Options({"clock"})).status().message(),
            "unknown fault \"clock\" (faults: none, partition, kill, pause, amnesia, packet)");
}

TEST(FaultPlugIns, NemesisTargetsNarrowWhatEachFaultAimsAt) {
  std::vector<std::string> log;
  const std::vector<FaultKind> kinds = {LoggingKind("skew", 0, &log)};
  NemesisOptions options = Options({"skew"}, 3);
  options.kinds = &kinds;
  options.primaries = true;
  options.targets = {"primaries"};
  NemesisPackage package = Build(options);
  std::set<std::string> choices;
  for (const Op& op : gen::Invocations(gen::Simulate(
           package.generator, Simulation(4, 100 * kSecond), gen::AlwaysOk(0)))) {
    if (op.f == "start-skew") choices.insert(op.value.at("choice").get<std::string>());
  }
  EXPECT_EQ(choices, std::set<std::string>{"primaries"});

  options.primaries = false;  // the database names no primaries: nothing left to aim at
  EXPECT_EQ(BuildNemesis(options).status().message(),
            "--nemesis-targets leaves skew nothing to aim at (on these nodes it can aim at any)");
  options.targets = {"any", "isolate-one"};
  EXPECT_EQ(BuildNemesis(options).status().message(),
            "--nemesis-targets isolate-one: no fault asked for (skew) can aim at it on these "
            "nodes");
}

TEST(FaultPlugIns, TheRegisteredFaultsOfferThePrimariesOnlyWhenTheDatabaseNamesThem) {
  FaultOptions options;
  options.nodes = {"n1", "n2", "n3", "n4", "n5"};
  auto choices = [&](const char* fault) { return FindFaultKind(fault)->choices(options); };
  EXPECT_EQ(choices("partition"), (std::vector<std::string>{"random-halves", "isolate-one",
                                                            "majorities-ring", "bridge"}));
  EXPECT_EQ(choices("kill"), (std::vector<std::string>{"one", "minority", "majority", "all"}));
  EXPECT_EQ(choices("amnesia"), (std::vector<std::string>{"one", "minority"}));
  options.primaries = true;
  EXPECT_EQ(choices("partition").back(), "isolate-primaries");
  EXPECT_EQ(choices("pause").back(), "primaries");
  EXPECT_EQ(choices("amnesia"), (std::vector<std::string>{"one", "minority"}));
  gen::Rng rng(1);
  EXPECT_EQ(FindFaultKind("kill")->draw(options.nodes, "primaries", rng),
            Json({{"target", "primaries"}}));
  EXPECT_EQ(FindFaultKind("partition")->draw(options.nodes, "isolate-primaries", rng),
            Json({{"kind", "isolate-primaries"}}));
}

TEST(NemesisSchedule, StartsAndStopsOneFaultEveryIntervalAfterTheLastCompletion) {
  NemesisPackage package = Build(Options({"partition", "kill", "pause"}));
  const int64_t latency = kSecond / 2;
  History history =
      gen::Simulate(package.generator, Simulation(7, 600 * kSecond), gen::AlwaysOk(latency));
  std::vector<Op> invokes = gen::Invocations(history);
  ASSERT_EQ(invokes.size(), 57u);  // one op per 10.5 s over 600 s
  std::set<std::string> started;
  for (size_t i = 0; i < invokes.size(); ++i) {
    const Op& op = invokes[i];
    EXPECT_TRUE(op.is_nemesis());
    EXPECT_EQ(op.time_ns,
              static_cast<int64_t>(i + 1) * 10 * kSecond + static_cast<int64_t>(i) * latency);
    if (i % 2 == 0) {
      ASSERT_EQ(op.f.rfind("start-", 0), 0u) << op.f;
      started.insert(op.f.substr(6));
    } else {
      EXPECT_EQ(op.f, "stop-" + invokes[i - 1].f.substr(6));  // stops the fault it started
      EXPECT_TRUE(op.value.is_null());
    }
  }
  EXPECT_EQ(started.size(), 3u);  // every enabled fault comes up
}

TEST(NemesisSchedule, StartValuesSayExactlyWhatToDo) {
  NemesisPackage package = Build(Options({"partition", "kill"}));
  History history =
      gen::Simulate(package.generator, Simulation(3, 2000 * kSecond), gen::AlwaysOk(0));
  std::set<std::string> kinds, targets;
  for (const Op& op : gen::Invocations(history)) {
    if (op.f == "start-partition") {
      kinds.insert(op.value.at("kind").get<std::string>());
      Result<Grudge> grudge = GrudgeFromJson(op.value.at("drops"), Options({}).nodes);
      ASSERT_TRUE(grudge.ok()) << op.value.dump();
      EXPECT_FALSE(grudge->empty());
    } else if (op.f == "start-kill") {
      const std::string target = op.value.at("target");
      targets.insert(target);
      EXPECT_EQ(op.value.at("nodes").size(), TargetSize(*ParseTarget(target), 5)) << target;
    }
  }
  EXPECT_EQ(kinds,
            (std::set<std::string>{"bridge", "isolate-one", "majorities-ring", "random-halves"}));
  EXPECT_EQ(targets, (std::set<std::string>{"all", "majority", "minority", "one"}));
}

TEST(NemesisSchedule, SeedReplaysTheSameFaults) {
  NemesisPackage package = Build(Options({"partition", "kill", "pause"}));
  auto values = [&](uint64_t seed) {
    std::vector<Json> ops;
    for (const Op& op : gen::Invocations(gen::Simulate(
             package.generator, Simulation(seed, 300 * kSecond), gen::AlwaysOk(kSecond))))
      ops.push_back({op.f, op.value});
    return ops;
  };
  EXPECT_EQ(values(5), values(5));
  EXPECT_NE(values(5), values(6));
}

TEST(NemesisSchedule, EveryEnabledFaultComesOncePerRound) {
  NemesisPackage package = Build(Options({"partition", "kill", "pause"}));
  std::set<std::vector<std::string>> orders;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<std::string> starts;
    for (const Op& op : gen::Invocations(
             gen::Simulate(package.generator, Simulation(seed, 125 * kSecond), gen::AlwaysOk(0)))) {
      if (op.f.rfind("start-", 0) == 0) starts.push_back(op.f);
    }
    ASSERT_EQ(starts.size(), 6u) << "seed " << seed;  // one start every 20 s from 10 s
    for (size_t round = 0; round < 2; ++round) {
      std::set<std::string> kinds(starts.begin() + 3 * round, starts.begin() + 3 * round + 3);
      EXPECT_EQ(kinds.size(), 3u) << "seed " << seed << " round " << round;
    }
    orders.insert({starts.begin(), starts.begin() + 3});
  }
  EXPECT_GT(orders.size(), 1u) << "the seed should decide the order within a round";
}

TEST(NemesisSchedule, RunsAlongsideClientsOnTheNemesisThreadOnly) {
  NemesisPackage package = Build(Options({"kill"}));
  gen::GenPtr generator = gen::TimeLimit(
      35 * kSecond,
      gen::Any({gen::Clients(gen::Delay(kSecond, gen::Repeat("read"))), package.generator}));
  History history = gen::Simulate(generator, Simulation(1, 3600 * kSecond), gen::AlwaysOk(0));
  std::vector<std::string> nemesis_ops;
  size_t client_ops = 0;
  for (const Op& op : gen::Invocations(history)) {
    if (op.is_nemesis()) {
      nemesis_ops.push_back(op.f);
    } else {
      ++client_ops;
    }
  }
  EXPECT_EQ(nemesis_ops, (std::vector<std::string>{"start-kill", "stop-kill", "start-kill"}));
  EXPECT_GT(client_ops, 30u);
}

TEST(NemesisSchedule, FinalGeneratorStopsEveryEnabledFault) {
  NemesisPackage package = Build(Options({"pause", "partition"}));
  History history =
      gen::Simulate(package.final_generator, Simulation(1, 10 * kSecond), gen::AlwaysOk(0));
  std::vector<std::string> fs;
  for (const Op& op : gen::Invocations(history)) {
    EXPECT_TRUE(op.is_nemesis());
    fs.push_back(op.f);
  }
  EXPECT_EQ(fs, (std::vector<std::string>{"stop-partition", "stop-pause"}));
}

// --- the composed nemesis on fake nodes ---

class ComposedNemesis : public ::testing::Test {
 protected:
  ComposedNemesis() : cluster_(5), db_(std::make_shared<RecordingDb>()) {
    test_.options.nodes = cluster_.names();
    test_.db = db_;
  }

  // Every fault's rules or calls, checked right after each completion the simulator gets.
  void CheckPartitionRules(const Op& completion) {
    Result<Grudge> grudge = GrudgeFromJson(completion.value.at("drops"), cluster_.names());
    ASSERT_TRUE(grudge.ok());
    for (size_t i = 0; i < 5; ++i) {
      std::vector<std::string> expected;
      for (const std::string& peer : (*grudge)[cluster_.names()[i]]) {
        expected.push_back("-A FAULTLINE -s " + FakeCluster::Address(peer[1] - '0') +
                           "/32 -j DROP");
      }
      EXPECT_EQ(cluster_.node(i).iptables().Rules("FAULTLINE"), expected) << completion.ToJson();
    }
  }

  FakeCluster cluster_;
  std::shared_ptr<RecordingDb> db_;
  faultline::Test test_;
};

TEST_F(ComposedNemesis, AppliesWhatTheScheduleDrawsAndTeardownHealsEverything) {
  NemesisPackage package = Build(Options({"partition", "kill", "pause"}));
  Nemesis& nemesis = *package.nemesis;
  ASSERT_TRUE(nemesis.Setup(test_, cluster_.remotes()).ok());
  db_->Clear();
  std::map<std::string, int> completed;
  gen::CompletionFunction apply = [&](const Op& invoke, gen::Rng&) {
    Op completion = nemesis.Invoke(test_, invoke);
    EXPECT_EQ(completion.type, OpType::kOk) << completion.ToJson();
    ++completed[completion.f];
    if (completion.f == "start-partition") {
      CheckPartitionRules(completion);
      EXPECT_EQ(completion.value, invoke.value);
    } else if (completion.f == "stop-partition") {
      // Healed: no rule left, the chain kept as this run's lock until Teardown.
      for (size_t i = 0; i < 5; ++i) {
        EXPECT_TRUE(cluster_.node(i).iptables().HasChain("FAULTLINE"));
        EXPECT_TRUE(cluster_.node(i).iptables().Rules("FAULTLINE").empty());
      }
    } else if (completion.f == "start-kill" || completion.f == "start-pause") {
      EXPECT_EQ(completion.value, invoke.value);
    }
    return gen::Completion{completion, kSecond};
  };
  gen::Simulate(package.generator, Simulation(11, 400 * kSecond), apply);
  EXPECT_GE(completed["start-partition"], 2);
  EXPECT_GE(completed["start-kill"], 2);
  EXPECT_GE(completed["start-pause"], 2);
  // The run may end with a fault active; teardown heals it. Afterwards every node's last
  // process call of each kind is the healing one.
  ASSERT_TRUE(nemesis.Teardown(test_).ok());
  std::map<std::string, std::string> last_kill_call, last_pause_call;
  for (const std::string& call : db_->calls()) {
    const std::string action = call.substr(0, call.find(' '));
    const std::string node = call.substr(call.find(' ') + 1);
    (action == "kill" || action == "start" ? last_kill_call : last_pause_call)[node] = action;
  }
  EXPECT_EQ(last_kill_call.size(), 5u);
  for (const auto& [node, action] : last_kill_call) EXPECT_EQ(action, "start") << node;
  for (const auto& [node, action] : last_pause_call) EXPECT_EQ(action, "resume") << node;
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE"));
}

TEST_F(ComposedNemesis, AFailedFaultCompletesInfoAndTeardownStillHeals) {
  NemesisPackage package = Build(Options({"partition", "kill"}));
  Nemesis& nemesis = *package.nemesis;
  ASSERT_TRUE(nemesis.Setup(test_, cluster_.remotes()).ok());
  cluster_.node(1).FailIptablesWith("-A FAULTLINE");
  Op start =
      gen::MakeOp("start-partition",
                  {{"kind", "isolate-one"},
                   {"drops", GrudgeToJson(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}))}});
  start.process = kNemesisProcess;
  Op completion = nemesis.Invoke(test_, start);
  EXPECT_EQ(completion.type, OpType::kInfo);
  const std::string error = completion.error.get<std::string>();
  EXPECT_NE(error.find("n2"), std::string::npos) << error;
  EXPECT_NE(error.find("iptables -w -A FAULTLINE -s 10.0.0.1 -j DROP"), std::string::npos);
  EXPECT_FALSE(completion.value["drops"].contains("n2"));  // what was done, without n2
  EXPECT_TRUE(completion.value["drops"].contains("n3"));

  db_->Fail("kill n4");
  Op kill = gen::MakeOp("start-kill", {{"target", "majority"}, {"nodes", {"n3", "n4", "n5"}}});
  kill.process = kNemesisProcess;
  Op killed = nemesis.Invoke(test_, kill);
  EXPECT_EQ(killed.type, OpType::kInfo);
  EXPECT_EQ(killed.value["nodes"], Json({"n3", "n5"}));
  db_->Clear();
  ASSERT_TRUE(nemesis.Teardown(test_).ok());
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE"));
  EXPECT_EQ(db_->SortedCalls(),
            (std::vector<std::string>{"start n1", "start n2", "start n3", "start n4", "start n5"}));
}

TEST_F(ComposedNemesis, RefusesOpsOfFaultsItDoesNotHaveAndBadValues) {
  NemesisPackage package = Build(Options({"kill"}));
  ASSERT_TRUE(package.nemesis->Setup(test_, cluster_.remotes()).ok());
  Op pause = gen::MakeOp("start-pause", {{"nodes", {"n1"}}});
  EXPECT_EQ(package.nemesis->Invoke(test_, pause).type, OpType::kInfo);
  Op bad = gen::MakeOp("start-kill", "n1");
  Op refused = package.nemesis->Invoke(test_, bad);
  EXPECT_EQ(refused.type, OpType::kInfo);
  EXPECT_NE(refused.error.get<std::string>().find("\"nodes\""), std::string::npos);
}

TEST_F(ComposedNemesis, SetupRefusesOtherNodesAndTeardownAfterAFailedSetupIsHarmless) {
  NemesisPackage package = Build(Options({"partition", "kill"}, 3));
  EXPECT_FALSE(package.nemesis->Setup(test_, cluster_.remotes()).ok());
  db_->Clear();
  EXPECT_TRUE(package.nemesis->Teardown(test_).ok());
  EXPECT_TRUE(db_->calls().empty());
}

// Two runs on the same nodes: the second is refused at Setup, and its Teardown (which the
// lifecycle calls after a failed Setup) and its stop-partition leave the first run's partition
// in place.
TEST_F(ComposedNemesis, ASecondRunOnTheSameNodesIsRefusedAndHealsNothingOfTheFirst) {
  NemesisPackage first = Build(Options({"partition"}));
  ASSERT_TRUE(first.nemesis->Setup(test_, cluster_.remotes()).ok());
  Op start =
      gen::MakeOp("start-partition",
                  {{"kind", "isolate-one"},
                   {"drops", GrudgeToJson(CompleteGrudge({{"n1"}, {"n2", "n3", "n4", "n5"}}))}});
  start.process = kNemesisProcess;
  ASSERT_EQ(first.nemesis->Invoke(test_, start).type, OpType::kOk);

  NemesisPackage second = Build(Options({"partition"}));
  Status refused = second.nemesis->Setup(test_, cluster_.remotes());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("belongs to another faultline run"), std::string::npos)
      << refused.message();
  Op stop = gen::MakeOp("stop-partition");
  stop.process = kNemesisProcess;
  second.nemesis->Invoke(test_, stop);
  EXPECT_TRUE(second.nemesis->Teardown(test_).ok());
  EXPECT_EQ(cluster_.node(0).iptables().Rules("FAULTLINE").size(), 4u);
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(cluster_.node(i).iptables().Rules("FAULTLINE"),
              (std::vector<std::string>{"-A FAULTLINE -s 10.0.0.1/32 -j DROP"}));
  }

  ASSERT_TRUE(first.nemesis->Teardown(test_).ok());
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(cluster_.node(i).iptables().HasChain("FAULTLINE"));
  // Free again: a new run takes the nodes.
  NemesisPackage third = Build(Options({"partition"}));
  EXPECT_TRUE(third.nemesis->Setup(test_, cluster_.remotes()).ok());
  EXPECT_TRUE(third.nemesis->Teardown(test_).ok());
}

TEST(DescribeFault, NamesTheFaultItsNodesAndWhetherItIsActive) {
  Op start = gen::MakeOp(
      "start-partition",
      {{"kind", "isolate-one"}, {"drops", GrudgeToJson(CompleteGrudge({{"n1"}, {"n2", "n3"}}))}});
  start.type = OpType::kOk;
  start.process = kNemesisProcess;
  std::optional<FaultChange> change = DescribeFault(start);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->fault, "partition");
  EXPECT_TRUE(change->active);
  EXPECT_EQ(change->detail, "isolate-one");
  EXPECT_EQ(change->nodes, (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(change->Summary(), "partition isolate-one on n1 n2 n3");

  Op kill = gen::MakeOp("start-kill", {{"target", "one"}, {"nodes", {"n2"}}});
  kill.type = OpType::kInfo;
  kill.process = kNemesisProcess;
  kill.error = "n2: `kill` failed";
  EXPECT_EQ(DescribeFault(kill)->Summary(), "kill one on n2 (failed: n2: `kill` failed)");

  Op stop = gen::MakeOp("stop-kill", {{"nodes", {"n2"}}});
  stop.type = OpType::kOk;
  stop.process = kNemesisProcess;
  EXPECT_FALSE(DescribeFault(stop)->active);
  EXPECT_EQ(DescribeFault(stop)->Summary(), "kill healed");

  stop.type = OpType::kInvoke;
  EXPECT_FALSE(DescribeFault(stop).has_value());
  Op client = gen::MakeOp("start-kill");
  client.type = OpType::kOk;
  client.process = 3;
  EXPECT_FALSE(DescribeFault(client).has_value());
}

}  // namespace
}  // namespace faultline::nemesis
