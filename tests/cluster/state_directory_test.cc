// The state directory's rules (runner/cluster/state_directory.h) on real directories, without
// namespaces. As root, "another user" is nobody (uid 65534, by chown); without root, the expected
// owner is a uid that is not ours, which the same rules must refuse.
#include "runner/cluster/state_directory.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace faultline::cluster {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;

std::string Contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const fs::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

mode_t Mode(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

class StateDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/faultline_state_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;  // mkdtemp: ours, 0700, in sticky /tmp
    owner_ = ::geteuid();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  // Makes `path` belong to someone else: chown to nobody as root, or else expect another owner.
  // Returns the owner to check with.
  uid_t GiveAway(const fs::path& path) {
    if (::geteuid() == 0) {
      EXPECT_EQ(::lchown(path.c_str(), kNobody, kNobody), 0) << path;
      return owner_;
    }
    return owner_ + 1;
  }

  // `directory` refused by both the check and the creation, with `words` in the message.
  void ExpectRefused(const fs::path& directory, uid_t owner, const std::string& words) {
    Result<bool> checked = CheckTrustedDirectory(directory, owner);
    ASSERT_FALSE(checked.ok()) << directory << " was accepted";
    EXPECT_NE(checked.status().message().find(words), std::string::npos)
        << checked.status().message();
    Status made = MakeTrustedDirectory(directory, owner);
    ASSERT_FALSE(made.ok()) << directory << " was accepted";
    EXPECT_NE(made.message().find(words), std::string::npos) << made.message();
  }

  fs::path root_;
  uid_t owner_ = 0;
};

TEST_F(StateDirectoryTest, OurDirectoryInStickyTmpIsTrustedAndMissingOnesAreCreated0700) {
  Result<bool> exists = CheckTrustedDirectory(root_, owner_);
  ASSERT_TRUE(exists.ok()) << exists.status().message();
  EXPECT_TRUE(*exists);

  const fs::path state = root_ / "a" / "cluster";
  exists = CheckTrustedDirectory(state, owner_);
  ASSERT_TRUE(exists.ok()) << exists.status().message();
  EXPECT_FALSE(*exists);
  EXPECT_FALSE(fs::exists(root_ / "a"));  // checking creates nothing

  mode_t saved_umask = ::umask(0);  // the mode must not depend on a strict umask
  Status made = MakeTrustedDirectory(state, owner_);
  ::umask(saved_umask);
  ASSERT_TRUE(made.ok()) << made.message();
  EXPECT_EQ(Mode(root_ / "a"), 0700u);
  EXPECT_EQ(Mode(state), 0700u);
  exists = CheckTrustedDirectory(state, owner_);
  ASSERT_TRUE(exists.ok()) << exists.status().message();
  EXPECT_TRUE(*exists);
}

TEST_F(StateDirectoryTest, ADirectoryOwnedByAnotherUserIsRefusedAlsoInAStickyDirectory) {
  // The sticky parent is /tmp, where a local user prepares `x` before root runs
  // `cluster up --state-dir /tmp/x`.
  for (mode_t parent_mode : {0700, 01777}) {
    ASSERT_EQ(::chmod(root_.c_str(), parent_mode), 0);
    const fs::path prepared = root_ / ("x" + std::to_string(parent_mode));
    ASSERT_TRUE(fs::create_directory(prepared));
    ::chmod(prepared.c_str(), 0755);
    uid_t owner = GiveAway(prepared);
    ExpectRefused(prepared, owner, "is owned by uid");
    // Further up: its owner could rename it and put anything in its place.
    ExpectRefused(prepared / "cluster", owner, "is owned by uid");
  }
}

TEST_F(StateDirectoryTest, GroupOrWorldWritableDirectoriesAreRefused) {
  const fs::path state = root_ / "cluster";
  ASSERT_TRUE(fs::create_directory(state));
  for (mode_t mode : {0770, 0707, 0777, 01777}) {
    ASSERT_EQ(::chmod(state.c_str(), mode), 0);
    ExpectRefused(state, owner_, "writable by group or others");
  }
  // Above the state directory: refused unless sticky, like /tmp.
  ASSERT_EQ(::chmod(state.c_str(), 0777), 0);
  ExpectRefused(state / "below", owner_, "writable by group or others");
  ASSERT_EQ(::chmod(state.c_str(), 01777), 0);
  Status made = MakeTrustedDirectory(state / "below", owner_);
  EXPECT_TRUE(made.ok()) << made.message();
}

