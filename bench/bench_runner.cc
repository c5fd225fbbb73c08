// bench_runner: the interpreter's throughput with a no-op client, with and without the journal.
//
//   bench_runner [--concurrency N] [--ops M] [--seconds S] [--repeat R] [--append-ops K]
//                [--dir DIR] [--seed N] [--parts 0|1] [--worker-spin-ns NS]
//                [--batch B] [--max-spinning-workers N]
//
// Builds a Test with a client whose Invoke copies the invocation and returns it ok at once (no
// database, no nemesis ops) and runs faultline::Interpreter::Run on
// gen::Clients(gen::Limit(M, gen::Repeat("write", 1))) with N client threads (with --seconds S,
// gen::TimeLimit(S) instead of Limit), with InterpreterTuning's defaults unless --worker-spin-ns,
// --max-spinning-workers or --batch say otherwise. Each round runs it twice, once with a Journal
// writing history.jsonl into DIR (default: a fresh directory under the system temp dir, removed at
// the end) and once with journal = nullptr; the order alternates between rounds. Only Run is timed:
// starting the workers (the constructor) and joining them and freeing the history (the
// destructor) are not.
//
// Reported, as medians over the rounds:
//   ops/s        invocations per second of wall time (each invocation also records its
//                completion, so the history has two ops per invocation);
//   record_us    (seconds with journal / invocations) - (seconds without / invocations): what the
//                journal adds per invocation (two lines written);
//   cpu          per invocation: user and system CPU of the whole process, and its context
//                switches (getrusage);
// and (unless --parts 0) three parts timed on their own, to show where the time goes:
//   - Journal::Append in a tight loop of K lines (ns per line), split into formatting the line
//     (AppendJsonlLine into a string) and the rest (write(2));
//   - the generator loop without threads: gen::Simulate on the same generator with M ops (the
//     interpreter's loop, generator.h, with completions at once);
//   - the worker handoff without generators: the interpreter's primitives (runner/handoff.h:
//     ready queue, idle workers, completion stack, parker, with the same spins) between one
//     thread and N workers, M ops, handed out one at a time as slots come free (no batches):
//     the cost of the handoff per op.
//
// Ends with one "RESULT key=value ..." line for scripts (scripts/bench.sh).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/flags.h"
#include "core/history_io.h"
#include "core/op.h"
#include "generators/combinators.h"
#include "generators/simulator.h"
#include "runner/handoff.h"
#include "runner/interpreter.h"
#include "runner/journal.h"
#include "runner/test.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kExitBadInput = 2;
constexpr int kExitFailed = 1;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  if (values.size() % 2 == 1) return values[middle];
  return (values[middle - 1] + values[middle]) / 2;
}

// CPU seconds and context switches of the whole process so far. (The interpreter is a role that
// the workers take in turn, so no single thread's time is the interpreter's.)
struct UsageSample {
  double cpu_s = 0;  // user + system
  double user_s = 0;
  double sys_s = 0;
  double switches = 0;  // voluntary + involuntary
};

double Seconds(const timeval& value) {
  return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
}

UsageSample UsageNow() {
  rusage process{};
  getrusage(RUSAGE_SELF, &process);
  return {Seconds(process.ru_utime) + Seconds(process.ru_stime), Seconds(process.ru_utime),
          Seconds(process.ru_stime), static_cast<double>(process.ru_nvcsw + process.ru_nivcsw)};
}

void Usage() {
  std::fprintf(stderr,
               "usage: bench_runner [--concurrency N] [--ops M] [--seconds S] [--repeat R]\n"
               "                    [--append-ops K] [--dir DIR] [--seed N] [--parts 0|1]\n"
               "                    [--worker-spin-ns NS] [--batch B]\n"
               "                    [--max-spinning-workers N]\n");
}

// The fastest possible client: every invocation happened, at once.
class NoopClient : public Client {
 public:
  Status Open(const Test&, const std::string&) override { return Status::Ok(); }
  Op Invoke(const Test&, const Op& invoke) override {
    Op completion = invoke;
    completion.type = OpType::kOk;
    return completion;
  }
};

