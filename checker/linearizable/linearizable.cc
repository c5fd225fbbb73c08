#include "checker/linearizable/linearizable.h"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "checker/linearizable/models.h"
#include "checker/linearizable/search.h"
#include "core/op_values.h"
#include "core/validate.h"

namespace faultline {
namespace linearizable {
namespace {

// An op of one partition, with its key already taken off its values. Values point into the
// history (which outlives the check), so splitting a million-op history copies no JSON.
struct KeyedOp {
  const Op* invoke;
  const Op* completion;  // the ok completion; null when the outcome is unknown
  int64_t invoke_position;
  int64_t completion_position;  // -1 when unknown
  const Json* invoke_value;
  const Json* completion_value;  // null when unknown
};

struct Partition {
  std::string key;  // "" for the single partition of an unkeyed history
  std::vector<KeyedOp> ops;
};

struct PartitionOutcome {
  SearchOutcome outcome = SearchOutcome::kLinearizable;
  std::optional<Op> failed_op;
  std::string initial_state;
  std::vector<LinearizedStep> prefix;
  size_t configurations = 0;
};

const Json kNull;

// Jepsen's independent keys write values as [key value] tuples; other harnesses put the key in
// its own field. Tuples are recognised only when every client op carries one (core/op_values.h:
// a cas carries [key [expected new]]), so a plain cas's [expected new] is never taken for a key.
enum class KeyMode { kNone, kField, kTuple };

const Json* KeyField(const Op& op) {
  if (!op.extra.is_object()) return nullptr;
  auto found = op.extra.find("key");
  return found == op.extra.end() ? nullptr : &*found;
}

KeyMode DetectKeyMode(const std::vector<std::pair<const Op*, const Op*>>& calls,
                      bool model_takes_keys) {
  if (!model_takes_keys || calls.empty()) return KeyMode::kNone;
  bool all_tuples = true;
  for (const auto& [invoke, completion] : calls) {
    if (KeyField(*invoke)) return KeyMode::kField;
    if (!IsKeyedRegisterValue(invoke->f, invoke->value)) all_tuples = false;
  }
  return all_tuples ? KeyMode::kTuple : KeyMode::kNone;
}

// A key as text. String keys are viewed in place; others are rendered once into `owned`.
std::string_view KeyText(const Json& key, std::deque<std::string>& owned) {
  if (key.is_string()) return key.get_ref<const std::string&>();
  return owned.emplace_back(key.dump());
}

std::string DescribeOp(const Op& invoke, const Op* completion) {
  std::string text = invoke.f;
  if (!invoke.value.is_null()) text += " " + invoke.value.dump();
  if (completion == nullptr) return text + " (outcome unknown)";
  if (completion->value != invoke.value) text += " -> " + completion->value.dump();
  return text;
}

size_t DefaultMemoryLimit() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return size_t{4} << 30;
  return static_cast<size_t>(pages) * static_cast<size_t>(page_size) / 2;
}

// Pairs the history and splits it into partitions by key.
Result<std::vector<Partition>> Partitioned(const History& history, bool model_takes_keys,
                                           bool lenient, std::vector<std::string>* warnings) {
  Result<Pairing> pairing = PairHistory(history, lenient);
  if (!pairing.ok()) return pairing.status();
  *warnings = pairing->warnings;
  const std::vector<Op>& ops = history.ops;
  std::vector<std::pair<const Op*, const Op*>> calls;  // invoke, ok completion or null
  std::vector<std::pair<int64_t, int64_t>> positions;
  for (size_t position = 0; position < ops.size(); ++position) {
    const Op& op = ops[position];
    if (!op.is_invoke() || op.is_nemesis()) continue;
    int64_t partner = pairing->partner[position];
    const Op* completion = partner >= 0 ? &ops[static_cast<size_t>(partner)] : nullptr;
    if (completion && completion->type == OpType::kFail) continue;  // it did not happen
    bool known = completion && completion->type == OpType::kOk;
    calls.emplace_back(&op, known ? completion : nullptr);
    positions.emplace_back(static_cast<int64_t>(position), known ? partner : -1);
  }
  KeyMode mode = DetectKeyMode(calls, model_takes_keys);
  std::deque<std::string> owned_keys;
  std::unordered_map<std::string_view, size_t> index_of_key;
  std::vector<Partition> partitions;
  for (size_t call = 0; call < calls.size(); ++call) {
    const auto& [invoke, completion] = calls[call];
    KeyedOp keyed{invoke,
                  completion,
                  positions[call].first,
                  positions[call].second,
                  &invoke->value,
                  completion ? &completion->value : nullptr};
    std::string_view key;
    if (mode == KeyMode::kField) {
      const Json* field = KeyField(*invoke);
      if (!field) {
        return HistoryOpError(history, *invoke, "expected a \"key\" field like the other ops");
      }
      key = KeyText(*field, owned_keys);
    } else if (mode == KeyMode::kTuple) {
      RegisterValue value = *SplitRegisterValue(invoke->value, /*keyed=*/true);  // all tuples
      key = KeyText(*value.key, owned_keys);
      keyed.invoke_value = value.argument;
      if (completion) {
        // A completion without a tuple (a harness that leaves the value out) read nothing known.
        Result<RegisterValue> completed = SplitRegisterValue(completion->value, /*keyed=*/true);
        keyed.completion_value = completed.ok() ? completed->argument : &kNull;
      }
    }
    auto [slot, inserted] = index_of_key.try_emplace(key, partitions.size());
    if (inserted) partitions.push_back(Partition{std::string(key), {}});
    partitions[slot->second].ops.push_back(keyed);
  }
  return partitions;
}

template <class Model>
Result<PartitionOutcome> CheckPartition(const History& history, const Model& model,
                                        const Partition& partition, Budget& budget) {
  using Call = typename Model::Call;
  Interner values;
  std::vector<Call> calls;
  calls.reserve(partition.ops.size());
  for (const KeyedOp& op : partition.ops) {
    Result<Call> call = model.Encode(op.invoke->f, *op.invoke_value, op.completion_value, values);
    if (!call.ok()) return HistoryOpError(history, *op.invoke, call.status().message());
    calls.push_back(std::move(*call));
  }
  // Unknown-outcome ops that cannot change the verdict are left out of the search: each one
  // otherwise doubles the configurations the search may visit (see Model::MarkRedundant).
  std::vector<bool> redundant(calls.size(), false);
  if constexpr (requires { model.MarkRedundant(calls, &redundant); }) {
    model.MarkRedundant(calls, &redundant);
  }
  std::vector<SearchOp<Call>> search_ops;
  std::vector<size_t> original;  // search op id -> index in partition.ops
  for (size_t i = 0; i < calls.size(); ++i) {
    if (redundant[i]) continue;
    const KeyedOp& op = partition.ops[i];
    search_ops.push_back({std::move(calls[i]), op.invoke_position, op.completion_position});
    original.push_back(i);
  }
  typename Model::State initial = model.Init(values);
  Search<Model> search(model, search_ops, initial, budget);
  SearchResult found = search.Run();
  PartitionOutcome outcome;
  outcome.outcome = found.outcome;
  outcome.configurations = found.configurations;
  if (found.outcome != SearchOutcome::kNotLinearizable) return outcome;
  outcome.initial_state = model.Describe(initial, values);
  typename Model::State state = initial;
  typename Model::State next = initial;
  for (int32_t id : found.longest_prefix) {
    const KeyedOp& op = partition.ops[original[static_cast<size_t>(id)]];
    bool stepped = model.Step(state, search_ops[static_cast<size_t>(id)].call, &next);
    assert(stepped && "the longest prefix replays through the model");
    (void)stepped;
    state = next;
    outcome.prefix.push_back(LinearizedStep{
        op.invoke->index, op.completion ? op.completion->index : -1, op.invoke->process,
        DescribeOp(*op.invoke, op.completion), model.Describe(state, values)});
  }
  const KeyedOp& blocking = partition.ops[original[static_cast<size_t>(found.blocking_op)]];
  outcome.failed_op = blocking.completion ? *blocking.completion : *blocking.invoke;
  return outcome;
}

int ThreadCount(int requested, size_t partitions) {
  int threads = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  return static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), partitions));
}

