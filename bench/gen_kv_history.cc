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
// Usage: gen_kv_history [--ops N] [--keys N] [--clients N] [--seed N] [--crash-probability P]
//                       [--corrupt N] --out FILE
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
  std::string out;
};

void Usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--ops N] [--keys N] [--clients N] [--seed N] "
               "[--crash-probability P] [--corrupt N] --out FILE\n",
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
  std::string argument;  // put / append
  std::string result;    // get: the value read at the linearization point
};

enum class EventKind : uint8_t { kInvoke, kEffect, kComplete };

struct Event {
  int64_t time;
  uint64_t sequence;  // ties at one time resolve in scheduling order
  EventKind kind;
  int64_t client;  // kInvoke
  uint32_t op;     // kEffect, kComplete: slot in the op table
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
    process_of_client_.resize(static_cast<size_t>(options.clients));
    sequence_of_client_.assign(static_cast<size_t>(options.clients), 0);
    for (int64_t client = 0; client < options.clients; ++client) {
      process_of_client_[static_cast<size_t>(client)] = client;
      Schedule({Uniform(0, kMeanDurationTicks), 0, EventKind::kInvoke, client, 0});
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
      }
    }
  }

  std::string& text() { return out_; }
  // Byte offsets of the closing quote of every ok get's value.
  const std::vector<size_t>& ok_get_value_ends() const { return ok_get_value_ends_; }
  int64_t crashed() const { return crashed_; }

 private:
  // Durations are in abstract ticks; only their ratios matter (how much ops overlap).
  static constexpr int64_t kMeanDurationTicks = 1000;
  static constexpr int64_t kMaxThinkTicks = 200;

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
    op.argument.clear();
    op.result.clear();
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
    WriteLine(op, "invoke", /*value_is_result=*/false);

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
        value = op.argument;
        break;
      case Function::kAppend:
        value += op.argument;
        break;
    }
  }

  void Complete(const Event& event) {
    SimOp& op = ops_[event.op];
    size_t client = static_cast<size_t>(op.client);
    if (op.crashed) {
      ++crashed_;
      WriteLine(op, "info", false);
      // Jepsen retires a crashed worker's process; the thread continues under a fresh one.
      process_of_client_[client] += options_.clients;
    } else {
      WriteLine(op, "ok", /*value_is_result=*/op.f == Function::kGet);
      if (op.f == Function::kGet) ok_get_value_ends_.push_back(last_value_end_);
    }
    Schedule({event.time + Uniform(0, kMaxThinkTicks), 0, EventKind::kInvoke, op.client, 0});
    Release(event.op, false);
  }

  void WriteLine(const SimOp& op, std::string_view type, bool value_is_result) {
    out_ += "{:process ";
    AppendInt(out_, op.process);
    out_ += ", :type :";
    out_ += type;
    out_ += ", :f :";
    out_ += Name(op.f);
    out_ += ", :key \"";
    AppendInt(out_, op.key);
    out_ += "\", :value ";
    if (op.f == Function::kGet && !value_is_result) {
      out_ += "nil";
    } else {
      // Values hold only letters, digits and spaces: no EDN escaping needed.
      out_ += '"';
      out_ += value_is_result ? op.result : op.argument;
      last_value_end_ = out_.size();
      out_ += '"';
    }
    out_ += "}\n";
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
  std::string out_;
  size_t last_value_end_ = 0;
  std::vector<size_t> ok_get_value_ends_;
};

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
  // Choose the gets to spoil with a separate stream, so --corrupt does not change the history.
  std::vector<size_t> chosen(candidates);
  std::mt19937_64 corrupt_rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  for (int64_t i = 0; i < options.corrupt; ++i) {
    size_t pick = std::uniform_int_distribution<size_t>(static_cast<size_t>(i),
                                                        chosen.size() - 1)(corrupt_rng);
    std::swap(chosen[static_cast<size_t>(i)], chosen[pick]);
  }
  chosen.resize(static_cast<size_t>(options.corrupt));
  std::sort(chosen.begin(), chosen.end());

  std::FILE* file = std::fopen(options.out.c_str(), "wb");
  if (file == nullptr) {
    std::perror(options.out.c_str());
    return 255;
  }
  const std::string& text = simulation.text();
  size_t written_to = 0;
  bool ok = true;
  for (size_t value_end : chosen) {
    ok = ok && std::fwrite(text.data() + written_to, 1, value_end - written_to, file) ==
                   value_end - written_to;
    // No put or append writes a "Z", so no key ever holds this value.
    ok = ok && std::fputc('Z', file) != EOF;
    written_to = value_end;
  }
  ok = ok && std::fwrite(text.data() + written_to, 1, text.size() - written_to, file) ==
                 text.size() - written_to;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    std::perror(options.out.c_str());
    return 255;
  }
  std::fprintf(stderr, "gen_kv_history: %lld ops (%lld crashed, %lld corrupted) -> %s, %zu bytes\n",
               static_cast<long long>(options.ops), static_cast<long long>(simulation.crashed()),
               static_cast<long long>(options.corrupt), options.out.c_str(),
               text.size() + chosen.size());
  return 0;
}
