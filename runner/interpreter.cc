#include "runner/interpreter.h"

#include <sched.h>

#include <algorithm>
#include <cassert>
#include <exception>

namespace faultline {

struct Interpreter::Worker {
  int thread = 0;  // gen::kNemesisThread for the nemesis
  std::thread handle;
  internal::Mailbox mailbox;
  // Written by the interpreter before mailbox.Publish, read by the worker after mailbox.Wait.
  Op invoke;
  // Written by the worker before it pushes itself on the completion stack; read (and moved
  // from) by the interpreter after it takes it off.
  Op completion;
  Worker* next_done = nullptr;  // the completion stack's link
  // The workers of the same batch this one wakes when it takes its op (written with `invoke`).
  Worker* wake_next[InterpreterTuning::kMaxWakeFanout] = {};
  int64_t woke = 0;  // wakes it made for the batch it took last; read with `completion`
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
      max_spinning_workers_(tuning.max_spinning_workers >= 0 ? tuning.max_spinning_workers
                                                             : std::max(1, AvailableCpus() - 1)) {
  int concurrency = test.options.concurrency;
  for (int thread = 0; thread <= concurrency; ++thread) {
    auto worker = std::make_unique<Worker>();
    worker->thread = thread < concurrency ? thread : gen::kNemesisThread;
    workers_.push_back(std::move(worker));
  }
  busy_.assign(workers_.size(), false);
  // Every thread free, the nemesis's included; thread t runs process t.
  context_ = gen::Context::Initial(concurrency, /*with_nemesis=*/true, &rng_);
  queued_.reserve(workers_.size());
  asleep_.reserve(workers_.size());
  for (auto& worker : workers_) {
    Worker* raw = worker.get();
    raw->handle = std::thread([this, raw] { WorkerLoop(raw); });
  }
}

Interpreter::~Interpreter() {
  // A posted op is still run before its worker stops.
  for (auto& worker : workers_) worker->mailbox.Stop();
  // A worker still inside a client call is waited for: clients bound their own calls (the
  // Client contract), and a worker outliving the interpreter would touch freed state.
  for (auto& worker : workers_) worker->handle.join();
}

int64_t Interpreter::NowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start_)
      .count();
}

InterpreterStats Interpreter::stats() const { return stats_; }

size_t Interpreter::SlotOf(int thread) const {
  return thread == gen::kNemesisThread ? workers_.size() - 1 : static_cast<size_t>(thread);
}

Interpreter::Worker& Interpreter::WorkerFor(int thread) { return *workers_[SlotOf(thread)]; }

