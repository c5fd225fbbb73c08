// The options, the SQL the client sends and how an error becomes fail or info: pure functions,
// tested without a server.
#include <algorithm>
#include <charconv>

#include "clients/postgres/postgres.h"
#include "clients/servers/server_support.h"

namespace faultline::postgres {
namespace {

// The text of an integer key or value for libpq; InvalidArgument naming the micro-op otherwise.
Result<std::string> IntegerText(const Json& value, const char* what, const MicroOp& micro_op) {
  if (!value.is_number_integer()) {
    return Status::InvalidArgument(std::string("postgres: the ") + what + " of micro-op [" +
                                   std::string(ToString(micro_op.kind)) + ", " +
                                   micro_op.key->dump() + ", " + micro_op.value->dump() +
                                   "] is not an integer");
  }
  return value.dump();
}

Result<Json> ParseInteger(std::string_view text) {
  int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Status::InvalidArgument("postgres: \"" + std::string(text) + "\" is not an integer");
  }
  return Json(number);
}

}  // namespace

std::vector<std::string> IsolationNames() {
  return {"read-committed", "repeatable-read", "serializable"};
}

Result<Isolation> ParseIsolation(std::string_view text) {
  if (text == "read-committed") return Isolation::kReadCommitted;
  if (text == "repeatable-read") return Isolation::kRepeatableRead;
  if (text == "serializable") return Isolation::kSerializable;
  return Status::InvalidArgument(
      "isolation must be read-committed, repeatable-read or serializable, not " +
      std::string(text));
}

std::string ToString(Isolation isolation) {
  switch (isolation) {
    case Isolation::kReadCommitted:
      return "read-committed";
    case Isolation::kRepeatableRead:
      return "repeatable-read";
    case Isolation::kSerializable:
      return "serializable";
  }
  return "serializable";
}

std::string NodeDirectory(const PostgresOptions& options, const std::string& node) {
  return clients::NodeDirectory(options.directory, node);
}

Status ValidateOptions(const PostgresOptions& options) {
  if (Status common = clients::ValidateServerOptions("postgres", options.port,
                                                     options.start_timeout_s, options.directory,
                                                     options.user, options.password);
      !common.ok()) {
    return common;
  }
  if (options.replicas < 0) return Status::InvalidArgument("--replicas must be 0 or more");
  if (options.read_from_replica && options.replicas == 0) {
    return Status::InvalidArgument("--read-from replica needs --replicas 1 or more");
  }
  return Status::Ok();
}

Role NodeRole(const PostgresOptions& options, const TestOptions& test, const std::string& node) {
  const auto found = std::find(test.nodes.begin(), test.nodes.end(), node);
  if (found == test.nodes.end()) return Role::kNone;
  const auto position = found - test.nodes.begin();
  if (position == 0) return Role::kPrimary;
  return position <= options.replicas ? Role::kStandby : Role::kNone;
}

std::string CreateTablesSql() {
  return std::string("SET client_min_messages = warning;\nDROP TABLE IF EXISTS ") + kListTable +
         ", " + kRegisterTable + ";\nCREATE TABLE " + kListTable +
         " (k bigint PRIMARY KEY, v bigint[] NOT NULL);\n" + "CREATE TABLE " + kRegisterTable +
         " (k bigint PRIMARY KEY, v bigint NOT NULL);\n";
}

std::string BeginSql(Isolation isolation) {
  switch (isolation) {
    case Isolation::kReadCommitted:
      return "BEGIN ISOLATION LEVEL READ COMMITTED";
    case Isolation::kRepeatableRead:
      return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case Isolation::kSerializable:
      return "BEGIN ISOLATION LEVEL SERIALIZABLE";
  }
  return "BEGIN ISOLATION LEVEL SERIALIZABLE";
}

Result<Statement> MicroOpStatement(const MicroOp& micro_op, TxnKind kind) {
  Result<std::string> key = IntegerText(*micro_op.key, "key", micro_op);
  if (!key.ok()) return key.status();
  const std::string table = kind == TxnKind::kListAppend ? kListTable : kRegisterTable;
  if (micro_op.kind == MicroOpKind::kRead) {
    return Statement{"SELECT v FROM " + table + " WHERE k = $1", {*key}};
  }
  Result<std::string> value = IntegerText(*micro_op.value, "value", micro_op);
  if (!value.ok()) return value.status();
  if (micro_op.kind == MicroOpKind::kAppend) {
    return Statement{"INSERT INTO " + table +
                         " AS t (k, v) VALUES ($1, ARRAY[$2::bigint]) "
                         "ON CONFLICT (k) DO UPDATE SET v = t.v || $2::bigint",
                     {*key, *value}};
  }
  return Statement{"INSERT INTO " + table +
                       " AS t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = "
                       "excluded.v",
                   {*key, *value}};
}

Result<Json> ReadValue(TxnKind kind, const std::optional<std::string>& text) {
  if (!text) return Json(nullptr);
  if (kind != TxnKind::kListAppend) return ParseInteger(*text);
  const std::string& array = *text;
  if (array.size() < 2 || array.front() != '{' || array.back() != '}') {
    return Status::InvalidArgument("postgres: \"" + array + "\" is not an array of integers");
  }
  Json list = Json::array();
  std::string_view rest(array.data() + 1, array.size() - 2);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    Result<Json> element = ParseInteger(rest.substr(0, comma));
    if (!element.ok()) return element.status();
    list.push_back(*element);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) return Status::InvalidArgument("postgres: \"" + array + "\" ends in a comma");
  }
  return list;
}

bool IsConnectionState(std::string_view sqlstate) {
  return sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

OpType Classify(const Failure& failure, bool writes) {
  if (!writes || failure.stage != Stage::kCommit) return OpType::kFail;
  if (failure.answered && !IsConnectionState(failure.sqlstate)) return OpType::kFail;
  return OpType::kInfo;
}

std::string ErrorText(const Failure& failure) {
  std::string kind;
  if (failure.sqlstate == "40001") {
    kind = "serialization-failure";
  } else if (failure.sqlstate == "40P01") {
    kind = "deadlock";
  } else if (failure.sqlstate == "57014" || (!failure.answered && failure.timed_out)) {
    kind = "timeout";
  } else if (failure.answered && !IsConnectionState(failure.sqlstate)) {
    kind = failure.sqlstate;
  } else {
    kind = "connection";
  }
  std::string message = failure.message;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return kind + ": " + message;
}

}  // namespace faultline::postgres
