// RedisDb: a redis-server per node, driven over the node's Remote with small sh scripts run as
// root. Each script gets the node's directory as $1 and finds the server by its redis.pid, checked
// against /proc (live below) before any signal.
#include "clients/redis/redis.h"
#include "clients/servers/server_support.h"
#include "runner/control/remote.h"

namespace faultline::redis {
namespace {

// Shared by every script:
// - live: the pid of this directory's server ($2 redis-server, the default, with redis.pid) or
//   sentinel (redis-sentinel, sentinel.pid) when it runs. The pid file's process must be that
//   program working in this directory (other nodes' servers share the PID namespace on the
//   local cluster and may reuse a pid; redis rewrites its command line, so its cwd, which `dir`
//   sets, names it), and be neither a zombie nor dead (a killed process may stay a zombie for
//   seconds, and kill -0 succeeds on zombies).
// - ask: redis-cli against host $2 port $3 with the password from $1's redis.conf (in the
//   environment, never on a command line); cli: against this directory's server.
constexpr char kPrelude[] = R"sh([ "$(id -u)" = 0 ] || {
  echo "the redis scripts need root on the node (log in as root, or let the SSH user sudo)" >&2
  exit 1
}
live() {
  prog=${2:-redis-server}; pidfile=redis.pid
  [ "$prog" = redis-sentinel ] && pidfile=sentinel.pid
  pid=$(head -n 1 "$1/$pidfile" 2>/dev/null) || return 1
  case "$pid" in ''|*[!0-9]*) return 1;; esac
  [ "$(cat /proc/$pid/comm 2>/dev/null)" = "$prog" ] || return 1
  [ "$(readlink /proc/$pid/cwd 2>/dev/null)" = "$1" ] || return 1
  state=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -c1)
  case "$state" in ''|Z|X) return 1;; esac
  echo "$pid"
}
ask() {
  conf="$1/redis.conf"; host=$2; port=$3; shift 3
  REDISCLI_AUTH=$(sed -n 's/^requirepass //p' "$conf") redis-cli --no-auth-warning \
    -h "$host" -p "$port" "$@"
}
cli() {
  d=$1; shift
  ask "$d" "$(sed -n 's/^bind //p' "$d/redis.conf")" "$(sed -n 's/^port //p' "$d/redis.conf")" "$@"
}
)sh";

// Debian's redis-server would start a host-wide server on install: a policy-rc.d (only when none
// exists, removed afterwards) forbids that, as scripts/setup.sh does.
constexpr char kInstallScript[] =
    R"sh([ -x /usr/bin/redis-server ] && command -v redis-cli >/dev/null && exit 0
guard=/usr/sbin/policy-rc.d
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server
)sh";

// $1 the directory, $2 fresh (1: remove an earlier run's data first), $3 the start timeout (s);
// redis.conf on stdin (it holds the password: mode 600). The stale pid file goes before a start:
// its pid may now be another node's process. The server daemonizes itself; stdio is detached so
// that the SSH command ends. It is up once it answers PING (an append-only file is loaded first).
constexpr char kStartScript[] = R"sh(dir=$1; fresh=$2; timeout=$3
cd -- "$dir" || exit 1
(umask 077 && cat >redis.conf.new) && mv redis.conf.new redis.conf || exit 1
if pid=$(live "$dir"); then echo "running $pid"; exit 0; fi
[ -x /usr/bin/redis-server ] || { echo "redis-server is not installed (/usr/bin/redis-server)" >&2; exit 1; }
[ "$fresh" = 1 ] && rm -rf appendonlydir dump.rdb
rm -f redis.pid
/usr/bin/redis-server "$dir/redis.conf" </dev/null >redis.start.log 2>&1 || {
  echo "redis-server did not start: $(cat redis.start.log); the end of $dir/redis.log:" >&2
  tail -n 20 redis.log >&2; exit 1
}
i=0
while [ "$(cli "$dir" PING 2>/dev/null)" != PONG ]; do
  i=$((i+1))
  if [ $i -gt 40 ] && ! live "$dir" >/dev/null; then
    echo "redis-server in $dir exited; the end of its log:" >&2; tail -n 20 redis.log >&2; exit 1
  fi
  if [ $i -gt $((timeout * 20)) ]; then
    echo "redis-server in $dir did not answer PING within $timeout s; the end of its log:" >&2
    tail -n 20 redis.log >&2; exit 1
  fi
  sleep 0.05
done
pid=$(live "$dir") || { echo "redis-server exited after it started:" >&2; tail -n 20 redis.log >&2; exit 1; }
echo "started $pid"
)sh";

// $1 the directory, $2 the timeout (s): until the replica's link to its primary is up (the full
// sync done).
constexpr char kLinkScript[] = R"sh(dir=$1; timeout=$2
i=0
until cli "$dir" INFO replication 2>/dev/null | tr -d '\r' | grep -qx master_link_status:up; do
  i=$((i+1))
  if [ $i -gt $((timeout * 10)) ]; then
    echo "the replica in $dir has no link to its primary after $timeout s:" >&2
    cli "$dir" INFO replication 2>&1 | tr -d '\r' | grep -E '^(role|master_)' >&2
    tail -n 10 "$dir/redis.log" >&2; exit 1
  fi
  sleep 0.1
