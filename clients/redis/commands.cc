// The options, the config file, the commands the client sends and how an error becomes fail or
// info: pure functions, tested without a server.
#include <algorithm>
#include <charconv>

#include "clients/redis/redis.h"
#include "clients/servers/server_support.h"
#include "core/op_values.h"

namespace faultline::redis {
namespace {

Result<int64_t> ParseInteger(std::string_view text) {
  int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Status::InvalidArgument("redis: \"" + std::string(text) + "\" is not an integer");
  }
  return number;
}

}  // namespace

std::vector<std::string> ReadFromNames() { return {"primary", "replica"}; }

Result<ReadFrom> ParseReadFrom(std::string_view text) {
  if (text == "primary") return ReadFrom::kPrimary;
  if (text == "replica") return ReadFrom::kReplica;
  return Status::InvalidArgument("read-from must be primary or replica, not " + std::string(text));
}

std::string ToString(ReadFrom read_from) {
  return read_from == ReadFrom::kReplica ? "replica" : "primary";
}

std::vector<std::string> FailoverNames() { return {"none", "sentinel"}; }

Result<Failover> ParseFailover(std::string_view text) {
  if (text == "none") return Failover::kNone;
  if (text == "sentinel") return Failover::kSentinel;
  return Status::InvalidArgument("failover must be none or sentinel, not " + std::string(text));
}

std::string ToString(Failover failover) {
  return failover == Failover::kSentinel ? "sentinel" : "none";
}

std::string NodeDirectory(const RedisOptions& options, const std::string& node) {
  return clients::NodeDirectory(options.directory, node);
}

Status ValidateOptions(const RedisOptions& options) {
  if (options.port <= 0 || options.port > 65535) {
    return Status::InvalidArgument("redis port must be in 1..65535");
  }
  if (options.sentinel_port <= 0 || options.sentinel_port > 65535 ||
      options.sentinel_port == options.port) {
    return Status::InvalidArgument("redis sentinel port must be in 1..65535 and not the port");
  }
  if (options.down_after_ms < 100 || options.failover_timeout_ms < 100) {
    return Status::InvalidArgument("redis sentinel timeouts must be at least 100 ms");
  }
  if (!(options.start_timeout_s >= 1)) {
    return Status::InvalidArgument("redis start timeout must be at least 1 s");
  }
  if (Status directory = clients::ValidateRemovableDirectory(options.directory, "redis directory");
      !directory.ok()) {
    return directory;
  }
  // It goes into redis.conf as it is.
  if (options.directory.find_first_of(" \t\n\"'") != std::string::npos) {
    return Status::InvalidArgument("redis directory '" + options.directory +
                                   "' must not hold spaces or quotes");
  }
  if (!options.password.empty() &&
      options.password.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_") != std::string::npos) {
    return Status::InvalidArgument("redis password must be letters, digits and _");
  }
  return Status::Ok();
}

std::string ConfigText(const RedisOptions& options, const std::string& directory,
                       const std::string& address, const std::string& primary_address) {
  std::string port = std::to_string(options.port);
  std::string text = "# written by faultline's redis setup; its teardown removes this directory\n";
  text += "bind " + address + "\n";
  text += "port " + port + "\n";
  text += "protected-mode no\n";
  text += "daemonize yes\n";
  text += "pidfile " + directory + "/redis.pid\n";
  text += "logfile " + directory + "/redis.log\n";
  text += "dir " + directory + "\n";
  // Every acknowledged write is in the append-only file within a second: a killed server
  // restarts with (nearly) what it had, as Redis is usually run.
  text += "appendonly yes\n";
  text += "appendfsync everysec\n";
  text += "save \"\"\n";
  text += "requirepass " + options.password + "\n";
  text += "masterauth " + options.password + "\n";
  // A replica's full sync starts at once (the default waits 5 s for more replicas).
  text += "repl-diskless-sync-delay 0\n";
  if (!primary_address.empty()) {
    text += "replicaof " + primary_address + " " + port + "\n";
    text += "replica-read-only yes\n";
  }
  return text;
}

std::string SentinelConfigText(const RedisOptions& options, const std::string& directory,
                               const std::string& address, const std::string& primary_address,
                               size_t node_count) {
  const std::string name = kSentinelPrimaryName;
  std::string text = "# written by faultline's redis setup; its teardown removes this directory\n";
  text += "bind " + address + "\n";
  text += "port " + std::to_string(options.sentinel_port) + "\n";
  text += "protected-mode no\n";
  text += "daemonize yes\n";
  text += "pidfile " + directory + "/sentinel.pid\n";
  text += "logfile " + directory + "/sentinel.log\n";
  text += "dir " + directory + "\n";
  text += "requirepass " + options.password + "\n";
  text += "sentinel sentinel-pass " + options.password + "\n";
  // A majority: a sentinel cut off with the old primary can never fail over on its own.
  text += "sentinel monitor " + name + " " + primary_address + " " + std::to_string(options.port) +
          " " + std::to_string(node_count / 2 + 1) + "\n";
  text += "sentinel auth-pass " + name + " " + options.password + "\n";
  text += "sentinel down-after-milliseconds " + name + " " + std::to_string(options.down_after_ms) +
          "\n";
  text += "sentinel failover-timeout " + name + " " + std::to_string(options.failover_timeout_ms) +
          "\n";
  text += "sentinel parallel-syncs " + name + " 1\n";
  return text;
}

