// Runs a database's sh scripts on its nodes (clients/postgres, clients/redis) and remembers each
// node's directory as the node resolved it. Each script runs as
// `sh -c '<prelude><script>' faultline-<db>-<what> <arguments>` (the name shows in ps and in the
// tests' records), through sudo when asked. Thread-safe: called for different nodes at once and
// from the nemesis thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "runner/control/remote.h"

namespace faultline::clients {

class NodeScripts {
 public:
  // `directory_pattern` holds "{node}" (NodeDirectory).
  NodeScripts(std::string db, std::string prelude, std::string directory_pattern, bool sudo);

  // The script's standard output; its failure (exit status, stderr) as the error.
  Result<std::string> Run(control::Remote& remote, const std::string& what,
                          const std::string& script, std::vector<std::string> arguments,
                          int64_t timeout_ms, std::string stdin_data = "") const;
  // Runs `script` with the node's directory as $1; it prints the absolute directory, which is
  // remembered and returned.
  Result<std::string> Resolve(const std::string& node, control::Remote& remote,
                              const std::string& what, const std::string& script);
  // The remembered directory, else Resolve with a script that makes it (`dir`).
  Result<std::string> Directory(const std::string& node, control::Remote& remote);
  // The remembered directory, else the pattern's (for LogFiles, which may not reach the node).
  std::string KnownDirectory(const std::string& node) const;
  void Forget(const std::string& node);

 private:
  const std::string db_, prelude_, directory_pattern_;
  const bool sudo_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> directories_;  // node -> absolute directory
};

}  // namespace faultline::clients
