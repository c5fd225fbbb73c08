#include "nemesis/schedule.h"

#include <algorithm>
#include <cassert>
#include <memory>

#include "generators/combinators.h"
#include "generators/random.h"

namespace faultline::nemesis {
namespace {

bool HasNemesisThread(const gen::Context& context) {
  const std::vector<int> threads = context.AllThreads();
  return std::find(threads.begin(), threads.end(), gen::kNemesisThread) != threads.end();
}

class FaultCycleGenerator : public gen::Generator {
 public:
  FaultCycleGenerator(std::shared_ptr<const std::vector<FaultPlan>> faults, int64_t interval_ns)
      : faults_(std::move(faults)), interval_ns_(interval_ns) {}

  gen::Step Next(const gen::Context& context) const override {
    if (!HasNemesisThread(context)) return gen::Step::Exhausted();
    if (in_flight_) return gen::Step::Pending(shared_from_this());  // until its completion
    if (due_ns_ < 0) {  // first call: the first fault comes one interval from now
      auto next = Copy();
      next->due_ns_ = context.time_ns + interval_ns_;
      const int64_t due_ns = next->due_ns_;
      return gen::Step::Pending(std::move(next), due_ns);
    }
    if (context.time_ns < due_ns_) return gen::Step::Pending(shared_from_this(), due_ns_);
    if (!context.IsFree(gen::kNemesisThread)) return gen::Step::Pending(shared_from_this());
    auto next = Copy();
    next->in_flight_ = true;
    Op op;
    if (active_ < 0) {
      next->active_ = next->TakeFromRound(*context.rng);
      const FaultPlan& plan = (*faults_)[static_cast<size_t>(next->active_)];
      op = gen::MakeOp(StartOpName(plan.name), plan.draw_value(*context.rng));
    } else {
      op = gen::MakeOp(StopOpName((*faults_)[static_cast<size_t>(active_)].name));
      next->active_ = -1;
    }
    op.type = OpType::kInvoke;
    op.process = kNemesisProcess;
    op.time_ns = context.time_ns;
    return gen::Step::Emit(std::move(op), std::move(next));
  }

  gen::GenPtr Update(const gen::Context& context, const Op& event) const override {
    if (!in_flight_ || !event.is_nemesis() || !event.is_completion()) return shared_from_this();
    auto next = Copy();
    next->in_flight_ = false;
    next->due_ns_ = context.time_ns + interval_ns_;
    return next;
  }

 private:
  // The next fault of the current round, starting a new seeded shuffle of every enabled fault
  // when the round is used up: each fault comes once per round, so every fault the user asked
  // for happens within the first rounds of a test.
  int TakeFromRound(gen::Rng& rng) {
    if (round_.empty()) {
      for (size_t fault = 0; fault < faults_->size(); ++fault) {
        round_.push_back(static_cast<int>(fault));
      }
      for (size_t i = round_.size(); i > 1; --i) {
        std::swap(round_[i - 1], round_[gen::UniformBelow(rng, i)]);
      }
    }
    int fault = round_.back();
    round_.pop_back();
    return fault;
  }

  std::shared_ptr<FaultCycleGenerator> Copy() const {
    return std::make_shared<FaultCycleGenerator>(*this);
  }

  std::shared_ptr<const std::vector<FaultPlan>> faults_;
  int64_t interval_ns_;
  int64_t due_ns_ = -1;     // when the next op is due; -1 until first asked
  int active_ = -1;         // index of the fault started and not yet stopped, or -1
  std::vector<int> round_;  // faults of the current round not started yet (taken from the back)
  bool in_flight_ = false;  // an op was emitted and has not completed yet
};

}  // namespace

std::string StartOpName(const std::string& fault) { return "start-" + fault; }
std::string StopOpName(const std::string& fault) { return "stop-" + fault; }

gen::GenPtr FaultCycle(std::vector<FaultPlan> faults, int64_t interval_ns) {
  assert(!faults.empty() && interval_ns > 0);
  return std::make_shared<FaultCycleGenerator>(
      std::make_shared<const std::vector<FaultPlan>>(std::move(faults)), interval_ns);
}

}  // namespace faultline::nemesis
