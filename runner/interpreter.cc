#include "runner/interpreter.h"

#include <sched.h>

#include <algorithm>
#include <cassert>
#include <exception>

#include "core/catch.h"

namespace faultline {

// A client thread (or the nemesis's): its op, its client and its process. Whichever worker
// takes the op from the ready queue uses it, one op at a time.
struct Interpreter::Slot {
  int thread = 0;  // gen::kNemesisThread for the nemesis
  // Written by the interpreter before the slot is pushed on the ready queue, read by the worker
  // that pops it.
  Op invoke;
  // Written by the worker before it pushes the slot on the completion stack; read (and moved
  // from) by the interpreter after it takes it off.
  Op completion;
  Slot* next_done = nullptr;  // the completion stack's link
  std::unique_ptr<Client> client;
  int64_t client_process = -1;
};

namespace {

// The CPUs this process may run on (its affinity mask, so `taskset` counts), at least one.
int AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Closes a client whose process is over. What Close throws is dropped: nothing waits on its
// result, and an exception here would end a worker thread, and with it the process.
void CloseClient(const Test& test, Client& client) {
  (void)CatchAll("client close", [&] {
    client.Close(test);
    return Status::Ok();
  });
}

// `invoke` completed as `type` with `error`.
Op Completed(const Op& invoke, OpType type, std::string error) {
  Op completion = invoke;
  completion.type = type;
  completion.error = std::move(error);
  return completion;
}

}  // namespace

Op NoopNemesis::Invoke(const Test&, const Op& invoke) {
  Op completion = invoke;
  completion.type = OpType::kInfo;
  completion.value = "noop";
  return completion;
}

Interpreter::Interpreter(const Test& test, Journal* journal, const std::atomic<bool>* stop,
                         uint64_t seed, InterpreterTuning tuning)
    : test_(test),
      journal_(journal),
      stop_(stop),
      tuning_(tuning),
      rng_(seed),
      start_(std::chrono::steady_clock::now()),
      start_monotonic_ns_(
          std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch()).count()),
      nemesis_(test.nemesis ? test.nemesis : std::make_shared<NoopNemesis>()),
      ready_(2 * (static_cast<size_t>(test.options.concurrency) + 1)),
      idle_(static_cast<size_t>(test.options.concurrency) + 1,
            tuning.max_spinning_workers >= 0 ? tuning.max_spinning_workers
                                             : std::max(1, AvailableCpus() - 1)) {
  int concurrency = test.options.concurrency;
  for (int thread = 0; thread <= concurrency; ++thread) {
    auto slot = std::make_unique<Slot>();
    slot->thread = thread < concurrency ? thread : gen::kNemesisThread;
    slots_.push_back(std::move(slot));
  }
  busy_.assign(slots_.size(), false);
  // Every thread free, the nemesis's included; thread t runs process t.
  context_ = gen::Context::Initial(concurrency, /*with_nemesis=*/true, &rng_);
  queued_.reserve(slots_.size());
  // As many workers as threads: a worker stuck in a client call never leaves a ready op without
  // a worker to run it.
  for (size_t id = 0; id < slots_.size(); ++id) {
    workers_.emplace_back([this, id] { WorkerLoop(id); });
  }
}

Interpreter::~Interpreter() {
  // An op already on the ready queue is still run before the workers stop.
  stopping_.store(true, std::memory_order_seq_cst);
  idle_.StopAll();
  // A worker still inside a client call is waited for: clients bound their own calls (the
  // Client contract), and a worker outliving the interpreter would touch freed state.
  for (std::thread& worker : workers_) worker.join();
  for (auto& slot : slots_) {
    if (slot->client) CloseClient(test_, *slot->client);
  }
}

int64_t Interpreter::NowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start_)
      .count();
}

InterpreterStats Interpreter::stats() const {
  InterpreterStats stats = stats_;
  stats.workers_woken_by_workers = wakes_by_workers_.load(std::memory_order_relaxed);
  stats.slept = slept_.load(std::memory_order_relaxed);
  return stats;
}

