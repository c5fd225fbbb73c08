// End-to-end tests of the `faultline` binary: exit codes, verdict lines, JSON output, errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/command.h"

namespace {

const std::string kBinary = FAULTLINE_BINARY;
const std::string kData = FAULTLINE_TEST_DATA;
const std::string kExamples = std::string(FAULTLINE_TEST_DATA) + "/../../examples/histories";

using faultline::testing::CommandOutput;
using faultline::testing::Faultline;

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("faultline_cli_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(Cli, ValidHistoryExitsZero) {
  CommandOutput run = Faultline("check --model register " + kExamples + "/crashed-write.edn");
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("crashed-write.edn: valid"), std::string::npos) << run.out;
}

TEST(Cli, InvalidHistoryExitsOneAndExplains) {
  CommandOutput run = Faultline("check --model cas-register " + kExamples + "/stale-read.jsonl");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("cannot linearize: process 2 ok read 1 (index 7"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("longest linearizable prefix: 2 ops"), std::string::npos) << run.out;
}

TEST(Cli, ManyFilesPrintASummaryAndTheWorstVerdictWins) {
  CommandOutput run = Faultline("check --model cas-register --initial-value 0 " + kData +
                                "/knossos/cas-register/good/memstress3-1.edn " + kData +
                                "/knossos/cas-register/bad/bad-analysis.edn");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("summary: 2 files, 1 valid, 1 invalid, 0 unknown, 0 unreadable"),
            std::string::npos)
      << run.out;
}

TEST(Cli, JsonOutputCarriesTheWitness) {
  CommandOutput run =
      Faultline("check --json --model cas-register " + kExamples + "/stale-read.jsonl");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  nlohmann::json report = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << run.out;
  EXPECT_EQ(report["verdict"], "invalid");
  EXPECT_EQ(report["files"][0]["op"]["index"], 7);
  EXPECT_EQ(report["files"][0]["longest_linearizable_prefix"].size(), 2u);
}

TEST(Cli, TimeLimitGivesUnknownExitTwo) {
  // 40 crashed writes whose values are all read back in different orders: a hard search.
  std::string text = "{\"faultline_history\":1}\n";
  int index = 0;
  auto line = [&](int process, const char* type, const char* f, const std::string& value) {
    text += "{\"index\":" + std::to_string(index++) + ",\"type\":\"" + type +
            "\",\"process\":" + std::to_string(process) + ",\"f\":\"" + f +
            "\",\"value\":" + value + "}\n";
  };
  for (int p = 0; p < 40; ++p) {
    line(p, "invoke", "write", std::to_string(p));
    line(p, "info", "write", std::to_string(p));
  }
  for (int p = 0; p < 40; ++p) line(40 + p, "invoke", "read", "null");
  for (int p = 0; p < 40; ++p) line(40 + p, "ok", "read", std::to_string((p * 7) % 40));
  line(100, "invoke", "read", "null");
  line(100, "ok", "read", "-1");
  std::string path = WriteTemp("hard.jsonl", text);
  CommandOutput run = Faultline("check --model register --time-limit 0.2 " + path);
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_NE(run.out.find("unknown: time limit of 0.2 s exceeded"), std::string::npos) << run.out;
}

TEST(Cli, MalformedInputExits254WithFileLineColumn) {
  std::string path = WriteTemp("bad.edn",
                               "[{:process 0, :type :invoke, :f :read}\n"
                               " {:process 0, :type :bogus, :f :read}]\n");
  CommandOutput run = Faultline("check " + path);
  EXPECT_EQ(run.exit_code, 254) << run.out;
  EXPECT_NE(run.out.find(path + ":2:21: expected one of :invoke :ok :fail :info, found :bogus"),
            std::string::npos)
      << run.out;
}

TEST(Cli, MalformedHistoryExits254UnlessLenient) {
  std::string path = WriteTemp("overlap.jsonl",
                               "{\"index\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"write\","
                               "\"value\":1}\n"
                               "{\"index\":1,\"type\":\"invoke\",\"process\":0,\"f\":\"write\","
                               "\"value\":2}\n"
                               "{\"index\":2,\"type\":\"ok\",\"process\":0,\"f\":\"write\","
                               "\"value\":1}\n");
  CommandOutput strict = Faultline("check --model register " + path);
  EXPECT_EQ(strict.exit_code, 254) << strict.out;
  EXPECT_NE(strict.out.find("still outstanding"), std::string::npos) << strict.out;
  CommandOutput lenient = Faultline("check --lenient --model register " + path);
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out;
  EXPECT_NE(lenient.out.find("warning:"), std::string::npos) << lenient.out;
}

