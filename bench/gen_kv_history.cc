// gen_kv_history: writes a linearizable key-value history in the EDN style of the Raft labs'
// histories that Porcupine's kv tests read, one op map per line:
//   {:process 12, :type :invoke, :f :append, :key "123", :value "x 12 45 y"}
//   {:process 12, :type :ok, :f :append, :key "123", :value "x 12 45 y"}
//   {:process 3, :type :invoke, :f :get, :key "7", :value nil}
//   {:process 3, :type :ok, :f :get, :key "7", :value "x 0 1 yx 3 4 y"}
//
// The history is linearizable by construction: a discrete-event simulation gives each client's op
// an invoke time and a duration and applies its effect atomically at a random point in between, so
// every get returns the value its key held at that point. An op crashes with
// --crash-probability: its completion is :info and its effect is applied (at a random point after
// the invoke, possibly after the :info) or not, at random; the client then continues as
// process + clients, as Jepsen's workers do. --corrupt N then spoils N ok gets (their value gains
// a "Z" no write ever produces), so the history must be judged not linearizable.
//
// Mix: 50% get, 25% put, 25% append. Appends add "x <client> <seq> y" (the Raft lab style) and puts
// replace the value with one such word, which keeps values short: about 140 MB for 1M ops.
//
// --stale N plants N stale reads instead: an ok get returns the value its key held before a write
// that completed before the get was invoked. Every value ends with a word written once, so a value
// replaced never comes back and such a get cannot be linearized: the history must be invalid.
//
// --nemesis-every T adds a nemesis (process :nemesis) that starts a partition every T ticks and
// heals it T/2 ticks later (start-partition / stop-partition, invoke and ok 50 ticks apart), as a
// run with faults records it; it heals and stops once every client op is invoked. It changes only
// the nemesis's lines: the clients' ops are the same as without it.
//
// --format jsonl writes faultline's own history (a header line, then one JSON object per op with
// "index" and "time" in ns, a tick being 1 µs), as a run's history.jsonl, instead of EDN.
//
// Usage: gen_kv_history [--ops N] [--keys N] [--clients N] [--seed N] [--crash-probability P]
//                       [--corrupt N] [--stale N] [--nemesis-every T] [--format edn|jsonl]
//                       --out FILE
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  int64_t ops = 1'000'000;
  int64_t keys = 1000;
  int64_t clients = 50;
  uint64_t seed = 1;
  double crash_probability = 0.001;
  int64_t corrupt = 0;
  int64_t stale = 0;
  int64_t nemesis_every = 0;  // ticks; 0 = no nemesis
  bool jsonl = false;
  std::string out;
};

void Usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--ops N] [--keys N] [--clients N] [--seed N] "
               "[--crash-probability P] [--corrupt N] [--stale N] [--nemesis-every T] "
               "[--format edn|jsonl] --out FILE\n",
               program);
}

bool ParseInt(std::string_view text, int64_t* value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

// Returns false (after printing why) on a bad command line.
bool ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") return false;
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      return false;
    }
    std::string_view value = argv[++i];
    int64_t number = 0;
    bool ok = true;
    if (flag == "--ops") {
      ok = ParseInt(value, &options->ops) && options->ops >= 0;
    } else if (flag == "--keys") {
      ok = ParseInt(value, &options->keys) && options->keys > 0;
    } else if (flag == "--clients") {
      ok = ParseInt(value, &options->clients) && options->clients > 0;
    } else if (flag == "--seed") {
      ok = ParseInt(value, &number);
      options->seed = static_cast<uint64_t>(number);
    } else if (flag == "--crash-probability") {
      char* end = nullptr;
      options->crash_probability = std::strtod(argv[i], &end);
      ok = *end == '\0' && options->crash_probability >= 0 && options->crash_probability <= 1;
    } else if (flag == "--corrupt") {
      ok = ParseInt(value, &options->corrupt) && options->corrupt >= 0;
    } else if (flag == "--stale") {
      ok = ParseInt(value, &options->stale) && options->stale >= 0;
    } else if (flag == "--nemesis-every") {
      ok = ParseInt(value, &options->nemesis_every) && options->nemesis_every >= 0;
    } else if (flag == "--format") {
      ok = value == "edn" || value == "jsonl";
      options->jsonl = value == "jsonl";
    } else if (flag == "--out") {
      options->out = value;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i - 1]);
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "bad value for %s: %s\n", argv[i - 1], argv[i]);
      return false;
    }
  }
  if (options->out.empty()) {
    std::fprintf(stderr, "--out FILE is required\n");
    return false;
  }
  return true;
}

