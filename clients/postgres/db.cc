// PostgresDb: the primary on the test's first node and its standbys on the next ones, driven over
// the node's Remote with small sh scripts run as root. Each script gets the node's directory as $1
// and finds the server by its data/postmaster.pid, checked against /proc (live below) before any
// signal.
#include "clients/postgres/postgres.h"
#include "clients/servers/server_support.h"
#include "runner/control/remote.h"

namespace faultline::postgres {
namespace {

// Shared by every script:
// - pg_bin: the newest installed version's bin directory (Debian's layout).
// - as_pg: runs a command as the postgres system user, which initdb and the server require.
// - live: the postmaster's pid when this directory's server runs. The pid file's process must
//   be named postgres, have been started with this data directory (other nodes' servers share
//   the PID namespace on the local cluster and may reuse a pid), and be neither a zombie nor
//   dead (a killed process may stay a zombie for seconds, and kill -0 succeeds on zombies).
// - children: the postmaster's children (the backends and background workers).
constexpr char kPrelude[] = R"sh([ "$(id -u)" = 0 ] || {
  echo "the postgres scripts need root on the node (log in as root, or let the SSH user sudo)" >&2
  exit 1
}
pg_bin() {
  for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -rV); do
    [ -x "/usr/lib/postgresql/$v/bin/postgres" ] && { echo "/usr/lib/postgresql/$v/bin"; return 0; }
  done
  return 1
}
as_pg() { runuser -u postgres -- "$@"; }
live() {
  pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
  case "$pid" in ''|*[!0-9]*) return 1;; esac
  [ "$(cat /proc/$pid/comm 2>/dev/null)" = postgres ] || return 1
  tr '\0' '\n' 2>/dev/null </proc/$pid/cmdline | grep -qxF -- "$1/data" || return 1
  state=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -c1)
  case "$state" in ''|Z|X) return 1;; esac
  echo "$pid"
}
children() { pgrep -P "$1" | tr '\n' ' '; }
)sh";

// Debian's postgresql would start a host-wide cluster on install: a policy-rc.d (only when none
// exists, removed afterwards) forbids that, as scripts/setup.sh does.
constexpr char kInstallScript[] = R"sh(pg_bin >/dev/null && exit 0
guard=/usr/sbin/policy-rc.d
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
)sh";

// $1 the directory, $2 the port, $3 the address to listen on, $4 the user, $5 the start timeout
// (s), $6 the primary's address on a standby ("" on the primary); the user's password on stdin.
// The data directory is made once: a data directory with PG_VERSION is the server's, kept across
// restarts; one without is an interrupted attempt's and made again. The primary's comes from
// initdb (the password read by initdb only); a standby's is a pg_basebackup of the primary once
// it accepts connections (-R: standby.signal and primary_conninfo, the password in a passfile
// only postgres reads), with its own address and socket. The stale pid file goes before a start:
// its pid may now be another node's process, and the children of a killed postmaster were killed
// with it (kKillScript). Its socket (in the directory, not /var/run/postgresql, which the local
// cluster's nodes share) and the socket's lock file go too.
constexpr char kStartScript[] = R"sh(dir=$1; port=$2; address=$3; user=$4; timeout=$5; primary=$6
cd -- "$dir" || exit 1
if pid=$(live "$dir"); then echo "running $pid"; exit 0; fi
bin=$(pg_bin) || { echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)" >&2; exit 1; }
if [ ! -s data/PG_VERSION ] && [ -n "$primary" ]; then
  rm -rf data
  (umask 077 && printf '%s:%s:*:%s:%s\n' "$primary" "$port" "$user" "$(cat)" >passfile) &&
    chown postgres:postgres passfile || exit 1
  i=0
  until as_pg "$bin/pg_isready" -q -h "$primary" -p "$port" -t 1; do
    i=$((i+1))
    if [ $i -gt "$timeout" ]; then
      echo "the primary $primary:$port did not accept connections within $timeout s" >&2; exit 1
    fi
    sleep 1
  done
  if ! PGPASSFILE="$dir/passfile" as_pg "$bin/pg_basebackup" -h "$primary" -p "$port" \
      -U "$user" -D "$dir/data" -R -X stream >basebackup.log 2>&1; then
    echo "pg_basebackup from $primary failed; the end of $dir/basebackup.log:" >&2
    tail -n 20 basebackup.log >&2
    rm -rf data
    exit 1
  fi
  cat >>data/postgresql.auto.conf <<EOF