TEST(Cli, BadArgumentsExit254) {
  EXPECT_EQ(Faultline("check --model no-such-model " + kExamples + "/crashed-write.edn").exit_code,
            254);
  EXPECT_EQ(Faultline("check /no/such/file.edn").exit_code, 254);
  EXPECT_EQ(Faultline("frobnicate").exit_code, 254);
  EXPECT_EQ(Faultline("--help").exit_code, 0);
}

TEST(Cli, ForcedFormatMismatchIsAnError) {
  CommandOutput run = Faultline("check --format jsonl " + kExamples + "/crashed-write.edn");
  EXPECT_EQ(run.exit_code, 254) << run.out;
  EXPECT_NE(run.out.find("crashed-write.edn:"), std::string::npos) << run.out;
}

std::string FreshStore(const std::string& name) {
  auto path = std::filesystem::temp_directory_path() / ("faultline_cli_store_" + name);
  std::filesystem::remove_all(path);
  return path.string();
}

TEST(CliTest, FakeCorrectModeIsValidAndStored) {
  std::string store = FreshStore("valid");
  CommandOutput run = Faultline(
      "test --db fake --workload register --time-limit 1 --seed 7 "
      "--store " +
      store);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(run.out.rfind("seed 7", 0), 0u) << "the seed is logged first:\n" << run.out;
  EXPECT_NE(run.out.find("run 1/1: valid"), std::string::npos) << run.out;
  EXPECT_TRUE(std::filesystem::exists(store + "/latest/results.json"));
  EXPECT_EQ(std::filesystem::canonical(store + "/latest"),
            std::filesystem::canonical(store + "/current"));
  CommandOutput analyzed = Faultline("analyze " + store + "/latest");
  EXPECT_EQ(analyzed.exit_code, 0) << analyzed.out;
}

// --op-limit ends the workload after that many client ops, long before the time limit, and
// test.json records it.
TEST(CliTest, OpLimitEndsTheWorkloadAfterThatManyOps) {
  std::string store = FreshStore("op_limit");
  const auto started = std::chrono::steady_clock::now();
  CommandOutput run = Faultline(
      "test --db fake --op-limit 37 --time-limit 300 --seed 7 --store " + store);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120)) << run.out;
  EXPECT_NE(run.out.find("ops: 37 invoked"), std::string::npos) << run.out;
  std::ifstream in(store + "/latest/test.json");
  nlohmann::json test = nlohmann::json::parse(in, nullptr, false);
  EXPECT_EQ(test["op_limit"], 37) << test.dump();
  EXPECT_EQ(Faultline("test --db fake --op-limit -1").exit_code, 254);
}

// Each database's flags are listed under its name in --help, and refused for another --db.
TEST(CliTest, DatabaseFlagsAreGroupedByDatabaseAndRefusedForAnother) {
  CommandOutput help = Faultline("test --help");
  ASSERT_EQ(help.exit_code, 0) << help.out;
  for (const char* expected : {"Options of --db fake:", "--fake-bug", "Options of --db etcd:",
                               "--read-consistency", "Options of --db exec:", "--db-kill"}) {
    EXPECT_NE(help.out.find(expected), std::string::npos) << expected << "\n" << help.out;
  }
  CommandOutput foreign = Faultline("test --db exec --client-command true --fake-bug stale-reads");
  EXPECT_EQ(foreign.exit_code, 254) << foreign.out;
  EXPECT_NE(foreign.out.find("--fake-bug applies to --db fake, not --db exec"), std::string::npos)
      << foreign.out;
}

// run.log lines line up with the nodes' logs: an ISO 8601 UTC time and a level on each.
TEST(CliTest, RunLogLinesCarryAnIsoTimeAndALevel) {
  std::string store = FreshStore("log");
  auto before = std::chrono::system_clock::now();
  CommandOutput run = Faultline("test --db fake --time-limit 1 --seed 8 --store " + store);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  std::ifstream in(store + "/latest/run.log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 3u);
  const std::regex shape(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |WARN |ERROR) .+)");
  for (const std::string& line : lines) EXPECT_TRUE(std::regex_match(line, shape)) << line;
  EXPECT_EQ(lines.front().substr(24), " INFO  seed 8");
  // The time is now, in UTC: parse the first stamp back and compare with the clock.
  std::tm parts{};
  ASSERT_NE(strptime(lines.front().c_str(), "%Y-%m-%dT%H:%M:%S", &parts), nullptr);
  auto logged = std::chrono::system_clock::from_time_t(timegm(&parts));
  EXPECT_LE(std::chrono::abs(logged - before), std::chrono::seconds(5)) << lines.front();
  // The display shows the line alone.
  EXPECT_EQ(run.out.rfind("seed 8\n", 0), 0u) << run.out;
}

