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
  // Runs `script` with the node's directory as $1 (then `arguments`); it prints the absolute
  // directory, which is remembered and returned.
  Result<std::string> Resolve(const std::string& node, control::Remote& remote,
                              const std::string& what, const std::string& script,
                              std::vector<std::string> arguments = {});
  // Setup's directory (`claim`): taken only when it is new (or empty), and then marked
  // (.faultline-<db>), or when it carries that mark from an earlier Setup; mode 700, and owned
  // by `owner` when one is given (a server that must not run as root). Remembered as Resolve.
  Result<std::string> Claim(const std::string& node, control::Remote& remote,
                            const std::string& owner = "");
  // Teardown's (`teardown`): removes the node's directory only when it carries Claim's mark (an
  // empty one too: nothing in it to lose), else an error; and forgets it.
  Status Remove(const std::string& node, control::Remote& remote);
  // The remembered directory, else Resolve with a script that makes it (`dir`).
  Result<std::string> Directory(const std::string& node, control::Remote& remote);
  // The remembered directory, else the pattern's (for LogFiles, which may not reach the node).
  std::string KnownDirectory(const std::string& node) const;
  void Forget(const std::string& node);

 private:
  std::string Marker() const;  // .faultline-<db>

  const std::string db_, prelude_, directory_pattern_;
  const bool sudo_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> directories_;  // node -> absolute directory
};

}  // namespace faultline::clients