done
echo linked
)sh";

// $1 the directory, $2 the program (redis-server or redis-sentinel).
constexpr char kKillScript[] = R"sh(dir=$1; prog=$2
pid=$(live "$dir" "$prog") || { echo "not running"; exit 0; }
kill -KILL "$pid"
i=0
while live "$dir" "$prog" >/dev/null; do
  i=$((i+1))
  if [ $i -gt 200 ]; then echo "$prog $pid still alive 10 s after SIGKILL" >&2; exit 1; fi
  sleep 0.05
done
echo "killed $pid"
)sh";

// $1 the directory, $2 the primary's address, $3 its port, $4 the sentinel's port, $5 how many
// replicas, $6 the primary's name, $7 the timeout (s); sentinel.conf on stdin. The sentinel starts
// once the primary has every replica (a sentinel learns the replicas from the primary's INFO only
// every 10 s), and is ready once it knows them all and every other sentinel (their hellos come
// every 2 s): then a fault of the primary fails over.
constexpr char kSentinelScript[] = R"sh(dir=$1; primary=$2; port=$3; sport=$4; replicas=$5
name=$6; timeout=$7
cd -- "$dir" || exit 1
(umask 077 && cat >sentinel.conf.new) || exit 1
if pid=$(live "$dir" redis-sentinel); then rm -f sentinel.conf.new; echo "running $pid"; exit 0; fi
mv sentinel.conf.new sentinel.conf || exit 1
[ -x /usr/bin/redis-sentinel ] || { echo "redis-sentinel is not installed (/usr/bin/redis-sentinel)" >&2; exit 1; }
address=$(sed -n 's/^bind //p' redis.conf)
wait_for() {
  what=$1; shift; i=0
  until "$@"; do
    i=$((i+1))
    if [ $i -gt $((timeout * 10)) ]; then echo "$what after $timeout s" >&2; return 1; fi
    sleep 0.1
  done
}
all_replicas() {
  linked=$(ask "$dir" "$primary" "$port" INFO replication 2>/dev/null | tr -d '\r' |
    sed -n 's/^connected_slaves://p')
  [ "${linked:-0}" -ge "$replicas" ]
}
knows_all() {
  ask "$dir" "$address" "$sport" SENTINEL master "$name" 2>/dev/null | tr -d '\r' | paste - - |
    awk -v n="$replicas" '$1 == "num-slaves" { s = $2 } $1 == "num-other-sentinels" { o = $2 }
      END { exit !(s >= n && o >= n) }'
}
wait_for "the primary $primary has fewer than $replicas replicas" all_replicas || exit 1
rm -f sentinel.pid
/usr/bin/redis-sentinel "$dir/sentinel.conf" </dev/null >sentinel.start.log 2>&1 || {
  echo "redis-sentinel did not start: $(cat sentinel.start.log)" >&2; tail -n 20 sentinel.log >&2
  exit 1
}
wait_for "the sentinel in $dir does not know $replicas replicas and $replicas other sentinels" \
  knows_all || {
  ask "$dir" "$address" "$sport" SENTINEL master "$name" 2>&1 | tr -d '\r' | paste - - |
    grep -E '^(flags|num-)' >&2
  tail -n 10 sentinel.log >&2; exit 1
}
echo "sentinel $(live "$dir" redis-sentinel)"
)sh";

// $1 the directory, $2 the sentinel's port, $3 the primary's name: the address and port the
// node's sentinel names, a line each.
constexpr char kPrimaryScript[] = R"sh(
ask "$1" "$(sed -n 's/^bind //p' "$1/redis.conf")" "$2" SENTINEL get-master-addr-by-name "$3" |
  tr -d '\r'
)sh";

constexpr char kSignalScript[] = R"sh(pid=$(live "$1") || { echo "not running"; exit 0; }
kill -"$2" "$pid" && echo "$2 $pid"
)sh";

// The primary the test starts with: the first node.
bool InitialPrimary(const Test& test, const std::string& node) {
  return !test.options.nodes.empty() && test.options.nodes.front() == node;
}

// The first line of ROLE: "master", "slave" (a replica) or "sentinel".
constexpr char kRoleScript[] = R"sh(cli "$1" ROLE | head -n 1 | tr -d '\r')sh";

}  // namespace

RedisDb::RedisDb(RedisOptions options)
    : options_(std::move(options)),
      scripts_("redis", kPrelude, options_.directory, options_.sudo) {}

