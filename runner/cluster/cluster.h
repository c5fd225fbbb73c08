// Local cluster: nodes as Linux network namespaces on this machine, each with its own sshd.
//
// ClusterUp builds, as root: a bridge `fl-br0` holding the controller's address 10.213.0.1/24;
// per node i (1-based) a network namespace `fl-n<i>` whose `eth0` (the peer of the host-side
// veth `fl-v<i>`, enslaved to the bridge) has 10.213.0.(10+i)/24 and no default route, so no
// traffic leaves the subnet; and an sshd inside the namespace, in its own UTS and mount namespace,
// with hostname `n<i>`, the node's `root/` directory bind-mounted over /root and the cluster's
// hosts file over /etc/hosts. The controller reaches the nodes with a generated key pair and a
// known_hosts file holding every node's host key, so host keys are verified as for real machines.
//
// Everything lives under the state directory (default /run/faultline/cluster). It holds root's
// keys to the nodes, and each node's authorized_keys for root, so it must be root's alone:
// ClusterUp, ClusterDown and ClusterStatus refuse one that another user could change (the
// directory or one above it owned by another user, writable by group or others other than a
// sticky directory like /tmp, or a symlink anywhere on the path; the rules are in
// state_directory.h), ClusterUp creates missing directories 0700, writes every file through a
// fresh O_EXCL|O_NOFOLLOW name renamed into place, and reuses an existing key pair only when the
// private key is root's with mode 0600. It holds:
//   cluster.json               nodes, addresses, sshd pids (written before anything is created,
//                              so ClusterDown can undo a half-built cluster)
//   id_ed25519{,.pub}          the controller's key pair; known_hosts
//   n<i>/root/                 the node's /root (.ssh/authorized_keys)
//   n<i>/etc/hosts             the node's /etc/hosts
//   n<i>/data/                 the node's data directory (the same path inside the node)
//   n<i>/ssh_host_ed25519_key  n<i>/sshd_config  n<i>/sshd.pid  n<i>/sshd.log
//
// ClusterDown removes exactly what cluster.json and the naming scheme say ClusterUp created: each
// recorded sshd (after checking /proc/<pid>/comm and cmdline), the processes left inside the
// node namespaces, the namespaces, the veths and the bridge (only when the bridge's alias names
// this state directory). It touches no other namespace, link, iptables rule or process, and
// leaves the state directory's keys in place for the next ClusterUp.
//
// The subnet and names are fixed, so one cluster exists per machine; a second state directory
// finds the bridge owned by the first and fails. Thread safety: none of these functions may run
// concurrently with another on the same machine.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "runner/control/ssh_remote.h"

namespace faultline::cluster {

inline constexpr char kDefaultStateDirectory[] = "/run/faultline/cluster";
inline constexpr char kBridge[] = "fl-br0";
inline constexpr char kControllerAddress[] = "10.213.0.1";
inline constexpr int kMaxNodes = 200;  // node addresses end at 10.213.0.210

struct ClusterOptions {
  int nodes = 5;  // used by ClusterUp only
  std::filesystem::path state_directory = kDefaultStateDirectory;
  int64_t ready_timeout_ms = 10'000;  // for every sshd to accept connections
};

struct NodeInfo {
  std::string name;                      // n<i>: the hostname and the name in the hosts file
  std::string address;                   // 10.213.0.(10+i)
  std::string namespace_name;            // fl-n<i>
  std::string host_link;                 // fl-v<i>
  std::filesystem::path directory;       // state/n<i>
  std::filesystem::path data_directory;  // state/n<i>/data, the same path inside the node
  int sshd_pid = 0;                      // in the host's PID namespace
  // Filled by ClusterStatus (ClusterUp sets them when it has checked them).
  bool sshd_running = false;
  bool ssh_works = false;
  std::string problem;  // why sshd_running or ssh_works is false
};

struct ClusterInfo {
  std::filesystem::path state_directory;
  std::string bridge = kBridge;
  std::string controller_address = kControllerAddress;
  std::filesystem::path private_key_path;  // state/id_ed25519
  std::filesystem::path known_hosts_path;  // state/known_hosts
  std::vector<NodeInfo> nodes;
  bool reused = false;  // ClusterUp found this cluster already healthy and left it as it was
};

// Builds the cluster, or returns the existing one unchanged when it is healthy and has
// options.nodes nodes. A half-built, unhealthy or differently sized cluster of this state
// directory is torn down and rebuilt. Errors name the command that failed and its stderr.
Result<ClusterInfo> ClusterUp(const ClusterOptions& options);

// Removes everything ClusterUp created for options.state_directory; ok when nothing is there.
Status ClusterDown(const ClusterOptions& options);

// The recorded cluster, with each node's sshd_running, ssh_works (a connection through
// NodeSshOptions that runs `true`) and problem filled in. NotFound-like IoError when no cluster
// was recorded in the state directory.
Result<ClusterInfo> ClusterStatus(const ClusterOptions& options);

// How the controller connects to `node` (pass node.name as ConnectSsh's node name).
control::SshOptions NodeSshOptions(const ClusterInfo& cluster, const NodeInfo& node);

}  // namespace faultline::cluster
