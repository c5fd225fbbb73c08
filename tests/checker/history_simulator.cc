#include "checker/history_simulator.h"

#include <cassert>
#include <map>
#include <queue>
#include <random>
#include <vector>

namespace faultline::testkit {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // Uniform in [0, n); the modulo bias is irrelevant for test data and keeps runs identical
  // across standard libraries, unlike std::uniform_int_distribution.
  int64_t Below(int64_t n) {
    assert(n > 0);
    return static_cast<int64_t>(engine_() % static_cast<uint64_t>(n));
  }
  bool Chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }
  template <class T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Below(static_cast<int64_t>(items.size())))];
  }

 private:
  std::mt19937_64 engine_;
};

Json Header(const std::string& test, uint64_t seed, int concurrency) {
  return Json{
      {"faultline_history", 1}, {"test", test}, {"seed", seed}, {"concurrency", concurrency}};
}

// Appends an op with the next index.
void Emit(History& history, int64_t time_ns, OpType type, int64_t process, const std::string& f,
          Json value, Json error = nullptr) {
  Op op;
  op.index = static_cast<int64_t>(history.ops.size());
  op.time_ns = time_ns;
  op.type = type;
  op.process = process;
  op.f = f;
  op.value = std::move(value);
  op.error = std::move(error);
  history.ops.push_back(std::move(op));
}

// The linearizable object the simulated clients talk to.
struct Store {
  Json value;                             // register, cas-register: starts as null
  std::map<std::string, std::string> kv;  // kv: absent keys read ""
};

enum class Plan { kOk, kFail, kInfo, kPending };

struct InFlight {
  int slot = 0;
  int64_t process = 0;
  std::string f;
  Json invoke_value;
  Plan plan = Plan::kOk;
  Json read;                // what a read/get observed when it took effect
  bool cas_failed = false;  // the cas's expected value did not match: completes as fail
};

enum class EventKind { kInvoke, kTakeEffect, kComplete, kNemesisInvoke, kNemesisComplete };

struct Event {
  int64_t time;
  int64_t sequence;  // ties broken by scheduling order, so the run is a total order
  EventKind kind;
  int slot_or_op;
  bool operator>(const Event& other) const {
    return time != other.time ? time > other.time : sequence > other.sequence;
  }
};

class Simulation {
 public:
  explicit Simulation(const SimulatorOptions& options) : options_(options), rng_(options.seed) {
    assert(options.model == "register" || options.model == "cas-register" || options.model == "kv");
    history_.header = Header("simulated-" + options.model, options.seed, options.concurrency);
    processes_.resize(static_cast<size_t>(options.concurrency));
    for (int slot = 0; slot < options.concurrency; ++slot) {
      processes_[static_cast<size_t>(slot)] = slot;
      Schedule(rng_.Below(50), EventKind::kInvoke, slot);
    }
    active_slots_ = options.concurrency;
    if (options.nemesis) Schedule(rng_.Below(300), EventKind::kNemesisInvoke, 0);
  }

  History Run() {
    while (!events_.empty()) {
      Event event = events_.top();
      events_.pop();
      now_ = event.time;
      switch (event.kind) {
        case EventKind::kInvoke:
          Invoke(event.slot_or_op);
          break;
        case EventKind::kTakeEffect:
          TakeEffect(in_flight_[event.slot_or_op]);
          break;
        case EventKind::kComplete:
          Complete(in_flight_[event.slot_or_op]);
          break;
        case EventKind::kNemesisInvoke:
          NemesisInvoke();
          break;
        case EventKind::kNemesisComplete:
          NemesisComplete();
          break;
      }
    }
    return std::move(history_);
  }

 private:
  void Schedule(int64_t time, EventKind kind, int slot_or_op) {
    events_.push(Event{time, next_sequence_++, kind, slot_or_op});
  }

  int64_t TimeNs() const { return now_ * 1000; }

  void Retire() { --active_slots_; }

