#include "core/file_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace faultline {
namespace {

std::string SystemError(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

}  // namespace

Status WriteFileExclusively(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path temporary;
  int fd = -1;
  // The name is fresh per call; O_EXCL turns a leftover (or planted) file into another try.
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temporary = path.parent_path() /
                ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                 std::to_string(counter.fetch_add(1)));
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST) return Status::IoError(SystemError("cannot create", temporary));
  }
  if (fd < 0) return Status::IoError("cannot find a free temporary name for " + path.string());
  Status status = Status::Ok();
  if (::fchmod(fd, mode) != 0) status = Status::IoError(SystemError("cannot chmod", temporary));
  for (size_t written = 0; status.ok() && written < text.size();) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::IoError(SystemError("cannot write", temporary));
    } else {
      written += static_cast<size_t>(n);
    }
  }
  if (::close(fd) != 0 && status.ok()) {
    status = Status::IoError(SystemError("cannot write", temporary));
  }
  // rename replaces whatever `path` is (a symlink included) without following it.
  if (status.ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
    status = Status::IoError(SystemError("cannot rename " + temporary.string() + " to", path));
  }
  if (!status.ok()) ::unlink(temporary.c_str());
  return status;
}

}  // namespace faultline
