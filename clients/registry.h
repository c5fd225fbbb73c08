// Which databases and workloads `faultline test` can build, by name.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "runner/test.h"

namespace faultline::clients {

struct WorkloadOptions {
  std::string db = "fake";
  std::string workload = "register";
  std::string fake_bug = "none";  // fake db only: none, stale-reads, lost-writes, non-atomic-cas
  int keys_per_thread_group = 0;  // 0 = default
};

std::vector<std::string> DbNames();
std::vector<std::string> WorkloadNames();

// A complete test value from the options: db, client factory, generators, model.
Result<Test> BuildTest(const TestOptions& options, const WorkloadOptions& workload);

}  // namespace faultline::clients