TEST_F(StateDirectoryTest, ASymlinkAnywhereOnThePathIsRefused) {
  const fs::path real = root_ / "real";
  ASSERT_TRUE(fs::create_directory(real));
  ASSERT_TRUE(fs::create_directory(real / "cluster"));
  fs::create_directory_symlink(real, root_ / "link");
  ExpectRefused(root_ / "link" / "cluster", owner_, "symbolic link");
  ExpectRefused(root_ / "link", owner_, "symbolic link");
  ExpectRefused(root_ / "link" / "new", owner_, "symbolic link");
  EXPECT_FALSE(fs::exists(real / "new"));
}

TEST_F(StateDirectoryTest, AFileOnThePathIsRefused) {
  Write(root_ / "file", "x", 0600);
  ExpectRefused(root_ / "file" / "cluster", owner_, "not a directory");
}

TEST_F(StateDirectoryTest, WritingReplacesAPlantedSymlinkAndNeverFollowsOne) {
  const fs::path victim = root_ / "victim";
  Write(victim, "precious\n", 0644);
  const fs::path file = root_ / "cluster.json";
  fs::create_symlink(victim, file);
  // The temporary names an older version used, planted too.
  fs::create_symlink(victim, root_ / "cluster.json.tmp");
  fs::create_symlink(victim, root_ / ".cluster.json.tmp");

  ASSERT_TRUE(WriteFileExclusively(file, "{}\n", 0644).ok());
  EXPECT_EQ(Contents(victim), "precious\n");
  EXPECT_FALSE(fs::is_symlink(file));
  EXPECT_EQ(Contents(file), "{}\n");
  EXPECT_EQ(Mode(file), 0644u);

  ASSERT_TRUE(WriteFileExclusively(root_ / "authorized_keys", "ssh-ed25519 AAAA\n", 0600).ok());
  EXPECT_EQ(Mode(root_ / "authorized_keys"), 0600u);
  // Nothing left behind but the files written.
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(root_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 5u);  // victim, cluster.json, the two other symlinks, authorized_keys
}

TEST_F(StateDirectoryTest, ReadingDoesNotFollowASymlink) {
  const fs::path victim = root_ / "victim";
  Write(victim, "secret\n", 0600);
  fs::create_symlink(victim, root_ / "cluster.json");
  Result<std::string> read = ReadFileNoFollow(root_ / "cluster.json");
  EXPECT_FALSE(read.ok());
  read = ReadFileNoFollow(victim);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, "secret\n");
}

TEST_F(StateDirectoryTest, AKeyIsReusedOnlyWhenItIsOursAndPrivate) {
  const fs::path key = root_ / "id_ed25519";
  const fs::path public_key = root_ / "id_ed25519.pub";
  Write(key, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0600);
  Write(public_key, "ssh-ed25519 AAAA faultline\n", 0644);
  Status checked = CheckPrivateKey(key, owner_);
  EXPECT_TRUE(checked.ok()) << checked.message();

  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  checked = CheckPrivateKey(key, owner_);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.message().find("mode 0644, not 0600"), std::string::npos) << checked.message();
  EXPECT_NE(checked.message().find("refusing to reuse"), std::string::npos) << checked.message();
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);

  ASSERT_EQ(::chmod(public_key.c_str(), 0666), 0);  // anyone could put their key in
  EXPECT_FALSE(CheckPrivateKey(key, owner_).ok());
  ASSERT_EQ(::chmod(public_key.c_str(), 0644), 0);

  uid_t owner = GiveAway(key);
  checked = CheckPrivateKey(key, owner);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.message().find("is owned by uid"), std::string::npos) << checked.message();
}

TEST_F(StateDirectoryTest, ASymlinkedKeyIsNotReused) {
  const fs::path elsewhere = root_ / "elsewhere";
  Write(elsewhere, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0600);
  fs::create_symlink(elsewhere, root_ / "id_ed25519");
  Write(root_ / "id_ed25519.pub", "ssh-ed25519 AAAA faultline\n", 0644);
  Status checked = CheckPrivateKey(root_ / "id_ed25519", owner_);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.message().find("symbolic link"), std::string::npos) << checked.message();
}

}  // namespace
}  // namespace faultline::cluster