void Interpreter::WorkerLoop(Worker* worker) {
  while (true) {
    // Spin first if a spinning slot is free (they are few: see InterpreterTuning).
    if (tuning_.worker_spin_ns > 0) {
      int spinning = spinning_workers_.load(std::memory_order_relaxed);
      while (spinning < max_spinning_workers_ &&
             !spinning_workers_.compare_exchange_weak(spinning, spinning + 1,
                                                      std::memory_order_relaxed)) {
      }
      if (spinning < max_spinning_workers_) {
        worker->mailbox.Spin(tuning_.worker_spin_ns);
        spinning_workers_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    if (!worker->mailbox.Wait(0)) break;
    // Wake the rest of the batch first: their ops must not wait for this one's client call.
    worker->woke = 0;
    for (Worker*& next : worker->wake_next) {
      if (next && next->mailbox.Wake()) ++worker->woke;
      next = nullptr;
    }
    worker->completion = Execute(worker, worker->invoke);
    completed_.Push(worker);
    parker_.Wake();
  }
  if (worker->client) worker->client->Close(test_);
}

Op Interpreter::Execute(Worker* worker, const Op& invoke) {
  Op completion;
  if (worker->thread == gen::kNemesisThread) {
    try {
      completion = nemesis_->Invoke(test_, invoke);
    } catch (const std::exception& error) {
      completion = invoke;
      completion.type = OpType::kInfo;
      completion.error = std::string("nemesis threw: ") + error.what();
    }
  } else {
    completion = ExecuteClient(worker, invoke);
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

Op Interpreter::ExecuteClient(Worker* worker, const Op& invoke) {
  if (!worker->client || worker->client_process != invoke.process) {
    if (worker->client) worker->client->Close(test_);
    worker->client = test_.new_client ? test_.new_client() : nullptr;
    worker->client_process = invoke.process;
    const auto& nodes = test_.options.nodes;
    std::string node =
        nodes.empty() ? "" : nodes[static_cast<size_t>(worker->thread) % nodes.size()];
    Status opened = worker->client ? worker->client->Open(test_, node)
                                   : Status::Internal("the test has no client");
    if (!opened.ok()) {
      // Nothing was sent, so the op certainly did not happen.
      worker->client.reset();
      Op failed = invoke;
      failed.type = OpType::kFail;
      failed.error = "client open failed: " + opened.message();
      return failed;
    }
  }
  Op completion;
  try {
    completion = worker->client->Invoke(test_, invoke);
  } catch (const std::exception& error) {
    completion = invoke;
    completion.type = OpType::kInfo;
    completion.error = std::string("client threw: ") + error.what();
  }
  if (completion.type == OpType::kInfo) {
    // This process is over; the thread's next op opens a fresh client as a new process.
    worker->client->Close(test_);
    worker->client.reset();
  }
  return completion;
}

const gen::Context& Interpreter::ContextNow() {
  context_.time_ns = NowNs();
  return context_;
}

void Interpreter::SetFree(int thread, bool free) {
  std::vector<int>& threads = context_.free_threads;
  const auto position = std::lower_bound(threads.begin(), threads.end(), thread);
  if (free) {
    assert(position == threads.end() || *position != thread);
    threads.insert(position, thread);
  } else {
    assert(position != threads.end() && *position == thread);
    threads.erase(position);
  }
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
  assert(slot < workers_.size() && !busy_[slot] && "generator chose a busy thread");
  invoke.type = OpType::kInvoke;
  invoke.time_ns = NowNs();
  context_.time_ns = invoke.time_ns;
  Record(std::move(invoke));
  busy_[slot] = true;
  ++busy_count_;
  SetFree(thread, false);
  ++stats_.invoked;
  const Op& logged = history_.ops.back();
  Worker& worker = *workers_[slot];
  worker.invoke = logged;
  queued_.push_back(&worker);
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
  const size_t count = queued_.size();
  const size_t fanout =
      static_cast<size_t>(std::clamp(tuning_.wake_fanout, 0, InterpreterTuning::kMaxWakeFanout));
  if (fanout == 0) {
    for (Worker* worker : queued_) {
      if (worker->mailbox.Post()) ++stats_.woke_workers;
    }
  } else {
    // Workers that are awake (spinning, or not yet asleep) first: they take their ops without a
    // wake and pass the wakes on, so the interpreter's Wakes below are then no-ops.
    asleep_.clear();
    size_t awake = 0;
    for (Worker* worker : queued_) {
      if (worker->mailbox.Asleep()) {
        asleep_.push_back(worker);
      } else {
        queued_[awake++] = worker;
      }
    }
    std::copy(asleep_.begin(), asleep_.end(), queued_.begin() + static_cast<ptrdiff_t>(awake));
    // A k-ary tree in batch order with the interpreter at its root: it wakes workers 0 .. k-1,
    // and worker j wakes workers k*(j+1) .. k*(j+1)+k-1. Children are published before their
    // parent, so a parent that takes its op finds them published (a Wake before the Publish
    // would be lost).
    for (size_t j = 0; j < count; ++j) {
      for (size_t c = 0; c < fanout; ++c) {
        size_t child = fanout * (j + 1) + c;
        queued_[j]->wake_next[c] = child < count ? queued_[child] : nullptr;
      }
    }
    for (size_t j = count; j-- > 0;) queued_[j]->mailbox.Publish();
    for (size_t j = 0; j < std::min(count, fanout); ++j) {
      if (queued_[j]->mailbox.Wake()) ++stats_.woke_workers;
    }
  }
  queued_.clear();
  return Status::Ok();
}

void Interpreter::Complete(Worker* worker, gen::GenPtr* generator) {
  const int thread = worker->thread;
  const size_t slot = SlotOf(thread);
  Op& op = worker->completion;
  op.time_ns = NowNs();
  context_.time_ns = op.time_ns;
  busy_[slot] = false;
  --busy_count_;
  SetFree(thread, true);
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
  stats_.workers_woken_by_workers += worker->woke;
  const bool new_process = op.type == OpType::kInfo && thread != gen::kNemesisThread;
  Record(std::move(op));
  // The generator sees the completion while process_of still names the completed process.
  if (*generator) *generator = (*generator)->Update(context_, history_.ops.back());
  if (new_process) context_.process_of[slot] += test_.options.concurrency;
}

int Interpreter::DrainCompletions(gen::GenPtr* generator) {
  int handled = 0;
  for (Worker* worker = completed_.TakeAll(); worker != nullptr;) {
    Worker* next = worker->next_done;  // read before the worker can be handed a new op
    Complete(worker, generator);
    worker = next;
    ++handled;
  }
  return handled;
}

Status Interpreter::AwaitCompletions(int64_t deadline_ns, gen::GenPtr* generator) {
  Status handed = HandOut();
  if (!handed.ok()) return handed;
  if (DrainCompletions(generator) > 0) return Status::Ok();
  const int64_t deadline = start_monotonic_ns_ + std::max<int64_t>(deadline_ns, 0);
  int64_t now = internal::MonotonicNowNs();
  if (now >= deadline) return Status::Ok();
  // Spin first (a completion is often microseconds away), then sleep until a worker wakes us.
  const int64_t spin_end = std::min(deadline, now + tuning_.interpreter_spin_ns);
  while (completed_.Empty() && now < spin_end) {
    for (int i = 0; i < 32 && completed_.Empty(); ++i) internal::CpuRelax();
    now = internal::MonotonicNowNs();
  }
  if (completed_.Empty() && now < deadline) {
    parker_.Prepare();
    if (completed_.Empty()) {
      ++stats_.slept;
      parker_.Park(deadline);
    } else {
      parker_.Cancel();
    }
  }
  DrainCompletions(generator);
  return Status::Ok();
}

Status Interpreter::Run(gen::GenPtr generator) {
  // Without an event, re-ask a pending generator at least this often (time-based generators).
  constexpr int64_t kPollNs = 100'000'000;
  const size_t max_batch = static_cast<size_t>(std::max(tuning_.max_batch, 1));
  while (generator && !(stop_ && stop_->load(std::memory_order_relaxed))) {
    DrainCompletions(&generator);
    const int64_t now = ContextNow().time_ns;
    gen::Step step = generator->Next(context_);
    if (!step.log.empty() && on_log_) on_log_(step.log);
    if (step.kind == gen::Step::Kind::kExhausted) break;
    if (step.kind == gen::Step::Kind::kPending) {
      if (step.next) generator = step.next;
      // Nothing outstanding and no time to wake at: no event can ever unblock this generator.
      if (step.wake_ns < 0 && !Busy()) break;
      int64_t wake = step.wake_ns >= 0 ? step.wake_ns : now + kPollNs;
      Status waited = AwaitCompletions(std::min(wake, now + kPollNs), &generator);
      if (!waited.ok()) return waited;
      continue;
    }
    if (step.op.time_ns > now) {
      Status waited = AwaitCompletions(step.op.time_ns, &generator);
      if (!waited.ok()) return waited;
      continue;
    }
    generator = step.next ? step.next : generator;
    Dispatch(std::move(step.op), &generator);
    if (queued_.size() >= max_batch) {
      Status handed = HandOut();
      if (!handed.ok()) return handed;
    }
  }
  Status handed = HandOut();
  if (!handed.ok()) return handed;
  // Let the ops in flight finish, up to the operation timeout.
  int64_t timeout_ns = static_cast<int64_t>(test_.options.operation_timeout_s * 1e9);
  int64_t give_up = NowNs() + timeout_ns;
  while (Busy() && NowNs() < give_up) {
    Status waited = AwaitCompletions(give_up, &generator);
    if (!waited.ok()) return waited;
  }
  // The last completions reach the journal before Run returns.
  return journal_ ? journal_->Flush() : Status::Ok();
}

}  // namespace faultline
