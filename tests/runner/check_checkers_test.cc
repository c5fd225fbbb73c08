// `faultline check --checker list-append|rw-register|session`: the binary's exit codes, anomaly
// names, DOT files and errors for the isolation and session checkers.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/command.h"

namespace {

namespace fs = std::filesystem;

const std::string kCases = std::string(FAULTLINE_TEST_DATA) + "/elle/cases/";

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together
};

Output Check(const std::string& arguments) {
  faultline::testing::CommandOutput run = faultline::testing::Faultline("check " + arguments);
  return {run.exit_code, run.out};
}

std::set<std::string> Strings(const nlohmann::json& array) {
  std::set<std::string> strings;
  if (!array.is_array()) return strings;
  for (const nlohmann::json& item : array) {
    if (item.is_string()) strings.insert(item.get<std::string>());
  }
  return strings;
}

// `faultline check --json ARGUMENTS CASE` on one of Elle's cases: expects `exit_code` and a
// report of that one file, and returns the file's entry (null, failing, when there is none).
nlohmann::json CheckCase(const std::string& arguments, const std::string& file, int exit_code) {
  Output run = Check(arguments + " --json " + kCases + file);
  EXPECT_EQ(run.exit_code, exit_code) << run.text;
  nlohmann::json report = nlohmann::json::parse(run.text, nullptr, false);
  if (report.is_discarded() || !report["files"].is_array() || report["files"].size() != 1) {
    ADD_FAILURE() << "not a one-file JSON report:\n" << run.text;
    return nullptr;
  }
  EXPECT_EQ(report["verdict"], exit_code == 1 ? "invalid" : "valid") << run.text;
  return report["files"][0];
}

// The entry's anomaly types, and the types of its example anomalies (every type has examples),
// must be `types`.
void ExpectAnomalyTypes(const nlohmann::json& file, const std::set<std::string>& types,
                        const std::set<std::string>& examples) {
  EXPECT_EQ(Strings(file["anomaly_types"]), types) << file.dump(2);
  std::set<std::string> example_types;
  if (file.is_object() && file["anomalies"].is_array()) {
    for (const nlohmann::json& anomaly : file["anomalies"]) {
      if (anomaly["type"].is_string()) example_types.insert(anomaly["type"].get<std::string>());
    }
  }
  EXPECT_EQ(example_types, examples) << file.dump(2);
}

// The anomaly types are read from the JSON result, not searched for in the output, which
// repeats the file name (la-G1c.edn) and so would contain the type whatever was found.
TEST(CheckCheckers, ListAppendCycleIsInvalidAndNamed) {
  nlohmann::json file =
      CheckCase("--checker list-append --consistency-model read-committed", "la-G1c.edn", 1);
  ExpectAnomalyTypes(file, {"G1c"}, {"G1c"});
}

TEST(CheckCheckers, TheConsistencyModelDecidesWhatCounts) {
  // Elle's G2-item case: forbidden under serializable, allowed under read-committed.
  nlohmann::json forbidden =
      CheckCase("--checker list-append --consistency-model serializable", "la-G2-item.edn", 1);
  ExpectAnomalyTypes(forbidden, {"G2-item"}, {"G2-item"});
  nlohmann::json allowed =
      CheckCase("--checker list-append --consistency-model read-committed", "la-G2-item.edn", 0);
  ExpectAnomalyTypes(allowed, {}, {"G2-item"});
  EXPECT_EQ(Strings(allowed["found_types"]), std::set<std::string>{"G2-item"});
}

TEST(CheckCheckers, RwRegisterJsonNamesTheAnomaly) {
  nlohmann::json file =
      CheckCase("--checker rw-register --consistency-model repeatable-read", "rw-G1b.edn", 1);
  // Elle's result for this case: [:G1b :empty-transaction-graph].
  ExpectAnomalyTypes(file, {"G1b", "empty-transaction-graph"}, {"G1b"});
}

