#include "checker/linearizable/models.h"

#include <algorithm>
#include <unordered_set>

#include "core/op_values.h"

namespace faultline::linearizable {
namespace {

Status Expected(std::string_view what, std::string_view f) {
  return Status::InvalidArgument("expected " + std::string(what) + ", found f \"" + std::string(f) +
                                 "\"");
}

Status BadValue(std::string_view f, std::string_view what, const Json& value) {
  return Status::InvalidArgument(std::string(f) + " value: expected " + std::string(what) +
                                 ", found " + value.dump());
}

bool IsAny(std::string_view f, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), f) != names.end();
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += ' ';
    out += part;
  }
  return out;
}

}  // namespace

Result<RegisterModel::Call> RegisterModel::Encode(std::string_view f, const Json& invoke_value,
                                                  const Json* completion, Interner& values) const {
  if (IsAny(f, {"read", "r", "get"})) {
    // The value read is in the completion; an unknown outcome may have read anything.
    // Knossos' convention: when the register never holds nil (its initial value is not nil), a
    // read that returned nil is a read whose value was not recorded, and matches any state.
    bool unknown = completion == nullptr || (completion->is_null() && !initial_value_.is_null());
    int32_t read = unknown ? Interner::kNull : values.Intern(*completion);
    return Call{Kind::kRead, unknown, read, 0};
  }
  if (IsAny(f, {"write", "w", "put"})) {
    return Call{Kind::kWrite, completion == nullptr, values.Intern(invoke_value), 0};
  }
  if (allow_cas_ && f == "cas") {
    Result<CasArgument> cas = ParseCasArgument(invoke_value);
    if (!cas.ok()) return cas.status();
    return Call{Kind::kCas, completion == nullptr, values.Intern(*cas->from),
                values.Intern(*cas->to)};
  }
  return Expected(allow_cas_ ? "read, write or cas" : "read or write", f);
}

void RegisterModel::MarkRedundant(const std::vector<Call>& calls,
                                  std::vector<bool>* redundant) const {
  std::unordered_set<int32_t> observed;
  for (const Call& call : calls) {
    if (call.kind == Kind::kRead && !call.unknown) observed.insert(call.first);
    if (call.kind == Kind::kCas) observed.insert(call.first);
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& call = calls[i];
    if (!call.unknown) continue;
    switch (call.kind) {
      case Kind::kRead:
        (*redundant)[i] = true;
        break;
      case Kind::kWrite:
        (*redundant)[i] = !observed.contains(call.first);
        break;
      case Kind::kCas:
        (*redundant)[i] = !observed.contains(call.second);
        break;
    }
  }
}

Result<MultiRegisterModel::Call> MultiRegisterModel::Encode(std::string_view f,
                                                            const Json& invoke_value,
                                                            const Json* completion,
                                                            Interner& values) const {
  if (f != "txn") return Expected("txn", f);
  const Json& micro_ops = completion && completion->is_array() ? *completion : invoke_value;
  Call call;
  auto add = [&](size_t, const faultline::MicroOp& micro_op) {
    bool write = micro_op.kind == MicroOpKind::kWrite;
    const Json& key = *micro_op.key;
    Json initial = initial_value_;
    if (initial_value_.is_object()) {
      std::string key_name = key.is_string() ? key.get<std::string>() : key.dump();
      initial = initial_value_.contains(key_name) ? initial_value_[key_name] : Json();
    }
    // As for registers: a nil read of a key whose initial value is not nil was not recorded.
    bool unknown =
        !write && (completion == nullptr || (micro_op.value->is_null() && !initial.is_null()));
    call.micro_ops.push_back(MicroOp{write, unknown, values.Intern(key),
                                     values.Intern(*micro_op.value), values.Intern(initial)});
    return Status::Ok();
  };
  Status status = ForEachMicroOp(micro_ops, TxnKind::kRwRegister, add);
  if (!status.ok()) return Status::InvalidArgument(std::string(f) + " value: " + status.message());
  return call;
}

