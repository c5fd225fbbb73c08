#include "clients/servers/node_scripts.h"

#include "clients/servers/server_support.h"

namespace faultline::clients {
namespace {

// $1 the directory, $2 the marker's name, $3 the database, $4 the owner ("" for none).
constexpr char kClaimScript[] = R"sh(dir=$1; marker=$2; db=$3; owner=$4
mkdir -p -- "$dir" && cd -- "$dir" || exit 1
if [ ! -e "$marker" ]; then
  if [ -n "$(ls -A)" ]; then
    echo "$(pwd -P) is not empty and has no $marker marker: faultline did not set it up, and" \
      "its teardown would remove it (remove it yourself or choose another directory)" >&2
    exit 3
  fi
  echo "made by faultline's $db setup; its teardown removes this directory" >"$marker" || exit 1
fi
if [ -n "$owner" ]; then chown "$owner:$owner" . || exit 1; fi
chmod 700 . || exit 1
pwd -P)sh";

// $1 the directory, $2 the marker's name.
constexpr char kRemoveScript[] = R"sh([ -e "$1/$2" ] && exec rm -rf -- "$1"
[ -e "$1" ] || exit 0
rmdir -- "$1" 2>/dev/null && exit 0
echo "$1 has no $2 marker (Setup did not make it): not removed" >&2
exit 3
)sh";

}  // namespace

NodeScripts::NodeScripts(std::string db, std::string prelude, std::string directory_pattern,
                         bool sudo)
    : db_(std::move(db)),
      prelude_(std::move(prelude)),
      directory_pattern_(std::move(directory_pattern)),
      sudo_(sudo) {}

Result<std::string> NodeScripts::Run(control::Remote& remote, const std::string& what,
                                     const std::string& script, std::vector<std::string> arguments,
                                     int64_t timeout_ms, std::string stdin_data) const {
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
                                         const std::string& what, const std::string& script,
                                         std::vector<std::string> arguments) {
  const std::string pattern_directory = NodeDirectory(directory_pattern_, node);
  arguments.insert(arguments.begin(), pattern_directory);
  Result<std::string> out = Run(remote, what, script, std::move(arguments), 10'000);
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

Result<std::string> NodeScripts::Claim(const std::string& node, control::Remote& remote,
                                       const std::string& owner) {
  return Resolve(node, remote, "claim", kClaimScript, {Marker(), db_, owner});
}

Status NodeScripts::Remove(const std::string& node, control::Remote& remote) {
  Result<std::string> directory = Directory(node, remote);
  if (!directory.ok()) return directory.status();
  Result<std::string> removed =
      Run(remote, "teardown", kRemoveScript, {*directory, Marker()}, 60'000);
  if (!removed.ok()) return removed.status();
  Forget(node);
  return Status::Ok();
}

std::string NodeScripts::Marker() const { return ".faultline-" + db_; }

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
