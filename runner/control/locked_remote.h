// LockedRemote: a Remote that one thread at a time may use, shared by several threads. The
// lifecycle's Db calls and the nemesis thread reach a node through the same session (one libssh
// session per node); this decorator runs their commands one after another.
#pragma once

#include <memory>
#include <mutex>

#include "runner/control/remote.h"

namespace faultline::control {

class LockedRemote : public Remote {
 public:
  explicit LockedRemote(std::unique_ptr<Remote> inner) : inner_(std::move(inner)) {}
  const std::string& node() const override { return inner_->node(); }
  Result<CommandResult> Execute(const Command& command) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_->Execute(command);
  }
  Status Upload(const std::filesystem::path& local, const std::string& remote_path) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_->Upload(local, remote_path);
  }
  Status Download(const std::string& remote_path, const std::filesystem::path& local) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_->Download(remote_path, local);
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<Remote> inner_;
};

}  // namespace faultline::control
