// The history normalised for the session checks: client ops that happened or may have happened,
// grouped into sessions, each reduced to its reads and writes of keys.
#include <algorithm>
#include <optional>
#include <string_view>

#include "checker/session/internal.h"
#include "core/op_values.h"
#include "core/validate.h"

namespace faultline::session {
namespace {

// A client op with its completion (null when it never completed), fail ops already dropped.
struct Call {
  size_t invoke;
  size_t completion;  // Event::kNoCompletion when pending
  bool ok;
};

bool HasClientInvoke(const History& history) {
  return std::any_of(history.ops.begin(), history.ops.end(),
                     [](const Op& op) { return op.is_invoke() && !op.is_nemesis(); });
}

// Client calls in invocation order. Histories of completions only (Elle's test histories and
// elle-cli inputs have no invocations) make each completion a call of its own.
Result<std::vector<Call>> Calls(const History& history, bool lenient,
                                std::vector<std::string>* warnings) {
  std::vector<Call> calls;
  const std::vector<Op>& ops = history.ops;
  if (!HasClientInvoke(history)) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].is_nemesis() || ops[i].type == OpType::kFail) continue;
      calls.push_back({i, i, ops[i].type == OpType::kOk});
    }
    if (!calls.empty()) {
      warnings->push_back("the history has no invocations: each completion is taken as an op");
    }
    return calls;
  }
  Result<Pairing> pairing = PairHistory(history, lenient);
  if (!pairing.ok()) return pairing.status();
  *warnings = pairing->warnings;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.is_nemesis()) continue;
    int64_t partner = pairing->partner[i];
    if (op.is_completion() && partner >= 0) continue;  // its invocation made the call
    if (op.is_completion()) {                          // an orphan (lenient mode)
      if (op.type != OpType::kFail) calls.push_back({i, i, op.type == OpType::kOk});
      continue;
    }
    if (partner < 0) {
      calls.push_back({i, Event::kNoCompletion, false});
      continue;
    }
    OpType outcome = ops[static_cast<size_t>(partner)].type;
    if (outcome == OpType::kFail) continue;
    calls.push_back({i, static_cast<size_t>(partner), outcome == OpType::kOk});
  }
  return calls;
}

const Json* KeyField(const Op& op) {
  if (!op.extra.is_object()) return nullptr;
  auto found = op.extra.find("key");
  return found == op.extra.end() ? nullptr : &*found;
}

bool IsTxnDataType(DataType type) {
  return type == DataType::kListAppend || type == DataType::kRwRegister;
}

// Elle's histories may leave f out: a value that is a list of [f key value] lists is a txn.
bool IsTxn(const Op& op) {
  if (op.f == "txn") return true;
  if (!op.f.empty() || !op.value.is_array() || op.value.empty()) return false;
  return std::all_of(op.value.begin(), op.value.end(), [](const Json& micro) {
    return micro.is_array() && !micro.empty() && micro[0].is_string();
  });
}

// list-append when any micro-op appends or any read returns a list; rw-register otherwise.
DataType DetectTxnType(const History& history) {
  bool read_list = false;
  for (const Op& op : history.ops) {
    if (op.is_nemesis() || !IsTxn(op)) continue;
    for (const Json& micro : op.value) {
      if (!micro.is_array() || micro.empty() || !micro[0].is_string()) continue;
      std::optional<MicroOpKind> kind = ParseMicroOpName(micro[0].get_ref<const std::string&>());
      if (kind == MicroOpKind::kAppend) return DataType::kListAppend;
      if (kind == MicroOpKind::kWrite) return DataType::kRwRegister;
      if (micro.size() == 3 && micro[2].is_array()) read_list = true;
    }
  }
  return read_list ? DataType::kListAppend : DataType::kRwRegister;
}

// kv when the ops carry a "key" field, or every invocation carries a [key value] tuple
// (core/op_values.h: a cas a [key [old new]]), so a plain cas's [old new] is never taken for a key.
DataType DetectRegisterType(const History& history, const std::vector<Call>& calls) {
  bool all_tuples = !calls.empty();
  for (const Call& call : calls) {
    const Op& op = history.ops[call.invoke];
    if (KeyField(op)) return DataType::kKv;
    if (!IsKeyedRegisterValue(op.f, op.value)) all_tuples = false;
  }
  return all_tuples ? DataType::kKv : DataType::kRegister;
}

Result<DataType> ChooseDataType(const History& history, const std::vector<Call>& calls,
                                const std::string& name) {
  if (name == "register") return DataType::kRegister;
  if (name == "kv") return DataType::kKv;
  if (name == "list-append") return DataType::kListAppend;
  if (name == "rw-register") return DataType::kRwRegister;
  if (name != "auto") {
    return Status::InvalidArgument("unknown data type \"" + name +
                                   "\" (expected auto, register, kv, list-append or rw-register)");
  }
  bool txn = std::any_of(history.ops.begin(), history.ops.end(),
                         [](const Op& op) { return !op.is_nemesis() && IsTxn(op); });
  return txn ? DetectTxnType(history) : DetectRegisterType(history, calls);
}

// The value holding an op's results: the completion's for ok ops (reads are filled in there),
// the invocation's otherwise.
const Json& ResultValue(const History& history, const Call& call) {
  if (call.ok && call.completion != Event::kNoCompletion) {
    const Json& value = history.ops[call.completion].value;
    if (!value.is_null()) return value;
  }
  return history.ops[call.invoke].value;
}

class Normaliser {
 public:
  Normaliser(const History& history, DataType type) : history_(history), type_(type) {}

  Status Fill(const Call& call, Event* event) {
    const Op& op = history_.ops[call.invoke];
    if (IsTxnDataType(type_)) {
      if (!IsTxn(op)) return Skip(op);
      return Txn(op, ResultValue(history_, call), call.ok, event);
    }
    return Register(call, event);
  }

