// The local cluster's names (bridge fl-br0, namespaces fl-nI, subnet 10.213.0.0/24) are one per
// machine, and several test binaries (tests/cluster, tests/nemesis, tests/clients, tests/e2e)
// build clusters. CTest runs binaries in parallel, so every test that builds a cluster first
// takes this lock; people running clusters by hand use the same file with flock(1).
//
// The file lives in /run, which only root may write to: in a world-writable directory such as
// /tmp any local user could create it first (and hold it, or make it a symlink that root then
// opens). It is opened with O_NOFOLLOW and must be a regular file owned by this user.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace faultline::testing {

inline constexpr char kClusterLockPath[] = "/run/faultline-cluster.lock";

// Holds the machine-wide cluster lock from construction to destruction.
class ClusterLock {
 public:
  ClusterLock() {
    fd_ = ::open(kClusterLockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      error_ = std::string("cannot open ") + kClusterLockPath + ": " + std::strerror(errno);
      return;
    }
    struct stat info {};
    if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != ::geteuid()) {
      error_ = std::string(kClusterLockPath) + " is not a regular file owned by this user";
    } else if (::flock(fd_, LOCK_EX) != 0) {
      error_ = std::string("cannot lock ") + kClusterLockPath + ": " + std::strerror(errno);
    }
    if (!error_.empty()) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~ClusterLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  ClusterLock(const ClusterLock&) = delete;
  ClusterLock& operator=(const ClusterLock&) = delete;
  bool held() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }  // why the lock is not held

 private:
  int fd_ = -1;
  std::string error_;
};

}  // namespace faultline::testing
