// RedisClient (hiredis) and BuildRedisTest.
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "clients/redis/redis.h"
#include "clients/servers/server_support.h"
#include "core/op_values.h"

namespace faultline::redis {
namespace {

// An op the client cannot run: fail, nothing sent.
Op Refused(const Op& invoke, const std::string& message) {
  Op completion = invoke;
  completion.type = OpType::kFail;
  completion.error = message;
  return completion;
}

timeval OperationTimeout(const Test& test) {
  auto ms = std::max<int64_t>(1, std::llround(test.options.operation_timeout_s * 1000));
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
}

// Sends `arguments` and returns the reply (null with context->err set when none came).
redisReply* SendCommand(redisContext* context, const std::vector<std::string>& arguments) {
  std::vector<const char*> values;
  std::vector<size_t> lengths;
  for (const std::string& argument : arguments) {
    values.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  return static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(arguments.size()), values.data(), lengths.data()));
}

}  // namespace

// A command's answer: the reply's text (a bulk or status string; nullopt for nil), integer and
// array elements, or what went wrong.
struct RedisClient::Answer {
  bool ok = false;
  Failure failure;
  std::optional<std::string> text;
  long long integer = 0;
  std::vector<std::string> elements;
};

RedisClient::RedisClient(RedisOptions options, Workload workload)
    : options_(std::move(options)), workload_(workload) {}

RedisClient::~RedisClient() {
  Disconnect(primary_);
  Disconnect(reads_);
}

Status RedisClient::Open(const Test& test, const std::string& node) {
  const std::vector<std::string>& nodes = test.options.nodes;
  if (nodes.empty()) return Status::InvalidArgument("redis needs a node");
  primary_.host = NodeAddress(test.options, nodes.front());
  primary_.port = reads_.port = options_.port;
  reads_.host.clear();
  if (options_.read_from == ReadFrom::kReplica) {
    if (nodes.size() < 2) return Status::InvalidArgument("redis has no replica to read from");
    reads_.host = NodeAddress(test.options, node != nodes.front() ? node : nodes[1]);
  }
  sentinels_.clear();
  resolved_ = false;
  if (options_.failover == Failover::kSentinel) {
    // This client's node first: the clients spread their questions over the sentinels.
    auto own = std::find(nodes.begin(), nodes.end(), node);
    if (own == nodes.end()) own = nodes.begin();
    for (auto at = own; at != nodes.end(); ++at)
      sentinels_.push_back(NodeAddress(test.options, *at));
    for (auto at = nodes.begin(); at != own; ++at)
      sentinels_.push_back(NodeAddress(test.options, *at));
  }
  return Status::Ok();
}

void RedisClient::Disconnect(Connection& connection) {
  if (connection.context != nullptr) redisFree(connection.context);
  connection.context = nullptr;
}

void RedisClient::Close(const Test&) {
  Disconnect(primary_);
  Disconnect(reads_);
}

Status RedisClient::Connect(const Test& test, Connection& connection) {
  Disconnect(connection);
  std::string where = "redis at " + connection.host + ":" + std::to_string(connection.port) + ": ";
  timeval timeout = OperationTimeout(test);
  connection.context = redisConnectWithTimeout(connection.host.c_str(), connection.port, timeout);
  if (connection.context == nullptr) return Status::IoError(where + "no memory");
  if (connection.context->err != 0 || redisSetTimeout(connection.context, timeout) != REDIS_OK) {
    std::string message = connection.context->errstr;
    Disconnect(connection);
    return Status::IoError(where + message);
  }
  redisReply* reply = SendCommand(connection.context, {"AUTH", options_.password});
  std::string message = reply == nullptr                   ? connection.context->errstr
                        : reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                           : "";
  if (reply != nullptr) freeReplyObject(reply);
  if (message.empty()) return Status::Ok();
  Disconnect(connection);
  return Status::IoError(where + "AUTH: " + message);
}

