// Every case of tests/data/elle/cases, with each expectation written in its header
// ("; expect with {OPTIONS} => RESULT"): the checker must report exactly Elle's anomaly types and
// verdict. Where the checker knows more than Elle (reads of values nobody wrote), the extra types
// are listed in kImprovements with the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "checker/txn/txn.h"
#include "core/history_io.h"

namespace faultline {
namespace {

struct Expectation {
  std::string file;
  std::string line;
  TxnOptions options;
  Verdict verdict = Verdict::kValid;
  std::set<std::string> types;
};

// Anomalies we report beyond Elle's, by case: each is a read of a value no transaction wrote.
const std::map<std::string, std::set<std::string>> kImprovements = {
    // Elle's own test marks this valid verdict as a bug: x = 2 was never written.
    {"rw-garbage-read-missed.edn", {"garbage-read"}},
    // x = 2 is never written, and is read after the write of 1 completed.
    {"rw-cyclic-versions-linearizable.edn", {"garbage-read"}},
    // x = 1 is never written, and nil (the initial state) is read too.
    {"rw-scc-sort-bug.edn", {"garbage-read"}},
};

std::vector<std::string> Keywords(const std::string& text) {
  std::vector<std::string> names;
  std::regex keyword(":([A-Za-z0-9?-]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), keyword);
       it != std::sregex_iterator(); ++it) {
    names.push_back((*it)[1]);
  }
  return names;
}

std::string Option(const std::string& options, const std::string& name) {
  std::smatch match;
  std::regex pattern(":" + name + " (nil|true|false|\\[[^\\]]*\\])");
  return std::regex_search(options, match, pattern) ? match[1].str() : "";
}

TxnOptions ParseOptions(const std::string& file, const std::string& options) {
  TxnOptions parsed;
  parsed.workload = file.rfind("la-", 0) == 0 ? TxnWorkload::kListAppend : TxnWorkload::kRwRegister;
  std::string models = Option(options, "consistency-models");
  if (!models.empty()) parsed.consistency_models.clear();
  for (std::string model : Keywords(models)) {
    parsed.consistency_models.push_back(model == "strong-serializable" ? "strict-serializable"
                                                                       : model);
  }
  parsed.anomalies = Keywords(Option(options, "anomalies"));
  parsed.wfr_keys = Option(options, "wfr-keys\\?") == "true";
  parsed.sequential_keys = Option(options, "sequential-keys\\?") == "true";
  parsed.linearizable_keys = Option(options, "linearizable-keys\\?") == "true";
  return parsed;
}

std::vector<Expectation> LoadExpectations() {
  std::vector<Expectation> all;
  std::string dir = std::string(FAULTLINE_TEST_DATA) + "/elle/cases";
  std::regex expect("^; expect with (\\{.*?\\})[^=]*=> (.*)$");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".edn") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line) && line.rfind(";", 0) == 0) {
      std::smatch match;
      if (!std::regex_search(line, match, expect)) continue;
      Expectation expectation;
      expectation.file = entry.path().filename().string();
      expectation.line = line;
      expectation.options = ParseOptions(expectation.file, match[1]);
      std::string result = match[2];
      if (result.rfind("invalid", 0) == 0 || result.rfind("G2-item expected", 0) == 0) {
        expectation.verdict = Verdict::kInvalid;
      } else if (result.rfind("unknown", 0) == 0) {
        expectation.verdict = Verdict::kUnknown;
      }
      std::smatch types;
      if (std::regex_search(result, types, std::regex("anomaly-types [\\[(]([^\\])]*)"))) {
        for (const std::string& type : Keywords(types[1])) expectation.types.insert(type);
      } else if (result.rfind("G2-item expected", 0) == 0) {
        expectation.types = {"G2-item"};
      } else if (result.find(":empty-transaction-graph") != std::string::npos) {
        expectation.types = {"empty-transaction-graph"};
      }
      all.push_back(expectation);
    }
  }
  return all;
}

TEST(ElleAcceptance, EveryCaseReportsElleAnomalyTypes) {
  std::vector<Expectation> expectations = LoadExpectations();
  std::set<std::string> files;
  for (const Expectation& expectation : expectations) files.insert(expectation.file);
  ASSERT_GE(files.size(), 39u);
  for (const Expectation& expectation : expectations) {
    SCOPED_TRACE(expectation.file + ": " + expectation.line);
    Result<History> history =
        ReadHistoryFile(std::string(FAULTLINE_TEST_DATA) + "/elle/cases/" + expectation.file);
    ASSERT_TRUE(history.ok()) << history.status().message();
    Result<TxnResult> result = CheckTransactions(*history, expectation.options);
    ASSERT_TRUE(result.ok()) << result.status().message();
    std::set<std::string> types(result->anomaly_types.begin(), result->anomaly_types.end());
    std::set<std::string> expected = expectation.types;
    auto improvement = kImprovements.find(expectation.file);
    Verdict verdict = expectation.verdict;
    if (improvement != kImprovements.end()) {
      expected.insert(improvement->second.begin(), improvement->second.end());
      verdict = Verdict::kInvalid;
    }
    EXPECT_EQ(types, expected) << result->ToText();
    EXPECT_EQ(result->verdict, verdict) << result->ToText();
  }
}

}  // namespace
}  // namespace faultline
