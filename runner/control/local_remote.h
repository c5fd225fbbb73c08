// LocalRemote: a Remote that runs commands on this machine, for tests and single-machine runs.
//
// Each Execute spawns `/bin/sh -c CommandLine(command)` in its own process group with pipes for
// stdin, stdout and stderr; on timeout the whole process group is killed (SIGKILL) and reaped
// before Execute returns; so is a command whose output passes Command::max_output_bytes. Upload
// and Download copy files (the "remote" path is a local path); a download past
// max_download_bytes fails and its partial copy is removed.
// Thread safety: as every Remote, one thread at a time; separate LocalRemotes may run
// concurrently (the pipes are close-on-exec, so one command never holds another's pipe open).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "runner/control/remote.h"

namespace faultline::control {

class LocalRemote : public Remote {
 public:
  // `node` names this machine in errors; `sudo_password` is fed to sudo for sudo commands.
  explicit LocalRemote(std::string node = "localhost", std::string sudo_password = "",
                       int64_t max_download_bytes = kDefaultMaxDownloadBytes);

  const std::string& node() const override { return node_; }
  Result<CommandResult> Execute(const Command& command) override;
  Status Upload(const std::filesystem::path& local, const std::string& remote_path) override;
  Status Download(const std::string& remote_path, const std::filesystem::path& local) override;

 private:
  std::string node_;
  std::string sudo_password_;
  int64_t max_download_bytes_;
};

}  // namespace faultline::control
