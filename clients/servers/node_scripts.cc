#include "clients/servers/node_scripts.h"

#include "clients/servers/server_support.h"

namespace faultline::clients {

NodeScripts::NodeScripts(std::string db, std::string prelude, std::string directory_pattern,
                         bool sudo)
    : db_(std::move(db)),
      prelude_(std::move(prelude)),
      directory_pattern_(std::move(directory_pattern)),
      sudo_(sudo) {}

Result<std::string> NodeScripts::Run(control::Remote& remote, const std::string& what,
                                     const std::string& script,
                                     std::vector<std::string> arguments, int64_t timeout_ms,
                                     std::string stdin_data) const {
  control::Command command;
  command.argv = {"sh", "-c", prelude_ + script, "faultline-" + db_ + "-" + what};
  for (std::string& argument : arguments) command.argv.push_back(std::move(argument));
  command.timeout_ms = timeout_ms;
  command.sudo = sudo_;
  command.stdin_data = std::move(stdin_data);
  Result<control::CommandResult> result = control::Run(remote, command);
  if (!result.ok()) return result.status();
  return result->out;
}

Result<std::string> NodeScripts::Resolve(const std::string& node, control::Remote& remote,
                                         const std::string& what, const std::string& script) {
  const std::string pattern_directory = NodeDirectory(directory_pattern_, node);
  Result<std::string> out = Run(remote, what, script, {pattern_directory}, 10'000);
  if (!out.ok()) return out.status();
  std::string directory = out->substr(0, out->find('\n'));
  if (directory.empty() || directory[0] != '/') {
    return Status::IoError(node + ": could not resolve the " + db_ + " directory " +
                           pattern_directory + " (got '" + directory + "')");
  }
  std::lock_guard lock(mutex_);
  directories_[node] = directory;
  return directory;
}

Result<std::string> NodeScripts::Directory(const std::string& node, control::Remote& remote) {
  {
    std::lock_guard lock(mutex_);
    auto found = directories_.find(node);
    if (found != directories_.end()) return found->second;
  }
  return Resolve(node, remote, "dir", R"sh(mkdir -p -- "$1" && cd -- "$1" && pwd -P)sh");
}

std::string NodeScripts::KnownDirectory(const std::string& node) const {
  std::lock_guard lock(mutex_);
  auto found = directories_.find(node);
  return found != directories_.end() ? found->second : NodeDirectory(directory_pattern_, node);
}

void NodeScripts::Forget(const std::string& node) {
  std::lock_guard lock(mutex_);
  directories_.erase(node);
}

}  // namespace faultline::clients
