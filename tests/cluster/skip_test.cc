// FAULTLINE_SKIP (tests/support/skip.h): a skip on a developer's box, a failure that names the
// reason and the variable under FAULTLINE_REQUIRE_ALL_TESTS=1, as .ci/run sets it.
#include "support/skip.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

namespace faultline::testing {
namespace {

bool reached_after_skip = false;

void SkipBecauseSomethingIsMissing() {
  reached_after_skip = false;
  FAULTLINE_SKIP() << "/usr/sbin/something is missing";
  reached_after_skip = true;
}

// The one result SkipBecauseSomethingIsMissing reports with FAULTLINE_REQUIRE_ALL_TESTS = `value`
// (nullptr: unset).
::testing::TestPartResult ResultWith(const char* value) {
  const char* saved = std::getenv(kRequireAllTestsVariable);
  std::string saved_value = saved == nullptr ? "" : saved;
  if (value == nullptr) {
    ::unsetenv(kRequireAllTestsVariable);
  } else {
    ::setenv(kRequireAllTestsVariable, value, 1);
  }
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    SkipBecauseSomethingIsMissing();
  }
  if (saved == nullptr) {
    ::unsetenv(kRequireAllTestsVariable);
  } else {
    ::setenv(kRequireAllTestsVariable, saved_value.c_str(), 1);
  }
  EXPECT_EQ(results.size(), 1);
  EXPECT_FALSE(reached_after_skip);
  return results.size() == 1 ? results.GetTestPartResult(0)
                             : ::testing::TestPartResult(::testing::TestPartResult::kSuccess,
                                                         "", 0, "no result");
}

TEST(SkipTest, SkipsWhenNotEveryTestIsRequired) {
  for (const char* value : {static_cast<const char*>(nullptr), "", "0", "yes"}) {
    ::testing::TestPartResult result = ResultWith(value);
    EXPECT_TRUE(result.skipped()) << (value == nullptr ? "unset" : value);
    EXPECT_NE(std::string(result.message()).find("/usr/sbin/something is missing"),
              std::string::npos)
        << result.message();
  }
}

TEST(SkipTest, FailsNamingTheReasonAndTheVariableWhenEveryTestIsRequired) {
  ::testing::TestPartResult result = ResultWith("1");
  EXPECT_TRUE(result.fatally_failed()) << result.message();
  const std::string message = result.message();
  EXPECT_NE(message.find("/usr/sbin/something is missing"), std::string::npos) << message;
  EXPECT_NE(message.find("FAULTLINE_REQUIRE_ALL_TESTS=1"), std::string::npos) << message;
}

}  // namespace
}  // namespace faultline::testing
