// `faultline cluster up|down|status|heal`: the local cluster of network namespaces
// (runner/cluster/cluster.h, docs/local_cluster.md). `heal` removes what a controller killed
// mid-fault left behind (nemesis/heal.h): partition rules and paused database processes.
// Exit code: 0 on success (status: every node's ssh works), 254 for bad arguments, 255 for errors.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

namespace faultline::cli {

struct ClusterArguments {
  int nodes = 5;
  std::string state_directory = "/run/faultline/cluster";
  CLI::App* up = nullptr;
  CLI::App* down = nullptr;
  CLI::App* status = nullptr;
  CLI::App* heal = nullptr;
};

CLI::App* AddClusterCommand(CLI::App& app, ClusterArguments& arguments);
int RunClusterCommand(const ClusterArguments& arguments, std::ostream& out, std::ostream& err);

}  // namespace faultline::cli
