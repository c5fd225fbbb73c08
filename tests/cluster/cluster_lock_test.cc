// The tests' machine-wide cluster lock (tests/support/cluster_lock.h) lives where only root can
// create it, so no local user can hold it first or plant a symlink that root then opens.
#include "support/cluster_lock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/skip.h"

namespace faultline::testing {
namespace {

namespace fs = std::filesystem;

TEST(ClusterLockTest, LivesInADirectoryOnlyRootCanWriteTo) {
  const fs::path directory = fs::path(kClusterLockPath).parent_path();
  struct stat info {};
  ASSERT_EQ(::lstat(directory.c_str(), &info), 0) << directory;
  EXPECT_TRUE(S_ISDIR(info.st_mode)) << directory << " is not a directory (or is a symlink)";
  EXPECT_EQ(info.st_uid, 0u) << directory;
  EXPECT_EQ(info.st_mode & (S_IWGRP | S_IWOTH), 0u)
      << directory << " is writable by others: mode " << std::oct << (info.st_mode & 07777);
}

TEST(ClusterLockTest, TheFileIsPrivateToItsOwner) {
  struct stat info {};
  if (::lstat(kClusterLockPath, &info) != 0) {
    // Not created yet on this machine: take it once (root only; the lock is free or soon is).
    if (::geteuid() != 0) FAULTLINE_SKIP() << kClusterLockPath << " does not exist yet";
    ClusterLock lock;
    ASSERT_TRUE(lock.held()) << lock.error();
    ASSERT_EQ(::lstat(kClusterLockPath, &info), 0);
  }
  EXPECT_TRUE(S_ISREG(info.st_mode)) << kClusterLockPath << " is not a regular file";
  EXPECT_EQ(info.st_uid, 0u);
  EXPECT_EQ(info.st_mode & (S_IWGRP | S_IWOTH), 0u)
      << kClusterLockPath << " mode " << std::oct << (info.st_mode & 07777);
}

}  // namespace
}  // namespace faultline::testing