// A database that refused every write leaves a history nothing is wrong with: the register
// checker alone says valid. The stats checker, composed into every run, makes it unknown.
TEST(CliTest, ARunWhoseWritesAllFailedIsUnknownNotValid) {
  std::string store = FreshStore("refused");
  CommandOutput run = Faultline(
      "test --db fake --fake-bug refused-writes --time-limit 1 --seed 9 --store " + store);
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_NE(run.out.find("stats: unknown: no cas or write ever succeeded"), std::string::npos)
      << run.out;
  std::ifstream in(store + "/latest/results.json");
  nlohmann::json results = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(results.is_discarded());
  EXPECT_EQ(results["valid"], "unknown");
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], true);  // alone, it would pass
  EXPECT_EQ(results["checkers"]["stats"]["valid"], "unknown");
  EXPECT_EQ(results["checkers"]["stats"]["never_succeeded"], nlohmann::json({"cas", "write"}));
  EXPECT_GT(results["checkers"]["stats"]["by_f"]["read"]["ok_count"], 0);
}

// --checker, repeated, composes checkers: each has its own entry in results.json beside stats and
// perf; test.json records the composition, so analyze judges the run the same way; perf draws
// its plots into checker/perf/ with the --apdex-t given.
TEST(CliTest, SeveralCheckersJudgeARunEachWithItsOwnEntry) {
  std::string store = FreshStore("checkers");
  CommandOutput run = Faultline(
      "test --db fake --fake-bug stale-reads --time-limit 1 --seed 4 --checker linearizable "
      "--checker session --apdex-t 0.01 --store " +
      store);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  auto read_json = [&](const std::string& file) {
    std::ifstream in(store + "/latest/" + file);
    return nlohmann::json::parse(in, nullptr, false);
  };
  nlohmann::json results = read_json("results.json");
  ASSERT_FALSE(results.is_discarded());
  EXPECT_EQ(results["valid"], false);
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], false);
  for (const char* name : {"session", "stats", "perf"}) {
    EXPECT_TRUE(results["checkers"].contains(name)) << name << ": " << results.dump();
  }
  EXPECT_EQ(results["checkers"]["perf"]["apdex_t_s"], 0.01);
  EXPECT_GT(results["checkers"]["perf"]["operations"], 0);
  nlohmann::json described = read_json("test.json")["checker"];
  ASSERT_EQ(described["checkers"].size(), 4u) << described.dump();
  EXPECT_EQ(described["checkers"][1]["name"], "session");
  if (std::system("command -v gnuplot >/dev/null") == 0) {
    EXPECT_TRUE(std::filesystem::is_regular_file(store + "/latest/checker/perf/latency-raw.svg"));
    EXPECT_EQ(results["checkers"]["perf"]["plots"].size(), 8u);
  }
  CommandOutput analyzed = Faultline("analyze " + store + "/latest");
  EXPECT_EQ(analyzed.exit_code, 1) << analyzed.out;
  nlohmann::json again = read_json("results.json");
  // The same verdict; which invalid key is reported, and the search's cost, vary with the
  // threads' timing (the search stops at the first violation any thread finds).
  for (const char* field : {"valid", "model", "partitions", "operations"}) {
    EXPECT_EQ(again["checkers"]["linearizable"][field], results["checkers"]["linearizable"][field])
        << field;
  }
  // Read back from history.jsonl, the session witnesses also name their lines; the findings stay.
  for (const char* guarantee : {"read-your-writes", "monotonic-reads"}) {
    EXPECT_EQ(again["checkers"]["session"]["guarantees"][guarantee]["violations"],
              results["checkers"]["session"]["guarantees"][guarantee]["violations"]);
  }
  EXPECT_EQ(again["checkers"]["session"]["valid"], results["checkers"]["session"]["valid"]);

  CommandOutput twice = Faultline("test --db fake --time-limit 1 --checker session --checker "
                                  "session --store " + store);
  EXPECT_EQ(twice.exit_code, 254) << twice.out;
  EXPECT_NE(twice.out.find("session named twice"), std::string::npos) << twice.out;
}