enum class Function : uint8_t { kGet, kPut, kAppend };

std::string_view Name(Function f) {
  switch (f) {
    case Function::kGet:
      return "get";
    case Function::kPut:
      return "put";
    case Function::kAppend:
      return "append";
  }
  return "?";
}

// One invocation, alive from its invoke until both its completion and (if any) its effect are done.
struct SimOp {
  int64_t process = 0;
  int64_t client = 0;
  int64_t key = 0;
  Function f = Function::kGet;
  bool crashed = false;
  bool pending_effect = false;
  bool pending_completion = false;
  int64_t invoke_time = 0;
  std::string argument;  // put / append
  std::string result;    // get: the value read at the linearization point
  // --stale only. A write: its key's value before its effect. A get: a value its key held before
  // a write that completed before this get was invoked (none when no write had completed).
  std::string before;
  std::optional<std::string> stale;
};

enum class EventKind : uint8_t { kInvoke, kEffect, kComplete, kNemesis, kNemesisComplete };

struct Event {
  int64_t time;
  uint64_t sequence;  // ties at one time resolve in scheduling order
  EventKind kind;
  int64_t client;  // kInvoke; kNemesis and kNemesisComplete: 1 = start a fault, 0 = heal
  uint32_t op;     // kEffect, kComplete: slot in the op table
};

// A change to the history's text when it is written: [start, end) replaced by `text`.
struct Splice {
  size_t start = 0;
  size_t end = 0;
  std::string text;
  bool operator<(const Splice& other) const {
    return start != other.start ? start < other.start : end < other.end;
  }
};

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    if (a.time != b.time) return a.time > b.time;
    return a.sequence > b.sequence;
  }
};

void AppendInt(std::string& out, int64_t value) {
  char buffer[24];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, end);
}

class Simulation {
 public:
  explicit Simulation(const Options& options)
      : options_(options), rng_(options.seed), values_(static_cast<size_t>(options.keys)) {
    if (options.stale > 0) stale_of_key_.resize(static_cast<size_t>(options.keys));
    process_of_client_.resize(static_cast<size_t>(options.clients));
    sequence_of_client_.assign(static_cast<size_t>(options.clients), 0);
    for (int64_t client = 0; client < options.clients; ++client) {
      process_of_client_[static_cast<size_t>(client)] = client;
      Schedule({Uniform(0, kMeanDurationTicks), 0, EventKind::kInvoke, client, 0});
    }
    // The nemesis draws nothing from rng_, so the clients' ops do not depend on it.
    if (options.nemesis_every > 0) {
      Schedule({options.nemesis_every, 0, EventKind::kNemesis, /*start=*/1, 0});
    }
    if (options.jsonl) {
      out_ += "{\"faultline_history\":1,\"concurrency\":";
      AppendInt(out_, options.clients);
      out_ += ",\"seed\":";
      AppendInt(out_, static_cast<int64_t>(options.seed));
      out_ += ",\"test\":\"gen_kv_history\"}\n";
    }
    // Values are short and there are ~2 lines per op; reserving avoids regrowth copies of the
    // whole history.
    out_.reserve(static_cast<size_t>(options.ops) * 150);
  }

  void Run() {
    while (!events_.empty()) {
      Event event = events_.top();
      events_.pop();
      switch (event.kind) {
        case EventKind::kInvoke:
          Invoke(event);
          break;
        case EventKind::kEffect:
          Effect(ops_[event.op]);
          Release(event.op, true);
          break;
        case EventKind::kComplete:
          Complete(event);
          break;
        case EventKind::kNemesis:
          Nemesis(event);
          break;
        case EventKind::kNemesisComplete:
          WriteNemesisLine(event.time, event.client == 1, "ok");
          break;
      }
    }
  }

