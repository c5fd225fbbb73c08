#include "nemesis/heal.h"

#include <sstream>

#include "nemesis/partition/partition.h"

namespace faultline::nemesis {
namespace {

// Arguments: pairs of (pid file, comm). Prints each pid it continued, one a line. Every check
// is made on the node, right before the signal, so a pid reused since is not touched.
constexpr char kResumeScript[] = R"sh(while [ $# -ge 2 ]; do
  file=$1; comm=$2; shift 2
  [ -r "$file" ] || continue
  pid=$(head -n 1 "$file" | tr -cd 0-9)
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || continue
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || continue
  state=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d ' ' -f 1)
  [ "$state" = T ] || continue
  kill -CONT "$pid" && echo "$pid"
done)sh";

}  // namespace

Result<std::vector<int>> ResumeOwnedProcesses(control::Remote& remote,
                                              const std::vector<OwnedProcess>& processes,
                                              bool sudo) {
  std::vector<int> resumed;
  if (processes.empty()) return resumed;
  control::Command command;
  command.argv = {"sh", "-c", kResumeScript, "faultline-heal"};
  for (const OwnedProcess& process : processes) {
    if (process.pid_file.empty() || process.comm.empty()) {
      return Status::InvalidArgument("heal: an owned process needs a pid file and a command name");
    }
    command.argv.push_back(process.pid_file);
    command.argv.push_back(process.comm);
  }
  command.sudo = sudo;
  command.timeout_ms = 30'000;
  Result<control::CommandResult> result = control::Run(remote, command);
  if (!result.ok()) return result.status();
  std::istringstream out(result->out);
  for (int pid = 0; out >> pid;) resumed.push_back(pid);
  return resumed;
}

Result<NodeHealReport> HealNode(control::Remote& remote, const HealOptions& options) {
  NodeHealReport report;
  std::vector<IpFamily> families = {IpFamily::kIpv4};
  Result<bool> ipv6 = HasIp6tables(remote, options.sudo);
  if (!ipv6.ok()) return ipv6.status();
  if (*ipv6) families.push_back(IpFamily::kIpv6);
  for (IpFamily family : families) {
    std::string run;
    // Any run's chain: the controller that marked it is dead (or the user says so).
    Status removed = RemoveRules(remote, family, /*run_id=*/"", options.sudo, &run);
    if (!removed.ok()) return removed;
    if (!run.empty()) report.runs.insert(run);
  }
  report.removed_rules = !report.runs.empty();
  Result<std::vector<int>> resumed = ResumeOwnedProcesses(remote, options.processes, options.sudo);
  if (!resumed.ok()) return resumed.status();
  report.resumed_pids = std::move(*resumed);
  return report;
}

}  // namespace faultline::nemesis
