// RedisDb: a redis-server per node, driven over the node's Remote with small sh scripts run as
// root. Each script gets the node's directory as $1 and finds the server by its redis.pid, checked
// against /proc (live below) before any signal.
#include "clients/redis/redis.h"
#include "runner/control/remote.h"

namespace faultline::redis {
namespace {

// Shared by every script:
// - live: the server's pid when this directory's server runs. The pid file's process must be a
//   redis-server working in this directory (other nodes' servers share the PID namespace on the
//   local cluster and may reuse a pid; redis rewrites its command line, so its cwd, which `dir`
//   sets, names it), and be neither a zombie nor dead (a killed process may stay a zombie for
//   seconds, and kill -0 succeeds on zombies).
// - cli: redis-cli against this directory's server, with the password from its redis.conf (in
//   the environment, never on a command line).
constexpr char kPrelude[] = R"sh([ "$(id -u)" = 0 ] || {
  echo "the redis scripts need root on the node (log in as root, or let the SSH user sudo)" >&2
  exit 1
}
live() {
  pid=$(head -n 1 "$1/redis.pid" 2>/dev/null) || return 1
  case "$pid" in ''|*[!0-9]*) return 1;; esac
  [ "$(cat /proc/$pid/comm 2>/dev/null)" = redis-server ] || return 1
  [ "$(readlink /proc/$pid/cwd 2>/dev/null)" = "$1" ] || return 1
  state=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -c1)
  case "$state" in ''|Z|X) return 1;; esac
  echo "$pid"
}
cli() {
  conf="$1/redis.conf"; shift
  REDISCLI_AUTH=$(sed -n 's/^requirepass //p' "$conf") redis-cli --no-auth-warning \
    -h "$(sed -n 's/^bind //p' "$conf")" -p "$(sed -n 's/^port //p' "$conf")" "$@"
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

constexpr char kKillScript[] = R"sh(dir=$1
pid=$(live "$dir") || { echo "not running"; exit 0; }
kill -KILL "$pid"
i=0
while live "$dir" >/dev/null; do
  i=$((i+1))
  if [ $i -gt 200 ]; then echo "redis-server $pid still alive 10 s after SIGKILL" >&2; exit 1; fi
  sleep 0.05
done
echo "killed $pid"
)sh";

constexpr char kSignalScript[] = R"sh(pid=$(live "$1") || { echo "not running"; exit 0; }
kill -"$2" "$pid" && echo "$2 $pid"
)sh";

bool IsPrimary(const Test& test, const std::string& node) {
  return !test.options.nodes.empty() && test.options.nodes.front() == node;
}

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
  if (IsPrimary(test, node)) return Status::Ok();
  auto timeout_s = static_cast<int64_t>(options_.start_timeout_s);
  Result<std::string> linked =
      scripts_.Run(remote, "link", kLinkScript, {*directory, std::to_string(timeout_s)},
                   (timeout_s + 30) * 1000);
  return linked.ok() ? Status::Ok() : linked.status();
}

Status RedisDb::StartServer(const Test& test, const std::string& node, control::Remote& remote,
                            bool fresh) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  std::string primary =
      IsPrimary(test, node) ? "" : NodeAddress(test.options, test.options.nodes.front());
  std::string config = ConfigText(options_, *directory, NodeAddress(test.options, node), primary);
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
  if (Status killed = Kill(test, node, remote); !killed.ok()) return killed;
  return scripts_.Remove(node, remote);
}

std::vector<std::string> RedisDb::LogFiles(const Test&, const std::string& node) const {
  return {scripts_.KnownDirectory(node) + "/redis.log"};
}

Status RedisDb::Kill(const Test&, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> killed = scripts_.Run(remote, "kill", kKillScript, {*directory}, 30'000);
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

}  // namespace faultline::redis
