// Process faults through a Db that records its calls: targets, apply, exact heal, teardown.
#include "nemesis/process/process.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "nemesis/fake_nodes.h"

namespace faultline::nemesis {
namespace {

using fakes::FakeCluster;
using fakes::RecordingDb;

TEST(ProcessTargets, SizesForOneMinorityMajorityAll) {
  struct Expected {
    size_t nodes, one, minority, majority, all;
  };
  for (Expected e : {Expected{1, 1, 0, 1, 1}, Expected{2, 1, 0, 2, 2}, Expected{3, 1, 1, 2, 3},
                     Expected{5, 1, 2, 3, 5}, Expected{6, 1, 2, 4, 6}, Expected{7, 1, 3, 4, 7}}) {
    EXPECT_EQ(TargetSize(Target::kOne, e.nodes), e.one);
    EXPECT_EQ(TargetSize(Target::kMinority, e.nodes), e.minority) << e.nodes;
    EXPECT_EQ(TargetSize(Target::kMajority, e.nodes), e.majority) << e.nodes;
    EXPECT_EQ(TargetSize(Target::kAll, e.nodes), e.all);
  }
  EXPECT_EQ(TargetsFor(2), (std::vector<Target>{Target::kOne, Target::kMajority, Target::kAll}));
  EXPECT_EQ(TargetsFor(5).size(), 4u);
  for (Target target : TargetsFor(5)) EXPECT_EQ(ParseTarget(ToString(target)), target);
}

TEST(ProcessTargets, PickNodesDrawsDistinctNodesInTestOrder) {
  const std::vector<std::string> nodes = {"n1", "n2", "n3", "n4", "n5"};
  std::set<std::vector<std::string>> seen;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    gen::Rng rng(seed);
    std::vector<std::string> picked = PickNodes(Target::kMajority, nodes, rng);
    ASSERT_EQ(picked.size(), 3u);
    EXPECT_TRUE(std::is_sorted(picked.begin(), picked.end()));
    EXPECT_EQ(std::set<std::string>(picked.begin(), picked.end()).size(), 3u);
    seen.insert(picked);
    gen::Rng again(seed);
    EXPECT_EQ(PickNodes(Target::kMajority, nodes, again), picked);
  }
  EXPECT_EQ(seen.size(), 10u);  // all C(5,3) majorities come up
}

class ProcessFaults : public ::testing::Test {
 protected:
  ProcessFaults() : cluster_(5), db_(std::make_shared<RecordingDb>()) {
    test_.options.nodes = cluster_.names();
    test_.db = db_;
  }

  FakeCluster cluster_;
  std::shared_ptr<RecordingDb> db_;
  faultline::Test test_;
};

TEST_F(ProcessFaults, SetupProbesTheHealingCallOnce) {
  ProcessFault kill(ProcessFaultKind::kKill), pause(ProcessFaultKind::kPause);
  ASSERT_TRUE(kill.Setup(test_, cluster_.remotes()).ok());
  ASSERT_TRUE(pause.Setup(test_, cluster_.remotes()).ok());
  EXPECT_EQ(db_->calls(), (std::vector<std::string>{"start n1", "resume n1"}));
}

TEST_F(ProcessFaults, SetupRefusesADatabaseWithoutTheCapability) {
  class PlainDb : public Db {
    Status Setup(const faultline::Test&, const std::string&, control::Remote&) override {
      return Status::Ok();
    }
    Status Teardown(const faultline::Test&, const std::string&, control::Remote&) override {
      return Status::Ok();
    }
  };
  test_.db = std::make_shared<PlainDb>();
  ProcessFault kill(ProcessFaultKind::kKill);
  Status status = kill.Setup(test_, cluster_.remotes());
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.message().find("cannot start n1"), std::string::npos) << status.message();
  EXPECT_TRUE(kill.HealAll(test_).ok());  // nothing was broken, nothing is called

  test_.db = nullptr;
  EXPECT_EQ(kill.Setup(test_, cluster_.remotes()).code(), StatusCode::kUnsupported);
}

