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

#include "core/history_io.h"
#include "generators/combinators.h"
#include "runner/control/fake_remote.h"
#include "runner/handoff.h"
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
  faultline::Test test;
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

// The handoff primitives alone (runner/handoff.h) under contention: one producer hands numbered
// items to many consumers through their mailboxes, consumers report back on one completion
// stack, and the producer sleeps on a parker while none is free. Every item must arrive exactly
// once, in order per consumer, with every combination of spinning and sleeping, and with the
// wakes made by the producer or delegated to the consumers.
struct HandoffSlot {
  internal::Mailbox mailbox;
  int64_t item = -1;       // written by the producer before Publish
  int64_t last_seen = -1;  // the consumer's
  int64_t received = 0;
  bool in_order = true;
  HandoffSlot* delegate = nullptr;  // woken by this slot's consumer (delegated wakes)
  HandoffSlot* next_done = nullptr;
  int index = 0;
  std::thread thread;
};

void RunHandoff(int consumers, int64_t items, int64_t spin_ns, bool delegate, uint64_t seed) {
  internal::CompletionStack<HandoffSlot> done;
  internal::Parker parker;
  std::vector<std::unique_ptr<HandoffSlot>> slots;
  for (int i = 0; i < consumers; ++i) {
    slots.push_back(std::make_unique<HandoffSlot>());
    slots.back()->index = i;
  }
  for (auto& owned : slots) {
    HandoffSlot* slot = owned.get();
    slot->thread = std::thread([slot, spin_ns, &done, &parker] {
      while (slot->mailbox.Wait(spin_ns)) {
        if (slot->delegate) {
          slot->delegate->mailbox.Wake();
          slot->delegate = nullptr;
        }
        if (slot->item <= slot->last_seen) slot->in_order = false;
        slot->last_seen = slot->item;
        ++slot->received;
        done.Push(slot);
        parker.Wake();
      }
    });
  }
  std::mt19937_64 rng(seed);
  std::vector<HandoffSlot*> free_slots;
  for (auto& slot : slots) free_slots.push_back(slot.get());
  int64_t next = 0, completed = 0;
  std::vector<HandoffSlot*> batch;
  while (completed < items) {
    HandoffSlot* arrived = done.TakeAll();
    if (!arrived && (free_slots.empty() || next == items)) {
      parker.Prepare();
      if (done.Empty()) {
        parker.Park(internal::MonotonicNowNs() + (rng() % 2 == 0 ? 50'000 : 5'000'000));
      } else {
        parker.Cancel();
      }
      arrived = done.TakeAll();
    }
    for (HandoffSlot* slot = arrived; slot != nullptr;) {
      HandoffSlot* following = slot->next_done;
      free_slots.push_back(slot);
      ++completed;
      slot = following;
    }
    // Hand a random number of items to random free consumers at once.
    batch.clear();
    size_t want = 1 + rng() % 4;
    while (!free_slots.empty() && next < items && batch.size() < want) {
      size_t pick = rng() % free_slots.size();
      HandoffSlot* slot = free_slots[pick];
      free_slots[pick] = free_slots.back();
      free_slots.pop_back();
      slot->item = next++;
      batch.push_back(slot);
    }
    if (delegate) {
      // Each consumer wakes the next of the batch; published back to front, first one woken.
      for (size_t i = 0; i + 1 < batch.size(); ++i) batch[i]->delegate = batch[i + 1];
      for (size_t i = batch.size(); i-- > 0;) batch[i]->mailbox.Publish();
      if (!batch.empty()) batch[0]->mailbox.Wake();
    } else {
      for (HandoffSlot* slot : batch) slot->mailbox.Post();
    }
  }
  for (auto& slot : slots) slot->mailbox.Stop();
  int64_t received = 0;
  for (auto& slot : slots) {
    slot->thread.join();
    received += slot->received;
    EXPECT_TRUE(slot->in_order) << "consumer " << slot->index;
  }
  EXPECT_EQ(received, items);
}

TEST(Handoff, EveryItemArrivesOnceUnderContention) {
  Watchdog watchdog(std::chrono::seconds(120), "the handoff stress test");
  int round = 0;
  for (int consumers : {1, 3, 17}) {
    for (int64_t spin_ns : {int64_t{0}, int64_t{2'000}, int64_t{50'000}}) {
      for (bool delegate : {false, true}) {
        SCOPED_TRACE(testing::Message() << consumers << " consumers, spin " << spin_ns
                                        << " ns, delegated wakes " << delegate);
        RunHandoff(consumers, 20'000, spin_ns, delegate, static_cast<uint64_t>(++round));
      }
    }
  }
}

TEST(Handoff, StopDeliversWhatWasPublishedAndWakesASleeper) {
  Watchdog watchdog(std::chrono::seconds(60), "the mailbox stop test");
  for (int i = 0; i < 200; ++i) {
    internal::Mailbox mailbox;
    std::atomic<int> delivered{0};
    std::thread consumer([&] {
      while (mailbox.Wait(i % 2 == 0 ? 0 : 1'000)) ++delivered;
    });
    if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));  // let it sleep
    if (i % 4 < 2) {
      // Published to a sleeper and never woken: Stop must still deliver it.
      mailbox.Publish();
    }
    mailbox.Stop();
    consumer.join();
    EXPECT_EQ(delivered.load(), i % 4 < 2 ? 1 : 0) << "round " << i;
  }
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
       {InterpreterTuning{}, InterpreterTuning{.max_batch = 1, .wake_fanout = 0},
        InterpreterTuning{.worker_spin_ns = 20'000,
        .max_spinning_workers = 2,
        .interpreter_spin_ns = 5'000,
        .max_batch = 16,
        .wake_fanout = 2},
        InterpreterTuning{.max_batch = 64, .wake_fanout = 4}}) {
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

// A client whose op blocks until every other thread's op has run: a worker must hand on the
// wakes of its batch before it runs its own op (InterpreterTuning::wake_fanout), or the others
// never run.
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
  for (int fanout = 0; fanout <= InterpreterTuning::kMaxWakeFanout; ++fanout) {
    for (int round = 0; round < 20; ++round) {
      std::atomic<int> others_done{0};
      faultline::Test test;
      test.options.concurrency = 12;
      test.new_client = [&] { return std::make_unique<BlockUntilOthersClient>(&others_done, 11); };
      InterpreterTuning tuning;
      tuning.wake_fanout = fanout;
      tuning.max_batch = 64;
      Interpreter interpreter(test, nullptr, nullptr, static_cast<uint64_t>(round), tuning);
      // Every thread gets one op at once, in one batch; whichever thread gets "block" waits for
      // the other eleven.
      std::vector<gen::GenPtr> ops = {gen::Once("block")};
      for (int i = 0; i < 11; ++i) ops.push_back(gen::Once("ok"));
      ASSERT_TRUE(interpreter.Run(gen::Clients(gen::Any(ops))).ok());
      ASSERT_EQ(Completions(interpreter.history()).size(), 12u) << "fanout " << fanout;
      for (const Op& op : Completions(interpreter.history())) {
        EXPECT_EQ(op.type, OpType::kOk) << "fanout " << fanout << ", op " << op.f;
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
         {InterpreterTuning{}, InterpreterTuning{.max_batch = 1, .wake_fanout = 0},
          InterpreterTuning{.worker_spin_ns = 5'000,
          .max_spinning_workers = 1,
          .interpreter_spin_ns = 5'000,
          .max_batch = 16,
          .wake_fanout = 1},
          InterpreterTuning{.worker_spin_ns = 50'000,
          .max_spinning_workers = 64,
          .max_batch = 8,
          .wake_fanout = 2},
          InterpreterTuning{.interpreter_spin_ns = 20'000, .max_batch = 64, .wake_fanout = 4}}) {
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
