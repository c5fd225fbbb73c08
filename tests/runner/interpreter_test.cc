// The interpreter and lifecycle with scripted clients: process numbering after info, exceptions,
// failed opens, node assignment, the nemesis thread, and healing when a phase fails.
#include "runner/interpreter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "checker/linearizable/linearizable.h"
#include "checker/stats/stats.h"
#include "core/history_io.h"
#include "generators/combinators.h"
#include "runner/control/fake_remote.h"
#include "runner/handoff.h"
#include "runner/lifecycle.h"
#include "support/runner_doubles.h"

namespace faultline {
namespace {

using testing::Completions;
using testing::RecordingNemesis;

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

struct Fixture {
  std::map<int64_t, std::string> nodes_by_process;
  std::mutex mutex;
  faultline::Test test;
  Fixture(int concurrency, std::vector<std::string> nodes) {
    test.options.concurrency = concurrency;
    test.options.nodes = std::move(nodes);
    test.options.operation_timeout_s = 5;
    test.new_client = [this] {
      return std::make_unique<ScriptedClient>(&nodes_by_process, &mutex);
    };
    test.checker = MakeLinearizableChecker({"register", Json()});
  }
};

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

// Aborts the test binary if a test outlives its deadline: a lost wake-up in the handoff shows up
// as a hang, and a failure is better than a stuck CI job.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit, std::string what)
      : thread_([this, limit, what = std::move(what)] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [&] { return done_; })) {
            std::fprintf(stderr, "watchdog: %s did not finish in %lld s\n", what.c_str(),
                         static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

// The handoff primitives alone (runner/handoff.h) under contention: one producer puts numbered
// items on the ready queue, consumers take them (spinning or sleeping between), report back on
// one completion stack, and the producer sleeps on a parker while nothing can be handed out.
// Every item must arrive exactly once, and none may wait in the queue while every consumer
// sleeps (the watchdog turns such a lost wake-up into a failure).
struct HandoffItem {
  int64_t number = -1;  // written by the producer before Push
  HandoffItem* next_done = nullptr;
};

void RunHandoff(int consumers, int64_t items, int64_t spin_ns, uint64_t seed) {
  const size_t count = static_cast<size_t>(consumers);
  internal::ReadyQueue<HandoffItem> ready(count);
  internal::IdleWorkers idle(count);
  internal::CompletionStack<HandoffItem> done;
  internal::Parker parker;
  std::atomic<bool> stopping{false};
  std::vector<HandoffItem> slots(count);
  std::vector<std::atomic<int>> seen(static_cast<size_t>(items));
  std::vector<std::thread> threads;
  for (size_t id = 0; id < count; ++id) {
    threads.emplace_back([&, id] {
      auto stopped = [&] { return stopping.load(); };
      bool woke = false;
      while (HandoffItem* item = internal::TakeNext(ready, idle, id, spin_ns, stopped, &woke)) {
        ++seen[static_cast<size_t>(item->number)];
        idle.Returned();
        done.Push(item);
        parker.Wake();
      }
    });
  }
  std::mt19937_64 rng(seed);
  std::vector<HandoffItem*> free_slots;
  for (HandoffItem& slot : slots) free_slots.push_back(&slot);
  int64_t next = 0, completed = 0;
  while (completed < items) {
    HandoffItem* arrived = done.TakeAll();
    if (!arrived && (free_slots.empty() || next == items)) {
      parker.Prepare();
      if (done.Empty()) {
        parker.Park(internal::MonotonicNowNs() + (rng() % 2 == 0 ? 50'000 : 5'000'000));
      } else {
        parker.Cancel();
      }
      arrived = done.TakeAll();
    }
    for (HandoffItem* item = arrived; item != nullptr;) {
      HandoffItem* following = item->next_done;
      free_slots.push_back(item);
      ++completed;
      item = following;
    }
    // Hand a random number of items to the queue at once, then wake at most one consumer.
    size_t want = 1 + rng() % 4;
    for (size_t pushed = 0; pushed < want && !free_slots.empty() && next < items; ++pushed) {
      HandoffItem* slot = free_slots.back();
      free_slots.pop_back();
      slot->number = next++;
      // Capacity = slots, so full only while a consumer has taken a cell and not yet freed it.
      while (!ready.Push(slot)) std::this_thread::yield();
    }
    idle.Notify();
  }
  stopping.store(true);
  idle.StopAll();
  for (std::thread& thread : threads) thread.join();
  for (int64_t i = 0; i < items; ++i) {
    ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1) << "item " << i;
  }
}

TEST(Handoff, EveryItemArrivesOnceUnderContention) {
  Watchdog watchdog(std::chrono::seconds(120), "the handoff stress test");
  int round = 0;
  for (int consumers : {1, 3, 17}) {
    for (int64_t spin_ns : {int64_t{0}, int64_t{2'000}, int64_t{50'000}}) {
      SCOPED_TRACE(::testing::Message() << consumers << " consumers, spin " << spin_ns << " ns");
      RunHandoff(consumers, 20'000, spin_ns, static_cast<uint64_t>(++round));
    }
  }
}

TEST(Handoff, ReadyQueueIsFifoAndBounded) {
  int items[5] = {0, 1, 2, 3, 4};
  internal::ReadyQueue<int> queue(3);  // rounded up to 4
  EXPECT_TRUE(queue.Empty());
  EXPECT_EQ(queue.Pop(), nullptr);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(queue.Push(&items[i]));
  EXPECT_FALSE(queue.Push(&items[4]));  // full
  EXPECT_EQ(queue.Pop(), &items[0]);
  EXPECT_TRUE(queue.Push(&items[4]));  // the freed cell, next lap
  for (int i = 1; i < 5; ++i) EXPECT_EQ(queue.Pop(), &items[i]);
  EXPECT_TRUE(queue.Empty());
  EXPECT_EQ(queue.Pop(), nullptr);
}

TEST(Handoff, StopAllWakesEverySleeperAndLaterSleepsReturnAtOnce) {
  Watchdog watchdog(std::chrono::seconds(60), "the idle workers stop test");
  for (int round = 0; round < 50; ++round) {
    internal::IdleWorkers idle(4);
    std::atomic<int> returned{0};
    std::vector<std::thread> sleepers;
    for (size_t id = 0; id < 4; ++id) {
      sleepers.emplace_back([&, id] {
        idle.Sleep(id, [] { return false; });
        ++returned;
      });
    }
    if (round % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    idle.StopAll();
    for (std::thread& sleeper : sleepers) sleeper.join();
    EXPECT_EQ(returned.load(), 4);
    EXPECT_EQ(idle.looking(), 4);         // every one counted as looking again
    idle.Sleep(0, [] { return false; });  // after StopAll: returns at once
  }
}

TEST(Handoff, ANotifyWakesOneSleeperOnlyWhenNobodyLooks) {
  Watchdog watchdog(std::chrono::seconds(60), "the notify test");
  internal::IdleWorkers idle(2);
  EXPECT_FALSE(idle.Notify());  // both look
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    idle.Sleep(0, [] { return false; });
    woke = true;
  });
  while (idle.looking() != 1) std::this_thread::yield();  // worker 0 announced its sleep
  EXPECT_FALSE(idle.Notify());                            // worker 1 still looks
  idle.Took([] { return false; });                        // worker 1 takes an op: nobody looks now
  EXPECT_EQ(idle.looking(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(woke.load());
  EXPECT_TRUE(idle.Notify());
  sleeper.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(idle.looking(), 1);  // the woken one
  EXPECT_FALSE(idle.Notify());
}

TEST(Handoff, ParkerHonoursDeadlinesAndWakes) {
  Watchdog watchdog(std::chrono::seconds(60), "the parker test");
  internal::Parker parker;
  // A deadline with nobody to wake it: returns at (not much before) the deadline.
  int64_t start = internal::MonotonicNowNs();
  parker.Prepare();
  parker.Park(start + 20'000'000);
  EXPECT_GE(internal::MonotonicNowNs() - start, 20'000'000);
  // A past deadline returns at once.
  parker.Prepare();
  parker.Park(start);
  // Wakes race with the announcement: none may be lost (the loop would hang on the long park).
  std::atomic<int> flag{0};
  for (int i = 0; i < 2'000; ++i) {
    std::thread waker([&] {
      flag.store(1, std::memory_order_seq_cst);
      parker.Wake();
    });
    while (flag.load(std::memory_order_seq_cst) == 0) {
      parker.Prepare();
      if (flag.load(std::memory_order_seq_cst) == 0) {
        parker.Park(internal::MonotonicNowNs() + 30'000'000'000);
      } else {
        parker.Cancel();
      }
    }
    waker.join();
    flag.store(0);
  }
}

TEST(Handoff, CompletionStackGivesEveryNodeOnceOldestFirst) {
  struct Node {
    Node* next_done = nullptr;
    int producer = 0;
    int sequence = 0;
  };
  internal::CompletionStack<Node> stack;
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20'000;
  std::vector<std::vector<Node>> nodes(kProducers, std::vector<Node>(kPerProducer));
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        nodes[p][i].producer = p;
        nodes[p][i].sequence = i;
        stack.Push(&nodes[p][i]);
      }
    });
  }
  std::vector<int> next_sequence(kProducers, 0);
  int taken = 0;
  while (taken < kProducers * kPerProducer) {
    for (Node* node = stack.TakeAll(); node != nullptr; node = node->next_done) {
      // Oldest first: each producer's nodes come in the order it pushed them.
      EXPECT_EQ(node->sequence, next_sequence[node->producer]);
      next_sequence[node->producer] = node->sequence + 1;
      ++taken;
    }
  }
  for (std::thread& producer : producers) producer.join();
  EXPECT_TRUE(stack.Empty());
}

// Reads the journal file and returns the indices of the ops in it (torn last line dropped).
std::set<int64_t> JournaledIndices(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::set<int64_t> indices;
  bool header = true;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline yet: a torn last line
    if (header) {
      header = false;
      continue;
    }
    Json op = Json::parse(line, nullptr, false);
    if (op.is_discarded() || !op.contains("index")) continue;
    indices.insert(op["index"].get<int64_t>());
  }
  return indices;
}

// A client that checks, when its op arrives, that the op's invocation is already in the journal
// file (what a SIGKILL at that moment would leave), and counts the ones that are not.
class JournalCheckingClient : public Client {
 public:
  JournalCheckingClient(std::string path, std::atomic<int>* missing, std::atomic<int>* checked)
      : path_(std::move(path)), missing_(missing), checked_(checked) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override {
    if (!JournaledIndices(path_).count(invoke.index)) ++*missing_;
    ++*checked_;
    Op completion = invoke;
    completion.type = invoke.f == "info" ? OpType::kInfo : OpType::kOk;
    return completion;
  }

 private:
  std::string path_;
  std::atomic<int>* missing_;
  std::atomic<int>* checked_;
};

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("faultline_interpreter_" + name + "_" + std::to_string(::getpid())))
      .string();
}

