// bench_linearizable: times reading and checking histories with the linearizability checker.
//
//   bench_linearizable etcd DIR [--repeat N] [--threads N]
//       Porcupine's etcd suite (DIR/jepsen/etcd_*.log, or DIR itself holding the logs; etcd_095.log
//       has no test and is skipped), checked as cas-register (initial nil) one file after another
//       in one process, the way Porcupine's `go test` runs them. Every verdict is compared with
//       VERDICTS.tsv (in DIR, or in DIR/..); any mismatch exits 1. Prints the median over the
//       repetitions of the suite's total, and the slowest file.
//   bench_linearizable file FILE [--model NAME] [--initial JSON] [--threads N]
//                               [--read-threads N] [--repeat N] [--time-limit S]
//                               [--expect valid|invalid|unknown]
//       One history: read time, check time, total, peak RSS (getrusage), verdict. With --repeat,
//       the medians. --read-threads defaults to --threads. With --expect, exits 1 on a mismatch.
//
// Each mode ends with one "RESULT key=value ..." line for scripts (scripts/bench.sh).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench/flags.h"
#include "checker/linearizable/linearizable.h"
#include "core/history_io.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;

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

// Peak resident set of this process so far (Linux reports ru_maxrss in KiB).
double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void Usage() {
  std::fprintf(stderr,
               "usage: bench_linearizable etcd DIR [--repeat N] [--threads N]\n"
               "       bench_linearizable file FILE [--model NAME] [--initial JSON] [--threads N]\n"
               "                          [--read-threads N] [--repeat N] [--time-limit S]\n"
               "                          [--expect valid|invalid|unknown]\n");
}

// VERDICTS.tsv: "jepsen/etcd_000.log<TAB>true|false"; '#' lines are comments.
bool ReadVerdicts(const std::filesystem::path& path, std::map<std::string, Verdict>* verdicts) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string name = std::filesystem::path(line.substr(0, tab)).filename().string();
    std::string expected = line.substr(tab + 1);
    (*verdicts)[name] = expected == "true" ? Verdict::kValid : Verdict::kInvalid;
  }
  return true;
}

int RunEtcd(const std::string& dir, const Flags& flags) {
  int repeat = 1;
  int threads = 0;
  if (!flags.GetInt("repeat", 5, &repeat) || !flags.GetInt("threads", 0, &threads)) {
    return kExitBadInput;
  }
  repeat = std::max(repeat, 1);
  namespace fs = std::filesystem;
  fs::path logs = fs::path(dir) / "jepsen";
  fs::path verdicts_path = fs::path(dir) / "VERDICTS.tsv";
  if (!fs::is_directory(logs)) {
    logs = dir;
    verdicts_path = fs::path(dir).parent_path() / "VERDICTS.tsv";
  }
  std::map<std::string, Verdict> verdicts;
  if (!ReadVerdicts(verdicts_path, &verdicts)) {
    std::fprintf(stderr, "cannot read %s\n", verdicts_path.c_str());
    return kExitBadInput;
  }
  std::vector<fs::path> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(logs, error)) {
    std::string name = entry.path().filename().string();
    // etcd_095.log is the run whose cluster never started: Porcupine has no test for it.
    if (name.rfind("etcd_", 0) == 0 && entry.path().extension() == ".log" &&
        name != "etcd_095.log") {
      files.push_back(entry.path());
    }
  }
  if (error || files.empty()) {
    std::fprintf(stderr, "no etcd_*.log files in %s\n", logs.c_str());
    return kExitBadInput;
  }
  std::sort(files.begin(), files.end());

  ModelSpec model{"cas-register", Json()};
  LinearizableOptions options;
  options.threads = threads;
  std::vector<double> totals, read_totals, check_totals;
  std::vector<std::vector<double>> per_file(files.size());
  int mismatches = 0;
  for (int round = 0; round < repeat; ++round) {
    double read_total = 0, check_total = 0;
    Clock::time_point round_start = Clock::now();
    for (size_t i = 0; i < files.size(); ++i) {
      std::string name = files[i].filename().string();
      Clock::time_point start = Clock::now();
      Result<History> history = ReadHistoryFile(files[i].string());
      double read_s = SecondsSince(start);
      if (!history.ok()) {
        std::fprintf(stderr, "%s\n", history.status().ToString().c_str());
        return kExitInternalError;
      }
      Clock::time_point check_start = Clock::now();
      Result<LinearizableResult> result = CheckLinearizable(*history, model, options);
      double check_s = SecondsSince(check_start);
      if (!result.ok()) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), result.status().ToString().c_str());
        return kExitInternalError;
      }
      read_total += read_s;
      check_total += check_s;
      per_file[i].push_back(read_s + check_s);
      auto expected = verdicts.find(name);
      if (expected == verdicts.end() || expected->second != result->verdict) {
        ++mismatches;
        std::fprintf(stderr, "MISMATCH %s: got %s, expected %s\n", name.c_str(),
                     std::string(ToString(result->verdict)).c_str(),
                     expected == verdicts.end() ? "(no verdict)"
                                                : std::string(ToString(expected->second)).c_str());
      }
    }
    totals.push_back(SecondsSince(round_start));
    read_totals.push_back(read_total);
    check_totals.push_back(check_total);
    std::printf("round %d: %zu files in %.4f s (read %.4f s, check %.4f s)\n", round + 1,
                files.size(), totals.back(), read_total, check_total);
  }
  size_t worst = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (Median(per_file[i]) > Median(per_file[worst])) worst = i;
  }
  std::string worst_name = files[worst].filename().string();
  std::printf(
      "etcd suite: %zu files, median of %d rounds: total %.4f s (read %.4f s, check %.4f s)"
      "; slowest file %s %.4f s; verdict mismatches: %d\n",
      files.size(), repeat, Median(totals), Median(read_totals), Median(check_totals),
      worst_name.c_str(), Median(per_file[worst]), mismatches);
  std::printf(
      "RESULT mode=etcd files=%zu rounds=%d total_s=%.4f read_s=%.4f check_s=%.4f "
      "worst_file=%s worst_s=%.4f peak_rss_mib=%.1f mismatches=%d\n",
      files.size(), repeat, Median(totals), Median(read_totals), Median(check_totals),
      worst_name.c_str(), Median(per_file[worst]), PeakRssMib(), mismatches);
  return mismatches == 0 ? 0 : 1;
}

