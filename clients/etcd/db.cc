// EtcdDb: one etcd member per node, driven over the node's Remote with small sh scripts. Each
// script gets the node's directory as $1 and identifies the member by its pid file, checked
// against /proc (see Live below) before any signal.
#include <curl/curl.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "clients/etcd/etcd.h"
#include "clients/etcd/gateway.h"
#include "clients/etcd/http.h"
#include "clients/servers/server_support.h"
#include "runner/control/remote.h"

namespace faultline::etcd {
namespace {

using Clock = std::chrono::steady_clock;

// Prints the pid of this directory's etcd when it runs: the pid file's process is named etcd,
// was started with this directory's --data-dir (other nodes' members share the PID namespace
// and may reuse a pid), and is neither a zombie nor dead (a killed etcd may stay a zombie for
// seconds, and kill -0 succeeds on zombies).
constexpr char kLive[] = R"sh(live() {
  pid=$(cat "$1/etcd.pid" 2>/dev/null) || return 1
  case "$pid" in ''|*[!0-9]*) return 1;; esac
  [ "$(cat /proc/$pid/comm 2>/dev/null)" = etcd ] || return 1
  tr '\0' '\n' 2>/dev/null </proc/$pid/cmdline | grep -qxF -- "--data-dir=$1/data" || return 1
  state=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -c1)
  case "$state" in ''|Z|X) return 1;; esac
  echo "$pid"
}
)sh";

constexpr char kDirectoryScript[] = R"sh(mkdir -p -- "$1" && cd -- "$1" && pwd -P)sh";

// Setup's kDirectoryScript: the directory is taken only when it is new (or empty), and then
// marked, or when it carries the mark of an earlier Setup. Teardown removes only a marked one, so
// a directory option pointed at someone's files (a home, /var/lib/...) removes nothing.
constexpr char kClaimScript[] = R"sh(mkdir -p -- "$1" && cd -- "$1" || exit 1
if [ ! -e .faultline-etcd ]; then
  if [ -n "$(ls -A)" ]; then
    echo "$(pwd -P) is not empty and has no .faultline-etcd marker: faultline did not set it up," \
      "and its teardown would remove it (remove it yourself or choose another directory)" >&2
    exit 3
  fi
  echo "made by faultline's etcd setup; its teardown removes this directory" >.faultline-etcd \
    || exit 1
fi
pwd -P)sh";

// Debian's etcd-server would start a host-wide etcd on install: a policy-rc.d (only when none
// exists, removed afterwards) forbids that, as scripts/setup.sh does.
constexpr char kInstallScript[] = R"sh(command -v etcd >/dev/null && command -v etcdctl >/dev/null && exit 0
s=; [ "$(id -u)" = 0 ] || s="sudo -n"
guard=/usr/sbin/policy-rc.d
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' | $s tee "$guard" >/dev/null && $s chmod 755 "$guard"
  trap '$s rm -f "$guard"' EXIT
fi
$s env DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server etcd-client
)sh";

// $1 the directory, then etcd's flags. The stale pid file goes first: its pid may now belong to
// another node's etcd, which start-stop-daemon would take for ours and not start.
constexpr char kStartScript[] = R"sh(dir=$1; shift
PATH="$PATH:/usr/sbin:/sbin"  # start-stop-daemon, for users whose PATH lacks them
if pid=$(live "$dir"); then echo "running $pid"; exit 0; fi
exe=$(command -v etcd) || { echo "etcd is not installed" >&2; exit 1; }
rm -f "$dir/etcd.pid"
start-stop-daemon --start --background --make-pidfile --pidfile "$dir/etcd.pid" \
  --chdir "$dir" --output "$dir/etcd.log" --exec "$exe" -- "$@" || exit 1
i=0
until live "$dir" >/dev/null; do
  i=$((i+1))
  if [ $i -gt 150 ]; then
    echo "etcd did not start; the end of $dir/etcd.log:" >&2; tail -n 20 "$dir/etcd.log" >&2
    exit 1
  fi
  sleep 0.02
done
echo "started $(cat "$dir/etcd.pid")"
)sh";

