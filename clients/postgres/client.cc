// PostgresClient (libpq) and BuildPostgresTest.
#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <thread>

#include "clients/postgres/postgres.h"
#include "clients/servers/server_support.h"

namespace faultline::postgres {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An op the client cannot run: fail, nothing sent.
Op Refused(const Op& invoke, const std::string& message) {
  Op completion = invoke;
  completion.type = OpType::kFail;
  completion.error = message;
  return completion;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

// A statement's answer: its first row's first column (a read's value) and command status, or
// what went wrong (the caller sets the failure's stage).
struct PostgresClient::Answer {
  bool ok = false;
  std::optional<std::string> value;
  std::string command_status;  // "COMMIT", "ROLLBACK", "INSERT 0 1", ...
  Failure failure;
};

PostgresClient::PostgresClient(PostgresOptions options, TxnKind kind)
    : options_(std::move(options)), kind_(kind) {}

PostgresClient::~PostgresClient() { DisconnectAll(); }

Status PostgresClient::Open(const Test& test, const std::string& node) {
  node_ = node;
  if (test.options.nodes.empty()) return Status::InvalidArgument("postgres needs a node");
  return Connect(test, PrimaryHost(test));
}

std::string PostgresClient::PrimaryHost(const Test& test) const {
  return NodeAddress(test.options, test.options.nodes.front());
}

std::string PostgresClient::ReplicaHost(const Test& test) const {
  const bool own = NodeRole(options_, test.options, node_) == Role::kStandby;
  return NodeAddress(test.options, own ? node_ : test.options.nodes.at(1));
}

Status PostgresClient::Connect(const Test& test, const std::string& host) {
  host_ = host;
  connection_ = connections_[host];
  if (connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK) return Status::Ok();
  Disconnect();
  // libpq counts whole seconds and takes less than 2 as 2.
  std::string connect_timeout =
      std::to_string(std::max<int64_t>(2, std::llround(test.options.operation_timeout_s)));
  std::string port = std::to_string(options_.port);
  const char* keywords[] = {
      "host", "port", "user", "password", "dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {host_.c_str(),
                          port.c_str(),
                          options_.user.c_str(),
                          options_.password.c_str(),
                          "postgres",
                          connect_timeout.c_str(),
                          "faultline",
                          nullptr};
  connection_ = PQconnectdbParams(keywords, values, 0);
  if (connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK) {
    connections_[host_] = connection_;
    return Status::Ok();
  }
  std::string message = connection_ != nullptr ? Trimmed(PQerrorMessage(connection_)) : "no memory";
  Disconnect();
  return Status::IoError("postgres at " + host_ + ":" + port + ": " + message);
}

void PostgresClient::Disconnect() {
  if (connection_ != nullptr) PQfinish(connection_);
  connection_ = nullptr;
  connections_.erase(host_);
}

void PostgresClient::DisconnectAll() {
  for (auto& [host, connection] : connections_) {
    if (connection != nullptr) PQfinish(connection);
  }
  connections_.clear();
  connection_ = nullptr;
}

void PostgresClient::Close(const Test&) { DisconnectAll(); }

PostgresClient::Answer PostgresClient::Execute(const std::string& sql,
                                               const std::vector<std::string>& parameters,
                                               int64_t deadline_ms) {
  Answer answer;
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    answer.failure.message = "not connected";
    return answer;
  }
  std::vector<const char*> values;
  for (const std::string& parameter : parameters) values.push_back(parameter.c_str());
  int sent = parameters.empty()
                 ? PQsendQuery(connection_, sql.c_str())
                 : PQsendQueryParams(connection_, sql.c_str(), static_cast<int>(values.size()),
                                     nullptr, values.data(), nullptr, nullptr, 0);
  if (sent == 0) {
    answer.failure.message = Trimmed(PQerrorMessage(connection_));
    return answer;
  }
  bool have_error = false;
  while (true) {
    // Waits for the server with the deadline: a paused server answers nothing, ever.
    while (PQisBusy(connection_)) {
      int64_t remaining_ms = deadline_ms - NowMs();
      pollfd socket{PQsocket(connection_), POLLIN, 0};
      int ready = remaining_ms > 0 ? ::poll(&socket, 1, static_cast<int>(remaining_ms)) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        answer.failure.timed_out = true;
        answer.failure.message = "no answer within the operation timeout";
        return answer;
      }
      if (ready < 0 || PQconsumeInput(connection_) == 0) {
        answer.failure.message = Trimmed(PQerrorMessage(connection_));
        return answer;
      }
    }
    PGresult* result = PQgetResult(connection_);
    if (result == nullptr) break;
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      answer.command_status = PQcmdStatus(result);
      if (PQntuples(result) > 0 && PQnfields(result) > 0 && !PQgetisnull(result, 0, 0)) {
        answer.value = PQgetvalue(result, 0, 0);
      }
    } else if (!have_error) {
      have_error = true;
      const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      answer.failure.sqlstate = sqlstate != nullptr ? sqlstate : "";
      answer.failure.answered = !answer.failure.sqlstate.empty();
      answer.failure.message = Trimmed(PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  answer.ok = !have_error;
  return answer;
}

Op PostgresClient::Invoke(const Test& test, const Op& invoke) {
  if (invoke.f != "txn") return Refused(invoke, "postgres runs txn ops, not " + invoke.f);
  Result<std::vector<MicroOp>> micro_ops = ParseMicroOps(invoke.value, kind_);
  if (!micro_ops.ok()) return Refused(invoke, micro_ops.status().message());
  // Every statement is made before anything is sent: a micro-op the client cannot run is refused
  // with nothing begun.
  std::vector<Statement> statements;
  bool writes = false;
  for (const MicroOp& micro_op : *micro_ops) {
    Result<Statement> statement = MicroOpStatement(micro_op, kind_);
    if (!statement.ok()) return Refused(invoke, statement.status().message());
    statements.push_back(std::move(*statement));
    writes = writes || micro_op.kind != MicroOpKind::kRead;
  }
  const int64_t deadline_ms =
      NowMs() + std::max<int64_t>(1, std::llround(test.options.operation_timeout_s * 1000));
  Op completion = invoke;
  auto failed = [&](Failure failure, Stage stage) {
    failure.stage = stage;
    completion.type = Classify(failure, writes);
    completion.error = ErrorText(failure);
    // An open transaction the server still runs is rolled back so that the connection serves the
    // next op; a connection in any other state is dropped, and the next op connects again.
    bool usable = connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK &&
                  failure.answered && !IsConnectionState(failure.sqlstate);
    if (usable && stage == Stage::kBody) {
      usable = Execute("ROLLBACK", {}, std::max(deadline_ms, NowMs() + 1000)).ok;
    }
    if (!usable) Disconnect();
    return completion;
  };
  // A transaction that only reads goes to a standby when asked to; any other to the primary.
  const bool on_replica = options_.read_from_replica && !writes;
  const std::string host = on_replica ? ReplicaHost(test) : PrimaryHost(test);
  // A standby refuses serializable ("cannot use serializable mode in a hot standby"): its reads
  // take one snapshot, repeatable read.
  const Isolation isolation = on_replica && options_.isolation == Isolation::kSerializable
                                  ? Isolation::kRepeatableRead
                                  : options_.isolation;
  if (Status connected = Connect(test, host); !connected.ok()) {
    // A server that is down refuses at once: without a pause every thread would fail thousands
    // of ops a second, burying the history (47k of 49k ops in a 20 s run with a kill). The op
    // is a definite fail either way; the pause only spaces the tries.
    std::this_thread::sleep_for(kReconnectPause);
    Failure failure;
    failure.message = connected.message();
    return failed(failure, Stage::kConnect);
  }
  Answer begin = Execute(BeginSql(isolation), {}, deadline_ms);
  if (!begin.ok) return failed(begin.failure, Stage::kBody);
  Json done = Json::array();
  for (size_t i = 0; i < statements.size(); ++i) {
    const MicroOp& micro_op = (*micro_ops)[i];
    Answer answer = Execute(statements[i].sql, statements[i].parameters, deadline_ms);
    if (!answer.ok) return failed(answer.failure, Stage::kBody);
    if (micro_op.kind != MicroOpKind::kRead) {
      done.push_back(invoke.value[i]);
      continue;
    }
    Result<Json> read = ReadValue(kind_, answer.value);
    if (!read.ok()) {
      Failure failure;  // an answer this client cannot read: not committed, and never will be
      failure.message = read.status().message();
      return failed(failure, Stage::kBody);
    }
    done.push_back(MicroOpJson(MicroOpKind::kRead, *micro_op.key, std::move(*read)));
  }
  Answer commit = Execute("COMMIT", {}, deadline_ms);
  if (!commit.ok) return failed(commit.failure, Stage::kCommit);
  if (commit.command_status != "COMMIT") {
    Failure failure;  // the server says what it did: the transaction was rolled back
    failure.answered = true;
    failure.message = "COMMIT answered " + commit.command_status;
    return failed(failure, Stage::kCommit);
  }
  completion.type = OpType::kOk;
  completion.value = std::move(done);
  return completion;
}

Result<Test> BuildPostgresTest(const TestOptions& options, PostgresOptions postgres,
                               const std::string& workload) {
  if (workload != "list-append" && workload != "rw-register" && workload != "session") {
    return Status::InvalidArgument("postgres has no workload " + workload +
                                   " (only list-append, rw-register and session)");
  }
  if (options.nodes.empty()) return Status::InvalidArgument("postgres needs at least one node");
  if (postgres.password.empty()) postgres.password = clients::RandomPassword();
  if (Status valid = ValidateOptions(postgres); !valid.ok()) return valid;
  // The session workload's transactions are list-append ones on one key each.
  TxnKind kind = workload == "rw-register" ? TxnKind::kRwRegister : TxnKind::kListAppend;
  Test test;
  test.options = options;
  test.workload = workload;
  test.db = std::make_shared<PostgresDb>(postgres);
  test.new_client = [postgres, kind] { return std::make_unique<PostgresClient>(postgres, kind); };
  return test;
}

}  // namespace faultline::postgres
