#include "runner/interpreter.h"

#include <algorithm>
#include <exception>

namespace faultline {

struct Interpreter::Worker {
  int thread = 0;  // gen::kNemesisThread for the nemesis
  std::thread handle;
  std::mutex mutex;
  std::condition_variable wake;
  std::optional<Op> inbox;
  bool stopping = false;
  std::unique_ptr<Client> client;
  int64_t client_process = -1;
};

Op NoopNemesis::Invoke(const Test&, const Op& invoke) {
  Op completion = invoke;
  completion.type = OpType::kInfo;
  completion.value = "noop";
  return completion;
}

Interpreter::Interpreter(const Test& test, Journal* journal, const std::atomic<bool>* stop,
                         uint64_t seed)
    : test_(test),
      journal_(journal),
      stop_(stop),
      rng_(seed),
      start_(std::chrono::steady_clock::now()),
      nemesis_(test.nemesis ? test.nemesis : std::make_shared<NoopNemesis>()) {
  int concurrency = test.options.concurrency;
  process_of_.resize(static_cast<size_t>(concurrency));
  for (int thread = 0; thread <= concurrency; ++thread) {
    auto worker = std::make_unique<Worker>();
    worker->thread = thread < concurrency ? thread : gen::kNemesisThread;
    if (thread < concurrency) process_of_[static_cast<size_t>(thread)] = thread;
    workers_.push_back(std::move(worker));
  }
  busy_.assign(workers_.size(), false);
  for (auto& worker : workers_) {
    Worker* raw = worker.get();
    raw->handle = std::thread([this, raw] { WorkerLoop(raw); });
  }
}

Interpreter::~Interpreter() {
  for (auto& worker : workers_) {
    std::lock_guard lock(worker->mutex);
    worker->stopping = true;
    worker->wake.notify_one();
  }
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

Interpreter::Worker& Interpreter::WorkerFor(int thread) {
  return thread == gen::kNemesisThread ? *workers_.back() : *workers_[static_cast<size_t>(thread)];
}

void Interpreter::WorkerLoop(Worker* worker) {
  while (true) {
    Op invoke;
    {
      std::unique_lock lock(worker->mutex);
      worker->wake.wait(lock, [&] { return worker->inbox.has_value() || worker->stopping; });
      if (!worker->inbox) break;
      invoke = std::move(*worker->inbox);
    }
    Op completion = Execute(worker, invoke);
    {
      std::lock_guard lock(worker->mutex);
      worker->inbox.reset();
    }
    {
      std::lock_guard lock(completions_mutex_);
      completions_.push_back({worker->thread, std::move(completion)});
    }
    completions_ready_.notify_one();
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

gen::Context Interpreter::MakeContext() const {
  gen::Context context;
  context.free_threads.reserve(workers_.size());
  context.threads.reserve(workers_.size());
  context.time_ns = NowNs();
  context.concurrency = test_.options.concurrency;
  context.process_of = process_of_;
  context.rng = const_cast<gen::Rng*>(&rng_);  // the interpreter thread owns the RNG
  if (!busy_.back()) context.free_threads.push_back(gen::kNemesisThread);
  context.threads.push_back(gen::kNemesisThread);
  for (size_t slot = 0; slot + 1 < workers_.size(); ++slot) {
    if (!busy_[slot]) context.free_threads.push_back(static_cast<int>(slot));
    context.threads.push_back(static_cast<int>(slot));
  }
  return context;
}

Status Interpreter::Record(Op op) {
  op.index = static_cast<int64_t>(history_.ops.size());
  if (journal_) {
    Status written = journal_->Append(op);
    if (!written.ok()) return written;
  }
  if (on_op_) on_op_(op);
  history_.ops.push_back(std::move(op));
  return Status::Ok();
}

bool Interpreter::Busy() const {
  return std::any_of(busy_.begin(), busy_.end(), [](bool busy) { return busy; });
}

Status Interpreter::Dispatch(Op invoke, gen::GenPtr* generator) {
  gen::Context context = MakeContext();
  int thread = context.ThreadOf(invoke.process);
  size_t slot = thread == gen::kNemesisThread ? workers_.size() - 1 : static_cast<size_t>(thread);
  // A generator handing an op to a busy thread is a programmer error in the generator.
  assert(slot < workers_.size() && !busy_[slot] && "generator chose a busy thread");
  invoke.type = OpType::kInvoke;
  invoke.time_ns = context.time_ns;
  Status recorded = Record(invoke);
  if (!recorded.ok()) return recorded;
  busy_[slot] = true;
  ++stats_.invoked;
  const Op& logged = history_.ops.back();
  Worker& worker = WorkerFor(thread);
  {
    std::lock_guard lock(worker.mutex);
    worker.inbox = logged;
  }
  worker.wake.notify_one();
  *generator = (*generator)->Update(MakeContext(), logged);
  return Status::Ok();
}

Status Interpreter::Complete(const Completion& completion, gen::GenPtr* generator) {
  Op op = completion.op;
  op.time_ns = NowNs();
  size_t slot = completion.thread == gen::kNemesisThread ? workers_.size() - 1
                                                         : static_cast<size_t>(completion.thread);
  busy_[slot] = false;
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
  Status recorded = Record(op);
  if (!recorded.ok()) return recorded;
  // The generator sees the completion while process_of still names the completed process.
  if (*generator) *generator = (*generator)->Update(MakeContext(), history_.ops.back());
  if (op.type == OpType::kInfo && completion.thread != gen::kNemesisThread) {
    process_of_[slot] += test_.options.concurrency;
  }
  return Status::Ok();
}

Status Interpreter::AwaitCompletions(int64_t deadline_ns, gen::GenPtr* generator) {
  std::deque<Completion> arrived;
  {
    std::unique_lock lock(completions_mutex_);
    auto deadline = start_ + std::chrono::nanoseconds(std::max<int64_t>(deadline_ns, 0));
    // Only wait when the deadline is ahead: a wait_until with a past deadline still registers as
    // a waiter and costs futex calls on every worker's notify (it cut throughput 3x).
    if (completions_.empty() && deadline > std::chrono::steady_clock::now()) {
      completions_ready_.wait_until(lock, deadline, [&] { return !completions_.empty(); });
    }
    arrived.swap(completions_);
  }
  for (const Completion& completion : arrived) {
    Status handled = Complete(completion, generator);
    if (!handled.ok()) return handled;
  }
  return Status::Ok();
}

Status Interpreter::Run(gen::GenPtr generator) {
  // Without an event, re-ask a pending generator at least this often (time-based generators).
  constexpr int64_t kPollNs = 100'000'000;
  while (generator && !(stop_ && stop_->load())) {
    Status drained = AwaitCompletions(NowNs(), &generator);  // non-blocking: deadline is now
    if (!drained.ok()) return drained;
    gen::Context context = MakeContext();
    gen::Step step = generator->Next(context);
    if (!step.log.empty() && on_log_) on_log_(step.log);
    if (step.kind == gen::Step::Kind::kExhausted) break;
    if (step.kind == gen::Step::Kind::kPending) {
      if (step.next) generator = step.next;
      // Nothing outstanding and no time to wake at: no event can ever unblock this generator.
      if (step.wake_ns < 0 && !Busy()) break;
      int64_t wake = step.wake_ns >= 0 ? step.wake_ns : context.time_ns + kPollNs;
      Status waited = AwaitCompletions(std::min(wake, context.time_ns + kPollNs), &generator);
      if (!waited.ok()) return waited;
      continue;
    }
    if (step.op.time_ns > context.time_ns) {
      Status waited = AwaitCompletions(step.op.time_ns, &generator);
      if (!waited.ok()) return waited;
      continue;
    }
    generator = step.next ? step.next : generator;
    Status dispatched = Dispatch(std::move(step.op), &generator);
    if (!dispatched.ok()) return dispatched;
  }
  // Let the ops in flight finish, up to the operation timeout.
  int64_t timeout_ns = static_cast<int64_t>(test_.options.operation_timeout_s * 1e9);
  int64_t give_up = NowNs() + timeout_ns;
  while (Busy() && NowNs() < give_up) {
    Status waited = AwaitCompletions(give_up, &generator);
    if (!waited.ok()) return waited;
  }
  return Status::Ok();
}

}  // namespace faultline