listen_addresses = '$address'
unix_socket_directories = '$dir'
primary_conninfo = 'host=$primary port=$port user=$user passfile=$dir/passfile application_name=faultline'
EOF
fi
if [ ! -s data/PG_VERSION ]; then
  rm -rf data
  (umask 077 && cat >password) && chown postgres:postgres password || exit 1
  if ! as_pg "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/password" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >initdb.log 2>&1; then
    rm -f password
    echo "initdb failed; the end of $dir/initdb.log:" >&2; tail -n 20 initdb.log >&2
    exit 1
  fi
  rm -f password
  cat >>data/postgresql.conf <<EOF
# faultline
listen_addresses = '$address'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  # The socket (in this 700 directory) trusts local users; TCP needs the password.
  printf '%s\n' 'local all all trust' 'host all all 0.0.0.0/0 scram-sha-256' \
    'host all all ::/0 scram-sha-256' 'host replication all 0.0.0.0/0 scram-sha-256' \
    >data/pg_hba.conf
fi
# The socket's lock file names the killed postmaster too, which may still be a zombie.
rm -f data/postmaster.pid .s.PGSQL.*
if ! as_pg "$bin/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t "$timeout" \
    >pg_ctl.log 2>&1; then
  echo "pg_ctl start failed: $(cat pg_ctl.log); the end of $dir/postgres.log:" >&2
  tail -n 20 postgres.log >&2
  exit 1
fi
pid=$(live "$dir") || { echo "the server exited after it started:" >&2; tail -n 20 postgres.log >&2; exit 1; }
echo "started $pid"
)sh";

// $1 the directory, $2 the port, $3 the user, $4 the SQL: run through the socket.
constexpr char kSqlScript[] = R"sh(cd -- "$1" || exit 1
bin=$(pg_bin) || exit 1
as_pg "$bin/psql" -h "$1" -p "$2" -U "$3" -d postgres -v ON_ERROR_STOP=1 -q -X -c "$4"
)sh";

// The postmaster is stopped first so that it forks nothing while its children are listed.
constexpr char kKillScript[] = R"sh(dir=$1
pid=$(live "$dir") || { echo "not running"; exit 0; }
kill -STOP "$pid"
kids=$(children "$pid")
kill -KILL "$pid" $kids
i=0
while live "$dir" >/dev/null; do
  i=$((i+1))
  if [ $i -gt 200 ]; then echo "postgres $pid still alive 10 s after SIGKILL" >&2; exit 1; fi
  sleep 0.05
done
echo "killed $pid $kids"
)sh";

// STOP: the postmaster first (it would restart what stops under it); CONT: the children first.
constexpr char kSignalScript[] = R"sh(pid=$(live "$1") || { echo "not running"; exit 0; }
kids=$(children "$pid")
if [ "$2" = STOP ]; then kill -STOP "$pid" $kids; else kill -CONT $kids "$pid"; fi
echo "$2 $pid $kids"
)sh";

// A clean, quick stop when the server runs (immediate: no checkpoint, like a crash, but it
// removes its shared memory); a kill when that does not work.
constexpr char kStopScript[] = R"sh(dir=$1
pid=$(live "$dir") || { echo "not running"; exit 0; }
kill -CONT "$pid" $(children "$pid")  # a paused server would never stop
bin=$(pg_bin) && cd -- "$dir" && as_pg "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w -t 30 \
  >/dev/null 2>&1 && { echo "stopped $pid"; exit 0; }
echo "pg_ctl stop failed" >&2
exit 1
)sh";

}  // namespace

