// A complete test of a system of your own, in C++, against an installed faultline: a Db (how a
// node's server is set up and torn down) and a Client (how one connection runs an op), the
// register workload from faultline's generators, its checkers, and the run lifecycle. The
// "system" is an in-process register per key behind a mutex; `--bug` makes one read in ten
// return the key's previous value, which the linearizability checker must catch.
//
//   custom_client [--bug]    exit 0 valid, 1 invalid, 2 unknown (faultline's codes)
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "checker/registry.h"
#include "clients/registry.h"
#include "generators/combinators.h"
#include "runner/lifecycle.h"
#include "runner/test.h"

namespace {

using faultline::Json;
using faultline::Op;
using faultline::OpType;

// The system under test: a register per key, with an optional stale-read bug.
class Registers {
 public:
  explicit Registers(bool stale_reads) : stale_reads_(stale_reads) {}

  Json Read(const Json& key) {
    std::lock_guard lock(mutex_);
    const auto& [current, previous] = values_[key.dump()];
    return stale_reads_ && random_() % 10 == 0 ? previous : current;
  }
  void Write(const Json& key, const Json& value) {
    std::lock_guard lock(mutex_);
    auto& [current, previous] = values_[key.dump()];
    previous = current;
    current = value;
  }
  bool CompareAndSet(const Json& key, const Json& expected, const Json& value) {
    std::lock_guard lock(mutex_);
    auto& [current, previous] = values_[key.dump()];
    if (current != expected) return false;
    previous = current;
    current = value;
    return true;
  }

 private:
  const bool stale_reads_;
  std::mutex mutex_;
  std::map<std::string, std::pair<Json, Json>> values_;  // key -> (current, previous)
  std::minstd_rand random_{7};
};

// Nothing to install for an in-process system; a real Db runs its commands through `remote`.
class RegistersDb : public faultline::Db {
 public:
  faultline::Status Setup(const faultline::Test&, const std::string&,
                          faultline::control::Remote&) override {
    return faultline::Status::Ok();
  }
  faultline::Status Teardown(const faultline::Test&, const std::string&,
                             faultline::control::Remote&) override {
    return faultline::Status::Ok();
  }
};

// One connection. The register workload sends [key, value] tuples: read [k, null], write [k, v],
// cas [k, [expected, new]].
class RegistersClient : public faultline::Client {
 public:
  explicit RegistersClient(std::shared_ptr<Registers> registers)
      : registers_(std::move(registers)) {}

  faultline::Status Open(const faultline::Test&, const std::string&) override {
    return faultline::Status::Ok();
  }
  Op Invoke(const faultline::Test&, const Op& invoke) override {
    Op done = invoke;
    done.type = OpType::kOk;
    const Json& key = invoke.value[0];
    const Json& argument = invoke.value[1];
    if (invoke.f == "read") {
      done.value = Json::array({key, registers_->Read(key)});
    } else if (invoke.f == "write") {
      registers_->Write(key, argument);
    } else if (!registers_->CompareAndSet(key, argument[0], argument[1])) {
      done.type = OpType::kFail;  // the compare did not match: certainly not applied
    }
    return done;
  }

 private:
  std::shared_ptr<Registers> registers_;
};

}  // namespace

int main(int argc, char** argv) {
  const bool bug = argc > 1 && std::strcmp(argv[1], "--bug") == 0;
  auto registers = std::make_shared<Registers>(bug);

  faultline::Test test;
  test.options.name = bug ? "custom-registers-stale" : "custom-registers";
  test.options.nodes = {"n1", "n2", "n3"};
  test.options.concurrency = 6;
  test.options.time_limit_s = 2;
  test.options.store_dir = "store";
  test.workload = "register";
  test.db = std::make_shared<RegistersDb>();
  test.new_client = [registers] { return std::make_unique<RegistersClient>(registers); };

  // Faultline's register workload: keys in groups of threads, reads, writes and cas of 0..4.
  faultline::gen::KeyFunction keys = [](int64_t position) -> std::optional<Json> {
    return Json(position);
  };
  test.generator = faultline::gen::TimeLimit(
      static_cast<int64_t>(test.options.time_limit_s * 1e9),
      faultline::gen::Clients(faultline::gen::Independent(
          keys, 3, 200,
          [](const Json&) { return faultline::gen::Repeat(faultline::gen::OpFunction(
                                faultline::clients::RegisterOp)); })));

  // Linearizable against a cas register that starts at null, with stats and perf.
  faultline::Result<faultline::CheckerPtr> checker = faultline::MakeRunChecker(
      {"linearizable"}, {{"model", {{"name", "cas-register"}, {"initial_value", nullptr}}}});
  if (!checker.ok()) {
    std::cerr << checker.status().message() << "\n";
    return 254;
  }
  test.checker = *checker;

  // In-process nodes: the fake db's connector (no SSH).
  faultline::RunOutcome outcome =
      faultline::RunTest(test, faultline::clients::MakeConnector("fake", {}), {});
  if (!outcome.error.ok()) std::cerr << "error: " << outcome.error.message() << "\n";
  std::cout << "verdict: " << faultline::ToString(outcome.verdict) << "\n"
            << outcome.explanation << "\n"
            << "run: " << outcome.directory.path.string() << "\n";
  switch (outcome.verdict) {
    case faultline::Verdict::kValid:
      return 0;
    case faultline::Verdict::kInvalid:
      return 1;
    default:
      return 2;
  }
}
