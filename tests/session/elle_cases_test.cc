// Sanity over Elle's list-append and rw-register cases: every file reads, checks without error,
// and gets a verdict. Elle has no session-guarantee expectations, so only the data type and the
// shape of the result are asserted, plus a few cases whose session verdict is plain by hand.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "checker/session/session.h"
#include "core/history_io.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

const fs::path kCases = fs::path(FAULTLINE_TEST_DATA) / "elle" / "cases";

Result<SessionResult> CheckCase(const std::string& name) {
  Result<History> history = ReadHistoryFile((kCases / name).string());
  if (!history.ok()) return history.status();
  SessionOptions options;
  options.lenient = true;  // some cases pair loosely, as Elle's own tests write them
  return CheckSessions(*history, options);
}

TEST(SessionElleCases, EveryCaseGetsAVerdict) {
  size_t files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kCases)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".edn") continue;
    ++files;
    SCOPED_TRACE(name);
    Result<SessionResult> result = CheckCase(name);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const std::string expected_type = name.rfind("la-", 0) == 0 ? "list-append" : "rw-register";
    EXPECT_EQ(result->data_type, expected_type);
    EXPECT_EQ(result->guarantees.size(), 4u);
    EXPECT_FALSE(result->ToText().empty());
    EXPECT_TRUE(result->ToJson().contains("valid"));
  }
  EXPECT_GE(files, 39u);
}

TEST(SessionElleCases, PlainVerdicts) {
  // Process 0 reads x = [1] after its own append of 1 failed: the read saw no write of its own
  // session that must be there, and nothing else is in the history.
  Result<SessionResult> g1a = CheckCase("la-G1a.edn");
  ASSERT_TRUE(g1a.ok());
  EXPECT_EQ(g1a->verdict, Verdict::kValid) << g1a->ToText();
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

// Jepsen etcd register runs (Porcupine's corpus): small random values, so most reads name no
// write. The checker must read them as registers and never report a case it cannot prove.
TEST(SessionJepsenLogs, RegisterRunsWithRepeatedValues) {
  const fs::path logs = fs::path(FAULTLINE_TEST_DATA) / "porcupine" / "jepsen";
  for (const char* name : {"etcd_000.log", "etcd_001.log", "etcd_002.log"}) {
    SCOPED_TRACE(name);
    Result<History> history = ReadHistoryFile((logs / name).string());
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    SessionOptions options;
    options.concurrency = 5;  // etcd runs use 5 client threads
    Result<SessionResult> result = CheckSessions(*history, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->data_type, "register");
    // Repeated values leave reads unjudged, and say so.
    EXPECT_GT(result->guarantees[0].unjudged, 0u);
    ASSERT_FALSE(result->warnings.empty());
    EXPECT_NE(result->warnings.back().find("written more than once"), std::string::npos);
    for (const GuaranteeResult& guarantee : result->guarantees) {
      for (const SessionWitness& witness : guarantee.witnesses) {
        // Every register witness ends with a read that names its write or is the initial value.
        EXPECT_EQ(witness.ops.back().action.rfind("read", 0), 0u) << witness.ToText();
      }
    }
  }
}

}  // namespace
}  // namespace faultline
