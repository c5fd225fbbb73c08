// Any, Mix, Clients/Nemesis, OnThreads, EachThread and Reserve: which thread runs what.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "generators/combinators.h"
#include "generators/random.h"
#include "generators/simulator.h"
#include "simulation_helpers.h"

namespace faultline::gen {
namespace {

using testing::kMillisecond;
using testing::Options;
using testing::RandomLatency;

int ThreadOf(const Op& op, int concurrency) {
  return op.process < 0 ? kNemesisThread : static_cast<int>(op.process % concurrency);
}

TEST(ProcessChoiceTest, EveryFreeThreadGetsOps) {
  SimulationOptions options = Options(4);
  options.max_ops = 400;
  std::map<int64_t, int> per_process;
  for (const Op& op : Invocations(Simulate(Repeat("read"), options, RandomLatency()))) {
    ++per_process[op.process];
  }
  ASSERT_EQ(per_process.size(), 4u);
  for (const auto& [process, count] : per_process) EXPECT_GT(count, 50) << process;
}

TEST(ProcessChoiceTest, UnroutedGeneratorsMayUseTheNemesisThread) {
  // As in Jepsen: a generator that is not wrapped in Clients may hand ops to the nemesis.
  SimulationOptions options = Options(2, 1, true);
  options.max_ops = 100;
  bool nemesis_used = false;
  for (const Op& op : Invocations(Simulate(Repeat("read"), options, RandomLatency()))) {
    nemesis_used |= op.is_nemesis();
  }
  EXPECT_TRUE(nemesis_used);
}

TEST(RoutingTest, ClientsNeverUseTheNemesisThread) {
  SimulationOptions options = Options(3, 5, true);
  options.max_ops = 200;
  const History history = Simulate(Clients(Repeat("read")), options, RandomLatency());
  EXPECT_EQ(Invocations(history).size(), 200u);
  for (const Op& op : history.ops) EXPECT_FALSE(op.is_nemesis());
}

TEST(RoutingTest, NemesisUsesOnlyTheNemesisThread) {
  const History history =
      Simulate(Nemesis(Limit(3, Repeat("kill"))), Options(3, 1, true), AlwaysOk(kMillisecond));
  const std::vector<Op> invocations = Invocations(history);
  ASSERT_EQ(invocations.size(), 3u);
  for (const Op& op : invocations) EXPECT_EQ(op.process, kNemesisProcess);
  // One nemesis thread: each op waits for the previous one.
  EXPECT_EQ(invocations[2].time_ns, 2 * kMillisecond);
}

TEST(RoutingTest, NemesisWithoutANemesisThreadIsExhausted) {
  const Simulation run = SimulateFully(Nemesis(Repeat("kill")), Options(2), AlwaysOk(kMillisecond));
  EXPECT_TRUE(run.history.ops.empty());
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

TEST(RoutingTest, ClientsAndNemesisTogetherRouteEachSide) {
  SimulationOptions options = Options(2, 11, true);
  options.max_ops = 300;
  const GenPtr generator =
      Clients(Repeat("read"), Stagger(5 * kMillisecond, Repeat("start-partition")));
  int nemesis_ops = 0;
  int client_ops = 0;
  for (const Op& op : Invocations(Simulate(generator, options, RandomLatency()))) {
    if (op.is_nemesis()) {
      EXPECT_EQ(op.f, "start-partition");
      ++nemesis_ops;
    } else {
      EXPECT_EQ(op.f, "read");
      ++client_ops;
    }
  }
  EXPECT_GT(nemesis_ops, 10);
  EXPECT_GT(client_ops, 100);
}

TEST(AnyTest, TakesTheOpDueSoonest) {
  const GenPtr generator =
      Limit(8, Any({Delay(10 * kMillisecond, Repeat("a")), Delay(15 * kMillisecond, Repeat("b"))}));
  const std::vector<Op> invocations = Invocations(Simulate(generator, Options(4), AlwaysOk(0)));
  std::vector<int64_t> times;
  std::vector<std::string> fs;
  for (const Op& op : invocations) {
    times.push_back(op.time_ns / kMillisecond);
    fs.push_back(op.f);
  }
  EXPECT_EQ(times, (std::vector<int64_t>{0, 0, 10, 15, 20, 30, 30, 40}));
  // Ties (0 and 30) may go either way; the rest are fixed.
  EXPECT_EQ(fs[2], "a");
  EXPECT_EQ(fs[3], "b");
  EXPECT_EQ(fs[4], "a");
  EXPECT_EQ(fs[7], "a");
  EXPECT_NE(fs[0], fs[1]);
  EXPECT_NE(fs[5], fs[6]);
}

TEST(AnyTest, ASleepingGeneratorKeepsItsDeadlineWhileOthersEmit) {
  const GenPtr generator = Any({Concat({Sleep(10 * kMillisecond), Once("b")}),
                                Delay(3 * kMillisecond, Limit(5, Repeat("a")))});
  std::vector<std::pair<std::string, int64_t>> ops;
  for (const Op& op : Invocations(Simulate(generator, Options(1), AlwaysOk(0)))) {
    ops.emplace_back(op.f, op.time_ns / kMillisecond);
  }
  EXPECT_EQ(ops, (std::vector<std::pair<std::string, int64_t>>{
                     {"a", 0}, {"a", 3}, {"a", 6}, {"a", 9}, {"b", 10}, {"a", 12}}));
}

TEST(AnyTest, ExhaustedWhenAllAre) {
  const History history =
      Simulate(Any({Once("a"), Limit(2, Repeat("b")), Void()}), Options(2), AlwaysOk(1));
  std::multiset<std::string> fs;
  for (const Op& op : Invocations(history)) fs.insert(op.f);
  EXPECT_EQ(fs, (std::multiset<std::string>{"a", "b", "b"}));
}

TEST(MixTest, RoughlyUniformChoice) {
  SimulationOptions options = Options(3, 123);
  options.max_ops = 3000;
  const GenPtr generator = Mix({Repeat("a"), Repeat("b"), Repeat("c")});
  std::map<std::string, int> counts;
  for (const Op& op : Invocations(Simulate(generator, options, RandomLatency()))) {
    ++counts[op.f];
  }
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [f, count] : counts) {
    EXPECT_GT(count, 900) << f;
    EXPECT_LT(count, 1100) << f;
  }
}

TEST(MixTest, DropsExhaustedGeneratorsAndEndsWhenAllAre) {
  const Simulation run = SimulateFully(Mix({Limit(2, Repeat("a")), Limit(5, Repeat("b"))}),
                                       Options(2), RandomLatency());
  std::map<std::string, int> counts;
  for (const Op& op : Invocations(run.history)) ++counts[op.f];
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 2}, {"b", 5}}));
  EXPECT_EQ(run.stop, StopReason::kExhausted);
}

