#include "runner/cluster/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <thread>

#include "runner/cluster/state_directory.h"
#include "runner/control/local_remote.h"
#include "runner/control/remote.h"

namespace faultline::cluster {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kIp[] = "/usr/sbin/ip";
constexpr char kSshKeygen[] = "/usr/bin/ssh-keygen";
constexpr char kSshd[] = "/usr/sbin/sshd";
constexpr char kUnshare[] = "/usr/bin/unshare";
constexpr char kShell[] = "/bin/sh";
constexpr char kClusterFile[] = "cluster.json";
// The bridge's alias records which state directory owns it, so that a second state directory
// (or a stale cluster.json) never removes links and namespaces another cluster is using.
constexpr char kAliasPrefix[] = "faultline-cluster:";

std::string NodeName(int index) { return "n" + std::to_string(index); }
std::string NodeAddress(int index) { return "10.213.0." + std::to_string(10 + index); }
std::string NamespaceName(int index) { return "fl-n" + std::to_string(index); }
std::string HostLink(int index) { return "fl-v" + std::to_string(index); }

NodeInfo MakeNode(const fs::path& state_directory, int index) {
  NodeInfo node;
  node.name = NodeName(index);
  node.address = NodeAddress(index);
  node.namespace_name = NamespaceName(index);
  node.host_link = HostLink(index);
  node.directory = state_directory / node.name;
  node.data_directory = node.directory / "data";
  return node;
}

ClusterInfo MakeCluster(const fs::path& state_directory, int nodes) {
  ClusterInfo cluster;
  cluster.state_directory = state_directory;
  cluster.private_key_path = state_directory / "id_ed25519";
  cluster.known_hosts_path = state_directory / "known_hosts";
  for (int index = 1; index <= nodes; ++index) {
    cluster.nodes.push_back(MakeNode(state_directory, index));
  }
  return cluster;
}

fs::path SshdConfigPath(const NodeInfo& node) { return node.directory / "sshd_config"; }
fs::path SshdPidPath(const NodeInfo& node) { return node.directory / "sshd.pid"; }
fs::path HostKeyPath(const NodeInfo& node) { return node.directory / "ssh_host_ed25519_key"; }

std::string BridgeAlias(const fs::path& state_directory) {
  return kAliasPrefix + state_directory.string();
}

Status RunCommand(const std::vector<std::string>& argv, std::string* out = nullptr) {
  control::LocalRemote local("controller");
  control::Command command;
  command.argv = argv;
  command.timeout_ms = 20'000;
  Result<control::CommandResult> result = control::Run(local, command);
  if (!result.ok()) return result.status();
  if (out != nullptr) *out = result->out;
  return Status::Ok();
}

// Files in the state directory, /proc and /sys: a symlink at the last component is never
// followed (state_directory.h).
Result<std::string> ReadText(const fs::path& path) { return ReadFileNoFollow(path); }

// Every file the cluster writes is replaced through a fresh O_EXCL|O_NOFOLLOW name and a rename
// (state_directory.h), so a crash never leaves a torn cluster.json and nothing planted is followed.
Status WriteText(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  return WriteFileExclusively(path, text, mode);
}

// Directories in the state directory: created 0700, each component checked (state_directory.h).
Status MakeDirectories(const fs::path& path) { return MakeTrustedDirectory(path, ::geteuid()); }

bool LinkExists(const std::string& name) { return fs::exists(fs::path("/sys/class/net") / name); }
bool NamespaceExists(const std::string& name) { return fs::exists(fs::path("/run/netns") / name); }

std::string BridgeOwner() {
  Result<std::string> alias = ReadText(fs::path("/sys/class/net") / kBridge / "ifalias");
  if (!alias.ok()) return "";
  std::string text = *alias;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// --- processes -------------------------------------------------------------------------------

// The process's state letter from /proc/<pid>/stat ('\0' when there is no such process).
char ProcessState(int pid) {
  Result<std::string> stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return '\0';
  // The command name is in parentheses and may hold spaces: the state follows the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return '\0';
  return (*stat)[close + 2];
}

// Dead, or a zombie that init has not reaped yet (kill -0 would still succeed on it).
bool ProcessGone(int pid) {
  if (pid <= 0) return true;
  ::waitpid(pid, nullptr, WNOHANG);  // reaps it when it is this process's child
  char state = ProcessState(pid);
  return state == '\0' || state == 'Z' || state == 'X';
}

// True when `pid` is a live sshd started with this node's config file: a recycled pid fails the
// name or the command line check, so it is never signalled.
bool IsNodeSshd(int pid, const NodeInfo& node) {
  if (pid <= 0 || ProcessGone(pid)) return false;
  Result<std::string> comm = ReadText("/proc/" + std::to_string(pid) + "/comm");
  if (!comm.ok() || *comm != "sshd\n") return false;
  Result<std::string> command_line = ReadText("/proc/" + std::to_string(pid) + "/cmdline");
  if (!command_line.ok()) return false;
  for (char& c : *command_line) {
    if (c == '\0') c = ' ';
  }
  return command_line->find(SshdConfigPath(node).string()) != std::string::npos;
}

// Waits until every pid is gone, up to `timeout_ms`; true when they all are.
bool WaitGone(const std::vector<int>& pids, int64_t timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    bool all_gone = true;
    for (int pid : pids) all_gone = all_gone && ProcessGone(pid);
    if (all_gone) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Starts `argv` detached: its own session, stdin and stdout on /dev/null, stderr appended to
// `log`, no descriptor of ours inherited. Returns its pid.
Result<int> SpawnDetached(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return Status::IoError(std::string("cannot open /dev/null: ") + strerror(errno));
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    ::close(null_fd);
    return Status::IoError("cannot open " + log.string() + ": " + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::setsid();
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(log_fd, 2);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(arguments[0], arguments.data());
    ::_exit(127);
  }
  int saved_errno = errno;
  ::close(null_fd);
  ::close(log_fd);
  if (pid < 0) return Status::IoError(std::string("fork failed: ") + std::strerror(saved_errno));
  return static_cast<int>(pid);
}

// True once address:22 accepts a TCP connection.
bool PortOpen(const std::string& address, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(22);
  ::inet_pton(AF_INET, address.c_str(), &target.sin_addr);
  bool open = false;
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof(target));
  if (rc == 0) {
    open = true;
  } else if (errno == EINPROGRESS) {
    pollfd poll_fd{fd, POLLOUT, 0};
    if (::poll(&poll_fd, 1, timeout_ms) == 1) {
      int error = 0;
      socklen_t length = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      open = error == 0;
    }
  }
  ::close(fd);
  return open;
}

// --- cluster.json ----------------------------------------------------------------------------

Status SaveCluster(const ClusterInfo& cluster, const std::string& state) {
  Json nodes = Json::array();
  for (const NodeInfo& node : cluster.nodes) {
    nodes.push_back({{"name", node.name},
                     {"address", node.address},
                     {"namespace", node.namespace_name},
                     {"host_link", node.host_link},
                     {"directory", node.directory.string()},
                     {"data_directory", node.data_directory.string()},
                     {"sshd_pid", node.sshd_pid}});
  }
  Json document = {{"faultline_cluster", 1},
                   {"state", state},
                   {"bridge", cluster.bridge},
                   {"controller_address", cluster.controller_address},
                   {"private_key", cluster.private_key_path.string()},
                   {"known_hosts", cluster.known_hosts_path.string()},
                   {"nodes", nodes}};
  return WriteText(cluster.state_directory / kClusterFile, document.dump(2) + "\n");
}

// The recorded cluster; std::nullopt-like empty node list with ok status never happens: a missing
// file is an IoError saying so.
Result<ClusterInfo> LoadCluster(const fs::path& state_directory) {
  const fs::path file = state_directory / kClusterFile;
  Result<std::string> text = ReadText(file);
  if (!text.ok()) return Status::IoError("no cluster recorded in " + state_directory.string());
  Json document = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object() || !document.contains("nodes") ||
      !document["nodes"].is_array()) {
    return Status::ParseError(file.string() + ": not a faultline cluster file");
  }
  ClusterInfo cluster = MakeCluster(state_directory, 0);
  // Node names and addresses come from the naming scheme, never from the file, so an edited
  // file cannot make ClusterDown remove something outside it.
  int index = 0;
  for (const Json& entry : document["nodes"]) {
    ++index;
    if (index > kMaxNodes) return Status::ParseError(file.string() + ": too many nodes");
    NodeInfo node = MakeNode(state_directory, index);
    if (entry.is_object() && entry.contains("sshd_pid") && entry["sshd_pid"].is_number_integer()) {
      node.sshd_pid = entry["sshd_pid"].get<int>();
    }
    cluster.nodes.push_back(node);
  }
  return cluster;
}

// --- building --------------------------------------------------------------------------------

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

bool PathExists(const fs::path& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;  // a symlink exists, wherever it points
}

// An existing key pair is reused only when it is root's own (CheckPrivateKey); a planted key
// would let its author log in to the nodes, or its .pub into authorized_keys.
Status GenerateKey(const fs::path& path, const std::string& comment) {
  const fs::path public_key = path.string() + ".pub";
  if (PathExists(path) && PathExists(public_key)) return CheckPrivateKey(path, ::geteuid());
  std::error_code ignored;
  fs::remove(path, ignored);  // removes a symlink itself, never its target
  fs::remove(public_key, ignored);
  return RunCommand(
      {kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path.string()});
}

std::string SshdConfig(const NodeInfo& node) {
  std::string config;
  config += "# faultline local cluster: sshd of node " + node.name + "\n";
  config += "ListenAddress " + node.address + "\n";
  config += "Port 22\n";
  config += "HostKey " + HostKeyPath(node).string() + "\n";
  config += "PidFile " + SshdPidPath(node).string() + "\n";
  config += "PermitRootLogin prohibit-password\n";
  config += "PubkeyAuthentication yes\n";
  config += "AuthorizedKeysFile .ssh/authorized_keys\n";
  config += "PasswordAuthentication no\n";
  config += "KbdInteractiveAuthentication no\n";
  // PAM would add seconds of work per login; the state directory may sit in a world-writable
  // place (/tmp in tests), which StrictModes would refuse.
  config += "UsePAM no\n";
  config += "StrictModes no\n";
  config += "UseDNS no\n";
  // Test harnesses open many sessions at once; the defaults (10:30:100, 10) drop connections.
  config += "MaxStartups 100:30:200\n";
  config += "MaxSessions 100\n";
  config += "Subsystem sftp internal-sftp\n";
  return config;
}

std::string HostsFile(const ClusterInfo& cluster) {
  std::string hosts = "# faultline local cluster\n127.0.0.1 localhost\n::1 localhost\n";
  hosts += cluster.controller_address + " controller\n";
  for (const NodeInfo& node : cluster.nodes) hosts += node.address + " " + node.name + "\n";
  return hosts;
}

// Keys, configs, hosts files, authorized_keys and known_hosts. Existing keys are kept, so the
// controller's known_hosts stays valid across rebuilds.
Status WriteFiles(const ClusterInfo& cluster) {
  if (Status s = GenerateKey(cluster.private_key_path, "faultline-controller"); !s.ok()) return s;
  Result<std::string> public_key = ReadText(cluster.private_key_path.string() + ".pub");
  if (!public_key.ok()) return public_key.status();
  const std::string hosts = HostsFile(cluster);
  std::string known_hosts;
  for (const NodeInfo& node : cluster.nodes) {
    for (const fs::path& directory :
         {node.directory / "root/.ssh", node.directory / "etc", node.data_directory}) {
      if (Status s = MakeDirectories(directory); !s.ok()) return s;
    }
    if (Status s = GenerateKey(HostKeyPath(node), node.name); !s.ok()) return s;
    Result<std::string> host_key = ReadText(HostKeyPath(node).string() + ".pub");
    if (!host_key.ok()) return host_key.status();
    std::istringstream fields(FirstLine(*host_key));
    std::string type, key;
    fields >> type >> key;
    if (type.empty() || key.empty()) {
      return Status::ParseError(HostKeyPath(node).string() + ".pub: not an ssh public key");
    }
    // The IP is what ConnectSsh checks (it looks the connected host up); the name serves
    // `ssh n1` by hand with a hosts entry.
    known_hosts += node.address + " " + type + " " + key + "\n";
    known_hosts += node.name + " " + type + " " + key + "\n";
    if (Status s = WriteText(SshdConfigPath(node), SshdConfig(node)); !s.ok()) return s;
    if (Status s = WriteText(node.directory / "etc/hosts", hosts); !s.ok()) return s;
    if (Status s = WriteText(node.directory / "root/.ssh/authorized_keys",
                             FirstLine(*public_key) + "\n", 0600);
        !s.ok()) {
      return s;
    }
  }
  return WriteText(cluster.known_hosts_path, known_hosts);
}

Status BuildNetwork(const ClusterInfo& cluster) {
  if (!LinkExists(kBridge)) {
    if (Status s = RunCommand({kIp, "link", "add", kBridge, "type", "bridge"}); !s.ok()) return s;
  }
  const std::vector<std::vector<std::string>> bridge_commands = {
      {kIp, "link", "set", "dev", kBridge, "alias", BridgeAlias(cluster.state_directory)},
      {kIp, "addr", "replace", cluster.controller_address + "/24", "dev", kBridge},
      {kIp, "link", "set", "dev", kBridge, "up"},
  };
  for (const auto& argv : bridge_commands) {
    if (Status s = RunCommand(argv); !s.ok()) return s;
  }
  for (const NodeInfo& node : cluster.nodes) {
    const std::string& ns = node.namespace_name;
    if (!NamespaceExists(ns)) {
      if (Status s = RunCommand({kIp, "netns", "add", ns}); !s.ok()) return s;
    }
    if (!LinkExists(node.host_link)) {
      Status s = RunCommand({kIp, "link", "add", node.host_link, "type", "veth", "peer", "name",
                             "eth0", "netns", ns});
      if (!s.ok()) return s;
    }
    const std::vector<std::vector<std::string>> commands = {
        {kIp, "link", "set", "dev", node.host_link, "master", kBridge, "up"},
        {kIp, "-n", ns, "addr", "replace", node.address + "/24", "dev", "eth0"},
        {kIp, "-n", ns, "link", "set", "dev", "eth0", "up"},
        {kIp, "-n", ns, "link", "set", "dev", "lo", "up"},
    };
    for (const auto& argv : commands) {
      if (Status s = RunCommand(argv); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Result<int> StartSshd(const NodeInfo& node) {
  std::error_code ignored;
  fs::remove(SshdPidPath(node), ignored);
  // sshd appends to its log as root and follows a symlink there: only a regular file will do.
  const fs::path sshd_log = node.directory / "sshd.log";
  struct stat info {};
  if (::lstat(sshd_log.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    return Status::IoError(sshd_log.string() + " is not a regular file");
  }
  // `ip netns exec` gives the command the node's network and a mount namespace of its own;
  // unshare adds a UTS namespace for the hostname and a private mount namespace in which /root
  // and /etc/hosts are the node's. Everything the node's sshd starts inherits them.
  const std::string script =
      "set -e; hostname " + node.name + "; mount --bind " +
      control::ShellEscape((node.directory / "root").string()) + " /root; mount --bind " +
      control::ShellEscape((node.directory / "etc/hosts").string()) + " /etc/hosts; exec " + kSshd +
      " -D -f " + control::ShellEscape(SshdConfigPath(node).string()) + " -E " +
      control::ShellEscape(sshd_log.string());
  return SpawnDetached({kIp, "netns", "exec", node.namespace_name, kUnshare, "--uts", "--mount",
                        "--propagation", "private", kShell, "-c", script},
                       node.directory / "start.log");
}

std::string LogTail(const fs::path& path) {
  Result<std::string> text = ReadText(path);
  return text.ok() ? control::OutputTail(*text, 5, 512) : "";
}

// Waits for every node's sshd to listen and write its pid file; fills in sshd_pid.
Status WaitForSshds(ClusterInfo& cluster, const std::vector<int>& spawned, int64_t timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<bool> ready(cluster.nodes.size(), false);
  size_t remaining = cluster.nodes.size();
  while (remaining > 0) {
    for (size_t i = 0; i < cluster.nodes.size(); ++i) {
      if (ready[i]) continue;
      NodeInfo& node = cluster.nodes[i];
      if (ProcessGone(spawned[i])) {
        return Status::IoError(node.name +
                               ": sshd exited at start: " + LogTail(node.directory / "start.log") +
                               " " + LogTail(node.directory / "sshd.log"));
      }
      Result<std::string> pid_text = ReadText(SshdPidPath(node));
      if (!pid_text.ok() || !PortOpen(node.address, 50)) continue;
      int pid = std::atoi(pid_text->c_str());
      if (!IsNodeSshd(pid, node)) continue;
      node.sshd_pid = pid;
      node.sshd_running = true;
      ready[i] = true;
      --remaining;
    }
    if (remaining == 0) break;
    if (Clock::now() >= deadline) {
      std::string waiting;
      for (size_t i = 0; i < ready.size(); ++i) {
        if (!ready[i]) waiting += " " + cluster.nodes[i].name;
      }
      return Status::IoError("sshd not ready after " + std::to_string(timeout_ms) + " ms on" +
                             waiting);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Ok();
}

// Healthy: our bridge, every namespace, every recorded sshd alive and listening.
bool Healthy(ClusterInfo& cluster) {
  if (!LinkExists(kBridge) || BridgeOwner() != BridgeAlias(cluster.state_directory)) return false;
  for (NodeInfo& node : cluster.nodes) {
    if (!NamespaceExists(node.namespace_name) || !LinkExists(node.host_link)) return false;
    if (!IsNodeSshd(node.sshd_pid, node) || !PortOpen(node.address, 500)) return false;
    node.sshd_running = true;
  }
  return true;
}

Result<fs::path> StateDirectory(const ClusterOptions& options) {
  if (options.state_directory.empty()) return Status::InvalidArgument("empty state directory");
  fs::path directory = fs::absolute(options.state_directory).lexically_normal();
  if (directory.has_filename() == false) directory = directory.parent_path();
  // The nodes see /root and /etc/hosts replaced by their own: state under those paths would be
  // hidden from their sshd.
  for (const char* hidden : {"/root", "/etc"}) {
    const fs::path prefix(hidden);
    auto [end, unused] =
        std::mismatch(prefix.begin(), prefix.end(), directory.begin(), directory.end());
    if (end == prefix.end()) {
      return Status::InvalidArgument("state directory " + directory.string() +
                                     " must not be under " + hidden + " (the nodes see their own " +
                                     hidden + ")");
    }
  }
  return directory;
}

Status CheckRoot() {
  if (::geteuid() != 0) {
    return Status::Unsupported("the local cluster needs root (network namespaces, bridge, sshd)");
  }
  return Status::Ok();
}

// Whether the state directory exists; an error when it, or a directory above it, could be
// changed by another user (state_directory.h).
Result<bool> CheckStateDirectory(const fs::path& state_directory) {
  Result<bool> exists = CheckTrustedDirectory(state_directory, ::geteuid());
  if (!exists.ok()) {
    return Status(exists.status().code(),
                  "unsafe cluster state directory: " + exists.status().message());
  }
  return exists;
}

Status DownAt(const fs::path& state_directory);

}  // namespace

control::SshOptions NodeSshOptions(const ClusterInfo& cluster, const NodeInfo& node) {
  control::SshOptions options;
  options.host = node.address;
  options.username = "root";
  options.private_key_path = cluster.private_key_path;
  options.use_agent = false;
  options.strict_host_key_checking = true;
  options.known_hosts_path = cluster.known_hosts_path;
  options.connect_timeout_ms = 5'000;
  return options;
}

Result<ClusterInfo> ClusterUp(const ClusterOptions& options) {
  if (options.nodes < 1 || options.nodes > kMaxNodes) {
    return Status::InvalidArgument("--nodes must be between 1 and " + std::to_string(kMaxNodes) +
                                   ", not " + std::to_string(options.nodes));
  }
  Result<fs::path> state_directory = StateDirectory(options);
  if (!state_directory.ok()) return state_directory.status();
  if (Status s = CheckRoot(); !s.ok()) return s;
  if (Result<bool> exists = CheckStateDirectory(*state_directory); !exists.ok()) {
    return exists.status();
  }

  if (LinkExists(kBridge) && BridgeOwner() != BridgeAlias(*state_directory)) {
    return Status::IoError(std::string(kBridge) + " already exists and is not this cluster's (" +
                           (BridgeOwner().empty() ? "no owner recorded" : BridgeOwner()) +
                           "); bring that cluster down with its --state-dir first");
  }
  if (Result<ClusterInfo> existing = LoadCluster(*state_directory); existing.ok()) {
    if (static_cast<int>(existing->nodes.size()) == options.nodes && Healthy(*existing)) {
      existing->reused = true;
      return *existing;
    }
  }
  // Half-built, unhealthy, resized or never built: start from nothing.
  if (Status s = DownAt(*state_directory); !s.ok()) {
    return Status::IoError("cannot clear the previous cluster: " + s.message());
  }
  for (int index = 1; index <= options.nodes; ++index) {
    if (NamespaceExists(NamespaceName(index)) || LinkExists(HostLink(index))) {
      return Status::IoError("network namespace " + NamespaceName(index) + " or link " +
                             HostLink(index) +
                             " exists but is not this cluster's; not touching it");
    }
  }

  ClusterInfo cluster = MakeCluster(*state_directory, options.nodes);
  if (Status s = MakeDirectories(*state_directory); !s.ok()) {
    return Status(s.code(), "unsafe cluster state directory: " + s.message());
  }
  // sshd's privilege separation needs it; the openssh-server package creates it only at boot.
  std::error_code error;
  fs::create_directories("/run/sshd", error);
  if (error) return Status::IoError("cannot create /run/sshd: " + error.message());
  // Recorded before anything exists, so that a crash midway leaves ClusterDown what to remove.
  if (Status s = SaveCluster(cluster, "building"); !s.ok()) return s;

  auto fail = [&](const Status& cause) -> Status {
    Status cleanup = DownAt(*state_directory);
    if (cleanup.ok()) return cause;
    return Status(cause.code(),
                  cause.message() + " (and cleaning up failed: " + cleanup.message() + ")");
  };
  if (Status s = WriteFiles(cluster); !s.ok()) return fail(s);
  if (Status s = BuildNetwork(cluster); !s.ok()) return fail(s);
  std::vector<int> spawned;
  for (NodeInfo& node : cluster.nodes) {
    Result<int> pid = StartSshd(node);
    if (!pid.ok()) return fail(pid.status());
    spawned.push_back(*pid);
    // Recorded at once: if `ip netns exec` ever forked, this is the process to stop.
    node.sshd_pid = *pid;
  }
  if (Status s = SaveCluster(cluster, "building"); !s.ok()) return fail(s);
  if (Status s = WaitForSshds(cluster, spawned, options.ready_timeout_ms); !s.ok()) return fail(s);
  if (Status s = SaveCluster(cluster, "up"); !s.ok()) return fail(s);
  return cluster;
}

Status ClusterDown(const ClusterOptions& options) {
  if (Status s = CheckRoot(); !s.ok()) return s;
  Result<fs::path> state_directory = StateDirectory(options);
  if (!state_directory.ok()) return state_directory.status();
  if (Result<bool> exists = CheckStateDirectory(*state_directory); !exists.ok()) {
    return exists.status();
  }
  return DownAt(*state_directory);
}

namespace {

Status DownAt(const fs::path& state_directory) {
  const bool bridge_ours = LinkExists(kBridge) && BridgeOwner() == BridgeAlias(state_directory);
  const bool bridge_foreign = LinkExists(kBridge) && !bridge_ours;
  ClusterInfo cluster = MakeCluster(state_directory, 0);
  if (Result<ClusterInfo> recorded = LoadCluster(state_directory); recorded.ok()) {
    cluster = *recorded;
  } else if (bridge_ours) {
    // cluster.json is lost but the bridge says these names are ours: every fl-n<i> namespace.
    for (int index = 1; index <= kMaxNodes; ++index) {
      if (NamespaceExists(NamespaceName(index)) || LinkExists(HostLink(index))) {
        cluster.nodes.push_back(MakeNode(state_directory, index));
      }
    }
  } else {
    return Status::Ok();  // nothing recorded, nothing owned: nothing to do
  }

  std::vector<std::string> problems;
  // 1. The recorded sshds, each verified by name and config path before it is signalled.
  std::vector<int> stopping;
  for (NodeInfo& node : cluster.nodes) {
    std::vector<int> candidates = {node.sshd_pid};
    if (Result<std::string> text = ReadText(SshdPidPath(node)); text.ok()) {
      candidates.push_back(std::atoi(text->c_str()));
    }
    for (int pid : candidates) {
      if (IsNodeSshd(pid, node) && ::kill(pid, SIGTERM) == 0) stopping.push_back(pid);
    }
  }
  if (!WaitGone(stopping, 2'000)) {
    for (NodeInfo& node : cluster.nodes) {
      if (IsNodeSshd(node.sshd_pid, node)) ::kill(node.sshd_pid, SIGKILL);
    }
    WaitGone(stopping, 2'000);
  }

  // With a foreign bridge, the fl-* names belong to another cluster: stop here.
  if (bridge_foreign) {
    return Status::IoError(std::string(kBridge) + " belongs to another cluster (" + BridgeOwner() +
                           "); stopped this cluster's sshds but left the network alone");
  }

  // 2. What is still running inside our namespaces (sessions, daemons started over ssh): it
  // came through our sshd, and would keep the namespace's mounts alive.
  for (const NodeInfo& node : cluster.nodes) {
    if (!NamespaceExists(node.namespace_name)) continue;
    std::string out;
    if (Status s = RunCommand({kIp, "netns", "pids", node.namespace_name}, &out); !s.ok()) {
      problems.push_back(s.message());
      continue;
    }
    std::istringstream lines(out);
    std::vector<int> pids;
    for (int pid; lines >> pid;) {
      if (pid > 1 && pid != ::getpid() && !ProcessGone(pid) && ::kill(pid, SIGKILL) == 0) {
        pids.push_back(pid);
      }
    }
    if (!WaitGone(pids, 2'000)) problems.push_back(node.name + ": processes survived SIGKILL");
  }

  // 3. Namespaces (their eth0 goes with them, and with it the host-side veth), leftover veths,
  // the bridge.
  for (const NodeInfo& node : cluster.nodes) {
    if (NamespaceExists(node.namespace_name)) {
      if (Status s = RunCommand({kIp, "netns", "del", node.namespace_name}); !s.ok()) {
        problems.push_back(s.message());
      }
    }
    // The kernel destroys a deleted namespace's devices asynchronously: the host-side veth
    // usually vanishes a moment later without help.
    auto deadline = Clock::now() + std::chrono::milliseconds(1'000);
    while (LinkExists(node.host_link) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (LinkExists(node.host_link)) {
      Status s = RunCommand({kIp, "link", "del", node.host_link});
      if (!s.ok() && LinkExists(node.host_link)) problems.push_back(s.message());
    }
  }
  if (bridge_ours) {
    if (Status s = RunCommand({kIp, "link", "del", kBridge}); !s.ok()) {
      problems.push_back(s.message());
    }
  }
  if (!problems.empty()) {
    std::string message = "cluster down incomplete:";
    for (const std::string& problem : problems) message += " " + problem + ";";
    return Status::IoError(message);
  }
  std::error_code ignored;
  fs::remove(state_directory / kClusterFile, ignored);
  for (const NodeInfo& node : cluster.nodes) fs::remove(SshdPidPath(node), ignored);
  return Status::Ok();
}

}  // namespace

Result<ClusterInfo> ClusterStatus(const ClusterOptions& options) {
  Result<fs::path> state_directory = StateDirectory(options);
  if (!state_directory.ok()) return state_directory.status();
  Result<bool> exists = CheckStateDirectory(*state_directory);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status::IoError("no cluster recorded in " + state_directory->string());
  Result<ClusterInfo> loaded = LoadCluster(*state_directory);
  if (!loaded.ok()) return loaded.status();
  ClusterInfo cluster = *loaded;
  for (NodeInfo& node : cluster.nodes) {
    if (!NamespaceExists(node.namespace_name)) {
      node.problem = "network namespace " + node.namespace_name + " is missing";
      continue;
    }
    node.sshd_running = IsNodeSshd(node.sshd_pid, node);
    if (!node.sshd_running) {
      node.problem = "sshd (pid " + std::to_string(node.sshd_pid) + ") is not running";
      continue;
    }
    control::SshOptions ssh = NodeSshOptions(cluster, node);
    ssh.retries = 0;
    Result<std::unique_ptr<control::Remote>> remote = control::ConnectSsh(node.name, ssh);
    if (!remote.ok()) {
      node.problem = remote.status().message();
      continue;
    }
    control::Command command;
    command.argv = {"true"};
    command.timeout_ms = 5'000;
    Result<control::CommandResult> result = control::Run(**remote, command);
    node.ssh_works = result.ok();
    if (!result.ok()) node.problem = result.status().message();
  }
  return cluster;
}

}  // namespace faultline::cluster