constexpr char kKillScript[] = R"sh(dir=$1
pid=$(live "$dir") || { echo "not running"; exit 0; }
kill -KILL "$pid"
i=0
while live "$dir" >/dev/null; do
  i=$((i+1))
  if [ $i -gt 200 ]; then echo "etcd $pid still alive 10 s after SIGKILL" >&2; exit 1; fi
  sleep 0.05
done
rm -f "$dir/etcd.pid"
echo "killed $pid"
)sh";

constexpr char kSignalScript[] = R"sh(pid=$(live "$1") || { echo "not running"; exit 0; }
kill "-$2" "$pid" && echo "$2 $pid"
)sh";

// "running", or "stopped" and the end of the log.
constexpr char kAliveScript[] = R"sh(if live "$1" >/dev/null; then echo running; exit 0; fi
echo stopped; tail -n 20 "$1/etcd.log" 2>/dev/null
)sh";

// Amnesia: $1 the directory, $2 the member's name, $3 its peer URL, $4 the other members' client
// URLs (comma-separated). The member is found by its peer URL: a member added by an earlier wipe
// that never started has no name yet. The member must not run: its data goes. etcd refuses
// membership changes until its members have been connected for 5 s ("unhealthy cluster"), and a
// change may go through although its answer was lost, so each step is retried for up to 30 s,
// looking first whether it is done already.
constexpr char kWipeScript[] = R"sh(dir=$1; name=$2; peer=$3; endpoints=$4
if pid=$(live "$dir"); then echo "etcd $pid still runs: it is killed before a wipe" >&2; exit 1; fi
command -v etcdctl >/dev/null || { echo "etcdctl is not installed (Debian etcd-client)" >&2; exit 1; }
ctl() { ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --dial-timeout=2s --command-timeout=10s "$@"; }
member_id() {
  list=$(ctl member list) || return 1
  printf '%s\n' "$list" | awk -F', ' -v peer="$peer" '$4 == peer { print $1 }'
}
give_up() { echo "$name: $1 within 30 s; the last answer: $(tail -n 1 "$dir/wipe.err")" >&2; exit 1; }
i=0
while :; do
  if id=$(member_id 2>"$dir/wipe.err"); then
    [ -z "$id" ] && break
    ctl member remove "$id" >/dev/null 2>"$dir/wipe.err" && break
  fi
  i=$((i+1)); [ $i -ge 30 ] && give_up "the member could not be removed"
  sleep 1
done
rm -rf -- "$dir/data" || exit 1
i=0
until ctl member add "$name" --peer-urls="$peer" >/dev/null 2>"$dir/wipe.err"; do
  id=$(member_id 2>/dev/null) && [ -n "$id" ] && break
  i=$((i+1)); [ $i -ge 30 ] && give_up "the member could not be added back"
  sleep 1
done
rm -f "$dir/wipe.err"
echo "wiped $name"
)sh";

// Removes only what Setup marked; an empty directory (made by Kill's or Start's resolution on a
// node Setup never reached) goes too, there is nothing in it to lose.
constexpr char kTeardownScript[] = R"sh([ -e "$1/.faultline-etcd" ] && exec rm -rf -- "$1"
[ -e "$1" ] || exit 0
rmdir -- "$1" 2>/dev/null && exit 0
echo "$1 has no .faultline-etcd marker (Setup did not make it): not removed" >&2
exit 3
)sh";

// sh -c '<live()><script>' <name> <args...>: the name shows in ps and in FakeRemote's records.
control::Command Script(const std::string& name, const std::string& script,
                        std::vector<std::string> arguments, int64_t timeout_ms) {
  control::Command command;
  command.argv = {"sh", "-c", std::string(kLive) + script, name};
  for (std::string& argument : arguments) command.argv.push_back(std::move(argument));
  command.timeout_ms = timeout_ms;
  return command;
}

std::string PeerUrl(const TestOptions& test, const std::string& node, int port) {
  return ClientUrl(test, node, port);  // the same form, on the peer port
}

Result<bool> ProbeHealth(const std::string& base_url, int64_t timeout_ms) {
  CURL* curl = NewCurlHandle();
  HttpExchange exchange = HttpExchangeOnce(curl, base_url + "/health", "", timeout_ms);
  curl_easy_cleanup(curl);
  return ReadHealth(exchange);
}

}  // namespace