RedisClient::Answer RedisClient::Execute(const Test& test, Connection& connection,
                                         const Command& command) {
  Answer answer;
  if (connection.context == nullptr) {
    if (Status connected = Connect(test, connection); !connected.ok()) {
      answer.failure.message = connected.message();
      return answer;
    }
  }
  redisReply* reply = SendCommand(connection.context, command.arguments);
  answer.failure.sent = true;
  if (reply == nullptr) {
    // hiredis 0.14 reports a read timeout as an I/O error with EAGAIN's text.
    answer.failure.message = connection.context->errstr;
    answer.failure.timed_out =
        connection.context->err == REDIS_ERR_IO &&
        answer.failure.message.find("temporarily unavailable") != std::string::npos;
    if (answer.failure.timed_out) answer.failure.message = "no answer within the operation timeout";
    Disconnect(connection);  // a late answer would be read as the next command's
    return answer;
  }
  switch (reply->type) {
    case REDIS_REPLY_ERROR:
      answer.failure.answered = true;
      answer.failure.message.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      answer.ok = true;
      answer.text.emplace(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      answer.ok = true;
      answer.integer = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      answer.ok = true;
      for (size_t i = 0; i < reply->elements; ++i) {
        const redisReply* element = reply->element[i];
        answer.elements.emplace_back(element->str != nullptr ? element->str : "",
                                     element->str != nullptr ? element->len : 0);
      }
      break;
    default:  // nil
      answer.ok = true;
      break;
  }
  freeReplyObject(reply);
  return answer;
}

Status RedisClient::ResolvePrimary(const Test& test) {
  const Command question{{"SENTINEL", "get-master-addr-by-name", kSentinelPrimaryName}, false};
  std::string errors;
  for (const std::string& sentinel : sentinels_) {
    Connection connection{sentinel, options_.sentinel_port};
    Answer answer = Execute(test, connection, question);
    Disconnect(connection);
    Result<std::string> primary =
        answer.ok ? ParsePrimaryAddress(answer.elements, options_.port)
                  : Result<std::string>(Status::IoError(answer.failure.message));
    if (primary.ok()) {
      if (*primary != primary_.host) Disconnect(primary_);
      primary_.host = *primary;
      resolved_ = true;
      return Status::Ok();
    }
    errors += (errors.empty() ? "" : "; ") + sentinel + ": " + primary.status().message();
  }
  return Status::IoError("no sentinel named the primary (" + errors + ")");
}

Op RedisClient::Invoke(const Test& test, const Op& invoke) {
  Result<Command> command = workload_ == Workload::kRegister ? RegisterCommand(invoke)
                            : workload_ == Workload::kSet    ? SetCommand(invoke)
                                                             : SessionCommand(invoke);
  if (!command.ok()) return Refused(invoke, command.status().message());
  const bool to_primary = command->writes || reads_.host.empty();
  if (to_primary && !sentinels_.empty() && !resolved_) {
    if (Status resolved = ResolvePrimary(test); !resolved.ok()) {
      return Refused(invoke, "connection: " + resolved.message());  // nothing sent
    }
  }
  Connection& connection = to_primary ? primary_ : reads_;
  Answer answer = Execute(test, connection, *command);
  Op completion = invoke;
  if (!answer.ok) {
    // The primary may have moved (READONLY: this one is a replica now; no answer: it is gone or
    // cut off): ask a sentinel again before the next op.
    if (to_primary) resolved_ = false;
    completion.type = Classify(answer.failure, command->writes);
    completion.error = ErrorText(answer.failure);
    return completion;
  }
  completion.type = OpType::kOk;
  const std::string& name = command->arguments.front();
  if (name == "GET" || name == "SMEMBERS") {
    Result<Json> value = name == "GET" ? RegisterValue(answer.text) : SetValue(answer.elements);
    if (!value.ok()) return Refused(invoke, value.status().message());  // a read: no effect
    bool keyed = name == "GET" && IsKeyedRegisterValue(invoke.f, invoke.value);
    completion.value = keyed ? KeyedValue(invoke.value[0], std::move(*value)) : std::move(*value);
  } else if (workload_ == Workload::kSession) {
    Result<Json> value = SessionValue(invoke.value, answer.elements);
    if (!value.ok()) {  // the list holds what no append put there; the op may have appended
      completion.type = command->writes ? OpType::kInfo : OpType::kFail;
      completion.error = value.status().message();
      return completion;
    }
    completion.value = std::move(*value);
  } else if (name == "EVAL" && answer.integer != 1) {
    completion.type = OpType::kFail;  // the script compared and set nothing
    completion.error = "compare failed";
  }
  return completion;
}

Result<Test> BuildRedisTest(const TestOptions& options, RedisOptions redis,
                            const std::string& workload) {
  if (workload != "register" && workload != "set" && workload != "session") {
    return Status::InvalidArgument("redis has no workload " + workload +
                                   " (only register, set and session)");
  }
  if (options.nodes.empty()) return Status::InvalidArgument("redis needs at least one node");
  if (redis.read_from == ReadFrom::kReplica && options.nodes.size() < 2) {
    return Status::InvalidArgument(
        "--read-from replica needs at least two nodes (a primary and a replica)");
  }
  if (redis.password.empty()) redis.password = clients::RandomPassword();
  if (Status valid = ValidateOptions(redis); !valid.ok()) return valid;
  Workload kind = workload == "register" ? Workload::kRegister
                  : workload == "set"    ? Workload::kSet
                                         : Workload::kSession;
  Test test;
  test.options = options;
  test.workload = workload;
  test.db = std::make_shared<RedisDb>(redis);
  test.new_client = [redis, kind] { return std::make_unique<RedisClient>(redis, kind); };
  return test;
}

}  // namespace faultline::redis
