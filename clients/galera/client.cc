// GaleraClient (libmariadb) and BuildGaleraTest.
#include <mysql.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "clients/galera/galera.h"
#include "clients/servers/server_support.h"

namespace faultline::galera {
namespace {

// An op the client cannot run: fail, nothing sent.
// An answer this client cannot read: the transaction is rolled back, nothing committed.
Failure Unreadable(const Status& status) {
  Failure failure;
  failure.code = 1;
  failure.message = status.message();
  return failure;
}

Op Refused(const Op& invoke, const std::string& message) {
  Op completion = invoke;
  completion.type = OpType::kFail;
  completion.error = message;
  return completion;
}

}  // namespace

// A statement's answer: its first row's first column (a read's value), or what went wrong (the
// caller sets the failure's stage).
struct GaleraClient::Answer {
  bool ok = false;
  std::optional<std::string> value;
  Failure failure;
};

GaleraClient::GaleraClient(GaleraOptions options, TxnKind kind, bool bank)
    : options_(std::move(options)), kind_(kind), bank_(bank) {}

GaleraClient::~GaleraClient() { Disconnect(); }

Status GaleraClient::Open(const Test& test, const std::string& node) {
  host_ = NodeAddress(test.options, node);
  timeout_s_ = test.options.operation_timeout_s;
  return Connect(test);
}

Status GaleraClient::Connect(const Test& test) {
  if (connection_ != nullptr) return Status::Ok();
  connection_ = mysql_init(nullptr);
  if (connection_ == nullptr) return Status::Internal("galera: mysql_init: no memory");
  // libmariadb counts whole seconds: each wait (connect, every read and write) is bounded by the
  // operation timeout, rounded up.
  const unsigned timeout_s =
      static_cast<unsigned>(std::max(1.0, std::ceil(test.options.operation_timeout_s)));
  mysql_optionsv(connection_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  mysql_optionsv(connection_, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
  mysql_optionsv(connection_, MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
  if (mysql_real_connect(connection_, host_.c_str(), options_.user.c_str(),
                         options_.password.c_str(), kDatabase, options_.port, nullptr,
                         0) == nullptr) {
    std::string message = "galera at " + host_ + ":" + std::to_string(options_.port) + ": " +
                          mysql_error(connection_) + " (" +
                          std::to_string(mysql_errno(connection_)) + ")";
    Disconnect();
    return Status::IoError(message);
  }
  Answer isolation = Execute(IsolationSql(options_.isolation));
  if (!isolation.ok) {
    Disconnect();
    return Status::IoError("galera at " + host_ + ": " + ErrorText(isolation.failure));
  }
  return Status::Ok();
}

void GaleraClient::Disconnect() {
  if (connection_ != nullptr) mysql_close(connection_);
  connection_ = nullptr;
}

void GaleraClient::Close(const Test&) { Disconnect(); }

GaleraClient::Answer GaleraClient::Execute(const std::string& sql) {
  Answer answer;
  const auto started = std::chrono::steady_clock::now();
  auto failed = [&] {
    answer.failure.code = mysql_errno(connection_);
    answer.failure.message = mysql_error(connection_);
    // The library reports a read timeout as a lost connection (2013): the time tells them apart.
    const std::chrono::duration<double> waited = std::chrono::steady_clock::now() - started;
    answer.failure.timed_out =
        IsConnectionError(answer.failure.code) && waited.count() >= timeout_s_ * 0.95;
    return answer;
  };
  if (mysql_real_query(connection_, sql.data(), sql.size()) != 0) return failed();
  MYSQL_RES* result = mysql_store_result(connection_);
  if (result == nullptr) {
    if (mysql_field_count(connection_) != 0) return failed();  // rows were due, none came
  } else {
    MYSQL_ROW row = mysql_fetch_row(result);
    if (row != nullptr && mysql_num_fields(result) > 0 && row[0] != nullptr) {
      unsigned long* lengths = mysql_fetch_lengths(result);
      answer.value = std::string(row[0], lengths[0]);
    }
    mysql_free_result(result);
  }
  answer.ok = true;
  return answer;
}

Op GaleraClient::Invoke(const Test& test, const Op& invoke) {
  if (bank_) return InvokeBank(test, invoke);
  if (invoke.f != "txn") return Refused(invoke, "galera runs txn ops, not " + invoke.f);
  Result<std::vector<MicroOp>> micro_ops = ParseMicroOps(invoke.value, kind_);
  if (!micro_ops.ok()) return Refused(invoke, micro_ops.status().message());
  // Every statement is made before anything is sent: a micro-op the client cannot run is refused
  // with nothing begun.
  std::vector<std::string> statements;
  bool writes = false;
  for (const MicroOp& micro_op : *micro_ops) {
    Result<std::string> statement = MicroOpSql(micro_op, kind_);
    if (!statement.ok()) return Refused(invoke, statement.status().message());
    statements.push_back(std::move(*statement));
    writes = writes || micro_op.kind != MicroOpKind::kRead;
  }
  return RunTransaction(test, invoke, writes, [&](Json* value) -> std::optional<Failure> {
    Json done = Json::array();
    for (size_t i = 0; i < statements.size(); ++i) {
      const MicroOp& micro_op = (*micro_ops)[i];
      Answer answer = Execute(statements[i]);
      if (!answer.ok) return answer.failure;
      if (micro_op.kind != MicroOpKind::kRead) {
        done.push_back(invoke.value[i]);
        continue;
      }
      Result<Json> read = ReadValue(kind_, answer.value);
      if (!read.ok()) return Unreadable(read.status());
      done.push_back(MicroOpJson(MicroOpKind::kRead, *micro_op.key, std::move(*read)));
    }
    *value = std::move(done);
    return std::nullopt;
  });
}

// A transfer reads both balances and writes the values it computed (Jepsen's bank on Galera):
// under snapshot reads two concurrent transfers can both commit from the same balances, and the
// total changes, which the bank checker finds.
Op GaleraClient::InvokeBank(const Test& test, const Op& invoke) {
  if (invoke.f == "read") {
    return RunTransaction(test, invoke, false, [&](Json* value) -> std::optional<Failure> {
      Answer answer = Execute(BankReadSql());
      if (!answer.ok) return answer.failure;
      Result<Json> balances = BankBalances(answer.value);
      if (!balances.ok()) return Unreadable(balances.status());
      *value = std::move(*balances);
      return std::nullopt;
    });
  }
  Result<BankTransfer> transfer = ParseTransfer(invoke);
  if (!transfer.ok()) return Refused(invoke, transfer.status().message());
  return RunTransaction(test, invoke, true, [&](Json* value) -> std::optional<Failure> {
    int64_t balances[2] = {0, 0};
    const int64_t accounts[2] = {transfer->from, transfer->to};
    for (int side = 0; side < 2; ++side) {
      Answer answer = Execute(BankBalanceSql(accounts[side]));
      if (!answer.ok) return answer.failure;
      Result<int64_t> balance = BankBalance(answer.value);
      if (!balance.ok()) return Unreadable(balance.status());
      balances[side] = *balance;
    }
    if (balances[0] < transfer->amount) {
      Failure failure;  // a refusal of the bank's own: nothing was written, roll back
      failure.code = 1;
      failure.message = "insufficient funds";
      return failure;
    }
    for (int side = 0; side < 2; ++side) {
      const int64_t balance = balances[side] + (side == 0 ? -1 : 1) * transfer->amount;
      Answer answer = Execute(BankWriteSql(accounts[side], balance));
      if (!answer.ok) return answer.failure;
    }
    *value = invoke.value;
    return std::nullopt;
  });
}

Op GaleraClient::RunTransaction(const Test& test, const Op& invoke, bool writes,
                                const std::function<std::optional<Failure>(Json*)>& body) {
  timeout_s_ = test.options.operation_timeout_s;
  Op completion = invoke;
  auto failed = [&](Failure failure, Stage stage) {
    failure.stage = stage;
    completion.type = Classify(failure, writes);
    completion.error = ErrorText(failure);
    // A server's answer about the transaction leaves the connection usable once the transaction
    // is rolled back; after anything else (no answer, a lost connection) it is dropped, and the
    // next op connects again.
    bool usable = connection_ != nullptr && failure.code != 0 &&
                  !IsConnectionError(failure.code) && !failure.timed_out;
    if (usable && stage == Stage::kBody) usable = Execute("ROLLBACK").ok;
    if (!usable) Disconnect();
    return completion;
  };
  if (Status connected = Connect(test); !connected.ok()) {
    // A server that is down refuses at once: the pause spaces the tries (postgres.h says why).
    std::this_thread::sleep_for(kReconnectPause);
    Failure failure;
    failure.message = connected.message();
    return failed(failure, Stage::kConnect);
  }
  Answer begin = Execute("START TRANSACTION");
  if (!begin.ok) return failed(begin.failure, Stage::kBody);
  Json value;
  if (std::optional<Failure> failure = body(&value)) return failed(*failure, Stage::kBody);
  Answer commit = Execute("COMMIT");
  if (!commit.ok) return failed(commit.failure, Stage::kCommit);
  completion.type = OpType::kOk;
  completion.value = std::move(value);
  return completion;
}

Result<Test> BuildGaleraTest(const TestOptions& options, GaleraOptions galera,
                             const std::string& workload) {
  if (workload != "list-append" && workload != "rw-register" && workload != "bank") {
    return Status::InvalidArgument("galera has no workload " + workload +
                                   " (only list-append, rw-register and bank)");
  }
  if (options.nodes.empty()) return Status::InvalidArgument("galera needs at least one node");
  if (galera.password.empty()) galera.password = clients::RandomPassword();
  if (Status valid = ValidateOptions(galera); !valid.ok()) return valid;
  const TxnKind kind = workload == "rw-register" ? TxnKind::kRwRegister : TxnKind::kListAppend;
  const bool bank = workload == "bank";
  Test test;
  test.options = options;
  test.workload = workload;
  test.db = std::make_shared<GaleraDb>(galera);
  test.new_client = [galera, kind, bank] {
    return std::make_unique<GaleraClient>(galera, kind, bank);
  };
  return test;
}

}  // namespace faultline::galera
