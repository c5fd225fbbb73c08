// Acceptance: the linearizability checker agrees with the verdicts Porcupine and Knossos publish
// for their own test corpora (tests/data/{porcupine,knossos}, see tests/data/README.md). The
// folders are listed, not just the verdict tables: a history without a verdict row, or a row
// without its history, fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "checker/linearizable/linearizable.h"
#include "core/history_io.h"

namespace faultline {
namespace {

const std::string kData = FAULTLINE_TEST_DATA;

struct Expectation {
  std::string file;   // relative to the corpus folder
  std::string model;  // as written in the verdicts file
  bool linearizable = false;
  bool has_verdict = true;  // false: upstream gives none, and the row says why
};

std::vector<std::string> ReadTsvRows(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') rows.push_back(line);
  }
  return rows;
}

std::vector<std::string> Split(const std::string& row) {
  std::vector<std::string> fields;
  std::stringstream in(row);
  for (std::string field; std::getline(in, field, '\t');) fields.push_back(field);
  return fields;
}

LinearizableResult CheckFile(const std::string& path, const ModelSpec& model) {
  Result<History> history = ReadHistoryFile(path);
  EXPECT_TRUE(history.ok()) << history.status().ToString();
  if (!history.ok()) return {};
  LinearizableOptions options;
  options.time_limit_s = 60;  // a guard against hangs; every file takes milliseconds
  Result<LinearizableResult> result = CheckLinearizable(*history, model, options);
  EXPECT_TRUE(result.ok()) << path << ": " << result.status().ToString();
  return result.ok() ? *result : LinearizableResult{};
}

// Every file under the corpus folder, relative to it.
std::set<std::string> FilesIn(const std::string& corpus) {
  std::set<std::string> files;
  const std::filesystem::path folder = kData + "/" + corpus;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    if (entry.is_directory()) continue;
    files.insert(std::filesystem::relative(entry.path(), folder).string());
  }
  return files;
}

// Fails naming each file of the folder that has no verdict row, and each row without its file.
void ExpectFilesAreTheRows(const std::set<std::string>& files, const std::set<std::string>& rows) {
  for (const std::string& file : files) {
    EXPECT_TRUE(rows.count(file)) << file << " has no verdict row";
  }
  for (const std::string& row : rows) EXPECT_TRUE(files.count(row)) << row << " is missing";
}

// Rows are `file<TAB>true|false`, or `file<TAB>none<TAB>why` where upstream has no verdict.
std::vector<Expectation> PorcupineExpectations() {
  std::vector<Expectation> expectations;
  for (const std::string& row : ReadTsvRows(kData + "/porcupine/VERDICTS.tsv")) {
    std::vector<std::string> fields = Split(row);
    EXPECT_GE(fields.size(), 2u) << row;
    if (fields.size() < 2) continue;
    EXPECT_TRUE(fields[1] == "true" || fields[1] == "false" || fields.size() >= 3) << row;
    expectations.push_back(
        {fields[0], "cas-register", fields[1] == "true", fields[1] == "true" || fields[1] == "false"});
  }
  return expectations;
}

std::string FileName(const std::string& path) { return std::filesystem::path(path).filename(); }

// The folder holds the verdict table, one log per row under jepsen/ and its unfiltered original
// under jepsen-raw-ahorn/, and nothing else.
TEST(PorcupineEtcd, EveryLogHasAVerdictRowAndEveryRowALog) {
  std::set<std::string> expected = {"VERDICTS.tsv"};
  for (const Expectation& row : PorcupineExpectations()) {
    EXPECT_TRUE(expected.insert(row.file).second) << row.file << " has two rows";
    expected.insert("jepsen-raw-ahorn/" + FileName(row.file));
  }
  ExpectFilesAreTheRows(FilesIn("porcupine"), expected);
  EXPECT_EQ(expected.size(), 1u + 2 * 103);
}

TEST(PorcupineEtcd, EveryLogGetsPorcupinesVerdict) {
  std::vector<Expectation> expectations = PorcupineExpectations();
  ASSERT_EQ(expectations.size(), 103u);
  int linearizable = 0, checked = 0;
  for (const Expectation& expected : expectations) {
    std::string path = kData + "/porcupine/" + expected.file;
    if (!expected.has_verdict) {
      // etcd_095: the cluster never started, so the log holds no operation to judge.
      EXPECT_EQ(std::filesystem::file_size(path), 0u) << expected.file;
      continue;
    }
    LinearizableResult result = CheckFile(path, {"cas-register", Json()});
    Verdict want = expected.linearizable ? Verdict::kValid : Verdict::kInvalid;
    EXPECT_EQ(result.verdict, want) << expected.file << "\n" << result.ToText();
    linearizable += expected.linearizable ? 1 : 0;
    ++checked;
  }
  EXPECT_EQ(checked, 102);
  EXPECT_EQ(linearizable, 23);
}