  std::string& text() { return out_; }
  // Byte offsets of the closing quote of every ok get's value.
  const std::vector<size_t>& ok_get_value_ends() const { return ok_get_value_ends_; }
  // With --stale: every ok get that could read a stale value, as the splice that makes it do so.
  const std::vector<Splice>& stale_reads() const { return stale_reads_; }
  int64_t crashed() const { return crashed_; }

 private:
  // Durations are in abstract ticks; only their ratios matter (how much ops overlap).
  static constexpr int64_t kMeanDurationTicks = 1000;
  static constexpr int64_t kMaxThinkTicks = 200;
  static constexpr int64_t kNemesisDurationTicks = 50;

  int64_t Uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng_);
  }
  bool Chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  void Schedule(Event event) {
    event.sequence = next_sequence_++;
    events_.push(event);
  }

  uint32_t Allocate() {
    if (!free_slots_.empty()) {
      uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
    ops_.emplace_back();
    return static_cast<uint32_t>(ops_.size() - 1);
  }

  // A slot is free once its effect and its completion have both happened.
  void Release(uint32_t slot, bool effect_done) {
    SimOp& op = ops_[slot];
    if (effect_done) {
      op.pending_effect = false;
    } else {
      op.pending_completion = false;
    }
    if (!op.pending_effect && !op.pending_completion) free_slots_.push_back(slot);
  }

  void Invoke(const Event& event) {
    if (invoked_ >= options_.ops) return;  // this client stops
    ++invoked_;
    int64_t client = event.client;
    uint32_t slot = Allocate();
    SimOp& op = ops_[slot];
    op.client = client;
    op.process = process_of_client_[static_cast<size_t>(client)];
    op.key = Uniform(0, options_.keys - 1);
    int64_t roll = Uniform(0, 3);
    op.f = roll < 2 ? Function::kGet : (roll == 2 ? Function::kPut : Function::kAppend);
    op.invoke_time = event.time;
    op.argument.clear();
    op.result.clear();
    op.stale.reset();
    if (op.f == Function::kGet && options_.stale > 0) {
      op.stale = stale_of_key_[static_cast<size_t>(op.key)];
    }
    if (op.f != Function::kGet) {
      op.argument = "x ";
      AppendInt(op.argument, client);
      op.argument += ' ';
      AppendInt(op.argument, sequence_of_client_[static_cast<size_t>(client)]++);
      op.argument += " y";
    }
    op.crashed = Chance(options_.crash_probability);
    // A crashed op may take effect or not; if it does, any time after its invoke, even after the
    // :info is recorded (Jepsen's semantics), so the checker must keep it open to the end.
    op.pending_effect = !op.crashed || Chance(0.5);
    op.pending_completion = true;
    WriteLine(op, event.time, "invoke", /*value_is_result=*/false);

    int64_t duration = Uniform(2, 2 * kMeanDurationTicks);
    int64_t effect_window = op.crashed ? 2 * duration : duration - 2;
    if (op.pending_effect) {
      Schedule({event.time + 1 + Uniform(0, effect_window), 0, EventKind::kEffect, client, slot});
    }
    Schedule({event.time + duration, 0, EventKind::kComplete, client, slot});
  }

  void Effect(SimOp& op) {
    std::string& value = values_[static_cast<size_t>(op.key)];
    switch (op.f) {
      case Function::kGet:
        op.result = value;
        break;
      case Function::kPut:
        if (options_.stale > 0) op.before = value;
        value = op.argument;
        break;
      case Function::kAppend:
        if (options_.stale > 0) op.before = value;
        value += op.argument;
        break;
    }
  }

  // Starts a fault or heals it; after the last client invocation only a heal is still sent.
  void Nemesis(const Event& event) {
    const bool start = event.client == 1;
    if (start && invoked_ >= options_.ops) return;
    WriteNemesisLine(event.time, start, "invoke");
    Schedule({event.time + kNemesisDurationTicks, 0, EventKind::kNemesisComplete, event.client, 0});
    const int64_t next = start ? options_.nemesis_every / 2 : options_.nemesis_every -
                                                                  options_.nemesis_every / 2;
    Schedule({event.time + std::max<int64_t>(next, kNemesisDurationTicks + 1), 0,
              EventKind::kNemesis, start ? 0 : 1, 0});
  }

  void Complete(const Event& event) {
    SimOp& op = ops_[event.op];
    size_t client = static_cast<size_t>(op.client);
    if (op.crashed) {
      ++crashed_;
      WriteLine(op, event.time, "info", false);
      // Jepsen retires a crashed worker's process; the thread continues under a fresh one.
      process_of_client_[client] += options_.clients;
    } else {
      WriteLine(op, event.time, "ok", /*value_is_result=*/op.f == Function::kGet);
      if (op.f == Function::kGet) {
        ok_get_value_ends_.push_back(last_value_end_);
        if (op.stale) stale_reads_.push_back({last_value_start_, last_value_end_, *op.stale});
      } else if (options_.stale > 0) {
        // The write took effect before now, so a get invoked from now on must see its value or a
        // later one: the value it replaced is stale for it.
        stale_of_key_[static_cast<size_t>(op.key)] = op.before;
      }
    }
    Schedule({event.time + Uniform(0, kMaxThinkTicks), 0, EventKind::kInvoke, op.client, 0});
    Release(event.op, false);
  }

  void WriteLine(const SimOp& op, int64_t time, std::string_view type, bool value_is_result) {
    if (options_.jsonl) {
      out_ += "{\"f\":\"";
      out_ += Name(op.f);
      WriteJsonIndexAndTime(time);
      out_ += ",\"key\":\"";
      AppendInt(out_, op.key);
      out_ += "\",\"process\":";
      AppendInt(out_, op.process);
      out_ += ",\"type\":\"";
      out_ += type;
      out_ += "\",\"value\":";
    } else {
      out_ += "{:process ";
      AppendInt(out_, op.process);
      out_ += ", :type :";
      out_ += type;
      out_ += ", :f :";
      out_ += Name(op.f);
      out_ += ", :key \"";
      AppendInt(out_, op.key);
      out_ += "\", :value ";
    }
    if (op.f == Function::kGet && !value_is_result) {
      out_ += options_.jsonl ? "null" : "nil";
    } else {
      // Values hold only letters, digits and spaces: no EDN or JSON escaping needed.
      out_ += '"';
      last_value_start_ = out_.size();
      out_ += value_is_result ? op.result : op.argument;
      last_value_end_ = out_.size();
      out_ += '"';
    }
    out_ += "}\n";
  }

  void WriteNemesisLine(int64_t time, bool start, std::string_view type) {
    std::string_view f = start ? "start-partition" : "stop-partition";
    std::string_view value = type == "ok" && start ? "\"majorities n1 n2 n3 | n4 n5\"" : "";
    if (options_.jsonl) {
      out_ += "{\"f\":\"";
      out_ += f;
      WriteJsonIndexAndTime(time);
      out_ += ",\"process\":\"nemesis\",\"type\":\"";
      out_ += type;
      out_ += "\",\"value\":";
      out_ += value.empty() ? "null" : value;
    } else {
      out_ += "{:process :nemesis, :type :";
      out_ += type;
      out_ += ", :f :";
      out_ += f;
      out_ += ", :value ";
      out_ += value.empty() ? "nil" : value;
    }
    out_ += "}\n";
  }

  // The `"` that closes "f", then "index" and "time" (ns; a tick is 1 µs).
  void WriteJsonIndexAndTime(int64_t time) {
    out_ += "\",\"index\":";
    AppendInt(out_, lines_++);
    out_ += ",\"time\":";
    AppendInt(out_, time * 1000);
  }

  const Options& options_;
  std::mt19937_64 rng_;
  std::vector<std::string> values_;  // per key; "" = absent, as the kv model reads it
  std::vector<int64_t> process_of_client_;
  std::vector<int64_t> sequence_of_client_;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  uint64_t next_sequence_ = 0;
  std::vector<SimOp> ops_;
  std::vector<uint32_t> free_slots_;
  int64_t invoked_ = 0;
  int64_t crashed_ = 0;
  std::vector<std::optional<std::string>> stale_of_key_;  // --stale: see SimOp::stale
  int64_t lines_ = 0;
  std::string out_;
  size_t last_value_start_ = 0;
  size_t last_value_end_ = 0;
  std::vector<size_t> ok_get_value_ends_;
  std::vector<Splice> stale_reads_;
};