// update-atomic (from Elle's lattice) forbids lost updates only: the G2-item the lost update
// also is stays allowed, and the JSON names both weakest models the history rules out.
TEST(CheckCheckers, UpdateAtomicForbidsLostUpdate) {
  nlohmann::json file =
      CheckCase("--checker list-append --consistency-model update-atomic", "la-lost-update.edn", 1);
  ExpectAnomalyTypes(file, {"lost-update"}, {"G2-item", "lost-update"});
  EXPECT_EQ(Strings(file["not"]), (std::set<std::string>{"cursor-stability", "update-atomic"}));
}

TEST(CheckCheckers, CyclesDirGetsOneDotAndOneSvgFilePerCycle) {
  fs::path directory = fs::temp_directory_path() / "faultline_cycles_test";
  fs::remove_all(directory);
  Output run = Check("--checker list-append --consistency-model read-committed --cycles-dir " +
                     directory.string() + " " + kCases + "la-G1c.edn");
  EXPECT_EQ(run.exit_code, 1) << run.text;
  EXPECT_EQ(run.text.find("no cycle drawings"), std::string::npos) << run.text;
  size_t dots = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    if (entry.path().extension() != ".dot") continue;
    ++dots;
    std::ifstream in(entry.path());
    std::string first;
    std::getline(in, first);
    EXPECT_NE(first.find("digraph"), std::string::npos) << entry.path();
    // The drawing beside it, by Graphviz: well-formed XML (xmllint, libxml2-utils).
    fs::path svg = entry.path();
    svg.replace_extension(".svg");
    ASSERT_TRUE(fs::exists(svg)) << svg << "\n" << run.text;
    faultline::testing::CommandOutput lint =
        faultline::testing::RunCommand("/usr/bin/xmllint --noout '" + svg.string() + "'");
    EXPECT_EQ(lint.exit_code, 0) << lint.out;
  }
  EXPECT_GE(dots, 1u) << run.text;
  fs::remove_all(directory);
}

// Without Graphviz on PATH the DOT files are still written, with one warning for all of them.
TEST(CheckCheckers, CyclesDirWithoutDotWarnsOnce) {
  fs::path directory = fs::temp_directory_path() / "faultline_cycles_nodot_test";
  fs::remove_all(directory);
  faultline::testing::CommandOutput run = faultline::testing::RunCommand(
      "PATH=/nonexistent " + std::string(FAULTLINE_BINARY) +
      " check --checker list-append --consistency-model read-committed --cycles-dir " +
      directory.string() + " " + kCases + "la-G1c.edn " + kCases + "la-G0.edn");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  size_t warnings = 0;
  for (size_t at = 0; (at = run.out.find("warning: no cycle drawings", at)) != std::string::npos;
       ++at) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << run.out;
  size_t dots = 0, svgs = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    dots += entry.path().extension() == ".dot";
    svgs += entry.path().extension() == ".svg";
  }
  EXPECT_GE(dots, 2u) << run.out;
  EXPECT_EQ(svgs, 0u);
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

// Several --checker on one history: each its own result in the file's entry, its own JUnit
// testcase; a checker named twice is bad input.
TEST(CheckCheckers, SeveralCheckersEachJudgeTheFile) {
  const std::string junit = ::testing::TempDir() + "faultline_several_checkers.xml";
  nlohmann::json file =
      CheckCase("--checker list-append --checker session --junit " + junit, "la-G0.edn", 1);
  EXPECT_EQ(file["checker"], nlohmann::json({"list-append", "session"}));
  EXPECT_EQ(file["checkers"]["list-append"]["valid"], false) << file.dump(2);
  EXPECT_TRUE(file["checkers"]["session"].contains("valid")) << file.dump(2);
  std::ifstream in(junit);
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("classname=\"list-append.strict-serializable\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"session\""), std::string::npos) << xml;
  std::remove(junit.c_str());

  Output twice = Check("--checker session --checker session " + kCases + "la-G0.edn");
  EXPECT_EQ(twice.exit_code, 254) << twice.text;
  EXPECT_NE(twice.text.find("--checker session given twice"), std::string::npos) << twice.text;
}

}  // namespace