TEST_F(ProcessFaults, HealRestartsExactlyTheKilledNodes) {
  ProcessFault kill(ProcessFaultKind::kKill);
  ASSERT_TRUE(kill.Setup(test_, cluster_.remotes()).ok());
  db_->Clear();
  std::vector<std::string> done;
  ASSERT_TRUE(kill.Apply(test_, {"n2", "n4"}, &done).ok());
  EXPECT_EQ(done, (std::vector<std::string>{"n2", "n4"}));
  EXPECT_EQ(db_->SortedCalls(), (std::vector<std::string>{"kill n2", "kill n4"}));
  db_->Clear();
  std::vector<std::string> healed;
  ASSERT_TRUE(kill.Heal(test_, &healed).ok());
  EXPECT_EQ(healed, (std::vector<std::string>{"n2", "n4"}));
  EXPECT_EQ(db_->SortedCalls(), (std::vector<std::string>{"start n2", "start n4"}));
  db_->Clear();
  ASSERT_TRUE(kill.Heal(test_, &healed).ok());  // nothing left to heal
  EXPECT_TRUE(healed.empty());
  EXPECT_TRUE(db_->calls().empty());
}

TEST_F(ProcessFaults, PauseAndResumeGoThroughTheDatabase) {
  ProcessFault pause(ProcessFaultKind::kPause);
  ASSERT_TRUE(pause.Setup(test_, cluster_.remotes()).ok());
  db_->Clear();
  ASSERT_TRUE(pause.Apply(test_, cluster_.names(), nullptr).ok());
  ASSERT_TRUE(pause.Heal(test_, nullptr).ok());
  std::vector<std::string> calls = db_->SortedCalls();
  EXPECT_EQ(calls, (std::vector<std::string>{"pause n1", "pause n2", "pause n3", "pause n4",
                                             "pause n5", "resume n1", "resume n2", "resume n3",
                                             "resume n4", "resume n5"}));
}

TEST_F(ProcessFaults, AFailedKillIsStillHealedAndTeardownHealsEveryNode) {
  ProcessFault kill(ProcessFaultKind::kKill);
  ASSERT_TRUE(kill.Setup(test_, cluster_.remotes()).ok());
  db_->Fail("kill n3");
  db_->Fail("start n3");
  std::vector<std::string> done;
  Status status = kill.Apply(test_, {"n1", "n3"}, &done);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("n3"), std::string::npos);
  EXPECT_EQ(done, (std::vector<std::string>{"n1"}));
  EXPECT_EQ(kill.affected(), (std::set<std::string>{"n1", "n3"}));  // n3 may be dead anyway
  std::vector<std::string> healed;
  EXPECT_FALSE(kill.Heal(test_, &healed).ok());
  EXPECT_EQ(healed, (std::vector<std::string>{"n1"}));
  EXPECT_EQ(kill.affected(), (std::set<std::string>{"n3"}));  // kept for the next heal
  db_->Clear();
  EXPECT_FALSE(kill.HealAll(test_).ok());  // n3 still fails, the others are started
  EXPECT_EQ(db_->SortedCalls(),
            (std::vector<std::string>{"start n1", "start n2", "start n3", "start n4", "start n5"}));
}

TEST_F(ProcessFaults, UnknownNodesAreRefusedBeforeAnyCall) {
  ProcessFault kill(ProcessFaultKind::kKill);
  ASSERT_TRUE(kill.Setup(test_, cluster_.remotes()).ok());
  db_->Clear();
  Status status = kill.Apply(test_, {"n1", "n9"}, nullptr);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(db_->calls().empty());
  EXPECT_TRUE(kill.affected().empty());
}

TEST_F(ProcessFaults, AmnesiaKillsThenWipesAndRestartsEmptyAtTheStop) {
  ProcessFault amnesia(ProcessFaultKind::kAmnesia);
  ASSERT_TRUE(amnesia.Setup(test_, cluster_.remotes()).ok());
  db_->Clear();
  FaultOutcome started = amnesia.Start(test_, {{"target", "minority"}, {"nodes", {"n2", "n4"}}});
  EXPECT_TRUE(started.status.ok()) << started.status.message();
  EXPECT_EQ(started.value["nodes"], Json({"n2", "n4"}));
  const std::vector<std::string> calls = db_->calls();
  for (const std::string node : {"n2", "n4"}) {  // each node's kill comes before its wipe
    auto kill = std::find(calls.begin(), calls.end(), "kill " + node);
    auto wipe = std::find(calls.begin(), calls.end(), "wipe " + node);
    ASSERT_NE(kill, calls.end());
    ASSERT_NE(wipe, calls.end());
    EXPECT_LT(kill, wipe) << node;
  }
  EXPECT_EQ(calls.size(), 4u);
  db_->Clear();
  FaultOutcome stopped = amnesia.Stop(test_);
  EXPECT_EQ(stopped.value["nodes"], Json({"n2", "n4"}));
  EXPECT_EQ(db_->SortedCalls(), (std::vector<std::string>{"start n2", "start n4"}));
}

