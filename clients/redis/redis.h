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
// idempotent.
//
// With Failover::kSentinel, every node also runs Debian's /usr/bin/redis-sentinel from the same
// directory (sentinel.conf, sentinel.pid, sentinel.log), monitoring the primary with a quorum of a
// majority of the nodes and short timeouts (SentinelConfigText), so that a primary that is killed,
// paused or cut off is replaced by a replica within seconds. The faults reach the redis-servers
// only: the sentinels keep watching, as they would on separate machines. Teardown kills them too.
//
// RedisClient sends each op as one command (RegisterCommand, SetCommand, SessionCommand) with the
// test's operation timeout: writes to the primary, reads to the primary or (ReadFrom::kReplica) to
// a replica. With Sentinel, the primary is the one a sentinel names (SENTINEL
// get-master-addr-by-name), asked again after any failure on the primary's connection (an error
// such as READONLY, a timeout, a lost connection): a write that reached an old primary now a
// replica is fail (it answered READONLY). Outcomes follow Jepsen's rules (docs/clients.md): nothing
// sent (no connection) is fail; an error the server answers is fail (Redis ran nothing); no answer
// (a timeout, a lost connection) is info for a write and fail for a read.
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

// What replaces a primary that is gone: nothing (writes fail until it is back), or Sentinel.
enum class Failover { kNone, kSentinel };

std::vector<std::string> FailoverNames();  // none, sentinel
Result<Failover> ParseFailover(std::string_view text);
std::string ToString(Failover failover);

// The name the sentinels monitor the primary under.
inline constexpr char kSentinelPrimaryName[] = "faultline";

struct RedisOptions {
  ReadFrom read_from = ReadFrom::kPrimary;
  int port = 6379;
  // The node's directory: "{node}" is replaced by the node's name, so that nodes sharing one
  // filesystem (the local cluster) never share it. Absolute. Teardown removes it.
  std::string directory = "/var/lib/faultline-redis-{node}";
  std::string password;         // BuildRedisTest draws one when empty
  double start_timeout_s = 30;  // a server's first answer, and a replica's link to the primary
  bool sudo = false;            // the SSH user is not root: run the scripts through sudo
  Failover failover = Failover::kNone;
  int sentinel_port = 26379;
  // A primary no sentinel has heard from for this long is down (subjectively; a quorum makes it
  // objectively down and starts the failover). Short, so that a fault of a few seconds fails over.
  int down_after_ms = 1000;
  // How long a failover may take before another sentinel may try again (twice this).
  int failover_timeout_ms = 3000;
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

// sentinel.conf for the sentinel in `directory` listening on `address`, monitoring
// `primary_address` (options.port) as kSentinelPrimaryName with a quorum of `node_count` / 2 + 1,
// options.down_after_ms and options.failover_timeout_ms; it authenticates to the servers and to
// the other sentinels with the test's password and asks for it too.
std::string SentinelConfigText(const RedisOptions& options, const std::string& directory,
                               const std::string& address, const std::string& primary_address,
                               size_t node_count);

// SENTINEL get-master-addr-by-name's answer ([host, port]) as the primary's host. InvalidArgument
// for an answer that is not two elements (nil: the sentinel monitors no such primary) or names
// another port than `port` (every server listens on the same one).
Result<std::string> ParsePrimaryAddress(const std::vector<std::string>& answer, int port);

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

// The session workload's transactions: list-append micro-ops on one key, in the shapes the
// session generator makes (clients/workloads/txn_workloads.h), on the list
// "faultline:list:<key as JSON>": [append k v] -> RPUSH; [r k nil] -> LRANGE 0 -1 (a read: it may
// go to a replica); [r k nil] then [append k v] -> EVAL kReadAppendScript (both at once, on the
// primary). InvalidArgument for any other shape, or a value that is no integer.
inline constexpr char kReadAppendScript[] =
    "local list = redis.call('LRANGE', KEYS[1], 0, -1) redis.call('RPUSH', KEYS[1], ARGV[1]) "
    "return list";
std::string ListKey(const Json& key);
Result<Command> SessionCommand(const Op& invoke);
// The completed transaction: `txn` with its read's nil replaced by `elements` (the list as it was
// read) as integers. InvalidArgument for an element that is no integer.
Result<Json> SessionValue(const Json& txn, const std::vector<std::string>& elements);

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
  // replica, waits until INFO replication says master_link_status:up. With Sentinel, then starts
  // the node's sentinel once the primary has every replica, and waits until the sentinel knows
  // every replica and every other sentinel (so that a fault from the first second fails over).
  Status Setup(const Test& test, const std::string& node, control::Remote& remote) override;
  // Kills the server (and the sentinel) and removes the directory when it carries Setup's mark;
  // else an error, and nothing is removed.
  Status Teardown(const Test& test, const std::string& node, control::Remote& remote) override;
  std::vector<std::string> LogFiles(const Test& test, const std::string& node) const override;