TEST(InterpreterJournal, EveryInvocationIsInTheFileBeforeItsClientRunsIt) {
  Watchdog watchdog(std::chrono::seconds(120), "the journal contract test");
  for (InterpreterTuning tuning :
       {InterpreterTuning{}, InterpreterTuning{.max_batch = 1},
        InterpreterTuning{.worker_spin_ns = 20'000, .max_spinning_workers = 2, .max_batch = 16},
        InterpreterTuning{.max_batch = 64}}) {
    std::string path = TempPath("contract");
    auto opened = Journal::Open(path, Json{{"test", "contract"}});
    ASSERT_TRUE(opened.ok());
    std::unique_ptr<Journal> journal = std::move(opened).value();
    std::atomic<int> missing{0}, checked{0};
    faultline::Test test;
    test.options.concurrency = 8;
    test.options.nodes = {"n1", "n2"};
    test.new_client = [&] {
      return std::make_unique<JournalCheckingClient>(path, &missing, &checked);
    };
    History history;
    {
      Interpreter interpreter(test, journal.get(), nullptr, 3, tuning);
      gen::GenPtr ops = gen::Mix({gen::Repeat("ok"), gen::Repeat("info")});
      ASSERT_TRUE(interpreter.Run(gen::Clients(gen::Limit(400, ops))).ok());
      history = interpreter.TakeHistory();
      // When Run returns, every recorded op is in the file.
      EXPECT_EQ(JournaledIndices(path).size(), history.ops.size());
    }
    EXPECT_EQ(checked.load(), 400);
    EXPECT_EQ(missing.load(), 0) << "invocations a client ran before the journal had them";
    ASSERT_EQ(history.ops.size(), 800u);
    // The file is the history, in the same order.
    Result<History> read = ReadHistoryFile(path);
    ASSERT_TRUE(read.ok()) << read.status().message();
    ASSERT_EQ(read->ops.size(), history.ops.size());
    for (size_t i = 0; i < history.ops.size(); ++i) {
      EXPECT_EQ(read->ops[i].index, history.ops[i].index);
      EXPECT_EQ(read->ops[i].process, history.ops[i].process);
      EXPECT_EQ(read->ops[i].type, history.ops[i].type);
    }
    std::filesystem::remove(path);
  }
}

// Thread 1's op waits (in its client) until thread 0's op, invoked later, has completed and its
// completion is in the file. After that completion the interpreter has nothing to do but wait
// for thread 1: a completion must reach the file before the interpreter waits, or thread 1 gives
// up.
class WaitForCompletionLineClient : public Client {
 public:
  explicit WaitForCompletionLineClient(std::string path) : path_(std::move(path)) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override {
    Op completion = invoke;
    completion.type = OpType::kOk;
    if (invoke.f != "wait") return completion;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < give_up) {
      // The history so far: this invocation, the "fast" invocation, and its completion.
      if (JournaledIndices(path_).size() >= 3) return completion;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    completion.type = OpType::kFail;
    completion.error = "the earlier completion never reached the journal";
    return completion;
  }

 private:
  std::string path_;
};

TEST(InterpreterJournal, CompletionsReachTheFileBeforeTheInterpreterWaits) {
  std::string path = TempPath("completions");
  auto opened = Journal::Open(path, Json{{"test", "completions"}});
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Journal> journal = std::move(opened).value();
  faultline::Test test;
  test.options.concurrency = 2;
  test.new_client = [&] { return std::make_unique<WaitForCompletionLineClient>(path); };
  Interpreter interpreter(test, journal.get(), nullptr, 1);
  // Thread 1 runs "wait" at once; thread 0 runs "fast" 20 ms later, while "wait" is running.
  ASSERT_TRUE(
      interpreter
          .Run(gen::Clients(gen::Reserve(
              {{1, gen::Concat({gen::Sleep(20'000'000), gen::Once("fast")})}}, gen::Once("wait"))))
          .ok());
  std::vector<Op> completions = Completions(interpreter.history());
  ASSERT_EQ(completions.size(), 2u);
  for (const Op& op : completions) EXPECT_EQ(op.type, OpType::kOk) << op.f << ": " << op.error;
  std::filesystem::remove(path);
}

TEST(JournalTest, BufferedLinesReachTheFileOnlyWhenFlushedAndInOrder) {
  std::string path = TempPath("buffer");
  auto opened = Journal::Open(path, Json{{"test", "buffer"}});
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Journal> journal = std::move(opened).value();
  Op op = gen::MakeOp("write", 1);
  for (int64_t i = 0; i < 3; ++i) {
    op.index = i;
    journal->Buffer(op);
  }
  EXPECT_TRUE(journal->has_buffered());
  EXPECT_TRUE(JournaledIndices(path).empty());  // a SIGKILL now would lose these three
  op.index = 3;
  ASSERT_TRUE(journal->Append(op).ok());  // writes the buffered ones first, in one write
  EXPECT_EQ(JournaledIndices(path), (std::set<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(journal->writes(), 1);
  EXPECT_FALSE(journal->has_buffered());
  ASSERT_TRUE(journal->Flush().ok());  // nothing buffered: no write
  EXPECT_EQ(journal->writes(), 1);
  op.index = 4;
  journal->Buffer(op);
  ASSERT_TRUE(journal->Close().ok());  // Close flushes
  EXPECT_EQ(JournaledIndices(path), (std::set<int64_t>{0, 1, 2, 3, 4}));
  std::filesystem::remove(path);
}

// A client whose op blocks until every other thread's op has run: a worker that takes an op with
// more ready behind it must wake another worker before it runs its own, or the others never
// run.
class BlockUntilOthersClient : public Client {
 public:
  BlockUntilOthersClient(std::atomic<int>* others_done, int others)
      : others_done_(others_done), others_(others) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override {
    Op completion = invoke;
    completion.type = OpType::kOk;
    if (invoke.f == "block") {
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (others_done_->load() < others_ && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      if (others_done_->load() < others_) completion.type = OpType::kFail;
    } else {
      ++*others_done_;
    }
    return completion;
  }

 private:
  std::atomic<int>* others_done_;
  int others_;
};

TEST(Interpreter, ABlockedOpDoesNotHoldUpTheRestOfItsBatch) {
  Watchdog watchdog(std::chrono::seconds(120), "the blocked batch test");
  const InterpreterTuning tunings[] = {
      {.max_batch = 64}, {.max_batch = 1}, {.worker_spin_ns = 20'000, .max_batch = 64}};
  for (size_t variant = 0; variant < std::size(tunings); ++variant) {
    for (int round = 0; round < 20; ++round) {
      std::atomic<int> others_done{0};
      faultline::Test test;
      test.options.concurrency = 12;
      test.new_client = [&] { return std::make_unique<BlockUntilOthersClient>(&others_done, 11); };
      Interpreter interpreter(test, nullptr, nullptr, static_cast<uint64_t>(round),
                              tunings[variant]);
      // Every thread gets one op at once, in one batch; whichever thread gets "block" waits for
      // the other eleven.
      std::vector<gen::GenPtr> ops = {gen::Once("block")};
      for (int i = 0; i < 11; ++i) ops.push_back(gen::Once("ok"));
      ASSERT_TRUE(interpreter.Run(gen::Clients(gen::Any(ops))).ok());
      ASSERT_EQ(Completions(interpreter.history()).size(), 12u) << "tuning " << variant;
      for (const Op& op : Completions(interpreter.history())) {
        EXPECT_EQ(op.type, OpType::kOk) << "tuning " << variant << ", op " << op.f;
      }
    }
  }
}

TEST(Interpreter, ManyOpsEveryTuningLosesNothing) {
  // Stresses the handoff through the whole interpreter: every op completes, exactly once, and
  // the history pairs them, whatever the spins, batches and wake delegation.
  Watchdog watchdog(std::chrono::seconds(300), "the interpreter stress test");
  for (int concurrency : {1, 4, 33}) {
    for (InterpreterTuning tuning :
         {InterpreterTuning{}, InterpreterTuning{.max_batch = 1},
          InterpreterTuning{.worker_spin_ns = 5'000, .max_spinning_workers = 1, .max_batch = 16},
          InterpreterTuning{.worker_spin_ns = 50'000, .max_spinning_workers = 64, .max_batch = 8},
          InterpreterTuning{.max_batch = 64}}) {
      Fixture fixture(concurrency, {"n1", "n2", "n3"});
      Interpreter interpreter(fixture.test, nullptr, nullptr, 5, tuning);
      ASSERT_TRUE(interpreter.Run(gen::Clients(gen::Limit(5'000, gen::Repeat("ok")))).ok());
      const History& history = interpreter.history();
      ASSERT_EQ(history.ops.size(), 10'000u);
      std::map<int64_t, int> open;  // process -> outstanding invocations
      for (size_t i = 0; i < history.ops.size(); ++i) {
        const Op& op = history.ops[i];
        EXPECT_EQ(op.index, static_cast<int64_t>(i));
        if (op.is_invoke()) {
          EXPECT_EQ(open[op.process]++, 0) << "two ops at once on process " << op.process;
        } else {
          EXPECT_EQ(open[op.process]--, 1) << "a completion without invocation";
        }
      }
      InterpreterStats stats = interpreter.stats();
      EXPECT_EQ(stats.invoked, 5'000);
      EXPECT_EQ(stats.ok, 5'000);
    }
  }
}

// Counts calls that overlap: any worker may run a thread's op, but one call at a time.
class OverlapDetectingClient : public Client {
 public:
  OverlapDetectingClient(std::atomic<int>* overlaps, std::mutex* mutex,
                         std::set<std::thread::id>* callers)
      : overlaps_(overlaps), mutex_(mutex), callers_(callers) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override {
    if (in_call_.exchange(true)) ++*overlaps_;
    {
      std::lock_guard lock(*mutex_);
      callers_->insert(std::this_thread::get_id());
    }
    if (invoke.value.is_number() && invoke.value.get<int64_t>() % 7 == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // some calls block a little
    }
    ++calls_;
    in_call_.store(false);
    Op completion = invoke;
    completion.type = OpType::kOk;
    return completion;
  }

 private:
  std::atomic<bool> in_call_{false};
  std::atomic<int64_t> calls_{0};
  std::atomic<int>* overlaps_;
  std::mutex* mutex_;
  std::set<std::thread::id>* callers_;
};

TEST(Interpreter, AClientIsCalledByOneWorkerAtATime) {
  Watchdog watchdog(std::chrono::seconds(120), "the client overlap test");
  std::atomic<int> overlaps{0};
  std::mutex mutex;
  std::set<std::thread::id> callers;
  faultline::Test test;
  test.options.concurrency = 6;
  test.new_client = [&] {
    return std::make_unique<OverlapDetectingClient>(&overlaps, &mutex, &callers);
  };
  Interpreter interpreter(test, nullptr, nullptr, 9);
  gen::OpFunction numbered = [](const gen::Context&, gen::Rng& rng) {
    return gen::MakeOp("write", static_cast<int64_t>(rng() % 1000));
  };
  ASSERT_TRUE(interpreter.Run(gen::Clients(gen::Limit(20'000, gen::Repeat(numbered)))).ok());
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(interpreter.stats().ok, 20'000);
  // The calls came from the workers, never from the thread that called Run.
  EXPECT_EQ(callers.count(std::this_thread::get_id()), 0u);
}

TEST(Interpreter, TimedOpsStartOnTimeWhenEveryWorkerIsIdle) {
  // Nothing completes between these ops, so only the Run thread's own clock can start them.
  Watchdog watchdog(std::chrono::seconds(60), "the timed ops test");
  Fixture fixture(3, {"n1"});
  Interpreter interpreter(fixture.test, nullptr, nullptr, 2);
  constexpr int64_t kGapNs = 20'000'000;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      interpreter.Run(gen::Clients(gen::Limit(10, gen::Delay(kGapNs, gen::Repeat("ok"))))).ok());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<int64_t> invoked;
  for (const Op& op : interpreter.history().ops) {
    if (op.is_invoke()) invoked.push_back(op.time_ns);
  }
  ASSERT_EQ(invoked.size(), 10u);
  for (size_t i = 1; i < invoked.size(); ++i) {
    EXPECT_GE(invoked[i] - invoked[i - 1], kGapNs - 1'000'000) << "op " << i;
  }
  // Ten gaps of 20 ms: well under the 100 ms poll per op it would take if only polls fired.
  EXPECT_LT(seconds, 0.9);
}

// Sets the stop flag from inside a client call once `after` calls have been made.
class StoppingClient : public Client {
 public:
  StoppingClient(std::atomic<bool>* stop, std::atomic<int>* calls, int after)
      : stop_(stop), calls_(calls), after_(after) {}
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override {
    if (++*calls_ == after_) stop_->store(true);
    Op completion = invoke;
    completion.type = OpType::kOk;
    return completion;
  }

 private:
  std::atomic<bool>* stop_;
  std::atomic<int>* calls_;
  int after_;
};

TEST(Interpreter, TheStopFlagEndsAnEndlessGeneratorWithEveryOpCompleted) {
  Watchdog watchdog(std::chrono::seconds(60), "the stop flag test");
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  faultline::Test test;
  test.options.concurrency = 4;
  test.new_client = [&] { return std::make_unique<StoppingClient>(&stop, &calls, 5'000); };
  Interpreter interpreter(test, nullptr, &stop, 1);
  ASSERT_TRUE(interpreter.Run(gen::Clients(gen::Repeat("ok"))).ok());
  EXPECT_TRUE(stop.load());
  const InterpreterStats stats = interpreter.stats();
  EXPECT_GE(stats.invoked, 5'000);
  EXPECT_EQ(stats.ok, stats.invoked);  // the ops in flight finished before Run returned
  EXPECT_EQ(interpreter.history().ops.size(), static_cast<size_t>(2 * stats.invoked));
}

// Sleeps a few microseconds in some calls and returns fail or info in others, by the op's value.
class JitteryClient : public Client {
 public:
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override {
    const int64_t value = invoke.value.is_number() ? invoke.value.get<int64_t>() : 0;
    if (value % 5 == 0) std::this_thread::sleep_for(std::chrono::microseconds(value % 200));
    Op completion = invoke;
    completion.type = value % 11 == 0  ? OpType::kInfo
                      : value % 7 == 0 ? OpType::kFail
                                       : OpType::kOk;
    return completion;
  }
};

TEST(Interpreter, TimedAndUntimedOpsMixedLoseNothing) {
  // Some threads run a staggered schedule (the Run thread's clock starts those), the others run
  // flat out (the workers advance), clients sleep now and then, and the nemesis has its own
  // timed schedule: every op completes exactly once, and the run ends on time.
  Watchdog watchdog(std::chrono::seconds(120), "the mixed schedule test");
  for (int concurrency : {2, 5, 16}) {
    faultline::Test test;
    test.options.concurrency = concurrency;
    test.options.operation_timeout_s = 5;
    test.new_client = [] { return std::make_unique<JitteryClient>(); };
    test.nemesis = std::make_shared<RecordingNemesis>();
    Interpreter interpreter(test, nullptr, nullptr, static_cast<uint64_t>(concurrency));
    gen::OpFunction numbered = [](const gen::Context&, gen::Rng& rng) {
      return gen::MakeOp("write", static_cast<int64_t>(rng() % 1000));
    };
    gen::GenPtr clients =
        gen::Reserve({{1, gen::Stagger(300'000, gen::Repeat(numbered))}}, gen::Repeat(numbered));
    gen::GenPtr nemesis = gen::Delay(20'000'000, gen::Repeat("start-partition"));
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(interpreter.Run(gen::TimeLimit(400'000'000, gen::Clients(clients, nemesis))).ok());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 2.0) << concurrency << " threads";
    const History& history = interpreter.history();
    std::map<int64_t, int> open;
    size_t nemesis_ops = 0, staggered = 0;
    for (const Op& op : history.ops) {
      if (op.is_invoke()) {
        EXPECT_EQ(open[op.process]++, 0) << "two ops at once on process " << op.process;
        if (op.process == kNemesisProcess) ++nemesis_ops;
        if (op.process % concurrency == 0 && op.process != kNemesisProcess) ++staggered;
      } else {
        EXPECT_EQ(open[op.process]--, 1) << "a completion without invocation";
      }
    }
    for (const auto& [process, count] : open) EXPECT_EQ(count, 0) << "process " << process;
    // 400 ms at a 20 ms delay and a 0.3 ms mean stagger: both schedules ran, neither flooded.
    EXPECT_GE(nemesis_ops, 10u);
    EXPECT_LE(nemesis_ops, 21u);
    EXPECT_GE(staggered, 100u);
    const InterpreterStats stats = interpreter.stats();
    EXPECT_EQ(stats.ok + stats.failed + stats.info, stats.invoked);
  }
}

TEST(Interpreter, AGeneratorThatThrowsOnAWorkerEndsRunWithItsException) {
  // Most ops are advanced on workers: the exception must reach Run's caller, not terminate.
  Watchdog watchdog(std::chrono::seconds(60), "the throwing generator test");
  Fixture fixture(4, {"n1"});
  Interpreter interpreter(fixture.test, nullptr, nullptr, 3);
  auto made = std::make_shared<std::atomic<int>>(0);
  gen::OpFunction throws_later = [made](const gen::Context&, gen::Rng&) {
    if (++*made > 2'000) throw std::runtime_error("generator broke");
    return gen::MakeOp("ok", 1);
  };
  EXPECT_THROW(
      {
        try {
          (void)interpreter.Run(gen::Clients(gen::Repeat(throws_later)));
        } catch (const std::runtime_error& error) {
          EXPECT_STREQ(error.what(), "generator broke");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_GT(interpreter.stats().ok, 0);
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

// A database whose nodes report the versions given (an empty one: no server on that node).
class VersionedDb : public Db {
 public:
  explicit VersionedDb(std::map<std::string, std::string> versions)
      : versions_(std::move(versions)) {}
  Status Setup(const Test&, const std::string&, control::Remote&) override { return Status::Ok(); }
  Status Teardown(const Test&, const std::string&, control::Remote&) override {
    ++teardowns;
    return Status::Ok();
  }
  Result<std::string> Version(const Test&, const std::string& node, control::Remote&) override {
    if (versions_.at(node) == "unreadable") return Status::IoError("no such program");
    return versions_.at(node);
  }
  std::atomic<int> teardowns{0};

 private:
  std::map<std::string, std::string> versions_;
};

// Runs one op against `db` on n1..n3 with --db-version `wanted`; test.json is read into `test_json`.
RunOutcome RunVersioned(std::shared_ptr<Db> db, const std::string& wanted, Json* test_json) {
  Fixture fixture(1, {"n1", "n2", "n3"});
  fixture.test.db = std::move(db);
  fixture.test.options.db_version = wanted;
  fixture.test.checker = MakeStatsChecker();  // one ok op: valid
  fixture.test.generator = gen::Clients(gen::Once("ok"));
  auto store = std::filesystem::temp_directory_path() / "faultline_lifecycle_versions";
  std::filesystem::remove_all(store);
  fixture.test.options.store_dir = store.string();
  Connector connect = [](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
    return std::unique_ptr<control::Remote>(std::make_unique<control::FakeRemote>(node));
  };
  RunOutcome outcome = RunTest(fixture.test, connect, {});
  Result<Json> json = ReadJsonFile(outcome.directory.test_json());
  *test_json = json.ok() ? *json : Json();
  std::filesystem::remove_all(store);
  return outcome;
}

TEST(Lifecycle, ServerVersionsAreRecordedAndNodesWithoutAServerLeftOut) {
  Json test_json;
  RunOutcome outcome = RunVersioned(
      std::make_shared<VersionedDb>(std::map<std::string, std::string>{
          {"n1", "15.10"}, {"n2", "15.2"}, {"n3", ""}}),
      "", &test_json);
  EXPECT_TRUE(outcome.error.ok()) << outcome.error.message();
  EXPECT_EQ(test_json["db_versions"], Json({{"n1", "15.10"}, {"n2", "15.2"}}));
  EXPECT_EQ(test_json["db_version"], "");
}

TEST(Lifecycle, DbVersionTakesTheVersionOrItsFirstComponents) {
  for (const char* wanted : {"15", "15.10"}) {
    Json test_json;
    RunOutcome outcome = RunVersioned(
        std::make_shared<VersionedDb>(std::map<std::string, std::string>{
            {"n1", "15.10"}, {"n2", "15.10"}, {"n3", ""}}),
        wanted, &test_json);
    EXPECT_TRUE(outcome.error.ok()) << wanted << ": " << outcome.error.message();
    EXPECT_EQ(outcome.verdict, Verdict::kValid) << wanted;
    EXPECT_EQ(test_json["db_version"], wanted);
  }
}

TEST(Lifecycle, ADifferentVersionFailsTheRunBeforeTheWorkloadNamingEachNode) {
  Json test_json;
  auto db = std::make_shared<VersionedDb>(
      std::map<std::string, std::string>{{"n1", "150.1"}, {"n2", "15.1"}, {"n3", "unreadable"}});
  RunOutcome outcome = RunVersioned(db, "15", &test_json);
  EXPECT_EQ(outcome.error.message(),
            "--db-version 15 was asked, but n1 runs 150.1 and n3's cannot be read");
  EXPECT_EQ(outcome.verdict, Verdict::kUnknown);
  EXPECT_EQ(db->teardowns.load(), 3);
  // Recorded all the same, for whoever reads the run.
  EXPECT_EQ(test_json["db_versions"], Json({{"n1", "150.1"}, {"n2", "15.1"}}));
}

TEST(Lifecycle, DbVersionOnADatabaseThatSaysNoneIsAnError) {
  Json test_json;
  RunOutcome outcome = RunVersioned(
      std::make_shared<VersionedDb>(
          std::map<std::string, std::string>{{"n1", ""}, {"n2", ""}, {"n3", ""}}),
      "7", &test_json);
  EXPECT_EQ(outcome.error.message(),
            "--db-version 7 was asked, but this database does not say its version");
  EXPECT_FALSE(test_json.contains("db_versions"));
}

}  // namespace
}  // namespace faultline
