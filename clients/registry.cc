#include "clients/registry.h"

#include <algorithm>

#include "clients/fake/fake.h"
#include "generators/combinators.h"
#include "runner/control/fake_remote.h"

namespace faultline::clients {
namespace {

constexpr int64_t kOpsPerKey = 200;  // keeps each key's history small for the checker

// Jepsen's independent groups need the client threads to split evenly: the largest divisor of
// the concurrency that is at most 10.
int ThreadsPerKey(int concurrency) {
  for (int group = std::min(concurrency, 10); group > 1; --group) {
    if (concurrency % group == 0) return group;
  }
  return 1;
}

// Reads, writes and compare-and-sets of small values, so that cas often succeeds and reads see
// real contention.
Op RegisterOp(const gen::Context&, gen::Rng& rng) {
  std::uniform_int_distribution<int> value(0, 4);
  switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
    case 0:
      return gen::MakeOp("read");
    case 1:
      return gen::MakeOp("write", value(rng));
    default:
      return gen::MakeOp("cas", Json::array({value(rng), value(rng)}));
  }
}

gen::GenPtr RegisterWorkload(const TestOptions& options) {
  gen::KeyFunction keys = [](int64_t position) -> std::optional<Json> { return Json(position); };
  gen::GenPtr generator =
      gen::Independent(keys, ThreadsPerKey(options.concurrency), kOpsPerKey,
                       [](const Json&) { return gen::Repeat(gen::OpFunction(RegisterOp)); });
  generator = gen::Clients(generator);
  if (options.rate > 0) generator = gen::Rate(options.rate, generator);
  return gen::TimeLimit(static_cast<int64_t>(options.time_limit_s * 1e9), generator);
}

}  // namespace

std::vector<std::string> DbNames() { return {"fake"}; }
std::vector<std::string> WorkloadNames() { return {"register"}; }
std::vector<std::string> NemesisNames() { return {"none"}; }

bool IsWorkload(const std::string& name) {
  auto names = WorkloadNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsNemesisSet(const std::string& set) {
  auto names = NemesisNames();
  std::string fault;
  for (char c : set + "+") {
    if (c != '+' && c != ',') {
      fault += c;
      continue;
    }
    if (std::find(names.begin(), names.end(), fault) == names.end()) return false;
    fault.clear();
  }
  return true;
}

Result<Test> BuildTest(const TestOptions& options, const WorkloadOptions& workload) {
  Test test;
  test.options = options;
  test.workload = workload.workload;
  if (workload.db != "fake") return Status::InvalidArgument("unknown db " + workload.db);
  if (!IsNemesisSet(workload.nemesis)) {
    return Status::InvalidArgument("unknown nemesis set " + workload.nemesis);
  }
  std::optional<fake::Bug> bug = fake::ParseBug(workload.fake_bug);
  if (!bug) return Status::InvalidArgument("unknown fake bug " + workload.fake_bug);
  auto store = std::make_shared<fake::FakeStore>(*bug, options.seed);
  test.db = std::make_shared<fake::FakeDb>();
  test.new_client = [store] { return std::make_unique<fake::FakeClient>(store); };
  if (workload.workload != "register") {
    return Status::InvalidArgument("unknown workload " + workload.workload);
  }
  test.generator = RegisterWorkload(options);
  test.model = {"cas-register", Json()};  // fake registers start at nil
  return test;
}

Connector MakeConnector(const std::string& db, const control::SshOptions& ssh) {
  if (db == "fake") {
    return [](const std::string& node) -> Result<std::unique_ptr<control::Remote>> {
      return std::unique_ptr<control::Remote>(std::make_unique<control::FakeRemote>(node));
    };
  }
  return [ssh](const std::string& node) { return control::ConnectSsh(node, ssh); };
}

}  // namespace faultline::clients
