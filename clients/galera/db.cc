// GaleraDb: a mariadbd with the Galera provider per node, driven over the node's Remote with small
// sh scripts run as root. Each script gets the node's directory as $1 and finds the server by the
// pid the start script recorded in mariadbd.pid, checked against /proc (live below) before any
// signal.
#include <algorithm>

#include "clients/galera/galera.h"
#include "clients/servers/server_support.h"
#include "runner/control/remote.h"

namespace faultline::galera {
namespace {

// Shared by every script:
// - live: mariadbd's pid when this directory's server runs. The recorded process must be named
//   mariadbd, have been started with this directory's my.cnf (other nodes' servers share the PID
//   namespace on the local cluster and may reuse a pid), and be neither a zombie nor dead.
// - status: one of the server's status variables, asked as root over its socket.
constexpr char kPrelude[] = R"sh([ "$(id -u)" = 0 ] || {
  echo "the galera scripts need root on the node (log in as root, or let the SSH user sudo)" >&2
  exit 1
}
live() {
  pid=$(head -n 1 "$1/mariadbd.pid" 2>/dev/null) || return 1
  case "$pid" in ''|*[!0-9]*) return 1;; esac
  [ "$(cat /proc/$pid/comm 2>/dev/null)" = mariadbd ] || return 1
  tr '\0' '\n' 2>/dev/null </proc/$pid/cmdline | grep -qxF -- "--defaults-file=$1/my.cnf" || return 1
  state=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -c1)
  case "$state" in ''|Z|X) return 1;; esac
  echo "$pid"
}
status() {
  mariadb --no-defaults -S "$1/mysqld.sock" -u root -N -B \
    -e "SHOW STATUS LIKE '$2'" 2>/dev/null | cut -f2
}
)sh";

// Debian's mariadb-server would start a host-wide server on install: a policy-rc.d (only when
// none exists, removed afterwards) forbids that, as scripts/setup.sh does.
constexpr char kInstallScript[] =
    R"sh(command -v mariadbd >/dev/null && [ -e /usr/lib/galera/libgalera_smm.so ] && exit 0
guard=/usr/sbin/policy-rc.d
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server galera-4 rsync
)sh";

// $1 the directory, $2 bootstrap (1: a new cluster), $3 the address of the node to wait for ("":
// none), $4 the port, $5 the timeout (s), $6 the test's user; on stdin the password's line, then my.cnf. The data
// directory is made once (mariadb-install-db; a directory without mysql/ is an interrupted
// attempt's and made again). A joiner waits until the node before it answers, as the test's user,
// that it is Synced: one joins at a time, each with a synced donor. mariadbd gets a session and
// process group of its own (setsid), detached from the SSH command; its pid is recorded. It is
// up once its local state is Synced (a joiner's state transfer done).
constexpr char kStartScript[] =
    R"sh(dir=$1; bootstrap=$2; previous=$3; port=$4; timeout=$5; user=$6
cd -- "$dir" || exit 1
IFS= read -r password
(umask 077 && printf '[client]\nuser=%s\npassword=%s\n' "$user" "$password" >client.cnf &&
  cat >my.cnf.new) && chmod 644 my.cnf.new && mv my.cnf.new my.cnf || exit 1
if pid=$(live "$dir"); then echo "running $pid"; exit 0; fi
command -v mariadbd >/dev/null && [ -e /usr/lib/galera/libgalera_smm.so ] || {
  echo "mariadbd or /usr/lib/galera/libgalera_smm.so is missing (mariadb-server, galera-4)" >&2
  exit 1
}
# rsync is the state transfer that needs no other package; mariabackup when there is no rsync.
command -v rsync >/dev/null || sed -i 's/^wsrep_sst_method = .*/wsrep_sst_method = mariabackup/' my.cnf
if [ ! -d data/mysql ]; then
  rm -rf data
  if ! mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" --skip-test-db \
      --auth-root-authentication-method=socket >install-db.log 2>&1; then
    echo "mariadb-install-db failed; the end of $dir/install-db.log:" >&2
    tail -n 20 install-db.log >&2; exit 1
  fi
