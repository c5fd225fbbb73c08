// Healing a node after a controller that died without healing (SIGKILL, power loss): what
// `faultline cluster heal` runs on every node.
//
// It removes faultline's iptables and ip6tables chains and jumps, whichever run marked them
// (partition.h: nothing else is touched; a FAULTLINE chain without faultline's mark is refused
// and left as it is), and
// continues the processes a pause fault may have left stopped. Only processes this project
// started are continued, and the way to know them is the database's pid files: the Db that
// Pause()d a server wrote that server's pid file, so the caller passes the Db's pid files with
// the command name each should run. A process is continued (SIGCONT) only when the file holds a
// pid, /proc/<pid>/comm is that name, and /proc/<pid>/stat says it is stopped (state T); a
// stopped process that is not named by such a file, or whose pid was reused by another program,
// is left alone. Servers a kill fault left dead are not restarted: that needs the Db's Start and
// the test's configuration; the next `faultline test` sets the database up again.
//
// Everything here is idempotent: healing a healthy node changes nothing and succeeds.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "runner/control/remote.h"

namespace faultline::nemesis {

// A process faultline's database started: its pid file on the node and its command name as
// /proc/<pid>/comm shows it (at most 15 characters, e.g. "etcd").
struct OwnedProcess {
  std::string pid_file;
  std::string comm;
};

struct HealOptions {
  bool sudo = false;  // run iptables and kill through sudo (the node's ssh user is not root)
  std::vector<OwnedProcess> processes;
};

struct NodeHealReport {
  bool removed_rules = false;     // a FAULTLINE chain of faultline's was there and was removed
  std::set<std::string> runs;     // the run ids whose chains were removed
  std::vector<int> resumed_pids;  // processes that were stopped and were continued
};

// Continues the stopped processes among `processes` (rules above); the pids it continued.
Result<std::vector<int>> ResumeOwnedProcesses(control::Remote& remote,
                                              const std::vector<OwnedProcess>& processes,
                                              bool sudo);

// Removes the partition rules and continues the owned stopped processes. Errors name the node
// and the command.
Result<NodeHealReport> HealNode(control::Remote& remote, const HealOptions& options);

}  // namespace faultline::nemesis