TEST(EachThreadTest, EveryThreadRunsItsOwnCopy) {
  const GenPtr generator = EachThread(Concat({Once("a"), Once("b")}));
  const History history = Simulate(generator, Options(3), RandomLatency());
  std::map<int, std::vector<std::string>> per_thread;
  for (const Op& op : Invocations(history)) per_thread[ThreadOf(op, 3)].push_back(op.f);
  ASSERT_EQ(per_thread.size(), 3u);
  for (const auto& [thread, fs] : per_thread) {
    EXPECT_EQ(fs, (std::vector<std::string>{"a", "b"})) << "thread " << thread;
  }
}

TEST(EachThreadTest, UpdatesReachOnlyTheirThreadsCopy) {
  // Thread 0's reads fail twice before succeeding; the others succeed at once. Each thread stops
  // after its own first ok.
  auto failures = std::make_shared<int>(0);
  CompletionFunction thread_zero_fails = [failures](const Op& invoke, Rng&) {
    Completion completion{invoke, kMillisecond};
    const bool fail = invoke.process % 3 == 0 && (*failures)++ < 2;
    completion.op.type = fail ? OpType::kFail : OpType::kOk;
    return completion;
  };
  const History history =
      Simulate(EachThread(UntilOk(Repeat("read"))), Options(3), thread_zero_fails);
  std::map<int, int> per_thread;
  for (const Op& op : Invocations(history)) ++per_thread[ThreadOf(op, 3)];
  EXPECT_EQ(per_thread, (std::map<int, int>{{0, 3}, {1, 1}, {2, 1}}));
}