std::string Megabytes(size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

std::string FormatSeconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

template <class Model>
Result<LinearizableResult> CheckWithModel(const History& history, const Model& model,
                                          const ModelSpec& spec, const LinearizableOptions& options,
                                          bool model_takes_keys) {
  LinearizableResult result;
  result.model = spec.name;
  Result<std::vector<Partition>> partitioned =
      Partitioned(history, model_takes_keys, options.lenient, &result.warnings);
  if (!partitioned.ok()) return partitioned.status();
  std::vector<Partition>& partitions = *partitioned;
  result.partitions = partitions.size();
  for (const Partition& partition : partitions) result.operations += partition.ops.size();

  // Largest first, so the long pole starts early and the small ones fill the gaps.
  std::vector<size_t> order(partitions.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return partitions[a].ops.size() > partitions[b].ops.size();
  });
  Budget budget;
  if (options.time_limit_s > 0) {
    budget.deadline = std::chrono::steady_clock::now() +
                      std::chrono::microseconds(static_cast<int64_t>(options.time_limit_s * 1e6));
  }
  budget.memory_limit_bytes =
      options.memory_limit_bytes ? options.memory_limit_bytes : DefaultMemoryLimit();

  std::vector<std::optional<Result<PartitionOutcome>>> outcomes(partitions.size());
  std::atomic<size_t> next_index{0};
  std::mutex progress_mutex;
  size_t decided_count = 0;
  auto worker = [&] {
    for (size_t i = next_index.fetch_add(1); i < order.size(); i = next_index.fetch_add(1)) {
      if (budget.stop.load()) break;
      size_t partition = order[i];
      outcomes[partition] = CheckPartition(history, model, partitions[partition], budget);
      const auto& outcome = *outcomes[partition];
      if (!outcome.ok() || outcome->outcome != SearchOutcome::kLinearizable) budget.stop = true;
      if (options.on_partition_decided) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        options.on_partition_decided(++decided_count, partitions.size());
      }
    }
  };
  int threads = ThreadCount(options.threads, partitions.size());
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();

  // Report in partition order, so the verdict and witness do not depend on thread timing more
  // than the early stop forces: the first invalid partition wins, then the first unknown.
  for (const auto& outcome : outcomes) {
    if (outcome && outcome->ok()) result.configurations += outcome->value().configurations;
  }
  size_t decided = 0;
  std::optional<SearchOutcome> limit;  // the budget that ran out, if any
  for (size_t partition = 0; partition < partitions.size(); ++partition) {
    const auto& outcome = outcomes[partition];
    if (!outcome) continue;
    if (!outcome->ok()) return outcome->status();
    const PartitionOutcome& found = outcome->value();
    if (found.outcome == SearchOutcome::kNotLinearizable) {
      result.verdict = Verdict::kInvalid;
      if (model_takes_keys && partitions.size() > 1)
        result.partition_key = partitions[partition].key;
      result.failed_op = found.failed_op;
      result.initial_state = found.initial_state;
      result.longest_prefix = found.prefix;
      result.reason = "op " + std::to_string(found.failed_op->index) +
                      " could not be linearized after a prefix of " +
                      std::to_string(found.prefix.size()) + " ops";
      return result;
    }
    if (found.outcome == SearchOutcome::kLinearizable) ++decided;
    // Partitions stopped early only echo another partition's limit.
    bool ran_out =
        found.outcome == SearchOutcome::kTimeLimit || found.outcome == SearchOutcome::kMemoryLimit;
    if (ran_out && !limit) limit = found.outcome;
  }
  if (decided < partitions.size()) {
    result.verdict = Verdict::kUnknown;
    if (limit == SearchOutcome::kMemoryLimit) {
      result.reason = "memory limit of " + Megabytes(budget.memory_limit_bytes) + " exceeded";
    } else {
      result.reason = "time limit of " + FormatSeconds(options.time_limit_s) + " s exceeded";
    }
    result.reason += " (" + std::to_string(decided) + " of " + std::to_string(partitions.size()) +
                     " partitions decided)";
    return result;
  }
  result.verdict = Verdict::kValid;
  result.reason = "linearizable";
  return result;
}