struct Options {
  int64_t concurrency = 10;
  int64_t ops = 1'000'000;
  double seconds = 0;  // > 0: a time-limited generator instead of `ops`
  int64_t repeat = 3;
  int64_t append_ops = 1'000'000;
  uint64_t seed = 1;
  fs::path dir;
  bool parts = true;
  InterpreterTuning tuning;
};

struct Round {
  double seconds = 0;
  int64_t invoked = 0;
  int64_t ok = 0;
  size_t history_ops = 0;
  UsageSample usage;  // used during Run
  InterpreterStats stats;
  int64_t journal_writes = 0;
  uintmax_t journal_bytes = 0;
};

gen::GenPtr Workload(const Options& options) {
  gen::GenPtr writes = gen::Repeat("write", 1);
  if (options.seconds > 0) {
    return gen::Clients(gen::TimeLimit(static_cast<int64_t>(options.seconds * 1e9), writes));
  }
  return gen::Clients(gen::Limit(options.ops, writes));
}

Json Header(const Options& options) {
  return Json{
      {"test", "bench_runner"}, {"seed", options.seed}, {"concurrency", options.concurrency}};
}

// One run of the interpreter; with_journal writes DIR/history.jsonl (removed afterwards).
bool RunOnce(const Test& test, const Options& options, bool with_journal, Round* round) {
  std::unique_ptr<Journal> journal;
  fs::path path = options.dir / "history.jsonl";
  if (with_journal) {
    auto opened = Journal::Open(path.string(), Header(options));
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().message().c_str());
      return false;
    }
    journal = std::move(opened).value();
  }
  {
    Interpreter interpreter(test, journal.get(), nullptr, options.seed, options.tuning);
    UsageSample before = UsageNow();
    Clock::time_point start = Clock::now();
    Status status = interpreter.Run(Workload(options));
    round->seconds = SecondsSince(start);
    UsageSample after = UsageNow();
    if (!status.ok()) {
      std::fprintf(stderr, "run failed: %s\n", status.message().c_str());
      return false;
    }
    InterpreterStats stats = interpreter.stats();
    round->stats = stats;
    round->invoked = stats.invoked;
    round->ok = stats.ok;
    round->history_ops = interpreter.history().ops.size();
    round->usage = {after.cpu_s - before.cpu_s, after.user_s - before.user_s,
                    after.sys_s - before.sys_s, after.switches - before.switches};
  }
  if (journal) {
    round->journal_writes = journal->writes();
    Status closed = journal->Close();
    if (!closed.ok()) {
      std::fprintf(stderr, "%s\n", closed.message().c_str());
      return false;
    }
    std::error_code error;
    round->journal_bytes = fs::file_size(path, error);
    fs::remove(path, error);
  }
  if (round->invoked == 0 || round->ok != round->invoked ||
      round->history_ops != static_cast<size_t>(2 * round->invoked)) {
    std::fprintf(stderr, "unexpected run: %lld invoked, %lld ok, %zu history ops\n",
                 static_cast<long long>(round->invoked), static_cast<long long>(round->ok),
                 round->history_ops);
    return false;
  }
  return true;
}

// An invocation and its completion as the interpreter records them.
std::vector<Op> SampleOps() {
  Op invoke;
  invoke.type = OpType::kInvoke;
  invoke.process = 7;
  invoke.f = "write";
  invoke.value = 1;
  invoke.time_ns = 1'234'567'890;
  Op completion = invoke;
  completion.type = OpType::kOk;
  completion.time_ns += 2'500;
  return {invoke, completion};
}

struct AppendCost {
  double append_ns = 0;   // Journal::Append per line (one write(2) per line)
  double batched_ns = 0;  // Journal::Buffer per line, Flush every `batch` lines
  int batch = 0;
  double format_ns = 0;  // AppendJsonlLine per line (the formatting part of Append)
  double line_bytes = 0;
};