TEST_F(ProcessFaults, AmnesiaWhoseWipeFailsLeavesTheNodeForTheHeal) {
  ProcessFault amnesia(ProcessFaultKind::kAmnesia);
  ASSERT_TRUE(amnesia.Setup(test_, cluster_.remotes()).ok());
  db_->Fail("wipe n3");
  FaultOutcome started = amnesia.Start(test_, {{"nodes", {"n1", "n3"}}});
  EXPECT_EQ(started.status.message(), "n3: `wipe` failed");
  EXPECT_EQ(started.value["nodes"], Json({"n1"}));  // what was done in full
  db_->Clear();
  EXPECT_TRUE(amnesia.Stop(test_).status.ok());  // n3 was killed all the same: restarted too
  EXPECT_EQ(db_->SortedCalls(), (std::vector<std::string>{"start n1", "start n3"}));
}

TEST_F(ProcessFaults, AmnesiaIsRefusedAtSetupByADatabaseThatCannotWipe) {
  class UnwipeableDb : public RecordingDb {
    bool CanWipe() const override { return false; }
  };
  test_.db = std::make_shared<UnwipeableDb>();
  ProcessFault amnesia(ProcessFaultKind::kAmnesia);
  Status status = amnesia.Setup(test_, cluster_.remotes());
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_EQ(status.message(), "amnesia: this database cannot wipe a node's data");
}

TEST_F(ProcessFaults, ThePrimariesTargetKillsTheNodesThatArePrimariesWhenItStarts) {
  // n2 and n4 say they are primaries, n3 cannot answer: n3 is not killed, and the value says why.
  class PrimaryDb : public RecordingDb {
    bool HasPrimaries() const override { return true; }
    Result<bool> IsPrimary(const faultline::Test&, const std::string& node,
                           control::Remote&) override {
      if (node == "n3") return Status::IoError("n3: no answer within 15 s");
      return node == "n2" || node == "n4";
    }
  };
  auto db = std::make_shared<PrimaryDb>();
  test_.db = db;
  ProcessFault kill(ProcessFaultKind::kKill);
  ASSERT_TRUE(kill.Setup(test_, cluster_.remotes()).ok());
  db->Clear();
  FaultOutcome started = kill.Start(test_, {{"target", "primaries"}});
  EXPECT_TRUE(started.status.ok()) << started.status.message();
  EXPECT_EQ(started.value["nodes"], Json({"n2", "n4"}));
  EXPECT_EQ(started.value["unanswered"], Json({{"n3", "n3: no answer within 15 s"}}));
  EXPECT_EQ(db->SortedCalls(), (std::vector<std::string>{"kill n2", "kill n4"}));

  test_.db = std::make_shared<RecordingDb>();  // names no primaries: the start says so
  FaultOutcome refused = kill.Start(test_, {{"target", "primaries"}});
  EXPECT_EQ(refused.status.message(), "this database does not name its primaries");
}

TEST(ProcessTargets, AmnesiaDrawsOneNodeOrAMinorityOnly) {
  const FaultKind* amnesia = FindFaultKind("amnesia");
  ASSERT_NE(amnesia, nullptr);
  const std::vector<std::string> nodes = {"n1", "n2", "n3", "n4", "n5"};
  std::set<std::string> targets;
  FaultOptions options;
  options.nodes = nodes;
  options.primaries = true;  // a Redis primary wiped would lose everything: not offered
  const std::vector<std::string> choices = amnesia->choices(options);
  EXPECT_EQ(choices, (std::vector<std::string>{"one", "minority"}));
  for (uint64_t seed = 0; seed < 50; ++seed) {
    gen::Rng rng(seed);
    const std::string& choice = choices[seed % 2];
    Json value = amnesia->draw(nodes, choice, rng);
    targets.insert(value["target"].get<std::string>());
    EXPECT_EQ(value["nodes"].size(), choice == "one" ? 1u : 2u);
  }
  EXPECT_EQ(targets, (std::set<std::string>{"minority", "one"}));
}

}  // namespace
}  // namespace faultline::nemesis
