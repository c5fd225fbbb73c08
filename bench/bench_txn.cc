// bench_txn: times the isolation checker on a generated list-append history.
//
//   bench_txn [--txns N] [--sessions N] [--concurrency N] [--seed N] [--threads N] [--repeat N]
//             [--out FILE]
//
// The history comes from a strictly serializable in-memory store: `concurrency` transactions in
// flight at once over `sessions` processes, each of 4 micro-ops (appends and reads) over a window
// of 32 active keys, a key retired after 16 appends (so reads stay short, as in Elle's runs). It is
// checked for strict-serializable (expected valid) `repeat` times with `threads` threads (0 = one
// per core); the median check is reported, with its CPU time (user + system, all threads: on a
// shared machine the wall time depends on the load, the CPU time much less) and the wall time of
// each phase of that check. Ends with a "RESULT key=value ..." line. With --out it checks nothing:
// it writes the history to FILE as a run's history.jsonl, each line 10 µs after the one before
// (the generator has no clock), for bench/report_bench.sh.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "bench/flags.h"
#include "checker/txn/txn.h"
#include "core/history_io.h"

namespace faultline {
namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

History Generate(size_t txns, int sessions, int concurrency, uint32_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::vector<int64_t>> lists;  // by key
  std::vector<int64_t> window;              // active keys
  for (int i = 0; i < 32; ++i) {
    window.push_back(static_cast<int64_t>(lists.size()));
    lists.emplace_back();
  }
  struct Slot {
    int64_t process = -1;
    Json txn;
  };
  std::vector<Slot> slots(static_cast<size_t>(concurrency));
  History history;
  history.ops.reserve(txns * 2);
  int64_t next_value = 1, next_process = 0;
  size_t started = 0, in_flight = 0;
  auto emit = [&](OpType type, const Slot& slot) {
    Op op;
    op.type = type;
    op.process = slot.process;
    op.f = "txn";
    op.value = slot.txn;
    op.index = static_cast<int64_t>(history.ops.size());
    history.ops.push_back(std::move(op));
  };
  while (started < txns || in_flight > 0) {
    Slot& slot = slots[random() % slots.size()];
    if (slot.process < 0) {
      if (started == txns) continue;
      ++started;
      ++in_flight;
      slot.process = next_process++ % sessions;
      slot.txn = Json::array();
      for (int m = 0; m < 4; ++m) {
        size_t w = random() % window.size();
        if (random() % 2) {
          slot.txn.push_back({"append", window[w], next_value++});
        } else {
          slot.txn.push_back({"r", window[w], nullptr});
        }
      }
      emit(OpType::kInvoke, slot);
      continue;
    }
    // Apply at once and complete: the store is serial, the invocations overlap.
    for (Json& mop : slot.txn) {
      auto key = mop[1].get<int64_t>();
      std::vector<int64_t>& list = lists[static_cast<size_t>(key)];
      if (mop[0] == "append") {
        list.push_back(mop[2].get<int64_t>());
      } else {
        mop[2] = list;
      }
    }
    emit(OpType::kOk, slot);
    for (int64_t& key : window) {
      if (lists[static_cast<size_t>(key)].size() >= 16) {
        key = static_cast<int64_t>(lists.size());
        lists.emplace_back();
      }
    }
    slot.process = -1;
    --in_flight;
  }
  return history;
}

struct Run {
  double wall_s = 0;
  double cpu_s = 0;
  Result<TxnResult> result = Status::Internal("not run");
};

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) {
  using namespace faultline;
  Flags flags;
  size_t txns = 0, threads = 0, repeat = 0;
  int sessions = 0, concurrency = 0;
  uint32_t seed = 0;
  if (!flags.Parse(argc, argv, 1,
                   {"txns", "sessions", "concurrency", "seed", "threads", "repeat", "out"}) ||
      !flags.GetInt("txns", 100000, &txns) || !flags.GetInt("sessions", 100, &sessions) ||
      !flags.GetInt("concurrency", 10, &concurrency) || !flags.GetInt("seed", 1, &seed) ||
      !flags.GetInt("threads", 0, &threads) || !flags.GetInt("repeat", 1, &repeat) ||
      sessions < 1 || concurrency < 1 || repeat < 1) {
    std::fprintf(stderr,
                 "usage: bench_txn [--txns N] [--sessions N] [--concurrency N] [--seed N] "
                 "[--threads N] [--repeat N] [--out FILE]\n");
    return 254;
  }
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  History history = Generate(txns, sessions, concurrency, seed);
  double generate_s = std::chrono::duration<double>(Clock::now() - start).count();
  double generated_rss = PeakRssMib();
  if (const std::string out = flags.Get("out", ""); !out.empty()) {
    history.header = {{"test", "bench_txn"}, {"seed", seed}, {"concurrency", concurrency}};
    for (Op& op : history.ops) op.time_ns = op.index * 10'000;
    Status written = WriteJsonlFile(history, out);
    if (!written.ok()) {
      std::fprintf(stderr, "%s\n", written.message().c_str());
      return 255;
    }
    std::fprintf(stderr, "bench_txn: %zu transactions (seed %u) -> %s\n", txns, seed, out.c_str());
    return 0;
  }
  TxnOptions options;
  options.threads = threads;
  std::vector<Run> runs;
  for (size_t round = 0; round < repeat; ++round) {
    Run run;
    double cpu = CpuSeconds();
    start = Clock::now();
    run.result = CheckTransactions(history, options);
    run.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    run.cpu_s = CpuSeconds() - cpu;
    if (!run.result.ok()) {
      std::fprintf(stderr, "%s\n", run.result.status().message().c_str());
      return 255;
    }
    std::printf("round %zu: check %.2f s (cpu %.2f s)\n", round + 1, run.wall_s, run.cpu_s);
    runs.push_back(std::move(run));
  }
  std::sort(runs.begin(), runs.end(),
            [](const Run& a, const Run& b) { return a.wall_s < b.wall_s; });
  const Run& median = runs[runs.size() / 2];
  const TxnResult& result = *median.result;
  std::printf("%s", result.ToText().substr(0, 400).c_str());
  std::printf("phases (wall s / cpu s):");
  for (const TxnPhase& phase : result.phases) {
    std::printf(" %s=%.3f/%.3f", phase.name.c_str(), phase.seconds, phase.cpu_seconds);
  }
  std::printf("\n");
  std::printf(
      "RESULT txns=%zu threads=%zu generate_s=%.2f check_s=%.2f check_cpu_s=%.2f txn_per_s=%.0f "
      "edges=%zu rss_after_generate_mib=%.0f peak_rss_mib=%.0f verdict=%s\n",
      txns, threads, generate_s, median.wall_s, median.cpu_s,
      static_cast<double>(txns) / median.wall_s, result.edges, generated_rss, PeakRssMib(),
      std::string(ToString(result.verdict)).c_str());
  return result.verdict == Verdict::kValid ? 0 : 1;
}