bool TimeAppend(const Options& options, AppendCost* cost) {
  std::vector<Op> ops = SampleOps();
  int64_t count = std::max<int64_t>(options.append_ops, 1);
  fs::path path = options.dir / "append.jsonl";
  cost->batch = options.tuning.max_batch;
  // batch 1: Append (one write per line); then Buffer with a Flush every `batch` lines, as the
  // interpreter writes when it hands out `batch` invocations at a time.
  for (int64_t batch : {int64_t{1}, static_cast<int64_t>(cost->batch)}) {
    auto opened = Journal::Open(path.string(), Header(options));
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().message().c_str());
      return false;
    }
    std::unique_ptr<Journal> journal = std::move(opened).value();
    Clock::time_point start = Clock::now();
    for (int64_t i = 0; i < count; ++i) {
      Op& op = ops[static_cast<size_t>(i & 1)];
      op.index = i;
      Status written = Status::Ok();
      if (batch == 1) {
        written = journal->Append(op);
      } else {
        journal->Buffer(op);
        if ((i + 1) % batch == 0) written = journal->Flush();
      }
      if (!written.ok()) {
        std::fprintf(stderr, "%s\n", written.message().c_str());
        return false;
      }
    }
    Status flushed = journal->Flush();
    (batch == 1 ? cost->append_ns : cost->batched_ns) =
        SecondsSince(start) * 1e9 / static_cast<double>(count);
    (void)journal->Close();
    if (!flushed.ok()) return false;
  }
  std::error_code error;
  fs::remove(path, error);
  std::string line;
  size_t total = 0;
  Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < count; ++i) {
    Op& op = ops[static_cast<size_t>(i & 1)];
    op.index = i;
    line.clear();
    AppendJsonlLine(op, &line);
    line.push_back('\n');
    total += line.size();
  }
  cost->format_ns = SecondsSince(start) * 1e9 / static_cast<double>(count);
  cost->line_bytes = static_cast<double>(total) / static_cast<double>(count);
  return true;
}

// The generator loop alone, without threads, clock or journal: gen::Simulate (the same loop as
// the interpreter, generator.h) on Clients(Limit(ops, Repeat("write", 1))) with completions at
// once. Invocations per second of wall time: what the interpreter could reach if handing ops to
// its workers and back cost nothing.
double SimulatedOpsPerSecond(const Options& options) {
  gen::SimulationOptions simulation;
  simulation.concurrency = static_cast<int>(options.concurrency);
  simulation.seed = options.seed;
  simulation.nemesis = true;  // the interpreter always has a nemesis thread
  simulation.max_ops = options.ops;
  gen::GenPtr generator = gen::Clients(gen::Limit(options.ops, gen::Repeat("write", 1)));
  Clock::time_point start = Clock::now();
  History history = gen::Simulate(generator, simulation, gen::AlwaysOk(0));
  double seconds = SecondsSince(start);
  return static_cast<double>(history.ops.size() / 2) / seconds;
}