// Options that make no test are refused before a local cluster is built for them. The state
// directory is the test's own, so a regression would build (and this test then removes) a
// cluster there, never the user's.
TEST(CliTest, BadNemesisOptionsAreRefusedBeforeTheLocalClusterIsBuilt) {
  const std::filesystem::path state =
      std::filesystem::temp_directory_path() / "faultline_cli_no_cluster";
  std::filesystem::remove_all(state);
  CommandOutput run = Faultline("test --db etcd --nemesis kill --nemesis-targets primaries "
                                "--time-limit 1 --cluster-state-dir " + state.string());
  EXPECT_EQ(run.exit_code, 254) << run.out;
  EXPECT_NE(run.out.find("--nemesis-targets leaves kill nothing to aim at (on these nodes it can "
                         "aim at one, minority, majority, all)"),
            std::string::npos)
      << run.out;
  EXPECT_EQ(run.out.find("local cluster up"), std::string::npos) << run.out;
  EXPECT_FALSE(std::filesystem::exists(state / "cluster.json"));
  if (std::filesystem::exists(state / "cluster.json"))
    (void)Faultline("cluster down --state-dir " + state.string());
  std::filesystem::remove_all(state);
}

TEST(CliTest, FakeBugIsInvalidAndTestCountKeepsTheWorst) {
  std::string store = FreshStore("bug");
  CommandOutput run = Faultline(
      "test --db fake --fake-bug lost-writes --time-limit 0.5 "
      "--test-count 2 --seed 3 --store " +
      store);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("run 2/2: invalid"), std::string::npos) << run.out;
}

TEST(CliTest, TestAllReportsEveryRunAndExitsWithTheWorst) {
  std::string store = FreshStore("all");
  CommandOutput valid = Faultline(
      "test-all --db fake --time-limit 0.3 --nemesis-sets none,none "
      "--seed 11 --store " +
      store);
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  EXPECT_NE(valid.out.find("test-all: 2 runs"), std::string::npos) << valid.out;
  CommandOutput invalid = Faultline(
      "test-all --db fake --fake-bug lost-writes --time-limit 0.5 "
      "--seed 12 --store " +
      store);
  EXPECT_EQ(invalid.exit_code, 1) << invalid.out;
  EXPECT_NE(invalid.out.find("register x none: invalid  " + store), std::string::npos)
      << invalid.out;
  std::string matrix = WriteTemp("matrix.json", R"({"workloads":["register"],"nemesis":["x"]})");
  CommandOutput bad = Faultline("test-all --matrix " + matrix);
  EXPECT_EQ(bad.exit_code, 254) << bad.out;
  EXPECT_NE(bad.out.find("unknown nemesis set \"x\""), std::string::npos) << bad.out;
}

// A controller killed with SIGKILL leaves a history prefix that analyze can still check.
TEST(CliTest, KilledRunKeepsACheckablePrefix) {
  std::string store = FreshStore("killed");
  std::string command = "timeout -s KILL 1.5 " + kBinary +
                        " test --db fake --time-limit 30 --rate 2000 --seed 5 --store " + store +
                        " > /dev/null 2>&1";
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 137) << status;
  // `latest` is the last finished run: there is none. `current` is the run that was under way.
  EXPECT_FALSE(std::filesystem::exists(store + "/latest"));
  ASSERT_FALSE(std::filesystem::exists(store + "/current/results.json"));
  CommandOutput analyzed = Faultline("analyze " + store + "/current");
  EXPECT_EQ(analyzed.exit_code, 0) << analyzed.out;  // the fake store is correct
  EXPECT_TRUE(std::filesystem::exists(store + "/current/results.json"));
}

TEST(CliTest, SigintStopsTheRunAndStillChecks) {
  std::string store = FreshStore("interrupted");
  std::string command = "timeout --preserve-status -s INT 1 " + kBinary +
                        " test --db fake --time-limit 30 --rate 2000 --seed 6 --store " + store +
                        " > /dev/null 2>&1";
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 2);  // cut short: unknown
  std::ifstream in(store + "/latest/results.json");
  nlohmann::json results = nlohmann::json::parse(in, nullptr, false);
  EXPECT_EQ(results.value("interrupted", false), true) << results.dump(2);
  EXPECT_EQ(results["verdict"], "unknown") << results.dump(2);
}

}  // namespace