  // A new op for `slot`: what it does, and how it will end.
  void Invoke(int slot) {
    if (issued_ >= options_.ops) return Retire();
    ++issued_;
    InFlight op;
    op.slot = slot;
    op.process = processes_[static_cast<size_t>(slot)];
    ChooseCall(op);
    const double roll = static_cast<double>(rng_.Below(1'000'000)) / 1e6;
    if (roll < options_.crash_probability) {
      // Near the end a crashed op may never complete at all.
      const bool at_end = issued_ > options_.ops - 2 * options_.concurrency;
      op.plan = at_end && rng_.Chance(0.5) ? Plan::kPending : Plan::kInfo;
    } else if (roll < options_.crash_probability + options_.fail_probability) {
      op.plan = Plan::kFail;
    }
    const int64_t duration = 2 + rng_.Below(100);
    if (op.plan == Plan::kOk) {
      Schedule(now_ + 1 + rng_.Below(duration - 1), EventKind::kTakeEffect, Id());
    } else if ((op.plan == Plan::kInfo || op.plan == Plan::kPending) && rng_.Chance(0.5)) {
      // An op with an unknown outcome that did happen may take effect even after its info
      // completion (the request was still in the server's queue).
      Schedule(now_ + 1 + rng_.Below(3 * duration), EventKind::kTakeEffect, Id());
    }
    if (op.plan == Plan::kPending) {
      Retire();  // the thread hangs for the rest of the test
    } else {
      Schedule(now_ + duration, EventKind::kComplete, Id());
    }
    Emit(history_, TimeNs(), OpType::kInvoke, op.process, op.f, op.invoke_value);
    in_flight_.push_back(std::move(op));
  }

  int Id() const { return static_cast<int>(in_flight_.size()); }

  void ChooseCall(InFlight& op) {
    if (options_.model == "kv") {
      const std::string key = "k" + std::to_string(rng_.Below(options_.keys));
      const int64_t roll = rng_.Below(10);
      if (roll < 4) {
        op.f = "get";
        op.invoke_value = Json::array({key, nullptr});
      } else if (roll < 6) {
        op.f = "put";
        op.invoke_value = Json::array({key, RandomText(1 + rng_.Below(2))});
      } else {
        op.f = "append";
        op.invoke_value = Json::array({key, RandomText(1)});
      }
      return;
    }
    const int64_t roll = rng_.Below(10);
    const int64_t value = 1 + rng_.Below(options_.values);
    if (roll < 4) {
      op.f = "read";
      op.invoke_value = nullptr;
    } else if (roll < 7 || options_.model == "register") {
      op.f = "write";
      op.invoke_value = value;
    } else {
      op.f = "cas";
      op.invoke_value = Json::array({1 + rng_.Below(options_.values), value});
    }
  }

  std::string RandomText(int64_t length) {
    std::string text;
    for (int64_t i = 0; i < length; ++i) text += static_cast<char>('a' + rng_.Below(5));
    return text;
  }

  // The op's linearization point: it acts on the store atomically.
  void TakeEffect(InFlight& op) {
    if (options_.model == "kv") {
      const std::string key = op.invoke_value[0].get<std::string>();
      if (op.f == "get") {
        op.read = store_.kv[key];
      } else if (op.f == "put") {
        store_.kv[key] = op.invoke_value[1].get<std::string>();
      } else {
        store_.kv[key] += op.invoke_value[1].get<std::string>();
      }
      return;
    }
    if (op.f == "read") {
      op.read = store_.value;
    } else if (op.f == "write") {
      store_.value = op.invoke_value;
    } else if (store_.value == op.invoke_value[0]) {
      store_.value = op.invoke_value[1];
    } else {
      op.cas_failed = true;
    }
  }

  void Complete(InFlight& op) {
    OpType type = OpType::kOk;
    Json value = op.invoke_value;
    Json error;
    if (op.plan == Plan::kInfo) {
      type = OpType::kInfo;
      error = "timeout";
    } else if (op.plan == Plan::kFail) {
      type = OpType::kFail;
      error = "unavailable";
    } else if (op.cas_failed) {
      type = OpType::kFail;
    } else if (op.f == "read") {
      value = op.read;
    } else if (op.f == "get") {
      value = Json::array({op.invoke_value[0], op.read});
    }
    Emit(history_, TimeNs(), type, op.process, op.f, std::move(value), std::move(error));
    if (type == OpType::kInfo) processes_[static_cast<size_t>(op.slot)] += options_.concurrency;
    Schedule(now_ + rng_.Below(30), EventKind::kInvoke, op.slot);
  }

  void NemesisInvoke() {
    if (active_slots_ == 0) return;
    nemesis_f_ = nemesis_f_ == "start-partition" ? "stop-partition" : "start-partition";
    Emit(history_, TimeNs(), OpType::kInvoke, kNemesisProcess, nemesis_f_, nullptr);
    Schedule(now_ + 1 + rng_.Below(20), EventKind::kNemesisComplete, 0);
  }

  void NemesisComplete() {
    Emit(history_, TimeNs(), OpType::kInfo, kNemesisProcess, nemesis_f_,
         nemesis_f_ == "start-partition" ? Json("majority") : Json("healed"));
    Schedule(now_ + 100 + rng_.Below(400), EventKind::kNemesisInvoke, 0);
  }

