#include "runner/cli/cluster_command.h"

#include <chrono>
#include <ostream>

#include "checker/verdict.h"
#include "clients/etcd/etcd.h"
#include "nemesis/heal.h"
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

// The processes faultline's databases start on a node, known by their pid files.
std::vector<nemesis::OwnedProcess> DatabaseProcesses() {
  return {{etcd::PidFile(etcd::EtcdOptions{}), "etcd"}};
}

// Heals every node of the cluster; a node that cannot be reached is reported and fails the
// command, the others are still healed.
int HealCluster(const cluster::ClusterInfo& info, std::ostream& out, std::ostream& err) {
  nemesis::HealOptions options;
  options.processes = DatabaseProcesses();
  int exit_code = 0;
  for (const cluster::NodeInfo& node : info.nodes) {
    Result<std::unique_ptr<control::Remote>> remote =
        control::ConnectSsh(node.name, cluster::NodeSshOptions(info, node));
    Result<nemesis::NodeHealReport> report = remote.ok()
                                                 ? nemesis::HealNode(**remote, options)
                                                 : Result<nemesis::NodeHealReport>(remote.status());
    if (!report.ok()) {
      err << "faultline cluster heal: " << node.name << ": " << report.status().message() << "\n";
      exit_code = kExitInternalError;
      continue;
    }
    out << node.name << ": " << (report->removed_rules ? "partition rules removed" : "no rules");
    for (const std::string& run : report->runs) out << " (run " << run << ")";
    for (int pid : report->resumed_pids) out << ", resumed pid " << pid;
    out << "\n";
  }
  return exit_code;
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
  arguments.heal = cluster->add_subcommand(
      "heal", "Remove partition rules and resume paused databases a killed run left behind");
  for (CLI::App* command : {arguments.up, arguments.down, arguments.status, arguments.heal}) {
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
  if (arguments.heal->parsed()) return HealCluster(*info, out, err);
  PrintCluster(*info, /*with_ssh=*/true, out);
  for (const cluster::NodeInfo& node : info->nodes) {
    if (!node.ssh_works) return kExitInternalError;
  }
  return 0;
}

}  // namespace faultline::cli