// The interpreter's handoff primitives alone (runner/handoff.h), without generators, ops, journal
// or history: the ReadyQueue, IdleWorkers, the CompletionStack and the interpreter's Parker, with
// the same spins as the interpreter and as many workers as slots. The calling thread takes every
// completion that has arrived, puts one free slot on the ready queue per turn (one at a time:
// no batches), and, with no slot free, waits as the interpreter does. Returns handoffs
// (invocations) per second of wall time; *switches_per_op gets the process's context switches
// per handoff.
double HandoffOpsPerSecond(int concurrency, int64_t ops, const InterpreterTuning& tuning,
                           double* switches_per_op) {
  struct Slot {
    Slot* next_done = nullptr;
  };
  const size_t count = static_cast<size_t>(concurrency);
  internal::ReadyQueue<Slot> ready(2 * count);
  internal::IdleWorkers idle(count, tuning.max_spinning_workers >= 0
                                         ? tuning.max_spinning_workers
                                         : 1 << 30);
  internal::CompletionStack<Slot> done;
  internal::Parker parker;
  std::atomic<bool> stopping{false};
  std::vector<Slot> slots(count);
  std::vector<std::thread> workers;
  for (size_t id = 0; id < count; ++id) {
    workers.emplace_back([&, id] {
      auto stopped = [&] { return stopping.load(); };
      bool woke = false;
      while (Slot* slot =
                 internal::TakeNext(ready, idle, id, tuning.worker_spin_ns, stopped, &woke)) {
        idle.Returned();
        done.Push(slot);
        parker.Wake();
      }
    });
  }
  std::vector<Slot*> free_slots;
  for (Slot& slot : slots) free_slots.push_back(&slot);
  int64_t dispatched = 0, completed = 0;
  UsageSample before = UsageNow();
  Clock::time_point start = Clock::now();
  while (completed < ops) {
    Slot* arrived = done.TakeAll();
    if (!arrived && (free_slots.empty() || dispatched == ops)) {
      parker.Prepare();
      if (done.Empty()) {
        parker.Park(-1);
      } else {
        parker.Cancel();
      }
      arrived = done.TakeAll();
    }
    for (Slot* slot = arrived; slot != nullptr;) {
      Slot* next = slot->next_done;
      free_slots.push_back(slot);
      ++completed;
      slot = next;
    }
    if (!free_slots.empty() && dispatched < ops) {
      Slot* slot = free_slots.back();
      free_slots.pop_back();
      ++dispatched;
      while (!ready.Push(slot)) std::this_thread::yield();
      idle.Notify();
    }
  }
  double seconds = SecondsSince(start);
  *switches_per_op = (UsageNow().switches - before.switches) / static_cast<double>(ops);
  stopping.store(true);
  idle.StopAll();
  for (std::thread& worker : workers) worker.join();
  return static_cast<double>(ops) / seconds;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!flags.Parse(argc, argv, 1,
                   {"concurrency", "ops", "seconds", "repeat", "append-ops", "dir", "seed", "parts",
                    "worker-spin-ns", "batch",
                    "max-spinning-workers"})) {
    Usage();
    return kExitBadInput;
  }
  Options options;
  int64_t seed = 1;
  int64_t parts = 1;
  int64_t batch = options.tuning.max_batch;
  int64_t max_spinning = -1;
  if (!flags.GetInt("concurrency", 10, &options.concurrency) ||
      !flags.GetInt("ops", 1'000'000, &options.ops) ||
      !flags.GetDouble("seconds", 0, &options.seconds) ||
      !flags.GetInt("repeat", 3, &options.repeat) ||
      !flags.GetInt("append-ops", 1'000'000, &options.append_ops) ||
      !flags.GetInt("seed", 1, &seed) || !flags.GetInt("parts", 1, &parts) ||
      !flags.GetInt("worker-spin-ns", options.tuning.worker_spin_ns,
                    &options.tuning.worker_spin_ns) ||
      !flags.GetInt("batch", batch, &batch) ||
      !flags.GetInt("max-spinning-workers", 1'000'000, &max_spinning)) {
    Usage();
    return kExitBadInput;
  }
  options.seed = static_cast<uint64_t>(seed);
  options.parts = parts != 0;
  options.tuning.max_batch = static_cast<int>(std::max<int64_t>(batch, 1));
  if (flags.values.count("max-spinning-workers")) {
    options.tuning.max_spinning_workers = static_cast<int>(max_spinning);
  }
  options.repeat = std::max<int64_t>(options.repeat, 1);
  if (options.concurrency < 1) {
    std::fprintf(stderr, "--concurrency must be at least 1\n");
    return kExitBadInput;
  }
  bool own_dir = !flags.values.count("dir");
  std::error_code error;
  if (own_dir) {
    options.dir = fs::temp_directory_path(error) /
                  ("bench_runner." + std::to_string(static_cast<long long>(::getpid())));
  } else {
    options.dir = flags.Get("dir", "");
  }
  fs::create_directories(options.dir, error);
  if (!fs::is_directory(options.dir)) {
    std::fprintf(stderr, "cannot create %s\n", options.dir.c_str());
    return kExitBadInput;
  }

  Test test;
  test.options.name = "bench_runner";
  test.options.concurrency = static_cast<int>(options.concurrency);
  test.options.seed = options.seed;
  test.options.nodes = {"n1", "n2", "n3", "n4", "n5"};
  test.new_client = [] { return std::make_unique<NoopClient>(); };

  std::string workload = options.seconds > 0 ? "time_limit=" + std::to_string(options.seconds) + "s"
                                             : "ops=" + std::to_string(options.ops);
  std::printf(
      "bench_runner: concurrency=%lld %s repeat=%lld dir=%s worker_spin_ns=%lld "
      "batch=%d max_spinning_workers=%d\n",
      static_cast<long long>(options.concurrency), workload.c_str(),
      static_cast<long long>(options.repeat), options.dir.c_str(),
      static_cast<long long>(options.tuning.worker_spin_ns),
      options.tuning.max_batch, options.tuning.max_spinning_workers);

  // Per mode (0: journal off, 1: on), one value per round.
  struct Series {
    std::vector<double> rate, seconds, us_per_op, cpu_us, user_us, sys_us, switches,
        worker_wakes, delegated_wakes, parks, journal_writes;
  };
  Series series[2];
  std::vector<double> record_us;
  double journal_bytes_per_line = 0;
  int64_t invoked = 0;
  for (int64_t r = 0; r < options.repeat; ++r) {
    Round rounds[2];
    bool journal_first = r % 2 == 1;
    for (int pass = 0; pass < 2; ++pass) {
      int mode = (pass == 0) == journal_first ? 1 : 0;
      if (!RunOnce(test, options, mode == 1, &rounds[mode])) return kExitFailed;
    }
    for (int mode = 0; mode < 2; ++mode) {
      const Round& round = rounds[mode];
      double ops = static_cast<double>(round.invoked);
      Series& out = series[mode];
      out.rate.push_back(ops / round.seconds);
      out.seconds.push_back(round.seconds);
      out.us_per_op.push_back(round.seconds / ops * 1e6);
      out.cpu_us.push_back(round.usage.cpu_s / ops * 1e6);
      out.user_us.push_back(round.usage.user_s / ops * 1e6);
      out.sys_us.push_back(round.usage.sys_s / ops * 1e6);
      out.switches.push_back(round.usage.switches / ops);
      out.worker_wakes.push_back(static_cast<double>(round.stats.woke_workers) / ops);
      out.delegated_wakes.push_back(static_cast<double>(round.stats.workers_woken_by_workers) /
                                    ops);
      out.parks.push_back(static_cast<double>(round.stats.slept) / ops);
      out.journal_writes.push_back(static_cast<double>(round.journal_writes) / ops);
      std::printf(
          "round %lld, journal %s: %lld invocations in %.3f s = %.0f ops/s; per invocation: "
          "%.2f us wall, %.2f us CPU (process: %.2f us user + %.2f us sys), "
          "%.2f context switches\n",
          static_cast<long long>(r + 1), mode == 1 ? "on " : "off",
          static_cast<long long>(round.invoked), round.seconds, out.rate.back(),
          out.us_per_op.back(), out.cpu_us.back(), out.user_us.back(), out.sys_us.back(),
          out.switches.back());
    }
    record_us.push_back(series[1].us_per_op.back() - series[0].us_per_op.back());
    journal_bytes_per_line = static_cast<double>(rounds[1].journal_bytes) /
                             static_cast<double>(rounds[1].history_ops + 1);  // + the header
    invoked = rounds[1].invoked;
    std::printf("round %lld: recording %+.3f us per invocation\n", static_cast<long long>(r + 1),
                record_us.back());
    std::fflush(stdout);
  }

  AppendCost append;
  std::vector<double> simulated, handoff, handoff_switches;
  if (options.parts) {
    if (!TimeAppend(options, &append)) return kExitFailed;
    for (int64_t r = 0; r < options.repeat; ++r) {
      simulated.push_back(SimulatedOpsPerSecond(options));
      double switches = 0;
      handoff.push_back(
          HandoffOpsPerSecond(test.options.concurrency, options.ops, options.tuning, &switches));
      handoff_switches.push_back(switches);
    }
  }
  if (own_dir) fs::remove_all(options.dir, error);

  const Series& off = series[0];
  const Series& on = series[1];
  double median_record_us = Median(record_us);
  std::printf(
      "median of %lld rounds: journal off %.0f ops/s (%.3f s), journal on %.0f ops/s (%.3f s); "
      "recording adds %.3f us per invocation (2 lines, %.0f bytes each)\n",
      static_cast<long long>(options.repeat), Median(off.rate), Median(off.seconds),
      Median(on.rate), Median(on.seconds), median_record_us, journal_bytes_per_line);
  std::printf(
      "process CPU per invocation: journal off %.2f us user + %.2f us sys, journal on "
      "%.2f us user + %.2f us sys; context switches: off %.2f, on %.2f\n",
      Median(off.user_us), Median(off.sys_us), Median(on.user_us), Median(on.sys_us),
      Median(off.switches), Median(on.switches));
  std::printf(
      "handoff per invocation: journal off %.2f + %.2f worker wakes (by the interpreter + by "
      "workers), %.2f Run-thread sleeps; journal on %.2f + %.2f worker wakes, %.2f Run-thread "
      "sleeps, %.2f journal writes\n",
      Median(off.worker_wakes), Median(off.delegated_wakes), Median(off.parks),
      Median(on.worker_wakes), Median(on.delegated_wakes), Median(on.parks),
      Median(on.journal_writes));
  if (options.parts) {
    std::printf(
        "Journal::Append tight loop, %lld lines: %.0f ns per line (formatting %.0f ns, write(2) "
        "and the rest %.0f ns), %.0f bytes per line; buffered with one write per %d lines: %.0f "
        "ns per line\n",
        static_cast<long long>(options.append_ops), append.append_ns, append.format_ns,
        append.append_ns - append.format_ns, append.line_bytes, append.batch, append.batched_ns);
    std::printf(
        "parts, median of %lld rounds of %lld invocations: the generator loop alone "
        "(gen::Simulate, no threads) %.0f ops/s = %.2f us per invocation; the worker handoff "
        "alone (the interpreter's ready queue and idle workers, no generator) %.0f ops/s = %.2f us per "
        "invocation, %.2f context switches\n",
        static_cast<long long>(options.repeat), static_cast<long long>(options.ops),
        Median(simulated), 1e6 / Median(simulated), Median(handoff), 1e6 / Median(handoff),
        Median(handoff_switches));
  }
  std::printf(
      "RESULT concurrency=%lld invocations=%lld rounds=%lld ops_per_s_off=%.0f ops_per_s_on=%.0f "
      "s_off=%.4f s_on=%.4f record_us_per_op=%.3f cpu_us_per_op_off=%.2f cpu_us_per_op_on=%.2f "
      "user_us_off=%.2f sys_us_off=%.2f user_us_on=%.2f "
      "sys_us_on=%.2f switches_per_op_off=%.2f switches_per_op_on=%.2f "
      "worker_wakes_per_op_on=%.2f run_thread_sleeps_per_op_on=%.2f journal_writes_per_op=%.2f "
      "worker_spin_ns=%lld batch=%d append_ns=%.0f batched_append_ns=%.0f "
      "format_ns=%.0f line_bytes=%.0f simulate_ops_per_s=%.0f handoff_ops_per_s=%.0f\n",
      static_cast<long long>(options.concurrency), static_cast<long long>(invoked),
      static_cast<long long>(options.repeat), Median(off.rate), Median(on.rate),
      Median(off.seconds), Median(on.seconds), median_record_us, Median(off.cpu_us),
      Median(on.cpu_us), Median(off.user_us), Median(off.sys_us), Median(on.user_us),
      Median(on.sys_us), Median(off.switches),
      Median(on.switches), Median(on.worker_wakes), Median(on.parks), Median(on.journal_writes),
      static_cast<long long>(options.tuning.worker_spin_ns), options.tuning.max_batch,
      append.append_ns, append.batched_ns, append.format_ns, append.line_bytes, Median(simulated),
      Median(handoff));
  return 0;
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) { return faultline::Main(argc, argv); }