TEST(EachThreadTest, ANewProcessAfterInfoKeepsItsThreadsCopy) {
  CompletionFunction info = [](const Op& invoke, Rng&) {
    Completion completion{invoke, kMillisecond};
    completion.op.type = OpType::kInfo;
    return completion;
  };
  const History history = Simulate(EachThread(Concat({Once("a"), Once("b")})), Options(2), info);
  std::map<int, std::vector<std::string>> per_thread;
  std::set<int64_t> processes;
  for (const Op& op : Invocations(history)) {
    per_thread[ThreadOf(op, 2)].push_back(op.f);
    processes.insert(op.process);
  }
  EXPECT_EQ(per_thread[0], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(per_thread[1], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(processes, (std::set<int64_t>{0, 1, 2, 3}));
}

TEST(ReserveTest, RoutesThreadRanges) {
  SimulationOptions options = Options(6, 17);
  options.max_ops = 600;
  const GenPtr generator = Reserve({{2, Repeat("write")}, {1, Repeat("cas")}}, Repeat("read"));
  std::map<std::string, std::set<int>> threads_of;
  for (const Op& op : Invocations(Simulate(generator, options, RandomLatency()))) {
    threads_of[op.f].insert(ThreadOf(op, 6));
  }
  EXPECT_EQ(threads_of["write"], (std::set<int>{0, 1}));
  EXPECT_EQ(threads_of["cas"], (std::set<int>{2}));
  EXPECT_EQ(threads_of["read"], (std::set<int>{3, 4, 5}));
}

TEST(ReserveTest, RestIncludesTheNemesisUnlessRoutedToClients) {
  SimulationOptions options = Options(2, 5, true);
  options.max_ops = 200;
  const GenPtr reserve = Reserve({{1, Repeat("write")}}, Repeat("read"));
  std::map<std::string, std::set<int>> threads_of;
  for (const Op& op : Invocations(Simulate(reserve, options, RandomLatency()))) {
    threads_of[op.f].insert(ThreadOf(op, 2));
  }
  EXPECT_EQ(threads_of["write"], (std::set<int>{0}));
  EXPECT_EQ(threads_of["read"], (std::set<int>{kNemesisThread, 1}));

  threads_of.clear();
  for (const Op& op : Invocations(Simulate(Clients(reserve), options, RandomLatency()))) {
    threads_of[op.f].insert(ThreadOf(op, 2));
  }
  EXPECT_EQ(threads_of["read"], (std::set<int>{1}));
}

TEST(ReserveTest, EachRangeHasItsOwnBarrier) {
  // The writers' phases wait only for the writer threads, not for the slow readers.
  CompletionFunction complete = [](const Op& invoke, Rng&) {
    Completion completion{invoke, invoke.f == "read" ? 100 * kMillisecond : kMillisecond};
    completion.op.type = OpType::kOk;
    return completion;
  };
  const GenPtr generator =
      Reserve({{2, Phases({Limit(2, Repeat("write")), Once("check")})}}, Once("read"));
  const std::vector<Op> invocations = Invocations(Simulate(generator, Options(3), complete));
  int64_t check_ns = -1;
  for (const Op& op : invocations) {
    if (op.f == "check") check_ns = op.time_ns;
  }
  EXPECT_EQ(check_ns, kMillisecond);
}

// Records the threads and free threads of every context its Next sees (a test probe: the
// recording is the only mutation), then answers as `generator`.
class ThreadsProbe : public Generator {
 public:
  using Seen = std::vector<std::pair<std::vector<int>, std::vector<int>>>;
  ThreadsProbe(GenPtr generator, std::shared_ptr<Seen> seen)
      : generator_(std::move(generator)), seen_(std::move(seen)) {}

  Step Next(const Context& context) const override {
    seen_->push_back({context.threads, context.free_threads});
    Step step = generator_->Next(context);
    if (!step.is_exhausted()) step.next = std::make_shared<ThreadsProbe>(step.next, seen_);
    return step;
  }

  GenPtr Update(const Context& context, const Op& event) const override {
    return std::make_shared<ThreadsProbe>(generator_->Update(context, event), seen_);
  }

 private:
  GenPtr generator_;
  std::shared_ptr<Seen> seen_;
};

TEST(RoutingTest, NestedRestrictionsEachSeeTheirOwnThreads) {
  // Routing combinators restrict contexts in storage they reuse (generators/scratch.h); nested
  // ones (here four deep, and two siblings under Any) must each see exactly their threads.
  auto low = std::make_shared<ThreadsProbe::Seen>();
  auto high = std::make_shared<ThreadsProbe::Seen>();
  auto each = std::make_shared<ThreadsProbe::Seen>();
  const GenPtr generator = Clients(Any({
      OnThreads(
          [](int thread) { return thread < 3; },
          Reserve({{1, std::make_shared<ThreadsProbe>(Limit(20, Repeat("low")), low)}},
                  EachThread(std::make_shared<ThreadsProbe>(Limit(5, Repeat("each")), each)))),
      OnThreads([](int thread) { return thread >= 3; },
                std::make_shared<ThreadsProbe>(Limit(20, Repeat("high")), high)),
  }));
  SimulationOptions options = Options(5, 3, true);
  const History history = Simulate(generator, options, RandomLatency());
  ASSERT_FALSE(low->empty());
  ASSERT_FALSE(high->empty());
  ASSERT_FALSE(each->empty());
  for (const auto& [threads, free] : *low) {
    EXPECT_EQ(threads, (std::vector<int>{0}));
    EXPECT_TRUE(std::includes(threads.begin(), threads.end(), free.begin(), free.end()));
  }
  for (const auto& [threads, free] : *high) {
    EXPECT_EQ(threads, (std::vector<int>{3, 4}));
    EXPECT_TRUE(std::includes(threads.begin(), threads.end(), free.begin(), free.end()));
  }
  for (const auto& [threads, free] : *each) {
    ASSERT_EQ(threads.size(), 1u);
    EXPECT_TRUE(threads[0] == 1 || threads[0] == 2) << threads[0];
    EXPECT_EQ(free, threads);  // EachThread asks a thread's copy only while it is free
  }
  std::map<std::string, std::set<int>> threads_of;
  for (const Op& op : Invocations(history)) threads_of[op.f].insert(ThreadOf(op, 5));
  EXPECT_EQ(threads_of["low"], (std::set<int>{0}));
  EXPECT_EQ(threads_of["each"], (std::set<int>{1, 2}));
  EXPECT_EQ(threads_of["high"], (std::set<int>{3, 4}));
}

TEST(RoutingTest, AnUpdateThatChangesNothingKeepsTheSameGenerator) {
  // The interpreter calls Update twice per op; a wrapper whose child did not change returns
  // itself instead of an equal copy (no allocation per event).
  Rng rng(1);
  Context context = Context::Initial(3, true, &rng);
  Op event = MakeOp("write", 1);
  event.process = 1;
  event.type = OpType::kOk;
  const std::vector<GenPtr> generators = {
      Clients(Limit(10, Repeat("write"))),
      Any({Clients(Repeat("write")), Nemesis(Repeat("kill"))}),
      Mix({Repeat("a"), Repeat("b")}),
      Stagger(1000, Repeat("write")),
      Delay(1000, Repeat("write")),
      TimeLimit(1000, Repeat("write")),
      Map([](Op op) { return op; }, Repeat("write")),
      Cycle(Limit(2, Repeat("write"))),
      Repeat(Once("write")),
      Concat({Once("a"), Once("b")}),
      Synchronize(Once("a")),
      Reserve({{1, Repeat("a")}}, Repeat("b")),
      EachThread(Once("a")),
      OnThreads([](int thread) { return thread == 1; }, Repeat("a")),
  };
  for (size_t i = 0; i < generators.size(); ++i) {
    EXPECT_EQ(generators[i]->Update(context, event), generators[i]) << "generator " << i;
  }
  // A wrapper whose child changed still changes.
  const GenPtr until_ok = Clients(UntilOk(Repeat("write")));
  const Step step = until_ok->Next(context);
  ASSERT_TRUE(step.is_op());
  Op completion = step.op;
  completion.type = OpType::kOk;
  EXPECT_NE(step.next->Update(context, completion), step.next);
  EXPECT_TRUE(step.next->Update(context, completion)->Next(context).is_exhausted());
}

}  // namespace
}  // namespace faultline::gen