size_t Interpreter::SlotOf(int thread) const {
  return thread == gen::kNemesisThread ? slots_.size() - 1 : static_cast<size_t>(thread);
}

void Interpreter::WorkerLoop(size_t id) {
  auto stopping = [this] { return stopping_.load(std::memory_order_seq_cst); };
  bool woke = false;
  // TakeNext wakes a sleeper for what is left ready before this op's client call, which may
  // block.
  while (Slot* slot =
             internal::TakeNext(ready_, idle_, id, tuning_.worker_spin_ns, stopping, &woke)) {
    if (woke) wakes_by_workers_.fetch_add(1, std::memory_order_relaxed);
    slot->completion = Execute(slot, slot->invoke);
    // Looking again before the interpreter can hand out more: it then finds this worker awake
    // and wakes nobody.
    idle_.Returned();
    completed_.Push(slot);
    // Record it, and hand out what the generator gives next, on this thread if nobody else
    // is at it: a fast client's op then costs no sleep and no wake-up on either side.
    AdvanceOnWorker();
  }
}

Op Interpreter::Execute(Slot* slot, const Op& invoke) {
  Op completion;
  if (slot->thread == gen::kNemesisThread) {
    try {
      completion = nemesis_->Invoke(test_, invoke);
    } catch (...) {
      completion = Completed(invoke, OpType::kInfo, "nemesis threw: " + CurrentExceptionMessage());
    }
  } else {
    completion = ExecuteClient(slot, invoke);
  }
  // The completion belongs to the invocation, whatever the client filled in.
  completion.process = invoke.process;
  completion.f = invoke.f;
  if (completion.type == OpType::kInvoke) {
    completion.type = OpType::kInfo;
    completion.error = "client returned an invocation, not a completion";
  }
  return completion;
}

Op Interpreter::ExecuteClient(Slot* slot, const Op& invoke) {
  if (!slot->client || slot->client_process != invoke.process) {
    if (slot->client) CloseClient(test_, *slot->client);
    slot->client.reset();
    slot->client_process = invoke.process;
    const auto& nodes = test_.options.nodes;
    std::string node = nodes.empty() ? "" : nodes[static_cast<size_t>(slot->thread) % nodes.size()];
    Status opened = CatchAll("client open", [&] {
      slot->client = test_.new_client ? test_.new_client() : nullptr;
      return slot->client ? slot->client->Open(test_, node)
                          : Status::Internal("the test has no client");
    });
    if (!opened.ok()) {
      // Nothing was sent, so the op certainly did not happen.
      slot->client.reset();
      return Completed(invoke, OpType::kFail, "client open failed: " + opened.message());
    }
  }
  Op completion;
  try {
    completion = slot->client->Invoke(test_, invoke);
  } catch (...) {
    completion = Completed(invoke, OpType::kInfo, "client threw: " + CurrentExceptionMessage());
  }
  if (completion.type == OpType::kInfo) {
    // This process is over; the thread's next op opens a fresh client as a new process.
    CloseClient(test_, *slot->client);
    slot->client.reset();
  }
  return completion;
}

const gen::Context& Interpreter::ContextNow() {
  context_.time_ns = NowNs();
  return context_;
}

void Interpreter::Record(Op op) {
  op.index = static_cast<int64_t>(history_.ops.size());
  if (journal_) journal_->Buffer(op);
  if (on_op_) on_op_(op);
  history_.ops.push_back(std::move(op));
}

void Interpreter::Dispatch(Op invoke, gen::GenPtr* generator) {
  const int thread = context_.ThreadOf(invoke.process);
  const size_t slot = SlotOf(thread);
  // A generator handing an op to a busy thread is a programmer error in the generator.
  assert(slot < slots_.size() && !busy_[slot] && "generator chose a busy thread");
  invoke.type = OpType::kInvoke;
  invoke.time_ns = NowNs();
  context_.time_ns = invoke.time_ns;
  Record(std::move(invoke));
  busy_[slot] = true;
  ++busy_count_;
  context_.SetFree(thread, false);
  ++stats_.invoked;
  const Op& logged = history_.ops.back();
  Slot& target = *slots_[slot];
  target.invoke = logged;
  queued_.push_back(&target);
  *generator = (*generator)->Update(context_, logged);
}