TEST(PorcupineEtcd, RawLogsWithSetupNoiseGetTheSameVerdicts) {
  for (const Expectation& expected : PorcupineExpectations()) {
    if (!expected.has_verdict) continue;
    std::string name = FileName(expected.file);
    LinearizableResult result =
        CheckFile(kData + "/porcupine/jepsen-raw-ahorn/" + name, {"cas-register", Json()});
    Verdict want = expected.linearizable ? Verdict::kValid : Verdict::kInvalid;
    EXPECT_EQ(result.verdict, want) << name;
  }
}

ModelSpec KnossosModel(const std::string& text) {
  if (text == "cas-register(0)") return {"cas-register", 0};
  if (text == "mutex") return {"mutex", Json()};
  if (text.rfind("multi-register", 0) == 0) return {"multi-register", Json{{"x", 0}, {"y", 0}}};
  ADD_FAILURE() << "unknown Knossos model " << text;
  return {};
}

// Knossos' rendering of a failed analysis, kept beside its history; not a history itself.
const char kKnossosTimeline[] = "cas-register/bad/rethink-fail-smaller-timeline.html";

TEST(Knossos, EveryHistoryHasAVerdictRowAndEveryRowAHistory) {
  std::set<std::string> expected = {"VERDICTS.tsv", kKnossosTimeline};
  for (const std::string& row : ReadTsvRows(kData + "/knossos/VERDICTS.tsv")) {
    std::string file = Split(row)[0];
    EXPECT_TRUE(expected.insert(file).second) << file << " has two rows";
  }
  ExpectFilesAreTheRows(FilesIn("knossos"), expected);
  EXPECT_EQ(expected.size(), 2u + 122);
}

TEST(Knossos, EveryHistoryGetsKnossosVerdict) {
  int checked = 0;
  for (const std::string& row : ReadTsvRows(kData + "/knossos/VERDICTS.tsv")) {
    std::vector<std::string> fields = Split(row);
    ASSERT_GE(fields.size(), 3u) << row;
    LinearizableResult result = CheckFile(kData + "/knossos/" + fields[0], KnossosModel(fields[1]));
    Verdict want = fields[2] == "true" ? Verdict::kValid : Verdict::kInvalid;
    EXPECT_EQ(result.verdict, want) << fields[0] << "\n" << result.ToText();
    ++checked;
  }
  EXPECT_EQ(checked, 122);  // every .edn file under knossos/
}

struct FailingOp {
  std::string file;
  Json initial_value;
  int64_t process;
  std::string f;
  Json value;
  int64_t index;
};

// The op Knossos names as the one that cannot be linearized (VERDICTS.tsv notes).
TEST(Knossos, FailingOpMatchesForTheSmallCases) {
  std::vector<FailingOp> cases = {
      {"cas-register/bad/bad-analysis.edn", 0, 21, "read", 2, 14},
      {"cas-register/bad/immediate-failure.edn", 0, 1, "read", 3, 3},
      {"cas-register/bad/rethink-fail-minimal.edn", Json(), 1, "read", 3, 4},
      {"cas-register/bad/rethink-fail-smaller.edn", Json(), 12, "read", 3, 217},
      {"cas-register/bad/cas-failure.edn", 0, 70, "read", 0, 491},
  };
  for (const FailingOp& expected : cases) {
    LinearizableResult result =
        CheckFile(kData + "/knossos/" + expected.file, {"cas-register", expected.initial_value});
    ASSERT_EQ(result.verdict, Verdict::kInvalid) << expected.file;
    ASSERT_TRUE(result.failed_op.has_value()) << expected.file;
    const Op& op = *result.failed_op;
    EXPECT_EQ(op.index, expected.index) << expected.file << "\n" << result.ToText();
    EXPECT_EQ(op.f, expected.f) << expected.file;
    EXPECT_EQ(op.value, expected.value) << expected.file;
    EXPECT_EQ(op.process, expected.process) << expected.file;
    EXPECT_EQ(op.type, OpType::kOk) << expected.file;
  }
}

// Knossos' tests use 1 ms time limits on these histories to force :unknown.
TEST(Knossos, TinyTimeLimitOnALargeHistoryIsUnknownNotWrong) {
  Result<History> history = ReadHistoryFile(kData + "/knossos/cas-register/bad/rethink-fail.edn");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  LinearizableOptions options;
  options.time_limit_s = 1e-9;
  Result<LinearizableResult> result = CheckLinearizable(*history, {"cas-register", 0}, options);
  ASSERT_TRUE(result.ok());
  // Either the search finished within its first clock check or it stopped: never "valid".
  EXPECT_NE(result->verdict, Verdict::kValid);
}

}  // namespace
}  // namespace faultline
