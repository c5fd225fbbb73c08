// Acceptance: the linearizability checker agrees with the verdicts Porcupine and Knossos publish
// for their own test corpora (tests/data/{porcupine,knossos}, see tests/data/README.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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

std::vector<Expectation> PorcupineExpectations() {
  std::vector<Expectation> expectations;
  for (const std::string& row : ReadTsvRows(kData + "/porcupine/VERDICTS.tsv")) {
    std::vector<std::string> fields = Split(row);
    if (fields.size() < 2) continue;
    expectations.push_back({fields[0], "cas-register", fields[1] == "true"});
  }
  return expectations;
}

TEST(PorcupineEtcd, EveryLogGetsPorcupinesVerdict) {
  std::vector<Expectation> expectations = PorcupineExpectations();
  ASSERT_EQ(expectations.size(), 102u);  // 103 logs, etcd_095 has no verdict upstream
  int linearizable = 0;
  for (const Expectation& expected : expectations) {
    LinearizableResult result =
        CheckFile(kData + "/porcupine/" + expected.file, {"cas-register", Json()});
    Verdict want = expected.linearizable ? Verdict::kValid : Verdict::kInvalid;
    EXPECT_EQ(result.verdict, want) << expected.file << "\n" << result.ToText();
    linearizable += expected.linearizable ? 1 : 0;
  }
  EXPECT_EQ(linearizable, 23);
}

TEST(PorcupineEtcd, RawLogsWithSetupNoiseGetTheSameVerdicts) {
  for (const Expectation& expected : PorcupineExpectations()) {
    std::string name = std::filesystem::path(expected.file).filename();
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