  // SIGKILL, waiting until the server is gone or a zombie. Ok when nothing runs.
  Status Kill(const Test& test, const std::string& node, control::Remote& remote) override;
  // Starts the server on its data (ok when it runs) and waits until it answers. With Sentinel, a
  // replica of the primary the node's sentinel names (Sentinel would turn it into one anyway).
  Status Start(const Test& test, const std::string& node, control::Remote& remote) override;
  // SIGSTOP / SIGCONT. Ok when nothing runs.
  Status Pause(const Test& test, const std::string& node, control::Remote& remote) override;
  Status Resume(const Test& test, const std::string& node, control::Remote& remote) override;
  // The node's ROLE: master is a primary (after a Sentinel failover, a promoted replica; during
  // a partition, the old primary too). An error when the server does not answer.
  bool HasPrimaries() const override { return true; }
  Result<bool> IsPrimary(const Test& test, const std::string& node,
                         control::Remote& remote) override;
  // `redis-server --version`'s number ("7.0.15").
  Result<std::string> Version(const Test& test, const std::string& node,
                              control::Remote& remote) override;

  const RedisOptions& options() const { return options_; }

 private:
  Status StartServer(const Test& test, const std::string& node, control::Remote& remote,
                     bool fresh);
  Status Signal(const std::string& node, control::Remote& remote, const std::string& signal);
  Status StartSentinel(const Test& test, const std::string& node, control::Remote& remote);
  // The primary's address as the node's sentinel names it; an error when it cannot say.
  Result<std::string> SentinelPrimary(const std::string& node, control::Remote& remote);

  const RedisOptions options_;
  clients::NodeScripts scripts_;  // faultline-redis-<what>; the nodes' directories
};

// The register, set and session workloads' ops.
enum class Workload { kRegister, kSet, kSession };

class RedisClient : public Client {
 public:
  RedisClient(RedisOptions options, Workload workload);
  ~RedisClient() override;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Writes go to the primary (the first node, or with Sentinel the one a sentinel names); reads
  // to the primary, or with ReadFrom::kReplica to `node` when it is not the first node, else to
  // the second node. Connects at the first op.
  Status Open(const Test& test, const std::string& node) override;
  Op Invoke(const Test& test, const Op& invoke) override;
  void Close(const Test&) override;

 private:
  struct Connection {
    std::string host;
    int port = 0;
    redisContext* context = nullptr;
  };
  struct Answer;
  // Sends one command on `connection` (connecting first when needed) and waits for the answer.
  Answer Execute(const Test& test, Connection& connection, const Command& command);
  Status Connect(const Test& test, Connection& connection);
  static void Disconnect(Connection& connection);
  // With Sentinel: asks the sentinels in turn, from this client's node on, which node is the
  // primary, and points primary_ there (dropping the connection when it moved).
  Status ResolvePrimary(const Test& test);

  const RedisOptions options_;
  const Workload workload_;
  Connection primary_, reads_;          // reads_ has no host when reads go to the primary
  std::vector<std::string> sentinels_;  // their addresses, this client's node first; empty: none
  bool resolved_ = false;               // primary_.host is what a sentinel last said
};

// The test value for `workload` (register or set) on Redis: db and client factory. The generator
// and the checker are the caller's (clients/registry.h). ReadFrom::kReplica needs two nodes.
Result<Test> BuildRedisTest(const TestOptions& options, RedisOptions redis,
                            const std::string& workload);

}  // namespace faultline::redis
