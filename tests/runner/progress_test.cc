// The live progress line (runner/cli/progress.h): ops/s while the workload runs; past the time
// limit, what the run is doing (its last log line) instead of an ops/s that only falls.
#include "runner/cli/progress.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace faultline::cli {
namespace {

Op ClientOp(OpType type) {
  Op op;
  op.type = type;
  op.process = 0;
  op.f = "read";
  return op;
}

TEST(Progress, DuringTheWorkloadTheLineCountsOpsAgainstTheTimeLimit) {
  Progress progress(1000);
  progress.Count(ClientOp(OpType::kInvoke));
  progress.Count(ClientOp(OpType::kOk));
  std::ostringstream out;
  progress.Print(out, "running the workload");
  const std::string line = progress.StatusLine();
  EXPECT_NE(line.find("s / 1000.0s] "), std::string::npos) << line;
  EXPECT_NE(line.find(" ops/s  ok 1  fail 0  info 0  faults: none"), std::string::npos) << line;
  EXPECT_EQ(line.find("running the workload"), std::string::npos) << line;
  EXPECT_EQ(out.str().rfind("running the workload\n", 0), 0u) << out.str();
}

TEST(Progress, PastTheTimeLimitTheLineSaysWhatTheRunIsDoing) {
  Progress progress(0);  // over at once
  progress.Count(ClientOp(OpType::kInvoke));
  progress.Count(ClientOp(OpType::kInfo));
  std::ostringstream out;
  progress.Print(out, "checking 2 ops");
  const std::string line = progress.StatusLine();
  EXPECT_NE(line.find("s] checking 2 ops  ok 0  fail 0  info 1  faults: none"), std::string::npos)
      << line;
  EXPECT_EQ(line.find("ops/s"), std::string::npos) << line;
}

}  // namespace
}  // namespace faultline::cli
