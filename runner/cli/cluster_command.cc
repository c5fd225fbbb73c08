#include "runner/cli/cluster_command.h"

#include <chrono>
#include <ostream>

#include "checker/verdict.h"
#include "runner/cluster/cluster.h"

namespace faultline::cli {
namespace {

void PrintCluster(const cluster::ClusterInfo& info, bool with_ssh, std::ostream& out) {
  out << "state directory: " << info.state_directory.string() << "\n"
      << "bridge: " << info.bridge << " (controller " << info.controller_address << ")\n";
  for (const cluster::NodeInfo& node : info.nodes) {
    out << node.name << "  " << node.address << "  netns " << node.namespace_name << "  sshd pid "
        << node.sshd_pid << (node.sshd_running ? " (running)" : " (not running)");
    if (with_ssh) out << "  ssh " << (node.ssh_works ? "ok" : "FAILED");
    out << "\n";
    if (!node.problem.empty()) out << "    " << node.problem << "\n";
  }
  out << "ssh by hand: ssh -i " << info.private_key_path.string()
      << " -o UserKnownHostsFile=" << info.known_hosts_path.string() << " root@"
      << (info.nodes.empty() ? std::string("10.213.0.11") : info.nodes.front().address) << "\n";
}

int ErrorExit(const Status& status, std::ostream& err) {
  err << "faultline cluster: " << status.message() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitInternalError;
}

}  // namespace

CLI::App* AddClusterCommand(CLI::App& app, ClusterArguments& arguments) {
  CLI::App* cluster =
      app.add_subcommand("cluster", "A local cluster: one network namespace and sshd per node");
  cluster->require_subcommand(1);
  arguments.up = cluster->add_subcommand("up", "Build the cluster (idempotent)");
  arguments.up->add_option("--nodes", arguments.nodes, "Number of nodes (n1..nN)")
      ->check(CLI::Range(1, cluster::kMaxNodes));
  arguments.down = cluster->add_subcommand("down", "Remove everything `up` created");
  arguments.status = cluster->add_subcommand("status", "Nodes, addresses, sshd pids, ssh check");
  for (CLI::App* command : {arguments.up, arguments.down, arguments.status}) {
    command->add_option("--state-dir", arguments.state_directory,
                        "Keys, configs, node directories, cluster.json");
  }
  return cluster;
}

int RunClusterCommand(const ClusterArguments& arguments, std::ostream& out, std::ostream& err) {
  cluster::ClusterOptions options;
  options.nodes = arguments.nodes;
  options.state_directory = arguments.state_directory;
  if (arguments.up->parsed()) {
    auto start = std::chrono::steady_clock::now();
    Result<cluster::ClusterInfo> info = cluster::ClusterUp(options);
    if (!info.ok()) return ErrorExit(info.status(), err);
    auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
    out << (info->reused ? "cluster already up" : "cluster up") << " in " << elapsed_ms << " ms\n";
    PrintCluster(*info, /*with_ssh=*/false, out);
    return 0;
  }
  if (arguments.down->parsed()) {
    Status status = cluster::ClusterDown(options);
    if (!status.ok()) return ErrorExit(status, err);
    out << "cluster down\n";
    return 0;
  }
  Result<cluster::ClusterInfo> info = cluster::ClusterStatus(options);
  if (!info.ok()) return ErrorExit(info.status(), err);
  PrintCluster(*info, /*with_ssh=*/true, out);
  for (const cluster::NodeInfo& node : info->nodes) {
    if (!node.ssh_works) return kExitInternalError;
  }
  return 0;
}

}  // namespace faultline::cli