Status RedisDb::Setup(const Test& test, const std::string& node, control::Remote& remote) {
  Result<std::string> installed = scripts_.Run(remote, "install", kInstallScript, {}, 600'000);
  if (!installed.ok()) return installed.status();
  Result<std::string> directory = scripts_.Claim(node, remote);
  if (!directory.ok()) return directory.status();
  if (Status started = StartServer(test, node, remote, true); !started.ok()) return started;
  auto timeout_s = static_cast<int64_t>(options_.start_timeout_s);
  if (!InitialPrimary(test, node)) {
    Result<std::string> linked =
        scripts_.Run(remote, "link", kLinkScript, {*directory, std::to_string(timeout_s)},
                     (timeout_s + 30) * 1000);
    if (!linked.ok()) return linked.status();
  }
  if (options_.failover == Failover::kNone) return Status::Ok();
  return StartSentinel(test, node, remote);
}

Status RedisDb::StartSentinel(const Test& test, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  const std::vector<std::string>& nodes = test.options.nodes;
  const std::string primary = NodeAddress(test.options, nodes.front());
  std::string config = SentinelConfigText(options_, *directory, NodeAddress(test.options, node),
                                          primary, nodes.size());
  auto timeout_s = static_cast<int64_t>(options_.start_timeout_s);
  // The primary's replicas, and as many other sentinels.
  std::string others = std::to_string(nodes.size() - 1);
  Result<std::string> started = scripts_.Run(
      remote, "sentinel", kSentinelScript,
      {*directory, primary, std::to_string(options_.port), std::to_string(options_.sentinel_port),
       others, kSentinelPrimaryName, std::to_string(timeout_s)},
      (2 * timeout_s + 30) * 1000, config);
  return started.ok() ? Status::Ok() : started.status();
}

Result<std::string> RedisDb::SentinelPrimary(const std::string& node, control::Remote& remote) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> out = scripts_.Run(
      remote, "primary", kPrimaryScript,
      {*directory, std::to_string(options_.sentinel_port), kSentinelPrimaryName}, 10'000);
  if (!out.ok()) return out.status();
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = out->find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(out->substr(start, end - start));
  if (start < out->size()) lines.push_back(out->substr(start));
  return ParsePrimaryAddress(lines, options_.port);
}

Status RedisDb::StartServer(const Test& test, const std::string& node, control::Remote& remote,
                            bool fresh) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  const std::string address = NodeAddress(test.options, node);
  std::string primary =
      InitialPrimary(test, node) ? "" : NodeAddress(test.options, test.options.nodes.front());
  if (!fresh && options_.failover == Failover::kSentinel) {
    // The primary may have moved; when the sentinel cannot say, Sentinel reconfigures the server
    // once it runs.
    Result<std::string> current = SentinelPrimary(node, remote);
    if (current.ok()) primary = *current == address ? "" : *current;
  }
  std::string config = ConfigText(options_, *directory, address, primary);
  auto timeout_s = static_cast<int64_t>(options_.start_timeout_s);
  Result<std::string> started = scripts_.Run(
      remote, "start", kStartScript, {*directory, fresh ? "1" : "0", std::to_string(timeout_s)},
      (timeout_s + 30) * 1000, config);
  return started.ok() ? Status::Ok() : started.status();
}

Status RedisDb::Start(const Test& test, const std::string& node, control::Remote& remote) {
  return StartServer(test, node, remote, false);
}

Status RedisDb::Teardown(const Test& test, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  // The data goes with the directory: a kill is as good as a clean stop.
  if (options_.failover == Failover::kSentinel) {
    Result<std::string> killed =
        scripts_.Run(remote, "kill", kKillScript, {*directory, "redis-sentinel"}, 30'000);
    if (!killed.ok()) return killed.status();
  }
  if (Status killed = Kill(test, node, remote); !killed.ok()) return killed;
  return scripts_.Remove(node, remote);
}

std::vector<std::string> RedisDb::LogFiles(const Test&, const std::string& node) const {
  const std::string directory = scripts_.KnownDirectory(node);
  if (options_.failover == Failover::kNone) return {directory + "/redis.log"};
  return {directory + "/redis.log", directory + "/sentinel.log"};
}

Status RedisDb::Kill(const Test&, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> killed =
      scripts_.Run(remote, "kill", kKillScript, {*directory, "redis-server"}, 30'000);
  return killed.ok() ? Status::Ok() : killed.status();
}

Status RedisDb::Signal(const std::string& node, control::Remote& remote,
                       const std::string& signal) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> signalled =
      scripts_.Run(remote, "signal", kSignalScript, {*directory, signal}, 10'000);
  return signalled.ok() ? Status::Ok() : signalled.status();
}

Status RedisDb::Pause(const Test&, const std::string& node, control::Remote& remote) {
  return Signal(node, remote, "STOP");
}

Status RedisDb::Resume(const Test&, const std::string& node, control::Remote& remote) {
  return Signal(node, remote, "CONT");
}

Result<bool> RedisDb::IsPrimary(const Test&, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> role = scripts_.Run(remote, "role", kRoleScript, {*directory}, 15'000);
  if (!role.ok()) return role.status();
  const std::string answer = role->substr(0, role->find('\n'));
  if (answer != "master" && answer != "slave") {
    return Status::IoError(node + ": ROLE answered '" + answer + "'");
  }
  return answer == "master";
}

Result<std::string> RedisDb::Version(const Test&, const std::string&, control::Remote& remote) {
  Result<std::string> output =
      scripts_.Run(remote, "version", "redis-server --version", {}, 30'000);
  if (!output.ok()) return output.status();
  return clients::ProgramVersion(*output);
}

}  // namespace faultline::redis
