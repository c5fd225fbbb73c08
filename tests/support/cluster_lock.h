// The local cluster's names (bridge fl-br0, namespaces fl-nI, subnet 10.213.0.0/24) are one per
// machine, and several test binaries (tests/cluster, tests/nemesis, tests/clients, tests/e2e)
// build clusters. CTest runs binaries in parallel, so every test that builds a cluster first
// takes this lock; people running clusters by hand use the same file with flock(1).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace faultline::testing {

inline constexpr char kClusterLockPath[] = "/tmp/faultline-cluster.lock";

// Holds the machine-wide cluster lock from construction to destruction.
class ClusterLock {
 public:
  ClusterLock() {
    fd_ = ::open(kClusterLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
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

 private:
  int fd_ = -1;
};

}  // namespace faultline::testing
