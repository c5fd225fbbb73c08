#include "runner/control/fake_remote.h"

#include <fstream>
#include <sstream>

namespace faultline::control {

FakeRemote::FakeRemote(std::string node, std::string sudo_password)
    : node_(std::move(node)), sudo_password_(std::move(sudo_password)) {}

Result<CommandResult> FakeRemote::Execute(const Command& command) {
  Result<CommandResult> response = Respond(command);
  // As a real node's: an answer larger than the command's output limit is an error.
  if (response.ok() &&
      response->out.size() + response->err.size() > static_cast<size_t>(command.max_output_bytes)) {
    return OutputLimitError(node_, command, "; the command was stopped");
  }
  return response;
}

Result<CommandResult> FakeRemote::Respond(const Command& command) {
  std::string line = CommandLine(command, sudo_password_);
  Responder responder;
  {
    std::lock_guard lock(mutex_);
    records_.push_back({command, line});
    if (!queue_.empty()) {
      Result<CommandResult> response = std::move(queue_.front());
      queue_.pop_front();
      return response;
    }
    for (const auto& [pattern, response] : rules_) {
      if (line.find(pattern) != std::string::npos) return response;
    }
    responder = responder_;
  }
  // Called without the lock, so a responder may script or inspect this fake.
  if (responder) return responder(command, line);
  return CommandResult{};
}

Status FakeRemote::Upload(const std::filesystem::path& local, const std::string& remote_path) {
  std::lock_guard lock(mutex_);
  if (transfer_failure_) {
    Status status = std::move(*transfer_failure_);
    transfer_failure_.reset();
    return status;
  }
  std::ifstream in(local, std::ios::binary);
  if (!in) return Status::IoError(node_ + ": upload " + local.string() + ": cannot read it");
  std::ostringstream content;
  content << in.rdbuf();
  files_[remote_path] = content.str();
  return Status::Ok();
}

Status FakeRemote::Download(const std::string& remote_path, const std::filesystem::path& local) {
  std::lock_guard lock(mutex_);
  if (transfer_failure_) {
    Status status = std::move(*transfer_failure_);
    transfer_failure_.reset();
    return status;
  }
  auto file = files_.find(remote_path);
  if (file == files_.end()) {
    return Status::IoError(node_ + ": download " + remote_path + ": no such file");
  }
  std::ofstream out(local, std::ios::binary | std::ios::trunc);
  out << file->second;
  if (!out.flush()) return Status::IoError(node_ + ": download to " + local.string() + " failed");
  return Status::Ok();
}

void FakeRemote::Enqueue(Result<CommandResult> response) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(response));
}

void FakeRemote::EnqueueOutput(std::string out, int exit_code, std::string err) {
  Enqueue(CommandResult{exit_code, std::move(out), std::move(err)});
}

void FakeRemote::EnqueueError(Status status) { Enqueue(std::move(status)); }

void FakeRemote::When(std::string command_line_substring, Result<CommandResult> response) {
  std::lock_guard lock(mutex_);
  rules_.emplace_back(std::move(command_line_substring), std::move(response));
}

void FakeRemote::SetResponder(Responder responder) {
  std::lock_guard lock(mutex_);
  responder_ = std::move(responder);
}

void FakeRemote::FailNextTransfer(Status status) {
  std::lock_guard lock(mutex_);
  transfer_failure_ = std::move(status);
}

std::vector<FakeRemote::Record> FakeRemote::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::vector<std::string> FakeRemote::command_lines() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> lines;
  lines.reserve(records_.size());
  for (const Record& record : records_) lines.push_back(record.command_line);
  return lines;
}

size_t FakeRemote::command_count() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

void FakeRemote::ClearRecords() {
  std::lock_guard lock(mutex_);
  records_.clear();
}

void FakeRemote::SetFile(const std::string& remote_path, std::string content) {
  std::lock_guard lock(mutex_);
  files_[remote_path] = std::move(content);
}

std::optional<std::string> FakeRemote::File(const std::string& remote_path) const {
  std::lock_guard lock(mutex_);
  auto file = files_.find(remote_path);
  if (file == files_.end()) return std::nullopt;
  return file->second;
}

}  // namespace faultline::control
