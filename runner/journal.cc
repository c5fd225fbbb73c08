#include "runner/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/history_io.h"

namespace faultline {

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path, const Json& header) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(path + ": cannot create: " + std::strerror(errno));
  std::unique_ptr<Journal> journal(new Journal(fd, path));
  Status written = journal->WriteAll(JsonlHeaderLine(header) + "\n");
  if (!written.ok()) return written;
  journal->writes_ = 0;  // count the ops' writes only
  return journal;
}

Journal::~Journal() { (void)Close(); }

void Journal::Buffer(const Op& op) {
  AppendJsonlLine(op, &buffer_);
  buffer_.push_back('\n');
}

Status Journal::Flush() {
  if (buffer_.empty()) return Status::Ok();
  Status written = WriteAll(buffer_);
  buffer_.clear();  // written, or lost with the error
  return written;
}

Status Journal::Append(const Op& op) {
  Buffer(op);
  return Flush();
}

Status Journal::WriteAll(const std::string& bytes) {
  if (fd_ < 0) return Status::IoError(path_ + ": journal is closed");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t wrote = ::write(fd_, bytes.data() + done, bytes.size() - done);
    ++writes_;
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) return Status::IoError(path_ + ": write failed: " + std::strerror(errno));
    done += static_cast<size_t>(wrote);
  }
  return Status::Ok();
}

Status Journal::Close() {
  if (fd_ < 0) return Status::Ok();
  Status flushed = Flush();
  int result = ::close(fd_);
  fd_ = -1;
  if (!flushed.ok()) return flushed;
  if (result != 0) return Status::IoError(path_ + ": close failed: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace faultline