int RunFile(const std::string& path, const Flags& flags) {
  int threads = 0, read_threads = 0, repeat = 1;
  LinearizableOptions options;
  if (!flags.GetInt("threads", 0, &threads) || !flags.GetInt("repeat", 1, &repeat) ||
      !flags.GetInt("read-threads", threads, &read_threads) ||
      !flags.GetDouble("time-limit", 0, &options.time_limit_s)) {
    return kExitBadInput;
  }
  repeat = std::max(repeat, 1);
  ModelSpec model{flags.Get("model", "kv"), Json()};
  std::string initial = flags.Get("initial", "null");
  model.initial_value = Json::parse(initial, nullptr, /*allow_exceptions=*/false);
  if (model.initial_value.is_discarded()) {
    std::fprintf(stderr, "--initial: not JSON: %s\n", initial.c_str());
    return kExitBadInput;
  }
  options.threads = threads;
  ReadOptions read_options;
  read_options.threads = read_threads;
  std::string expect = flags.Get("expect", "");

  std::vector<double> reads, checks, totals;
  double rss_after_read_mib = 0;
  size_t ops = 0, partitions = 0;
  Verdict verdict = Verdict::kValid;
  std::string reason;
  for (int round = 0; round < repeat; ++round) {
    Clock::time_point start = Clock::now();
    double check_s = 0;
    {
      Result<History> history = ReadHistoryFile(path, read_options);
      reads.push_back(SecondsSince(start));
      if (!history.ok()) {
        std::fprintf(stderr, "%s\n", history.status().ToString().c_str());
        return kExitInternalError;
      }
      rss_after_read_mib = std::max(rss_after_read_mib, PeakRssMib());
      ops = history->ops.size();
      Clock::time_point check_start = Clock::now();
      Result<LinearizableResult> result = CheckLinearizable(*history, model, options);
      check_s = SecondsSince(check_start);
      if (!result.ok()) {
        std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
        return kExitInternalError;
      }
      verdict = result->verdict;
      reason = result->reason;
      partitions = result->partitions;
      // The history is freed here, inside the timed span: a caller pays for that too.
    }
    checks.push_back(check_s);
    totals.push_back(SecondsSince(start));
    std::printf("round %d: read %.4f s, check %.4f s, total %.4f s, %s (%s)\n", round + 1,
                reads.back(), checks.back(), totals.back(), std::string(ToString(verdict)).c_str(),
                reason.c_str());
  }
  bool matches = expect.empty() || expect == ToString(verdict);
  std::printf(
      "RESULT mode=file file=%s model=%s threads=%d read_threads=%d rounds=%d ops=%zu "
      "partitions=%zu read_s=%.4f check_s=%.4f total_s=%.4f rss_after_read_mib=%.1f "
      "peak_rss_mib=%.1f verdict=%s expected=%s\n",
      std::filesystem::path(path).filename().c_str(), model.name.c_str(), threads, read_threads,
      repeat, ops, partitions, Median(reads), Median(checks), Median(totals), rss_after_read_mib,
      PeakRssMib(), std::string(ToString(verdict)).c_str(), expect.empty() ? "-" : expect.c_str());
  if (!matches) {
    std::fprintf(stderr, "MISMATCH %s: got %s, expected %s\n", path.c_str(),
                 std::string(ToString(verdict)).c_str(), expect.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) {
  using faultline::Flags;
  if (argc < 3) {
    faultline::Usage();
    return faultline::kExitBadInput;
  }
  std::string mode = argv[1];
  Flags flags;
  if (mode == "etcd") {
    if (!flags.Parse(argc, argv, 3, {"repeat", "threads"})) return faultline::kExitBadInput;
    return faultline::RunEtcd(argv[2], flags);
  }
  if (mode == "file") {
    if (!flags.Parse(
            argc, argv, 3,
            {"model", "initial", "threads", "read-threads", "repeat", "time-limit", "expect"})) {
      return faultline::kExitBadInput;
    }
    return faultline::RunFile(argv[2], flags);
  }
  faultline::Usage();
  return faultline::kExitBadInput;
}
