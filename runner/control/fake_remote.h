// FakeRemote: a scripted Remote for the tests of other modules (Db, nemesis, clients).
//
// It runs nothing. Every Execute is recorded (the Command and its CommandLine, exactly as a real
// node's shell would receive it) and answered, in this order, by: the next queued response, else
// the first rule whose pattern occurs in the command line, else the responder function, else a
// default success (exit 0, empty output). A response may be an error Status, so connection
// losses and timeouts can be simulated as well as non-zero exits; as from a real node, a response
// whose stdout and stderr together pass the command's max_output_bytes becomes OutputLimitError.
// Uploads and downloads move files in and out of an in-memory map of "remote" files.
//
// Thread safety: unlike other Remotes, every method may be called from any thread (a mutex
// guards the state), so a test may inspect the record while a worker thread uses the fake.
#pragma once

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runner/control/remote.h"

namespace faultline::control {

class FakeRemote : public Remote {
 public:
  using Responder =
      std::function<Result<CommandResult>(const Command& command, const std::string& command_line)>;
  struct Record {
    Command command;
    std::string command_line;  // CommandLine(command, sudo_password)
  };

  explicit FakeRemote(std::string node = "fake", std::string sudo_password = "");

  const std::string& node() const override { return node_; }
  Result<CommandResult> Execute(const Command& command) override;
  Status Upload(const std::filesystem::path& local, const std::string& remote_path) override;
  Status Download(const std::string& remote_path, const std::filesystem::path& local) override;

  // Scripting. Responses are consumed first; rules and the responder are kept.
  void Enqueue(Result<CommandResult> response);
  void EnqueueOutput(std::string out, int exit_code = 0, std::string err = "");
  void EnqueueError(Status status);
  void When(std::string command_line_substring, Result<CommandResult> response);
  void SetResponder(Responder responder);
  // Makes the next Upload or Download (one call) fail with `status`.
  void FailNextTransfer(Status status);

  // The record.
  std::vector<Record> records() const;
  std::vector<std::string> command_lines() const;
  size_t command_count() const;
  void ClearRecords();

  // The in-memory remote file system that Upload writes and Download reads.
  void SetFile(const std::string& remote_path, std::string content);
  std::optional<std::string> File(const std::string& remote_path) const;

 private:
  Result<CommandResult> Respond(const Command& command);  // records it; the scripted answer

  const std::string node_;
  const std::string sudo_password_;
  mutable std::mutex mutex_;
  std::vector<Record> records_;
  std::deque<Result<CommandResult>> queue_;
  std::vector<std::pair<std::string, Result<CommandResult>>> rules_;
  Responder responder_;
  std::optional<Status> transfer_failure_;
  std::map<std::string, std::string> files_;
};

}  // namespace faultline::control
