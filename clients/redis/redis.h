// Redis: the database lifecycle over SSH (RedisDb) and a hiredis client (RedisClient) for the
// register and set workloads. docs/redis.md has the details.
//
// RedisDb runs Debian's /usr/bin/redis-server on every node of the test: the primary on the first
// node, a replica (`replicaof` the primary) on each other one. Each server has a directory of its
// own on the node (redis.conf, redis.pid, redis.log, its append-only file), runs as root from the
// config file the Db writes (ConfigText; `daemonize yes`, stdio detached), listens on the node's
// address and asks for a password (requirepass; masterauth for the replicas) that BuildRedisTest
// draws per test and that reaches the node on stdin only. Every signal goes to the pid its
// redis.pid names, after checking that the process is a redis-server working in this directory
// (/proc/<pid>/comm and cwd) and alive (not a zombie). Setup, Teardown and the process faults are
// idempotent. Sentinel and failover are not made yet.
//
// RedisClient sends each op as one command (RegisterCommand, SetCommand) with the test's
// operation timeout: writes to the primary, reads to the primary or (ReadFrom::kReplica) to a
// replica. Outcomes follow Jepsen's rules (docs/clients.md): nothing sent (no connection) is fail;
// an error the server answers is fail (Redis ran nothing); no answer (a timeout, a lost
// connection) is info for a write and fail for a read.
//
// Threads: RedisDb may be called for different nodes from different threads at once, and from the
// nemesis thread (its only shared state, the resolved directories, is guarded by NodeScripts). A
// RedisClient serves one client thread: one call at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/servers/node_scripts.h"
#include "runner/test.h"

struct redisContext;

namespace faultline::redis {

// Where the client sends reads; writes always go to the primary.
enum class ReadFrom { kPrimary, kReplica };

std::vector<std::string> ReadFromNames();  // primary, replica
Result<ReadFrom> ParseReadFrom(std::string_view text);
std::string ToString(ReadFrom read_from);

struct RedisOptions {
  ReadFrom read_from = ReadFrom::kPrimary;
  int port = 6379;
  // The node's directory: "{node}" is replaced by the node's name, so that nodes sharing one
  // filesystem (the local cluster) never share it. Absolute. Teardown removes it.
  std::string directory = "/var/lib/faultline-redis-{node}";
  std::string password;          // BuildRedisTest draws one when empty
  double start_timeout_s = 30;   // a server's first answer, and a replica's link to the primary
  bool sudo = false;             // the SSH user is not root: run the scripts through sudo
};

// InvalidArgument for options that cannot work (a port, a timeout, a directory that is relative,
// "/" or holds "..": Teardown removes it; a password that is not letters, digits and _: it goes
// into the config file as it is).
Status ValidateOptions(const RedisOptions& options);

// options.directory for `node`.
std::string NodeDirectory(const RedisOptions& options, const std::string& node);

// redis.conf for the server in `directory` listening on `address`: a replica of
// `primary_address` (same port), or the primary when that is empty. `protected-mode no` because
// the server listens on the node's address, which on the local cluster is on a subnet private to
// the machine; the password guards it anyway.
std::string ConfigText(const RedisOptions& options, const std::string& directory,
                       const std::string& address, const std::string& primary_address);

// ---- the commands the client sends (pure; tested without a server) ------------------------------

// The key a register op's key is stored under: "faultline:register:<key as JSON>"; an unkeyed
// register is "faultline:register".
std::string RegisterKey(const Json* key);
inline constexpr char kSetKey[] = "faultline:set";

// Compares the key's value with ARGV[1] and sets it to ARGV[2] when equal, atomically (a script
// runs alone): 1 when it set, 0 when the value differed (or the key is absent).
inline constexpr char kCasScript[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) "
    "return 1 end return 0";

// One op as the command's arguments. Values are stored as their JSON text.
struct Command {
  std::vector<std::string> arguments;  // ["SET", "faultline:register:3", "4"]
  bool writes = false;                 // whether it may change the database
};

// read -> GET, write -> SET, cas -> EVAL kCasScript; keyed ([key argument]) or not. InvalidArgument
// for any other op or a malformed value.
Result<Command> RegisterCommand(const Op& invoke);
// add e -> SADD faultline:set e; read -> SMEMBERS faultline:set. e must be an integer.
Result<Command> SetCommand(const Op& invoke);

// What GET answered (nullopt: nil) as the register's value: nil -> null, else the JSON text it
// holds. InvalidArgument for text that is no JSON.
Result<Json> RegisterValue(const std::optional<std::string>& text);
// SMEMBERS's members as the set's value: integers, ascending. InvalidArgument for a member that is
// no integer.
Result<Json> SetValue(const std::vector<std::string>& members);

// ---- outcomes -----------------------------------------------------------------------------------

// What went wrong with one command.
struct Failure {
  bool sent = false;       // the command was sent (or may have been): false when no connection
  bool answered = false;   // the server answered with an error (it ran nothing)
  bool timed_out = false;  // no answer within the operation timeout
  std::string message;     // the server's error, or hiredis's
};

// fail or info: nothing sent, an error answered, or a command that writes nothing -> fail;
// otherwise (a write with no answer) it may have happened: info.
OpType Classify(const Failure& failure, bool writes);

// The op's error: "timeout: <message>", "connection: <message>", or the server's error as it is
// ("READONLY You can't write against a read only replica.").
std::string ErrorText(const Failure& failure);

// ---- the database and the client ---------------------------------------------------------------

class RedisDb : public Db {
 public:
  explicit RedisDb(RedisOptions options);