Status Interpreter::HandOut() {
  // The invocations (and the completions recorded before them) reach the kernel first: a client
  // never acts on an op the journal does not have.
  if (journal_) {
    Status written = journal_->Flush();
    if (!written.ok()) {
      queued_.clear();  // never handed out: they stay without completion
      return written;
    }
  }
  for (Slot* slot : queued_) {
    // Full only while a worker is between taking a cell and freeing it: a moment.
    while (!ready_.Push(slot)) std::this_thread::yield();
  }
  queued_.clear();
  // One wake at most: the worker that takes an op wakes the next if more are ready.
  if (idle_.Notify()) ++stats_.woke_workers;
  return Status::Ok();
}

void Interpreter::Complete(Slot* done, gen::GenPtr* generator) {
  const int thread = done->thread;
  const size_t slot = SlotOf(thread);
  Op& op = done->completion;
  op.time_ns = NowNs();
  context_.time_ns = op.time_ns;
  busy_[slot] = false;
  --busy_count_;
  context_.SetFree(thread, true);
  switch (op.type) {
    case OpType::kOk:
      ++stats_.ok;
      break;
    case OpType::kFail:
      ++stats_.failed;
      break;
    default:
      ++stats_.info;
      break;
  }
  const bool new_process = op.type == OpType::kInfo && thread != gen::kNemesisThread;
  Record(std::move(op));
  // The generator sees the completion while process_of still names the completed process.
  if (*generator) *generator = (*generator)->Update(context_, history_.ops.back());
  if (new_process) context_.process_of[slot] += test_.options.concurrency;
}

int Interpreter::DrainCompletions(gen::GenPtr* generator) {
  int handled = 0;
  for (Slot* slot = completed_.TakeAll(); slot != nullptr;) {
    Slot* next = slot->next_done;  // read before the slot can be handed a new op
    Complete(slot, generator);
    slot = next;
    ++handled;
  }
  return handled;
}

bool Interpreter::HandOutOrStop() {
  Status handed = HandOut();
  if (handed.ok()) return true;
  error_ = handed;
  phase_ = Phase::kDone;
  return false;
}

void Interpreter::Finish() {
  phase_ = Phase::kFinish;
  give_up_ns_ = NowNs() + static_cast<int64_t>(test_.options.operation_timeout_s * 1e9);
}

int64_t Interpreter::WaitUntil(int64_t wake_ns) {
  if (!HandOutOrStop()) return kStopped;
  if (!completed_.Empty()) return kAgain;
  if (wake_ns < 0) return kWaitForCompletion;
  return NowNs() >= wake_ns ? kAgain : wake_ns;
}

int64_t Interpreter::Advance() {
  const size_t max_batch = static_cast<size_t>(std::max(tuning_.max_batch, 1));
  while (true) {
    if (phase_ == Phase::kDone) return kStopped;
    DrainCompletions(&generator_);
    if (phase_ == Phase::kFinish) {
      // Let the ops in flight finish, up to the operation timeout.
      if (!HandOutOrStop()) return kStopped;
      if (Busy() && NowNs() < give_up_ns_) {
        if (!completed_.Empty()) continue;
        return give_up_ns_;
      }
      // The last completions reach the journal before Run returns.
      if (journal_) error_ = journal_->Flush();
      phase_ = Phase::kDone;
      return kStopped;
    }
    if (!generator_ || (stop_ && stop_->load(std::memory_order_relaxed))) {
      Finish();
      continue;
    }
    const int64_t now = ContextNow().time_ns;
    gen::Step step = generator_->Next(context_);
    if (!step.log.empty() && on_log_) on_log_(step.log);
    if (step.kind == gen::Step::Kind::kExhausted) {
      Finish();
      continue;
    }
    int64_t wait = kAgain;
    if (step.kind == gen::Step::Kind::kPending) {
      if (step.next) generator_ = step.next;
      // Nothing outstanding and no time to wake at: no event can ever unblock this generator.
      if (step.wake_ns < 0 && !Busy()) {
        Finish();
        continue;
      }
      wait = WaitUntil(step.wake_ns);
    } else if (step.op.time_ns > now) {
      wait = WaitUntil(step.op.time_ns);
    } else {
      generator_ = step.next ? step.next : generator_;
      Dispatch(std::move(step.op), &generator_);
      if (queued_.size() >= max_batch && !HandOutOrStop()) return kStopped;
    }
    if (wait != kAgain) return wait;
  }
}

