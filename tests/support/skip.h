// Skips that cannot pass CI. A test that needs something the machine may lack (root, sshd, etcd,
// a free fl-br0 bridge) says so with FAULTLINE_SKIP() instead of GTEST_SKIP(): on a developer's
// box it skips as before; with FAULTLINE_REQUIRE_ALL_TESTS=1 in the environment (.ci/run sets it)
// it is a fatal failure that names the reason and the variable, so a missing package or a
// cluster leaked by an earlier test cannot turn the rest of the suite into silent passes.
//
// Use it exactly like GTEST_SKIP(), in a void function (SetUp or a test body):
//   if (!fs::exists("/usr/sbin/sshd")) FAULTLINE_SKIP() << "/usr/sbin/sshd is missing";
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace faultline::testing {

inline constexpr char kRequireAllTestsVariable[] = "FAULTLINE_REQUIRE_ALL_TESTS";

// True when the environment asks for every test to run (FAULTLINE_REQUIRE_ALL_TESTS=1).
inline bool RequireAllTests() {
  const char* value = std::getenv(kRequireAllTestsVariable);
  return value != nullptr && std::string_view(value) == "1";
}

// Soaks that take minutes run only when asked, with FAULTLINE_SLOW=1 (docs/testing.md). Skipping
// one otherwise is by design, not a missing requirement, so it stays a skip in CI too.
inline bool SlowTestsAsked() {
  const char* value = std::getenv("FAULTLINE_SLOW");
  return value != nullptr && std::string_view(value) == "1";
}

inline ::testing::TestPartResult::Type SkipResultType() {
  return RequireAllTests() ? ::testing::TestPartResult::kFatalFailure
                           : ::testing::TestPartResult::kSkip;
}

inline const char* SkipHeading() {
  return RequireAllTests()
             ? "Not skipped: FAULTLINE_REQUIRE_ALL_TESTS=1 makes every skip a failure. Reason:"
             : "Skipped";
}

}  // namespace faultline::testing

// GTEST_SKIP() with the result type chosen at run time (gtest's own macros build on AssertHelper
// the same way).
#define FAULTLINE_SKIP()                                                                     \
  return ::testing::internal::AssertHelper(::faultline::testing::SkipResultType(), __FILE__, \
                                           __LINE__, ::faultline::testing::SkipHeading()) =  \
             ::testing::Message()

// First thing in a soak's SetUp (before any lock or cluster) or body: skips it unless
// FAULTLINE_SLOW=1, whatever FAULTLINE_REQUIRE_ALL_TESTS says.
#define FAULTLINE_SLOW_ONLY()                              \
  if (::faultline::testing::SlowTestsAsked()) {            \
  } else                                                   \
    GTEST_SKIP() << "a soak: it runs only with FAULTLINE_SLOW=1"