bool MultiRegisterModel::Step(const State& state, const Call& call, State* next) const {
  *next = state;
  for (const MicroOp& micro_op : call.micro_ops) {
    auto slot = std::lower_bound(next->begin(), next->end(), std::make_pair(micro_op.key, 0),
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
    bool present = slot != next->end() && slot->first == micro_op.key;
    if (micro_op.write) {
      if (present) {
        slot->second = micro_op.value;
      } else {
        next->insert(slot, {micro_op.key, micro_op.value});
      }
      continue;
    }
    int32_t current = present ? slot->second : micro_op.initial;
    if (!micro_op.unknown && current != micro_op.value) return false;
  }
  return true;
}

uint64_t MultiRegisterModel::Hash(const State& state) const {
  uint64_t hash = 0x6a09e667f3bcc909ULL;
  for (const auto& [key, value] : state) {
    hash = Mix64(hash ^ (static_cast<uint64_t>(key) << 32 | static_cast<uint32_t>(value)));
  }
  return hash;
}

std::string MultiRegisterModel::Describe(const State& state, const Interner& values) const {
  std::string out = "{";
  for (const auto& [key, value] : state) {
    if (out.size() > 1) out += ", ";
    out += values.Text(key) + " " + values.Text(value);
  }
  return out + "}" + (state.empty() ? " (every key at its initial value)" : "");
}

std::string KvModel::TextOf(const Json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

Result<KvModel::Call> KvModel::Encode(std::string_view f, const Json& invoke_value,
                                      const Json* completion, Interner&) const {
  if (IsAny(f, {"get", "read", "r"})) {
    return Call{Kind::kGet, completion == nullptr, completion ? TextOf(*completion) : ""};
  }
  if (IsAny(f, {"put", "write", "w"})) {
    return Call{Kind::kPut, completion == nullptr, TextOf(invoke_value)};
  }
  if (f == "append") return Call{Kind::kAppend, completion == nullptr, TextOf(invoke_value)};
  return Expected("get, put or append", f);
}

void KvModel::MarkRedundant(const std::vector<Call>& calls, std::vector<bool>* redundant) const {
  std::vector<const std::string*> reads;
  for (const Call& call : calls) {
    if (call.kind == Kind::kGet && !call.unknown) reads.push_back(&call.text);
  }
  auto observed = [&](const std::string& text) {
    if (text.empty()) return true;  // "" is in every value; keep such ops
    for (const std::string* read : reads) {
      if (read->find(text) != std::string::npos) return true;
    }
    return false;
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& call = calls[i];
    if (!call.unknown) continue;
    (*redundant)[i] = call.kind == Kind::kGet || !observed(call.text);
  }
}

std::string KvModel::Describe(const State& state, const Interner&) const {
  return Json(state).dump();
}

Result<MutexModel::Call> MutexModel::Encode(std::string_view f, const Json&, const Json*,
                                            Interner&) const {
  if (f == "acquire") return Call{true};
  if (f == "release") return Call{false};
  return Expected("acquire or release", f);
}

CollectionModel::State CollectionModel::Init(Interner& values) const {
  State state;
  if (initial_value_.is_array()) {
    for (const Json& element : initial_value_) state.push_back(values.Intern(element));
  }
  if (discipline_ != Discipline::kFifo) std::sort(state.begin(), state.end());
  return state;
}

Result<CollectionModel::Call> CollectionModel::Encode(std::string_view f, const Json& invoke_value,
                                                      const Json* completion,
                                                      Interner& values) const {
  bool unknown = completion == nullptr;
  if (discipline_ == Discipline::kSet) {
    if (f == "add") return Call{Kind::kAdd, unknown, values.Intern(invoke_value), {}};
    if (f != "read") return Expected("add or read", f);
    Call call{Kind::kRead, unknown, 0, {}};
    if (unknown) return call;
    if (!completion->is_array() && !completion->is_null()) {
      return BadValue(f, "a list of elements", *completion);
    }
    for (const Json& element : (completion->is_null() ? Json::array() : *completion)) {
      call.elements.push_back(values.Intern(element));
    }
    std::sort(call.elements.begin(), call.elements.end());
    call.elements.erase(std::unique(call.elements.begin(), call.elements.end()),
                        call.elements.end());
    return call;
  }
  if (f == "enqueue") return Call{Kind::kAdd, unknown, values.Intern(invoke_value), {}};
  if (f == "dequeue") {
    return Call{
        Kind::kDequeue, unknown, unknown ? Interner::kNull : values.Intern(*completion), {}};
  }
  return Expected("enqueue or dequeue", f);
}

bool CollectionModel::Step(const State& state, const Call& call, State* next) const {
  switch (call.kind) {
    case Kind::kAdd: {
      *next = state;
      if (discipline_ == Discipline::kFifo) {
        next->push_back(call.element);
        return true;
      }
      auto slot = std::lower_bound(next->begin(), next->end(), call.element);
      if (discipline_ == Discipline::kSet && slot != next->end() && *slot == call.element) {
        return true;
      }
      next->insert(slot, call.element);
      return true;
    }
    case Kind::kRead:
      *next = state;
      return call.unknown || call.elements == state;
    case Kind::kDequeue: {
      *next = state;
      if (call.unknown) {
        // The dequeue may have removed whichever element came first (fifo); for an unordered
        // queue an unknown dequeue is modelled as removing nothing (it may never have happened).
        if (discipline_ == Discipline::kFifo && !next->empty()) next->erase(next->begin());
        return true;
      }
      if (call.element == Interner::kNull) return state.empty();
      if (discipline_ == Discipline::kFifo) {
        if (state.empty() || state.front() != call.element) return false;
        next->erase(next->begin());
        return true;
      }
      auto slot = std::lower_bound(next->begin(), next->end(), call.element);
      if (slot == next->end() || *slot != call.element) return false;
      next->erase(slot);
      return true;
    }
  }
  return false;
}

uint64_t CollectionModel::Hash(const State& state) const {
  uint64_t hash = 0x3c6ef372fe94f82bULL;
  for (int32_t element : state) hash = Mix64(hash ^ static_cast<uint32_t>(element));
  return hash;
}

std::string CollectionModel::Describe(const State& state, const Interner& values) const {
  std::vector<std::string> parts;
  for (int32_t element : state) parts.push_back(values.Text(element));
  // Appended rather than "[" + ...: GCC 12 warns falsely (-Wrestrict) on literal + rvalue at -O3.
  std::string out = "[";
  out += Join(parts);
  return out += "]";
}

}  // namespace faultline::linearizable