  // Installs redis-server if /usr/bin/redis-server is missing, claims and marks the node's
  // directory (.faultline-redis; a non-empty directory without the mark is refused), removes any
  // earlier data there, writes redis.conf, starts the server and waits until it answers; on a
  // replica, waits until INFO replication says master_link_status:up.
  Status Setup(const Test& test, const std::string& node, control::Remote& remote) override;
  // Kills the server and removes the directory when it carries Setup's mark; else an error, and
  // nothing is removed.
  Status Teardown(const Test& test, const std::string& node, control::Remote& remote) override;
  std::vector<std::string> LogFiles(const Test& test, const std::string& node) const override;

  // SIGKILL, waiting until the server is gone or a zombie. Ok when nothing runs.
  Status Kill(const Test& test, const std::string& node, control::Remote& remote) override;
  // Starts the server on its data (ok when it runs) and waits until it answers.
  Status Start(const Test& test, const std::string& node, control::Remote& remote) override;
  // SIGSTOP / SIGCONT. Ok when nothing runs.
  Status Pause(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Resume(const Test& test, const std::string& node, control::Remote& remote) override;

  const RedisOptions& options() const { return options_; }

 private:
  Status StartServer(const Test& test, const std::string& node, control::Remote& remote,
                     bool fresh);
  Status Signal(const std::string& node, control::Remote& remote, const std::string& signal);

  const RedisOptions options_;
  clients::NodeScripts scripts_;  // faultline-redis-<what>; the nodes' directories
};

// The register and set workloads' ops.
enum class Workload { kRegister, kSet };

class RedisClient : public Client {
 public:
  RedisClient(RedisOptions options, Workload workload);
  ~RedisClient() override;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Writes go to the primary (the first node); reads to the primary, or with ReadFrom::kReplica
  // to `node` when it is a replica, else to the second node. Connects at the first op.
  Status Open(const Test& test, const std::string& node) override;
  Op Invoke(const Test& test, const Op& invoke) override;
  void Close(const Test&) override;

 private:
  struct Connection {
    std::string host;
    redisContext* context = nullptr;
  };
  struct Answer;
  // Sends one command on `connection` (connecting first when needed) and waits for the answer.
  Answer Execute(const Test& test, Connection& connection, const Command& command);
  Status Connect(const Test& test, Connection& connection);
  static void Disconnect(Connection& connection);

  const RedisOptions options_;
  const Workload workload_;
  Connection primary_, reads_;  // reads_ has no host when reads go to the primary
};

// The test value for `workload` (register or set) on Redis: db and client factory. The generator
// and the checker are the caller's (clients/registry.h). ReadFrom::kReplica needs two nodes.
Result<Test> BuildRedisTest(const TestOptions& options, RedisOptions redis,
                            const std::string& workload);

}  // namespace faultline::redis