  size_t skipped() const { return skipped_; }
  const std::string& first_skipped_f() const { return first_skipped_f_; }

 private:
  Status Skip(const Op& op) {
    if (skipped_++ == 0) first_skipped_f_ = op.f;
    return Status::Ok();
  }

  Status Txn(const Op& op, const Json& value, bool ok, Event* event) {
    const TxnKind kind =
        type_ == DataType::kListAppend ? TxnKind::kListAppend : TxnKind::kRwRegister;
    std::set<std::string> written;  // keys this txn wrote so far: later reads are internal
    std::set<std::string> read;     // rw-register: a key's first read is its external one
    Status status = ForEachMicroOp(value, kind, [&](size_t, const MicroOp& micro) {
      std::string key = micro.key->dump();
      if (micro.kind != MicroOpKind::kRead) {
        written.insert(key);
        event->accesses.push_back({true, std::move(key), *micro.value});
      } else if (ok && !written.count(key) && read.insert(key).second) {
        event->accesses.push_back({false, std::move(key), *micro.value});
      }
      return Status::Ok();
    });
    if (!status.ok()) return HistoryOpError(history_, op, status.message());
    return Status::Ok();
  }

  // Splits a register or kv op's value into key and payload.
  Status Split(const Op& op, const Json& value, std::string* key, Json* payload) const {
    if (type_ == DataType::kRegister) {
      *payload = value;
      return Status::Ok();
    }
    if (const Json* field = KeyField(op)) {
      *key = field->dump();
      *payload = value;
      return Status::Ok();
    }
    Result<RegisterValue> split = SplitRegisterValue(value, /*keyed=*/true);
    if (!split.ok()) return HistoryOpError(history_, op, split.status().message());
    *key = split->key->dump();
    *payload = *split->argument;
    return Status::Ok();
  }

  Status Register(const Call& call, Event* event) {
    const Op& op = history_.ops[call.invoke];
    if (op.f != "read" && op.f != "write" && op.f != "cas") return Skip(op);
    std::string key;
    Json argument;
    if (Status status = Split(op, op.value, &key, &argument); !status.ok()) return status;
    if (op.f == "write") {
      event->accesses.push_back({true, key, argument});
    } else if (op.f == "cas") {
      Result<CasArgument> cas = ParseCasArgument(argument);
      if (!cas.ok()) return HistoryOpError(history_, op, cas.status().message());
      if (call.ok) event->accesses.push_back({false, key, *cas->from});
      event->accesses.push_back({true, key, *cas->to});
    } else if (call.ok) {
      std::string read_key = key;
      Json observed;
      const Op& result =
          history_.ops[call.completion == Event::kNoCompletion ? call.invoke : call.completion];
      if (Status status = Split(result, result.value, &read_key, &observed); !status.ok()) {
        return status;
      }
      event->accesses.push_back({false, key, observed});
    }
    return Status::Ok();
  }

  const History& history_;
  const DataType type_;
  size_t skipped_ = 0;
  std::string first_skipped_f_;
};

// Chain mode with C from the options or the header; process mode otherwise.
void ChooseSessions(const History& history, const SessionOptions& options, Model* model) {
  int concurrency = options.concurrency;
  if (concurrency == 0) {
    auto found =
        history.header.is_object() ? history.header.find("concurrency") : history.header.end();
    if (history.header.is_object() && found != history.header.end() && found->is_number_integer() &&
        found->get<int64_t>() > 0) {
      concurrency = static_cast<int>(found->get<int64_t>());
    } else {
      model->warnings.push_back(
          "the history header has no concurrency: each process is its own session (give the "
          "concurrency to join the processes of one client thread)");
    }
  }
  model->concurrency = std::max(concurrency, 0);
  model->session_mode = concurrency > 0 ? "chain" : "process";
}

}  // namespace

std::string_view ToString(DataType type) {
  switch (type) {
    case DataType::kRegister:
      return "register";
    case DataType::kKv:
      return "kv";
    case DataType::kListAppend:
      return "list-append";
    case DataType::kRwRegister:
      return "rw-register";
  }
  return "?";
}

Result<Model> BuildModel(const History& history, const SessionOptions& options) {
  Model model;
  Result<std::vector<Call>> calls = Calls(history, options.lenient, &model.warnings);
  if (!calls.ok()) return calls.status();
  Result<DataType> type = ChooseDataType(history, *calls, options.data_type);
  if (!type.ok()) return type.status();
  model.type = *type;
  ChooseSessions(history, options, &model);
  Normaliser normaliser(history, model.type);
  for (const Call& call : *calls) {
    Event event;
    event.invoke = call.invoke;
    event.completion = call.completion;
    event.ok = call.ok;
    if (Status status = normaliser.Fill(call, &event); !status.ok()) return status;
    if (event.accesses.empty()) continue;
    int64_t process = history.ops[call.invoke].process;
    event.session = model.concurrency > 0 ? process % model.concurrency : process;
    std::vector<size_t>& session = model.sessions[event.session];
    event.ordinal = session.size();
    session.push_back(model.events.size());
    model.processes[event.session].insert(process);
    model.events.push_back(std::move(event));
  }
  if (normaliser.skipped() > 0) {
    model.warnings.push_back(std::to_string(normaliser.skipped()) + " ops with an f that a " +
                             std::string(ToString(model.type)) + " history does not have (" +
                             normaliser.first_skipped_f() + ", ...) were ignored");
  }
  return model;
}

std::string KeyName(const std::string& key) {
  if (key.empty()) return "the register";
  Json parsed = Json::parse(key, nullptr, false);
  if (parsed.is_string()) return parsed.get<std::string>();
  return key;
}

}  // namespace faultline::session