fi
if [ -n "$previous" ]; then
  i=0
  until [ "$(mariadb --defaults-file="$dir/client.cnf" -h "$previous" -P "$port" -N -B \
      --connect-timeout=2 -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null |
      cut -f2)" = Synced ]; do
    i=$((i+1))
    if [ $i -gt "$timeout" ]; then
      echo "$previous:$port was no Synced Galera node within $timeout s: not joining" >&2; exit 1
    fi
    sleep 1
  done
fi
new=
[ "$bootstrap" = 1 ] && new=--wsrep-new-cluster
rm -f mysqld.pid mysqld.sock
setsid mariadbd --defaults-file="$dir/my.cnf" $new </dev/null >>mariadbd.out 2>&1 &
echo $! >mariadbd.pid
i=0
until [ "$(status "$dir" wsrep_local_state_comment)" = Synced ]; do
  i=$((i+1))
  if ! live "$dir" >/dev/null; then
    echo "mariadbd in $dir exited; the end of $dir/mariadb.log:" >&2
    tail -n 30 mariadb.log >&2; exit 1
  fi
  if [ $i -gt $((timeout * 5)) ]; then
    echo "mariadbd in $dir was not Synced within $timeout s; the end of $dir/mariadb.log:" >&2
    tail -n 30 mariadb.log >&2; exit 1
  fi
  sleep 0.2
done
echo "started $(live "$dir")"
)sh";

// $1 the directory; the SQL on stdin, run as root over the socket.
constexpr char kSqlScript[] = R"sh(mariadb --no-defaults -S "$1/mysqld.sock" -u root -N -B
)sh";

// $1 the directory, $2 the cluster's size, $3 the timeout (s): until this node is Synced in a
// cluster of that many nodes.
constexpr char kClusterScript[] = R"sh(dir=$1; nodes=$2; timeout=$3
i=0
while :; do
  size=$(status "$dir" wsrep_cluster_size); state=$(status "$dir" wsrep_local_state_comment)
  [ "$size" = "$nodes" ] && [ "$state" = Synced ] && break
  i=$((i+1))
  if [ $i -gt $((timeout * 5)) ]; then
    echo "after $timeout s the node in $dir has wsrep_cluster_size '$size' and state '$state'" \
      "(not $nodes, Synced)" >&2
    exit 1
  fi
  sleep 0.2
done
echo "$state, cluster size $size"
)sh";

// The whole process group: state-transfer scripts and their rsync die (or stop) with mariadbd.
constexpr char kKillScript[] = R"sh(dir=$1
pid=$(live "$dir") || { echo "not running"; exit 0; }
kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
i=0
while live "$dir" >/dev/null; do
  i=$((i+1))
  if [ $i -gt 200 ]; then echo "mariadbd $pid still alive 10 s after SIGKILL" >&2; exit 1; fi
  sleep 0.05
done
echo "killed $pid"
)sh";

constexpr char kSignalScript[] = R"sh(pid=$(live "$1") || { echo "not running"; exit 0; }
kill -"$2" -- "-$pid" 2>/dev/null || kill -"$2" "$pid"
echo "$2 $pid"
)sh";

// The node's position in the test's nodes; -1 when it is none of them.
int NodeIndex(const Test& test, const std::string& node) {
  const auto& nodes = test.options.nodes;
  const auto found = std::find(nodes.begin(), nodes.end(), node);
  return found == nodes.end() ? -1 : static_cast<int>(found - nodes.begin());
}

}  // namespace

GaleraDb::GaleraDb(GaleraOptions options)
    : options_(std::move(options)),
      scripts_("galera", kPrelude, options_.directory, options_.sudo) {}