PostgresDb::PostgresDb(PostgresOptions options)
    : options_(std::move(options)),
      scripts_("postgres", kPrelude, options_.directory, options_.sudo) {}

Role PostgresDb::RoleOf(const Test& test, const std::string& node) const {
  return NodeRole(options_, test.options, node);
}

Status PostgresDb::Setup(const Test& test, const std::string& node, control::Remote& remote) {
  const Role role = RoleOf(test, node);
  if (role == Role::kNone) return Status::Ok();
  Result<std::string> installed = scripts_.Run(remote, "install", kInstallScript, {}, 600'000);
  if (!installed.ok()) return installed.status();
  Result<std::string> directory = scripts_.Claim(node, remote, "postgres");
  if (!directory.ok()) return directory.status();
  if (Status started = Start(test, node, remote); !started.ok()) return started;
  if (role == Role::kStandby) return Status::Ok();  // the tables come from the primary
  Result<std::string> tables = scripts_.Run(
      remote, "tables", kSqlScript,
      {*directory, std::to_string(options_.port), options_.user, CreateTablesSql()}, 30'000);
  return tables.ok() ? Status::Ok() : tables.status();
}

Status PostgresDb::Start(const Test& test, const std::string& node, control::Remote& remote) {
  const Role role = RoleOf(test, node);
  if (role == Role::kNone) return Status::Ok();
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  auto timeout_s = static_cast<int64_t>(options_.start_timeout_s);
  Result<std::string> started = scripts_.Run(
      remote, "start", kStartScript,
      {*directory, std::to_string(options_.port), NodeAddress(test.options, node), options_.user,
       std::to_string(timeout_s),
       role == Role::kStandby ? NodeAddress(test.options, test.options.nodes.front()) : ""},
      (timeout_s + 120) * 1000, options_.password + "\n");
  return started.ok() ? Status::Ok() : started.status();
}

Status PostgresDb::Teardown(const Test& test, const std::string& node, control::Remote& remote) {
  if (RoleOf(test, node) == Role::kNone) return Status::Ok();
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> stopped = scripts_.Run(remote, "stop", kStopScript, {*directory}, 60'000);
  // A server pg_ctl cannot stop is killed; the kill's own error is the one to report.
  if (!stopped.ok()) {
    if (Status killed = Kill(test, node, remote); !killed.ok()) return killed;
  }
  return scripts_.Remove(node, remote);
}

std::vector<std::string> PostgresDb::LogFiles(const Test& test, const std::string& node) const {
  if (RoleOf(test, node) == Role::kNone) return {};
  return {scripts_.KnownDirectory(node) + "/postgres.log"};
}

Status PostgresDb::Kill(const Test& test, const std::string& node, control::Remote& remote) {
  if (RoleOf(test, node) == Role::kNone) return Status::Ok();
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> killed = scripts_.Run(remote, "kill", kKillScript, {*directory}, 30'000);
  return killed.ok() ? Status::Ok() : killed.status();
}

Status PostgresDb::Signal(const Test& test, const std::string& node, control::Remote& remote,
                          const std::string& signal) {
  if (RoleOf(test, node) == Role::kNone) return Status::Ok();
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> signalled =
      scripts_.Run(remote, "signal", kSignalScript, {*directory, signal}, 10'000);
  return signalled.ok() ? Status::Ok() : signalled.status();
}

Status PostgresDb::Pause(const Test& test, const std::string& node, control::Remote& remote) {
  return Signal(test, node, remote, "STOP");
}

Status PostgresDb::Resume(const Test& test, const std::string& node, control::Remote& remote) {
  return Signal(test, node, remote, "CONT");
}

Result<std::string> PostgresDb::Version(const Test& test, const std::string& node,
                                        control::Remote& remote) {
  if (RoleOf(test, node) == Role::kNone) return std::string();
  Result<std::string> output = scripts_.Run(
      remote, "version", "bin=$(pg_bin) && \"$bin/postgres\" --version", {}, 30'000);
  if (!output.ok()) return output.status();
  return clients::ProgramVersion(*output);
}

}  // namespace faultline::postgres
