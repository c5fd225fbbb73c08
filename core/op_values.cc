#include "core/op_values.h"

namespace faultline {
namespace {

bool IsPair(const Json& value) { return value.is_array() && value.size() == 2; }

// Compact JSON for messages; bytes that are not UTF-8 become U+FFFD instead of an exception.
std::string Dumped(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool Allows(TxnKind txn, MicroOpKind micro_op) {
  switch (micro_op) {
    case MicroOpKind::kRead:
      return true;
    case MicroOpKind::kAppend:
      return txn != TxnKind::kRwRegister;
    case MicroOpKind::kWrite:
      return txn != TxnKind::kListAppend;
  }
  return false;
}

const Json& NullJson() {
  static const Json null;
  return null;
}

// What is wrong with `micro_op` for a `kind` transaction: "" when nothing is (and `out` holds
// it taken apart), else what was expected.
std::string_view Problem(const Json& micro_op, TxnKind kind, MicroOp* out) {
  const Json::array_t* fields = micro_op.get_ptr<const Json::array_t*>();
  if (fields == nullptr || fields->size() < 2 || fields->size() > 3 || !(*fields)[0].is_string()) {
    return "expected [f key value]";
  }
  std::optional<MicroOpKind> name = ParseMicroOpName((*fields)[0].get_ref<const std::string&>());
  if (!name || !Allows(kind, *name)) {
    switch (kind) {
      case TxnKind::kListAppend:
        return "expected f append or r (list-append)";
      case TxnKind::kRwRegister:
        return "expected f w or r (rw-register)";
      case TxnKind::kAny:
        return "expected f append, w or r";
    }
  }
  out->kind = *name;
  out->key = &(*fields)[1];
  out->value = fields->size() == 3 ? &(*fields)[2] : &NullJson();
  if (out->kind == MicroOpKind::kRead) {
    if (kind == TxnKind::kListAppend && !out->value->is_null() && !out->value->is_array()) {
      return "expected a list read (or nil)";
    }
    return "";
  }
  if (out->value->is_null()) return "expected a value other than nil (nil is the initial state)";
  return "";
}

}  // namespace

std::optional<RegisterF> ParseRegisterF(std::string_view f) {
  if (f == "read") return RegisterF::kRead;
  if (f == "write") return RegisterF::kWrite;
  if (f == "cas") return RegisterF::kCas;
  return std::nullopt;
}

std::string_view ToString(RegisterF f) {
  switch (f) {
    case RegisterF::kRead:
      return "read";
    case RegisterF::kWrite:
      return "write";
    case RegisterF::kCas:
      return "cas";
  }
  return "?";
}

bool IsKeyedRegisterValue(std::string_view f, const Json& value) {
  return IsPair(value) && (f != "cas" || IsPair(value[1]));
}

Result<RegisterValue> SplitRegisterValue(const Json& value, bool keyed) {
  if (!keyed) return RegisterValue{nullptr, &value};
  if (!IsPair(value)) {
    return Status::InvalidArgument("expected a [key value] tuple, found " + Dumped(value));
  }
  return RegisterValue{&value[0], &value[1]};
}

Result<CasArgument> ParseCasArgument(const Json& argument) {
  if (!IsPair(argument)) {
    return Status::InvalidArgument("cas value: expected [from to], found " + Dumped(argument));
  }
  return CasArgument{&argument[0], &argument[1]};
}

Json KeyedValue(Json key, Json argument) {
  return Json::array({std::move(key), std::move(argument)});
}

Json CasValue(Json from, Json to) { return Json::array({std::move(from), std::move(to)}); }

std::string_view ToString(MicroOpKind kind) {
  switch (kind) {
    case MicroOpKind::kAppend:
      return "append";
    case MicroOpKind::kRead:
      return "r";
    case MicroOpKind::kWrite:
      return "w";
  }
  return "?";
}

std::optional<MicroOpKind> ParseMicroOpName(std::string_view name) {
  if (name == "append") return MicroOpKind::kAppend;
  if (name == "r" || name == "read") return MicroOpKind::kRead;
  if (name == "w" || name == "write") return MicroOpKind::kWrite;
  return std::nullopt;
}

std::string_view ToString(TxnKind kind) {
  switch (kind) {
    case TxnKind::kListAppend:
      return "list-append";
    case TxnKind::kRwRegister:
      return "rw-register";
    case TxnKind::kAny:
      return "any";
  }
  return "?";
}

Status ParseMicroOp(const Json& micro_op, TxnKind kind, MicroOp* out) {
  std::string_view problem = Problem(micro_op, kind, out);
  if (problem.empty()) return Status::Ok();
  return Status::InvalidArgument("micro-op " + Dumped(micro_op) + ": " + std::string(problem));
}

Result<std::vector<MicroOp>> ParseMicroOps(const Json& value, TxnKind kind) {
  std::vector<MicroOp> micro_ops;
  if (value.is_array()) micro_ops.reserve(value.size());
  Status status = ForEachMicroOp(value, kind, [&](size_t, const MicroOp& micro_op) {
    micro_ops.push_back(micro_op);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return micro_ops;
}

Json MicroOpJson(MicroOpKind kind, Json key, Json value) {
  return Json::array({ToString(kind), std::move(key), std::move(value)});
}

namespace op_values_internal {

Status NotAList(const Json& value) {
  return Status::InvalidArgument("expected a list of micro-ops, found " + Dumped(value));
}

bool TryParseMicroOp(const Json& micro_op, TxnKind kind, MicroOp* out) {
  return Problem(micro_op, kind, out).empty();
}

Status MicroOpError(const Json& micro_op, TxnKind kind, size_t position, size_t count) {
  MicroOp ignored;
  return Status::InvalidArgument("micro-op " + std::to_string(position + 1) + " of " +
                                 std::to_string(count) + ", " + Dumped(micro_op) + ": " +
                                 std::string(Problem(micro_op, kind, &ignored)));
}

}  // namespace op_values_internal

}  // namespace faultline
