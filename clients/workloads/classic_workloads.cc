#include "clients/workloads/classic_workloads.h"

#include <memory>

#include "checker/workloads/workloads.h"
#include "generators/combinators.h"

namespace faultline::workloads {
namespace {

// Ops `f` (add, enqueue) of next, next + 1, ...: the state is the next element, carried by the
// value it returns.
class UniqueAdds : public gen::Generator {
 public:
  explicit UniqueAdds(int64_t next, std::string f = "add") : next_(next), f_(std::move(f)) {}

  gen::Step Next(const gen::Context& context) const override {
    std::optional<int> thread = context.SomeFreeThread();
    if (!thread) return gen::Step::Pending(shared_from_this());
    Op op = gen::MakeOp(f_, next_);
    op.type = OpType::kInvoke;
    op.process = context.ProcessOf(*thread);
    op.time_ns = context.time_ns;
    return gen::Step::Emit(std::move(op), std::make_shared<UniqueAdds>(next_ + 1, f_));
  }

 private:
  int64_t next_;
  std::string f_;
};

gen::GenPtr Reads() { return gen::Repeat("read"); }

gen::GenPtr CounterAdds() {
  return gen::Repeat([](const gen::Context&, gen::Rng& rng) {
    return gen::MakeOp("add", std::uniform_int_distribution<int>(1, kMaxAdd)(rng));
  });
}

gen::GenPtr Transfers() {
  return gen::Repeat([](const gen::Context&, gen::Rng& rng) {
    const int accounts = BankOptions().accounts;
    int from = std::uniform_int_distribution<int>(0, accounts - 1)(rng);
    // Any other account: draw among accounts - 1 and skip `from`.
    int to = std::uniform_int_distribution<int>(0, accounts - 2)(rng);
    if (to >= from) ++to;
    int amount = std::uniform_int_distribution<int>(1, kMaxTransfer)(rng);
    return gen::MakeOp("transfer", {{"from", from}, {"to", to}, {"amount", amount}});
  });
}

}  // namespace

bool IsClassicWorkload(const std::string& name) {
  return name == "counter" || name == "set" || name == "set-full" || name == "unique-ids" ||
         name == "bank" || name == "queue" || name == "total-queue";
}

gen::GenPtr ClassicGenerator(const std::string& name) {
  if (name == "counter") return gen::Mix({CounterAdds(), Reads()});
  if (name == "set") return std::make_shared<UniqueAdds>(0);
  if (name == "set-full") return gen::Mix({std::make_shared<UniqueAdds>(0), Reads()});
  if (name == "unique-ids") return gen::Repeat("generate");
  if (name == "queue" || name == "total-queue") {
    return gen::Mix({std::make_shared<UniqueAdds>(0, "enqueue"), gen::Repeat("dequeue")});
  }
  return gen::Mix({Transfers(), Reads()});
}

namespace {

// Each thread's final op, tried again every half second until it completes ok (at most 20
// tries): a database still settling after the heal (a replica resyncing, a connection the server
// closed when Sentinel demoted it) would otherwise leave the set never read.
gen::GenPtr UntilOkPerThread(const std::string& f) {
  constexpr int64_t kRetryGapNs = 500'000'000;
  return gen::EachThread(
      gen::UntilOk(gen::Delay(kRetryGapNs, gen::Limit(20, gen::Repeat(gen::Once(f))))));
}

}  // namespace

gen::GenPtr FinalGenerator(const std::string& name) {
  if (name == "set" || name == "set-full") return UntilOkPerThread("read");
  if (name == "total-queue") return UntilOkPerThread("drain");
  return nullptr;
}

}  // namespace faultline::workloads
