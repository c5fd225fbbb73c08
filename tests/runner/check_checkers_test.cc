// `faultline check --checker list-append|rw-register|session`: the binary's exit codes, anomaly
// names, DOT files and errors for the isolation and session checkers.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;

const std::string kBinary = FAULTLINE_BINARY;
const std::string kCases = std::string(FAULTLINE_TEST_DATA) + "/elle/cases/";

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together
};

Output Check(const std::string& arguments) {
  Output run;
  FILE* pipe = popen((kBinary + " check " + arguments + " 2>&1").c_str(), "r");
  if (!pipe) return run;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) run.text.append(buffer, n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(CheckCheckers, ListAppendCycleIsInvalidAndNamed) {
  Output run =
      Check("--checker list-append --consistency-model read-committed " + kCases + "la-G1c.edn");
  EXPECT_EQ(run.exit_code, 1) << run.text;
  EXPECT_NE(run.text.find("G1c"), std::string::npos) << run.text;
}

TEST(CheckCheckers, TheConsistencyModelDecidesWhatCounts) {
  // Elle's G2-item case: forbidden under serializable, allowed under read-committed.
  Output strict =
      Check("--checker list-append --consistency-model serializable " + kCases + "la-G2-item.edn");
  EXPECT_EQ(strict.exit_code, 1) << strict.text;
  EXPECT_NE(strict.text.find("G2-item"), std::string::npos) << strict.text;
  Output weak = Check("--checker list-append --consistency-model read-committed " + kCases +
                      "la-G2-item.edn");
  EXPECT_EQ(weak.exit_code, 0) << weak.text;
}

TEST(CheckCheckers, RwRegisterJsonNamesTheAnomaly) {
  Output run = Check("--checker rw-register --consistency-model repeatable-read --json " + kCases +
                     "rw-G1b.edn");
  EXPECT_EQ(run.exit_code, 1) << run.text;
  nlohmann::json report = nlohmann::json::parse(run.text, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << run.text;
  EXPECT_EQ(report["verdict"], "invalid");
  EXPECT_NE(report["files"][0].dump().find("G1b"), std::string::npos) << run.text;
}

TEST(CheckCheckers, CyclesDirGetsOneDotFilePerCycle) {
  fs::path directory = fs::temp_directory_path() / "faultline_cycles_test";
  fs::remove_all(directory);
  Output run = Check("--checker list-append --consistency-model read-committed --cycles-dir " +
                     directory.string() + " " + kCases + "la-G1c.edn");
  EXPECT_EQ(run.exit_code, 1) << run.text;
  size_t dots = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    if (entry.path().extension() != ".dot") continue;
    ++dots;
    std::ifstream in(entry.path());
    std::string first;
    std::getline(in, first);
    EXPECT_NE(first.find("digraph"), std::string::npos) << entry.path();
  }
  EXPECT_GE(dots, 1u) << run.text;
  fs::remove_all(directory);
}

TEST(CheckCheckers, SessionCheckerFindsAReadThatMissesTheSessionsOwnWrite) {
  fs::path file = fs::temp_directory_path() / "faultline_session_ryw.jsonl";
  std::ofstream(file)
      << R"({"faultline_history":1,"concurrency":2})"
         "\n"
      << R"({"index":0,"process":0,"type":"invoke","f":"txn","value":[["append","x",1]]})"
         "\n"
      << R"({"index":1,"process":0,"type":"ok","f":"txn","value":[["append","x",1]]})"
         "\n"
      << R"({"index":2,"process":0,"type":"invoke","f":"txn","value":[["r","x",null]]})"
         "\n"
      << R"({"index":3,"process":0,"type":"ok","f":"txn","value":[["r","x",[]]]})"
         "\n";
  Output run = Check("--checker session " + file.string());
  EXPECT_EQ(run.exit_code, 1) << run.text;
  EXPECT_NE(run.text.find("read-your-writes: invalid"), std::string::npos) << run.text;
  fs::remove(file);
}

TEST(CheckCheckers, UnknownConsistencyModelIsBadArguments) {
  Output run = Check("--checker list-append --consistency-model sorta-serializable " + kCases +
                     "la-G1c.edn");
  EXPECT_EQ(run.exit_code, 254) << run.text;
}

TEST(CheckCheckers, MalformedMicroOpIsBadInputNamingTheFile) {
  fs::path file = fs::temp_directory_path() / "faultline_bad_txn.edn";
  std::ofstream(file) << "[{:process 0, :type :ok, :f :txn, :value [[:frobnicate :x 1]]}]\n";
  Output run = Check("--checker list-append " + file.string());
  EXPECT_EQ(run.exit_code, 254) << run.text;
  EXPECT_NE(run.text.find(file.filename().string()), std::string::npos) << run.text;
  fs::remove(file);
}

}  // namespace
