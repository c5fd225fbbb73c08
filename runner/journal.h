// Journal: history.jsonl written as the test runs.
//
// Each op becomes one line, handed to the kernel with write(2) before Append returns, so a
// controller killed with SIGKILL leaves every recorded line on disk (a torn last line at worst,
// which readers of a run directory drop). Used by the interpreter thread only.
#pragma once

#include <memory>
#include <string>

#include "core/op.h"
#include "core/status.h"

namespace faultline {

class Journal {
 public:
  static Result<std::unique_ptr<Journal>> Open(const std::string& path, const Json& header);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  Status Append(const Op& op);
  Status Close();
  const std::string& path() const { return path_; }

 private:
  Journal(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status WriteAll(const std::string& bytes);

  int fd_;
  std::string path_;
  std::string line_;  // reused between appends
};

}  // namespace faultline