using Runner = std::function<Result<LinearizableResult>(const History&, const ModelSpec&,
                                                        const LinearizableOptions&)>;

template <class Model>
Runner Run(std::function<Model(const Json&)> make, bool takes_keys) {
  return [make, takes_keys](const History& history, const ModelSpec& spec,
                            const LinearizableOptions& options) {
    return CheckWithModel(history, make(spec.initial_value), spec, options, takes_keys);
  };
}

const std::map<std::string, Runner>& Registry() {
  using Discipline = CollectionModel::Discipline;
  static const std::map<std::string, Runner> registry = {
      {"register", Run<RegisterModel>([](const Json& v) { return RegisterModel(v, false); }, true)},
      {"cas-register",
       Run<RegisterModel>([](const Json& v) { return RegisterModel(v, true); }, true)},
      {"multi-register",
       Run<MultiRegisterModel>([](const Json& v) { return MultiRegisterModel(v); }, false)},
      {"kv", Run<KvModel>([](const Json& v) { return KvModel(v); }, true)},
      {"mutex", Run<MutexModel>([](const Json& v) { return MutexModel(v); }, true)},
      {"set", Run<CollectionModel>(
                  [](const Json& v) { return CollectionModel(v, Discipline::kSet); }, true)},
      {"fifo-queue",
       Run<CollectionModel>([](const Json& v) { return CollectionModel(v, Discipline::kFifo); },
                            true)},
      {"unordered-queue",
       Run<CollectionModel>(
           [](const Json& v) { return CollectionModel(v, Discipline::kUnordered); }, true)},
  };
  return registry;
}

}  // namespace
}  // namespace linearizable

std::vector<std::string> LinearizableModelNames() {
  std::vector<std::string> names;
  for (const auto& [name, runner] : linearizable::Registry()) names.push_back(name);
  return names;
}

Result<LinearizableResult> CheckLinearizable(const History& history, const ModelSpec& model,
                                             const LinearizableOptions& options) {
  const auto& registry = linearizable::Registry();
  auto found = registry.find(model.name);
  if (found == registry.end()) {
    std::string names;
    for (const auto& name : LinearizableModelNames()) names += (names.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("unknown model \"" + model.name + "\"; expected one of " +
                                   names);
  }
  return found->second(history, model, options);
}

}  // namespace faultline