  const SimulatorOptions options_;
  Rng rng_;
  History history_;
  Store store_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::vector<InFlight> in_flight_;  // by id, in invoke order
  std::vector<int64_t> processes_;   // per slot: its current process number
  int64_t next_sequence_ = 0;
  int64_t now_ = 0;
  int issued_ = 0;
  int active_slots_ = 0;
  std::string nemesis_f_ = "stop-partition";
};

}  // namespace

History SimulateHistory(const SimulatorOptions& options) { return Simulation(options).Run(); }

History RandomHistory(const RandomHistoryOptions& options) {
  assert(options.model == "register" || options.model == "cas-register" || options.model == "kv");
  Rng rng(options.seed);
  History history;
  history.header = Header("random-" + options.model, options.seed, options.processes);
  struct Slot {
    int64_t process = 0;
    bool busy = false;
    bool hung = false;  // left pending: invokes nothing more
    std::string f;
    Json invoke_value;
  };
  std::vector<Slot> slots;
  for (int p = 0; p < options.processes; ++p) {
    Slot slot;
    slot.process = p;
    slots.push_back(std::move(slot));
  }
  const bool kv = options.model == "kv";
  const std::vector<Json> register_reads = {nullptr, 1, 2, 3};
  const std::vector<Json> kv_reads = {"", "x", "y", "xy", "yx", "xx"};
  const std::vector<std::string> kv_keys = {"a", "b"};
  int issued = 0;
  int64_t time = 0;
  bool nemesis_busy = false;
  while (true) {
    time += 10;
    if (rng.Chance(0.08)) {  // the nemesis acts now and then; the checker must ignore it
      Emit(history, time, nemesis_busy ? OpType::kInfo : OpType::kInvoke, kNemesisProcess, "kill",
           nullptr);
      nemesis_busy = !nemesis_busy;
      continue;
    }
    // Every possible next step is equally likely: an idle thread invokes, or a busy one returns.
    std::vector<size_t> can_act;
    for (size_t s = 0; s < slots.size(); ++s) {
      if (slots[s].hung) continue;
      if (slots[s].busy || issued < options.ops) can_act.push_back(s);
    }
    if (can_act.empty()) break;
    Slot& slot = slots[rng.Pick(can_act)];
    if (!slot.busy) {
      ++issued;
      slot.busy = true;
      const int64_t roll = rng.Below(3);
      if (kv) {
        const std::string& key = rng.Pick(kv_keys);
        slot.f = roll == 0 ? "get" : roll == 1 ? "put" : "append";
        slot.invoke_value =
            Json::array({key, slot.f == "get" ? Json() : Json(rng.Chance(0.5) ? "x" : "y")});
      } else if (roll == 0 || (roll == 2 && options.model == "register")) {
        slot.f = "read";
        slot.invoke_value = nullptr;
      } else if (roll == 1) {
        slot.f = "write";
        slot.invoke_value = 1 + rng.Below(3);
      } else {
        slot.f = "cas";
        slot.invoke_value = Json::array({1 + rng.Below(3), 1 + rng.Below(3)});
      }
      Emit(history, time, OpType::kInvoke, slot.process, slot.f, slot.invoke_value);
      continue;
    }
    if (issued >= options.ops && rng.Chance(0.25)) {
      slot.hung = true;  // pending to the end
      continue;
    }
    const int64_t roll = rng.Below(10);
    const OpType type = roll < 6 ? OpType::kOk : roll < 8 ? OpType::kInfo : OpType::kFail;
    Json value = slot.invoke_value;
    if (type == OpType::kOk && slot.f == "read") value = rng.Pick(register_reads);
    if (type == OpType::kOk && slot.f == "get") {
      value = Json::array({slot.invoke_value[0], rng.Pick(kv_reads)});
    }
    Emit(history, time, type, slot.process, slot.f, std::move(value));
    slot.busy = false;
    if (type == OpType::kInfo) slot.process += options.processes;
  }
  return history;
}

History WithKeyField(const History& history) {
  History out = history;
  for (Op& op : out.ops) {
    if (op.is_nemesis() || !op.value.is_array() || op.value.size() != 2) continue;
    if (!op.extra.is_object()) op.extra = Json::object();
    op.extra["key"] = op.value[0];
    Json bare = op.value[1];
    op.value = std::move(bare);
  }
  return out;
}

std::string ToJsonl(const History& history) {
  std::string out = history.header.dump() + "\n";
  for (const Op& op : history.ops) out += op.ToJson().dump() + "\n";
  return out;
}

}  // namespace faultline::testkit