// Picks `count` of `candidates` at random (the first `count` after a partial shuffle).
template <class T>
std::vector<T> Choose(std::vector<T> candidates, int64_t count, std::mt19937_64& rng) {
  for (int64_t i = 0; i < count; ++i) {
    size_t pick = std::uniform_int_distribution<size_t>(static_cast<size_t>(i),
                                                        candidates.size() - 1)(rng);
    std::swap(candidates[static_cast<size_t>(i)], candidates[pick]);
  }
  candidates.resize(static_cast<size_t>(count));
  return candidates;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    Usage(argv[0]);
    return 254;
  }
  // The seed goes first, so any run can be replayed.
  std::fprintf(stderr, "gen_kv_history: seed %llu\n",
               static_cast<unsigned long long>(options.seed));
  Simulation simulation(options);
  simulation.Run();

  const std::vector<size_t>& candidates = simulation.ok_get_value_ends();
  if (options.corrupt > static_cast<int64_t>(candidates.size())) {
    std::fprintf(stderr, "--corrupt %lld: only %zu ok gets to corrupt\n",
                 static_cast<long long>(options.corrupt), candidates.size());
    return 254;
  }
  if (options.stale > static_cast<int64_t>(simulation.stale_reads().size())) {
    std::fprintf(stderr, "--stale %lld: only %zu ok gets could read a stale value\n",
                 static_cast<long long>(options.stale), simulation.stale_reads().size());
    return 254;
  }
  // Choose the gets to spoil with separate streams, so --corrupt and --stale do not change the
  // history.
  std::mt19937_64 corrupt_rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<Splice> splices;
  for (size_t value_end : Choose(candidates, options.corrupt, corrupt_rng)) {
    // No put or append writes a "Z", so no key ever holds this value.
    splices.push_back({value_end, value_end, "Z"});
  }
  std::mt19937_64 stale_rng(options.seed ^ 0x5851f42d4c957f2dULL);
  for (Splice& stale : Choose(simulation.stale_reads(), options.stale, stale_rng)) {
    splices.push_back(std::move(stale));
  }
  std::sort(splices.begin(), splices.end());

  std::FILE* file = std::fopen(options.out.c_str(), "wb");
  if (file == nullptr) {
    std::perror(options.out.c_str());
    return 255;
  }
  const std::string& text = simulation.text();
  size_t written_to = 0;
  size_t size = 0;
  bool ok = true;
  auto write = [&](const char* data, size_t length) {
    ok = ok && std::fwrite(data, 1, length, file) == length;
    size += length;
  };
  for (const Splice& splice : splices) {
    write(text.data() + written_to, splice.start - written_to);
    write(splice.text.data(), splice.text.size());
    written_to = splice.end;
  }
  write(text.data() + written_to, text.size() - written_to);
  ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    std::perror(options.out.c_str());
    return 255;
  }
  std::fprintf(stderr,
               "gen_kv_history: %lld ops (%lld crashed, %lld corrupted, %lld stale) -> %s, %zu "
               "bytes\n",
               static_cast<long long>(options.ops), static_cast<long long>(simulation.crashed()),
               static_cast<long long>(options.corrupt), static_cast<long long>(options.stale),
               options.out.c_str(), size);
  return 0;
}
