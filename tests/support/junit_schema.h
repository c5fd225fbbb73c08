// Validates a JUnit XML file the way CI would read it: xmllint (Debian's libxml2-utils) against
// the schema of Jenkins' xUnit plugin (tests/data/junit/junit-10.xsd, see its README).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/command.h"
#include "support/skip.h"

namespace faultline::testing {

inline constexpr char kXmllint[] = "/usr/bin/xmllint";

inline std::string JunitSchemaPath() {
  return std::string(FAULTLINE_TEST_DATA) + "/junit/junit-10.xsd";
}

// xmllint's verdict on `path`: exit 0 and "validates" when the file is well-formed and matches
// the schema; otherwise its complaints.
inline CommandOutput ValidateJunit(const std::string& path) {
  return RunCommand(std::string(kXmllint) + " --noout --schema '" + JunitSchemaPath() + "' '" +
                    path + "'");
}

}  // namespace faultline::testing

// In a test body: skips (or fails under FAULTLINE_REQUIRE_ALL_TESTS=1) when xmllint is missing.
#define FAULTLINE_REQUIRE_XMLLINT()                                                   \
  if (!std::filesystem::exists(::faultline::testing::kXmllint))                       \
  FAULTLINE_SKIP() << ::faultline::testing::kXmllint                                  \
                   << " is missing (Debian package libxml2-utils, scripts/setup.sh)"