Result<std::string> ParsePrimaryAddress(const std::vector<std::string>& answer, int port) {
  if (answer.size() != 2 || answer[0].empty()) {
    return Status::InvalidArgument(std::string("the sentinel names no primary ") +
                                   kSentinelPrimaryName + " (it answered " +
                                   std::to_string(answer.size()) + " elements)");
  }
  if (answer[1] != std::to_string(port)) {
    return Status::InvalidArgument("the sentinel names the primary " + answer[0] + ":" + answer[1] +
                                   ", not on port " + std::to_string(port));
  }
  return answer[0];
}

std::string RegisterKey(const Json* key) {
  return key == nullptr ? "faultline:register" : "faultline:register:" + key->dump();
}

Result<Command> RegisterCommand(const Op& invoke) {
  std::optional<RegisterF> f = ParseRegisterF(invoke.f);
  if (!f) return Status::InvalidArgument("redis: the register workload has no op " + invoke.f);
  bool keyed = IsKeyedRegisterValue(invoke.f, invoke.value);
  Result<faultline::RegisterValue> value = SplitRegisterValue(invoke.value, keyed);
  if (!value.ok()) return value.status();
  std::string key = RegisterKey(value->key);
  switch (*f) {
    case RegisterF::kRead:
      return Command{{"GET", key}, false};
    case RegisterF::kWrite:
      if (value->argument->is_null()) {
        return Status::InvalidArgument("redis: a write of nil names no value");
      }
      return Command{{"SET", key, value->argument->dump()}, true};
    case RegisterF::kCas: {
      Result<CasArgument> cas = ParseCasArgument(*value->argument);
      if (!cas.ok()) return cas.status();
      return Command{{"EVAL", kCasScript, "1", key, cas->from->dump(), cas->to->dump()}, true};
    }
  }
  return Status::InvalidArgument("redis: the register workload has no op " + invoke.f);
}

Result<Command> SetCommand(const Op& invoke) {
  if (invoke.f == "read") return Command{{"SMEMBERS", kSetKey}, false};
  if (invoke.f != "add") {
    return Status::InvalidArgument("redis: the set workload has no op " + invoke.f);
  }
  if (!invoke.value.is_number_integer()) {
    return Status::InvalidArgument("redis: the set's element " + invoke.value.dump() +
                                   " is not an integer");
  }
  return Command{{"SADD", kSetKey, invoke.value.dump()}, true};
}

std::string ListKey(const Json& key) { return "faultline:list:" + key.dump(); }

Result<Command> SessionCommand(const Op& invoke) {
  if (invoke.f != "txn") {
    return Status::InvalidArgument("redis: the session workload has no op " + invoke.f);
  }
  Result<std::vector<MicroOp>> micro_ops = ParseMicroOps(invoke.value, TxnKind::kListAppend);
  if (!micro_ops.ok()) return micro_ops.status();
  const std::vector<MicroOp>& ops = *micro_ops;
  for (const MicroOp& op : ops) {
    if (op.kind == MicroOpKind::kAppend && !op.value->is_number_integer()) {
      return Status::InvalidArgument("redis: the appended " + op.value->dump() +
                                     " is not an integer");
    }
  }
  if (ops.size() == 1 && ops[0].kind == MicroOpKind::kAppend)
    return Command{{"RPUSH", ListKey(*ops[0].key), ops[0].value->dump()}, true};
  if (ops.size() == 1) return Command{{"LRANGE", ListKey(*ops[0].key), "0", "-1"}, false};
  if (ops.size() == 2 && ops[0].kind == MicroOpKind::kRead && ops[1].kind == MicroOpKind::kAppend &&
      *ops[0].key == *ops[1].key) {
    return Command{{"EVAL", kReadAppendScript, "1", ListKey(*ops[0].key), ops[1].value->dump()},
                   true};
  }
  return Status::InvalidArgument(
      "redis: the session workload runs an append, a read, or a read "
      "then an append of one key, not " +
      invoke.value.dump());
}

Result<Json> SessionValue(const Json& txn, const std::vector<std::string>& elements) {
  Json completed = txn;
  for (Json& micro_op : completed) {
    if (!micro_op.is_array() || micro_op.size() != 3 || micro_op[0] != "r") continue;
    Json list = Json::array();
    for (const std::string& element : elements) {
      Result<int64_t> number = ParseInteger(element);
      if (!number.ok()) return number.status();
      list.push_back(*number);
    }
    micro_op[2] = std::move(list);
  }
  return completed;
}

Result<Json> RegisterValue(const std::optional<std::string>& text) {
  if (!text) return Json(nullptr);
  Json value = Json::parse(*text, nullptr, false);
  if (value.is_discarded()) {
    return Status::InvalidArgument("redis: the register holds \"" + *text + "\", not JSON");
  }
  return value;
}

Result<Json> SetValue(const std::vector<std::string>& members) {
  std::vector<int64_t> elements;
  for (const std::string& member : members) {
    Result<int64_t> element = ParseInteger(member);
    if (!element.ok()) return element.status();
    elements.push_back(*element);
  }
  std::sort(elements.begin(), elements.end());
  return Json(elements);
}

OpType Classify(const Failure& failure, bool writes) {
  if (!failure.sent || failure.answered || !writes) return OpType::kFail;
  return OpType::kInfo;
}

std::string ErrorText(const Failure& failure) {
  if (failure.answered) return failure.message;
  return (failure.timed_out ? "timeout: " : "connection: ") + failure.message;
}

}  // namespace faultline::redis