EtcdDb::EtcdDb(EtcdOptions options, HealthProbe probe)
    : options_(std::move(options)), probe_(probe ? std::move(probe) : HealthProbe(ProbeHealth)) {}

Result<std::string> EtcdDb::Directory(const std::string& node, control::Remote& remote) {
  {
    std::lock_guard lock(mutex_);
    auto found = directories_.find(node);
    if (found != directories_.end()) return found->second;
  }
  return Resolve(node, remote,
                 Script("faultline-etcd-dir", kDirectoryScript, {options_.directory}, 10'000));
}

Result<std::string> EtcdDb::Claim(const std::string& node, control::Remote& remote) {
  return Resolve(node, remote,
                 Script("faultline-etcd-claim", kClaimScript, {options_.directory}, 10'000));
}

Result<std::string> EtcdDb::Resolve(const std::string& node, control::Remote& remote,
                                    const control::Command& script) {
  Result<control::CommandResult> result = control::Run(remote, script);
  if (!result.ok()) return result.status();
  std::string directory = result->out.substr(0, result->out.find('\n'));
  if (directory.empty() || directory[0] != '/') {
    return Status::IoError(node + ": could not resolve the etcd directory " + options_.directory +
                           " (got '" + directory + "')");
  }
  std::lock_guard lock(mutex_);
  directories_[node] = directory;
  return directory;
}

std::vector<std::string> EtcdDb::MemberFlags(const Test& test, const std::string& node,
                                             const std::string& directory) const {
  bool wiped;
  {
    std::lock_guard lock(mutex_);
    wiped = wiped_.count(node) > 0;
  }
  const TestOptions& o = test.options;
  std::string cluster;
  for (const std::string& member : o.nodes) {
    if (!cluster.empty()) cluster += ",";
    cluster += member + "=" + PeerUrl(o, member, options_.peer_port);
  }
  auto flag = [](const std::string& name, const std::string& value) {
    return "--" + name + "=" + value;
  };
  std::string any = "http://0.0.0.0:";
  return {flag("name", node),
          flag("data-dir", directory + "/data"),
          flag("listen-client-urls", any + std::to_string(options_.client_port)),
          flag("advertise-client-urls", ClientUrl(o, node, options_.client_port)),
          flag("listen-peer-urls", any + std::to_string(options_.peer_port)),
          flag("initial-advertise-peer-urls", PeerUrl(o, node, options_.peer_port)),
          flag("initial-cluster", cluster),
          flag("initial-cluster-state", wiped ? "existing" : "new"),
          flag("initial-cluster-token", "faultline-" + o.name),
          flag("heartbeat-interval", std::to_string(options_.heartbeat_interval_ms)),
          flag("election-timeout", std::to_string(options_.election_timeout_ms)),
          flag("logger", "zap"),
          flag("log-outputs", "stderr")};
}

Status EtcdDb::Install(control::Remote& remote) {
  Result<control::CommandResult> result =
      control::Run(remote, Script("faultline-etcd-install", kInstallScript, {}, 600'000));
  return result.ok() ? Status::Ok() : result.status();
}

Status EtcdDb::Setup(const Test& test, const std::string& node, control::Remote& remote) {
  if (Status installed = Install(remote); !installed.ok()) return installed;
  Result<std::string> directory = Claim(node, remote);
  if (!directory.ok()) return directory.status();
  if (Status started = Start(test, node, remote); !started.ok()) return started;
  return WaitHealthy(test, node, remote, *directory);
}

Status EtcdDb::WaitHealthy(const Test& test, const std::string& node, control::Remote& remote,
                           const std::string& directory) {
  std::string url = ClientUrl(test.options, node, options_.client_port);
  auto deadline = Clock::now() + std::chrono::duration<double>(options_.start_timeout_s);
  while (true) {
    // Something that is not etcd's health answer fails at once: waiting would not change it.
    Result<bool> healthy = probe_(url, 1000);
    if (!healthy.ok()) {
      return Status::IoError(node + ": " + url + "/health " + healthy.status().message());
    }
    if (*healthy) break;
    Result<control::CommandResult> alive =
        control::Run(remote, Script("faultline-etcd-alive", kAliveScript, {directory}, 10'000));
    if (!alive.ok()) return alive.status();
    if (alive->out.rfind("stopped", 0) == 0) {
      return Status::IoError(node + ": etcd exited while starting; the end of its log:\n" +
                             control::OutputTail(alive->out.substr(8)));
    }
    if (Clock::now() > deadline) {
      std::ostringstream message;
      message << node << ": etcd at " << url << " not healthy after " << options_.start_timeout_s
              << " s";
      return Status::IoError(message.str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Ok();
}

Status EtcdDb::Teardown(const Test& test, const std::string& node, control::Remote& remote) {
  if (Status killed = Kill(test, node, remote); !killed.ok()) return killed;
  Result<std::string> directory = Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<control::CommandResult> removed = control::Run(
      remote, Script("faultline-etcd-teardown", kTeardownScript, {*directory}, 60'000));
  if (!removed.ok()) return removed.status();
  std::lock_guard lock(mutex_);
  directories_.erase(node);
  return Status::Ok();
}

std::vector<std::string> EtcdDb::LogFiles(const Test&, const std::string& node) const {
  std::lock_guard lock(mutex_);
  auto found = directories_.find(node);
  // SFTP resolves a relative path against the login directory, as the scripts' `cd` does.
  std::string directory = found != directories_.end() ? found->second : options_.directory;
  return {directory + "/etcd.log"};
}

Status EtcdDb::Start(const Test& test, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = Directory(node, remote);
  if (!directory.ok()) return directory.status();
  std::vector<std::string> arguments = {*directory};
  for (std::string& flag : MemberFlags(test, node, *directory)) arguments.push_back(flag);
  Result<control::CommandResult> result =
      control::Run(remote, Script("faultline-etcd-start", kStartScript, arguments, 30'000));
  return result.ok() ? Status::Ok() : result.status();
}

Status EtcdDb::Kill(const Test&, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<control::CommandResult> result =
      control::Run(remote, Script("faultline-etcd-kill", kKillScript, {*directory}, 30'000));
  return result.ok() ? Status::Ok() : result.status();
}

Status EtcdDb::Signal(const std::string& node, control::Remote& remote, const std::string& signal) {
  Result<std::string> directory = Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<control::CommandResult> result = control::Run(
      remote, Script("faultline-etcd-signal", kSignalScript, {*directory, signal}, 10'000));
  return result.ok() ? Status::Ok() : result.status();
}

Status EtcdDb::Pause(const Test&, const std::string& node, control::Remote& remote) {
  return Signal(node, remote, "STOP");
}

Status EtcdDb::Resume(const Test&, const std::string& node, control::Remote& remote) {
  return Signal(node, remote, "CONT");
}

Status EtcdDb::Wipe(const Test& test, const std::string& node, control::Remote& remote) {
  Result<std::string> directory = Directory(node, remote);
  if (!directory.ok()) return directory.status();
  std::string endpoints;
  for (const std::string& member : test.options.nodes) {
    if (member == node) continue;
    endpoints += (endpoints.empty() ? "" : ",") + ClientUrl(test.options, member, options_.client_port);
  }
  if (endpoints.empty()) return Status::Unsupported(node + ": a lone etcd member cannot be wiped");
  Result<control::CommandResult> result = control::Run(
      remote, Script("faultline-etcd-wipe", kWipeScript,
                     {*directory, node, PeerUrl(test.options, node, options_.peer_port), endpoints},
                     120'000));
  if (!result.ok()) return result.status();
  std::lock_guard lock(mutex_);
  wiped_.insert(node);
  return Status::Ok();
}

Result<std::string> EtcdDb::Version(const Test&, const std::string&, control::Remote& remote) {
  Result<control::CommandResult> result =
      control::Run(remote, Script("faultline-etcd-version", "etcd --version", {}, 30'000));
  if (!result.ok()) return result.status();
  return clients::ProgramVersion(result->out);
}

}  // namespace faultline::etcd