int64_t Interpreter::AdvanceCatching() {
  try {
    return Advance();
  } catch (...) {
    // A generator or callback that throws on a worker must not terminate the process: the run
    // ends, and Run rethrows it on its own thread.
    failure_ = std::current_exception();
    phase_ = Phase::kDone;
    return kStopped;
  }
}

bool Interpreter::TryTakeRole() { return !role_.exchange(true, std::memory_order_seq_cst); }

void Interpreter::ReleaseRole() { role_.store(false, std::memory_order_seq_cst); }

void Interpreter::AdvanceOnWorker() {
  // The completion was pushed before the role is tried, and whoever lets the role go looks at
  // the completions afterwards (both sequentially consistent): no completion is left behind.
  while (TryTakeRole()) {
    if (!running_) {
      ReleaseRole();  // a late completion after Run returned: the next Run takes it
      return;
    }
    const int64_t wake = AdvanceCatching();
    const bool done = phase_ == Phase::kDone;
    ReleaseRole();
    if (done) {
      finished_.store(true, std::memory_order_seq_cst);
      parker_.Wake();
      return;
    }
    if (wake >= 0) {
      // The Run thread keeps the time: ask it to wake up earlier if it sleeps past `wake`.
      int64_t requested = requested_wake_.load(std::memory_order_seq_cst);
      while (wake < requested &&
             !requested_wake_.compare_exchange_weak(requested, wake, std::memory_order_seq_cst)) {
      }
      if (wake < run_deadline_.load(std::memory_order_seq_cst)) parker_.Wake();
    }
    if (completed_.Empty()) return;
  }
}

void Interpreter::AwaitTurn(int64_t deadline_ns) {
  requested_wake_.store(kNever, std::memory_order_seq_cst);
  run_deadline_.store(deadline_ns, std::memory_order_seq_cst);
  ReleaseRole();
  while (true) {
    // A completion pushed while this thread held the role: its worker could not take it.
    if (!completed_.Empty() && TryTakeRole()) return;
    parker_.Prepare();
    if (finished_.load(std::memory_order_seq_cst) ||
        requested_wake_.load(std::memory_order_seq_cst) < deadline_ns || NowNs() >= deadline_ns) {
      parker_.Cancel();
    } else {
      slept_.fetch_add(1, std::memory_order_relaxed);
      parker_.Park(start_monotonic_ns_ + deadline_ns);
    }
    // Cleared before the try: a worker that holds the role now asks again when it lets go.
    requested_wake_.store(kNever, std::memory_order_seq_cst);
    if (TryTakeRole()) return;
    deadline_ns = NowNs() + kPollNs;
    run_deadline_.store(deadline_ns, std::memory_order_seq_cst);
  }
}

Status Interpreter::Run(gen::GenPtr generator) {
  // A worker with a late completion from an earlier Run may hold the role for a moment.
  while (!TryTakeRole()) std::this_thread::yield();
  generator_ = std::move(generator);
  phase_ = Phase::kGenerate;
  error_ = Status::Ok();
  running_ = true;
  failure_ = nullptr;
  finished_.store(false, std::memory_order_seq_cst);
  while (true) {
    const int64_t wake = AdvanceCatching();
    if (phase_ == Phase::kDone) break;
    // Without an event, re-ask the generator at least every kPollNs (time-based generators, and
    // the stop flag).
    const int64_t now = NowNs();
    AwaitTurn(wake < 0 ? now + kPollNs : std::min(wake, now + kPollNs));
  }
  running_ = false;
  generator_ = nullptr;
  std::exception_ptr failure = failure_;
  ReleaseRole();
  if (failure) std::rethrow_exception(failure);
  return error_;
}

}  // namespace faultline
