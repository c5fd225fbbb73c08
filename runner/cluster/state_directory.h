// The local cluster's state directory is trusted by root: it holds the controller's private key,
// and each node's n<i>/root/.ssh/authorized_keys becomes root's on that node's sshd, which runs
// as root on this machine. Whoever can write there (or swap a directory on its path) gets root.
// These functions keep it root's own.
//
// A directory is trusted for `owner` when every component of its absolute path, from "/" down:
//   - is a real directory, not a symbolic link (checked with lstat, never followed);
//   - is owned by root or `owner`, and the directory itself by `owner`;
//   - is not writable by group or others, except an ancestor with the sticky bit (like /tmp):
//     others may add entries there but cannot rename or remove one they do not own, and the next
//     component must be owned by root or `owner` anyway.
// So `/tmp/x` is trusted when root created `/tmp/x` (mkdtemp, or faultline itself), refused when a
// user did; `/run/faultline/cluster` (the default) is. Paths through a symlink (`/var/run` on
// Debian) must be given as their real path. With these rules no other non-root user can replace
// anything on the path after the check, so the check does not go stale.
//
// `owner` is the effective uid in the cluster code (root); tests pass their own uid to check the
// rules without root. Errors are IoErrors that name the component and what is wrong with it.
// Thread safety: the functions keep no state; concurrent calls on one path race like any files.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "core/file_write.h"
#include "core/status.h"

namespace faultline::cluster {

// Whether `directory` (absolute) exists and is trusted for `owner`: true when it is, false when
// it does not exist but every existing directory above it is trusted (so creating it is safe), an
// error otherwise.
Result<bool> CheckTrustedDirectory(const std::filesystem::path& directory, uid_t owner);

// Creates the missing directories of `directory` (absolute) with mode 0700 and checks the whole
// path as CheckTrustedDirectory does, including what existed before.
Status MakeTrustedDirectory(const std::filesystem::path& directory, uid_t owner);

// Files are written with WriteFileExclusively (core/file_write.h).

// The contents of `path`, opened with O_NOFOLLOW: a symlink is an error, not followed.
Result<std::string> ReadFileNoFollow(const std::filesystem::path& path);

// An existing private key may be reused only when it is a regular file (not a symlink) owned by
// `owner` with mode 0600, and its `.pub` a regular file owned by `owner` that group and others
// cannot write; otherwise an error that says what is wrong and to remove the key.
Status CheckPrivateKey(const std::filesystem::path& private_key, uid_t owner);

}  // namespace faultline::cluster