Status GaleraDb::Setup(const Test& test, const std::string& node, control::Remote& remote) {
  const int index = NodeIndex(test, node);
  if (index < 0) return Status::InvalidArgument("galera: " + node + " is not one of the nodes");
  Result<std::string> installed = scripts_.Run(remote, "install", kInstallScript, {}, 600'000);
  if (!installed.ok()) return installed.status();
  Result<std::string> directory = scripts_.Claim(node, remote, "mysql");
  if (!directory.ok()) return directory.status();
  const std::string previous =
      index == 0 ? "" : NodeAddress(test.options, test.options.nodes[index - 1]);
  if (Status started = StartNode(test, node, remote, index == 0, previous); !started.ok()) {
    return started;
  }
  const auto timeout_s = static_cast<int64_t>(options_.start_timeout_s);
  if (index == 0) {
    Result<std::string> made =
        scripts_.Run(remote, "sql", kSqlScript, {*directory}, 30'000, SetupSql(options_));
    if (!made.ok()) return made.status();
  }
  // The last node joins after all the others' starts: up to one start timeout per node.
  Result<std::string> joined = scripts_.Run(
      remote, "cluster", kClusterScript,
      {*directory, std::to_string(test.options.nodes.size()),
       std::to_string(timeout_s * static_cast<int64_t>(test.options.nodes.size()))},
      (timeout_s * static_cast<int64_t>(test.options.nodes.size()) + 60) * 1000);
  return joined.ok() ? Status::Ok() : joined.status();
}

Status GaleraDb::StartNode(const Test& test, const std::string& node, control::Remote& remote,
                           bool bootstrap, const std::string& previous) {
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  std::vector<std::string> peers;
  for (const std::string& peer : test.options.nodes) peers.push_back(NodeAddress(test.options, peer));
  const std::string config =
      ConfigText(options_, *directory, node, NodeAddress(test.options, node), peers);
  const auto timeout_s = static_cast<int64_t>(options_.start_timeout_s);
  // Waiting for the node before it, then for itself: two timeouts at most.
  Result<std::string> started = scripts_.Run(
      remote, "start", kStartScript,
      {*directory, bootstrap ? "1" : "0", previous, std::to_string(options_.port),
       std::to_string(timeout_s), options_.user},
      (2 * timeout_s + 60) * 1000, options_.password + "\n" + config);
  return started.ok() ? Status::Ok() : started.status();
}

Status GaleraDb::Start(const Test& test, const std::string& node, control::Remote& remote) {
  if (NodeIndex(test, node) < 0) return Status::Ok();
  return StartNode(test, node, remote, false, "");
}

Status GaleraDb::Teardown(const Test& test, const std::string& node, control::Remote& remote) {
  if (NodeIndex(test, node) < 0) return Status::Ok();
  // Nothing to keep: the server is killed by its recorded pid and its directory removed.
  if (Status killed = Kill(test, node, remote); !killed.ok()) return killed;
  return scripts_.Remove(node, remote);
}

std::vector<std::string> GaleraDb::LogFiles(const Test& test, const std::string& node) const {
  if (NodeIndex(test, node) < 0) return {};
  return {scripts_.KnownDirectory(node) + "/mariadb.log"};
}

Status GaleraDb::Kill(const Test& test, const std::string& node, control::Remote& remote) {
  if (NodeIndex(test, node) < 0) return Status::Ok();
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> killed = scripts_.Run(remote, "kill", kKillScript, {*directory}, 30'000);
  return killed.ok() ? Status::Ok() : killed.status();
}

Status GaleraDb::Signal(const Test& test, const std::string& node, control::Remote& remote,
                        const std::string& signal) {
  if (NodeIndex(test, node) < 0) return Status::Ok();
  Result<std::string> directory = scripts_.Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> signalled =
      scripts_.Run(remote, "signal", kSignalScript, {*directory, signal}, 10'000);
  return signalled.ok() ? Status::Ok() : signalled.status();
}

Status GaleraDb::Pause(const Test& test, const std::string& node, control::Remote& remote) {
  return Signal(test, node, remote, "STOP");
}

Status GaleraDb::Resume(const Test& test, const std::string& node, control::Remote& remote) {
  return Signal(test, node, remote, "CONT");
}

Result<std::string> GaleraDb::Version(const Test&, const std::string&, control::Remote& remote) {
  Result<std::string> output = scripts_.Run(remote, "version", "mariadbd --version", {}, 30'000);
  if (!output.ok()) return output.status();
  return clients::ProgramVersion(*output);
}

}  // namespace faultline::galera
