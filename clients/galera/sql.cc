// The options, the node's configuration, the SQL the client sends and how an error becomes fail
// or info: pure functions, tested without a server.
#include <charconv>

#include "checker/workloads/workloads.h"
#include "clients/galera/galera.h"
#include "clients/servers/server_support.h"

namespace faultline::galera {
namespace {

// The text of an integer key or value, written into the statement as a literal; InvalidArgument
// naming the micro-op otherwise.
Result<std::string> IntegerText(const Json& value, const char* what, const MicroOp& micro_op) {
  if (!value.is_number_integer()) {
    return Status::InvalidArgument(std::string("galera: the ") + what + " of micro-op [" +
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
    return Status::InvalidArgument("galera: \"" + std::string(text) + "\" is not an integer");
  }
  return Json(number);
}

}  // namespace

std::vector<std::string> IsolationNames() {
  return {"read-uncommitted", "read-committed", "repeatable-read", "serializable"};
}

Result<Isolation> ParseIsolation(std::string_view text) {
  if (text == "read-uncommitted") return Isolation::kReadUncommitted;
  if (text == "read-committed") return Isolation::kReadCommitted;
  if (text == "repeatable-read") return Isolation::kRepeatableRead;
  if (text == "serializable") return Isolation::kSerializable;
  return Status::InvalidArgument(
      "isolation must be read-uncommitted, read-committed, repeatable-read or serializable, "
      "not " +
      std::string(text));
}

std::string ToString(Isolation isolation) {
  switch (isolation) {
    case Isolation::kReadUncommitted:
      return "read-uncommitted";
    case Isolation::kReadCommitted:
      return "read-committed";
    case Isolation::kRepeatableRead:
      return "repeatable-read";
    case Isolation::kSerializable:
      return "serializable";
  }
  return "repeatable-read";
}

std::string NodeDirectory(const GaleraOptions& options, const std::string& node) {
  return clients::NodeDirectory(options.directory, node);
}

Status ValidateOptions(const GaleraOptions& options) {
  return clients::ValidateServerOptions("galera", options.port, options.start_timeout_s,
                                        options.directory, options.user, options.password);
}

std::string ConfigText(const GaleraOptions& options, const std::string& directory,
                       const std::string& node, const std::string& address,
                       const std::vector<std::string>& peers) {
  std::string cluster;
  for (const std::string& peer : peers) cluster += (cluster.empty() ? "" : ",") + peer;
  const std::string port = std::to_string(options.port);
  return "# made by faultline's galera setup\n"
         "[mysqld]\n"
         "user = mysql\n"
         "datadir = " + directory + "/data\n"
         "socket = " + directory + "/mysqld.sock\n"
         "pid-file = " + directory + "/mysqld.pid\n"
         "log-error = " + directory + "/mariadb.log\n"
         "bind-address = " + address + "\n"
         "port = " + port + "\n"
         "skip-name-resolve\n"
         "max_connections = 200\n"
         // Small: several servers share the machine on the local cluster.
         "innodb_buffer_pool_size = 32M\n"
         // A small redo log: a joiner's rsync state transfer copies it whole.
         "innodb_log_file_size = 16M\n"
         // What Galera requires: row-based replication of InnoDB tables, and interleaved
         // auto-increment locks (certification cannot order table-level ones).
         "binlog_format = ROW\n"
         "default_storage_engine = InnoDB\n"
         "innodb_autoinc_lock_mode = 2\n"
         "wsrep_on = ON\n"
         "wsrep_provider = /usr/lib/galera/libgalera_smm.so\n"
         "wsrep_cluster_name = faultline\n"
         "wsrep_cluster_address = gcomm://" + cluster + "\n"
         "wsrep_node_address = " + address + "\n"
         "wsrep_node_name = " + node + "\n"
         "wsrep_sst_method = rsync\n"
         "wsrep_provider_options = \"gcache.size=32M\"\n";
}

// The bank table, made again with every account at its starting balance.
std::string BankSetupSql() {
  const BankOptions bank;
  std::string rows;
  for (int account = 0; account < bank.accounts; ++account) {
    rows += (account == 0 ? "" : ", ") + std::string("(") + std::to_string(account) + ", " +
            std::to_string(bank.total / bank.accounts) + ")";
  }
  const std::string table = std::string(kDatabase) + "." + kBankTable;
  return "DROP TABLE IF EXISTS " + table + ";\nCREATE TABLE " + table +
         " (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;\nINSERT INTO " + table +
         " VALUES " + rows + ";\n";
}

std::string SetupSql(const GaleraOptions& options) {
  const std::string user = "'" + options.user + "'@'%'";
  return "CREATE USER IF NOT EXISTS " + user + " IDENTIFIED BY '" + options.password + "';\n" +
         "ALTER USER " + user + " IDENTIFIED BY '" + options.password + "';\n" +
         "GRANT ALL ON *.* TO " + user + ";\n" + "CREATE DATABASE IF NOT EXISTS " + kDatabase +
         ";\n" + "DROP TABLE IF EXISTS " + kDatabase + "." + kListTable + ", " + kDatabase + "." +
         kRegisterTable + ";\n" + "CREATE TABLE " + kDatabase + "." + kListTable +
         " (k BIGINT PRIMARY KEY, v TEXT NOT NULL) ENGINE=InnoDB;\n" + "CREATE TABLE " +
         kDatabase + "." + kRegisterTable +
         " (k BIGINT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB;\n" + BankSetupSql();
}

std::string IsolationSql(Isolation isolation) {
  std::string level;
  switch (isolation) {
    case Isolation::kReadUncommitted:
      level = "READ UNCOMMITTED";
      break;
    case Isolation::kReadCommitted:
      level = "READ COMMITTED";
      break;
    case Isolation::kRepeatableRead:
      level = "REPEATABLE READ";
      break;
    case Isolation::kSerializable:
      level = "SERIALIZABLE";
      break;
  }
  return "SET SESSION TRANSACTION ISOLATION LEVEL " + level;
}

Result<std::string> MicroOpSql(const MicroOp& micro_op, TxnKind kind) {
  Result<std::string> key = IntegerText(*micro_op.key, "key", micro_op);
  if (!key.ok()) return key.status();
  const std::string table = kind == TxnKind::kListAppend ? kListTable : kRegisterTable;
  if (micro_op.kind == MicroOpKind::kRead) return "SELECT v FROM " + table + " WHERE k = " + *key;
  Result<std::string> value = IntegerText(*micro_op.value, "value", micro_op);
  if (!value.ok()) return value.status();
  if (micro_op.kind == MicroOpKind::kAppend) {
    return "INSERT INTO " + table + " (k, v) VALUES (" + *key + ", '" + *value +
           "') ON DUPLICATE KEY UPDATE v = CONCAT(v, '," + *value + "')";
  }
  return "INSERT INTO " + table + " (k, v) VALUES (" + *key + ", " + *value +
         ") ON DUPLICATE KEY UPDATE v = VALUES(v)";
}

Result<Json> ReadValue(TxnKind kind, const std::optional<std::string>& text) {
  if (!text) return Json(nullptr);
  if (kind != TxnKind::kListAppend) return ParseInteger(*text);
  Json list = Json::array();
  std::string_view rest(*text);
  while (true) {
    const size_t comma = rest.find(',');
    Result<Json> element = ParseInteger(rest.substr(0, comma));
    if (!element.ok()) return element.status();
    list.push_back(*element);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return list;
}

bool IsConnectionError(unsigned code) {
  return (code >= 2000 && code < 3000) || code == 1053 || code == 1927 ||
         (code >= 1158 && code <= 1161);
}

OpType Classify(const Failure& failure, bool writes) {
  if (!writes || failure.stage != Stage::kCommit) return OpType::kFail;
  if (!failure.timed_out && failure.code != 0 && !IsConnectionError(failure.code)) {
    return OpType::kFail;
  }
  return OpType::kInfo;
}

std::string ErrorText(const Failure& failure) {
  std::string kind;
  if (failure.code == kDeadlock) {
    kind = "deadlock";
  } else if (failure.code == kLockWaitTimeout) {
    kind = "lock-wait-timeout";
  } else if (failure.code == kNotReady) {
    kind = "not-ready";
  } else if (failure.timed_out) {
    kind = "timeout";
  } else if (failure.code == 0 || IsConnectionError(failure.code)) {
    kind = "connection";
  } else {
    kind = std::to_string(failure.code);
  }
  return kind + ": " + failure.message;
}

std::string BankReadSql() {
  return std::string("SELECT GROUP_CONCAT(CONCAT(id, ':', balance) ORDER BY id) FROM ") +
         kDatabase + "." + kBankTable;
}

Result<Json> BankBalances(const std::optional<std::string>& text) {
  if (!text) return Status::InvalidArgument("galera: the bank table is empty");
  Json balances = Json::object();
  size_t start = 0;
  while (start <= text->size()) {
    size_t end = text->find(',', start);
    if (end == std::string::npos) end = text->size();
    const std::string_view entry(text->data() + start, end - start);
    const size_t colon = entry.find(':');
    Result<Json> balance = colon == std::string_view::npos
                               ? Result<Json>(Status::InvalidArgument(
                                     "galera: a bank row without ':' in \"" + *text + "\""))
                               : ParseInteger(entry.substr(colon + 1));
    if (!balance.ok()) return balance.status();
    Result<Json> account = ParseInteger(entry.substr(0, colon));
    if (!account.ok()) return account.status();
    balances[account->dump()] = *balance;
    start = end + 1;
  }
  return balances;
}

std::string BankBalanceSql(int64_t account) {
  return std::string("SELECT balance FROM ") + kDatabase + "." + kBankTable +
         " WHERE id = " + std::to_string(account);
}

std::string BankWriteSql(int64_t account, int64_t balance) {
  return std::string("UPDATE ") + kDatabase + "." + kBankTable + " SET balance = " +
         std::to_string(balance) + " WHERE id = " + std::to_string(account);
}

Result<int64_t> BankBalance(const std::optional<std::string>& text) {
  if (!text) return Status::InvalidArgument("galera: no such account");
  Result<Json> balance = ParseInteger(*text);
  if (!balance.ok()) return balance.status();
  return balance->get<int64_t>();
}

Result<BankTransfer> ParseTransfer(const Op& invoke) {
  const Json& value = invoke.value;
  const BankOptions bank;
  const Status refused = Status::InvalidArgument(
      "galera: a bank op is a read or a transfer of integers {from, to, amount}, not " +
      invoke.f + " " + value.dump());
  auto field = [&](const char* name) -> Result<int64_t> {
    if (!value.is_object() || !value.contains(name) || !value[name].is_number_integer())
      return refused;
    return value[name].get<int64_t>();
  };
  if (invoke.f != "transfer") return refused;
  BankTransfer transfer;
  for (auto [name, target] : {std::pair{"from", &transfer.from}, std::pair{"to", &transfer.to},
                              std::pair{"amount", &transfer.amount}}) {
    Result<int64_t> number = field(name);
    if (!number.ok()) return number.status();
    *target = *number;
  }
  auto account = [&](int64_t id) { return id >= 0 && id < bank.accounts; };
  if (!account(transfer.from) || !account(transfer.to) || transfer.from == transfer.to ||
      transfer.amount <= 0) {
    return Status::InvalidArgument("galera: not a transfer between two accounts of 0.." +
                                   std::to_string(bank.accounts - 1) + ": " + value.dump());
  }
  return transfer;
}

}  // namespace faultline::galera
