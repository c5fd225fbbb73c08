#include "runner/cluster/state_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace faultline::cluster {
namespace {

namespace fs = std::filesystem;

std::string Octal(mode_t mode) {
  char text[16];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string SystemError(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

// One component of a trusted path, as lstat saw it (see the header for the rules).
Status CheckComponent(const fs::path& path, const struct stat& info, uid_t owner, bool last) {
  if (S_ISLNK(info.st_mode)) {
    return Status::IoError(path.string() +
                           " is a symbolic link; no symlink may be on the path of a cluster state"
                           " directory or in it (give its real path)");
  }
  if (!S_ISDIR(info.st_mode)) return Status::IoError(path.string() + " is not a directory");
  const bool owner_ok = last ? info.st_uid == owner : info.st_uid == 0 || info.st_uid == owner;
  if (!owner_ok) {
    return Status::IoError(path.string() + " is owned by uid " + std::to_string(info.st_uid) +
                           ", not " + (last ? "" : "root or ") + "uid " + std::to_string(owner) +
                           "; another user could change the cluster's keys there");
  }
  const bool shared = (info.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  // In a sticky directory (like /tmp) others may add entries but not rename or remove ours.
  if (shared && (last || (info.st_mode & S_ISVTX) == 0)) {
    return Status::IoError(path.string() + " is writable by group or others (mode " +
                           Octal(info.st_mode) +
                           "); a cluster state directory and the directories above it must not be");
  }
  return Status::Ok();
}

// Checks `directory` component by component; creates the missing ones (0700) when `create`.
Result<bool> WalkTrustedPath(const fs::path& directory, uid_t owner, bool create) {
  if (!directory.is_absolute()) {
    return Status::InvalidArgument("state directory " + directory.string() + " is not absolute");
  }
  std::vector<fs::path> components;
  for (const fs::path& component : directory) {
    if (component.empty()) continue;  // a trailing slash
    if (component == "." || component == "..") {
      return Status::InvalidArgument("state directory " + directory.string() +
                                     " must not contain . or ..");
    }
    components.push_back(component);
  }
  fs::path current;
  for (size_t i = 0; i < components.size(); ++i) {
    current /= components[i];
    const bool last = i + 1 == components.size();
    struct stat info {};
    if (::lstat(current.c_str(), &info) != 0) {
      if (errno != ENOENT) return Status::IoError(SystemError("cannot inspect", current));
      if (!create) return false;
      // Another process may create it between lstat and mkdir: then its owner decides below.
      if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::IoError(SystemError("cannot create", current));
      }
      if (::lstat(current.c_str(), &info) != 0) {
        return Status::IoError(SystemError("cannot inspect", current));
      }
    }
    if (Status s = CheckComponent(current, info, owner, last); !s.ok()) return s;
  }
  return true;
}

// What is wrong with `path` as a file only `owner` may change ("" when nothing); `exact_mode`
// (when not 0) is the only mode allowed.
std::string FileProblem(const fs::path& path, uid_t owner, mode_t exact_mode) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return SystemError("cannot inspect", path);
  if (S_ISLNK(info.st_mode)) return path.string() + " is a symbolic link";
  if (!S_ISREG(info.st_mode)) return path.string() + " is not a regular file";
  if (info.st_uid != owner) {
    return path.string() + " is owned by uid " + std::to_string(info.st_uid) + ", not uid " +
           std::to_string(owner);
  }
  if (exact_mode != 0 && (info.st_mode & 07777) != exact_mode) {
    return path.string() + " has mode " + Octal(info.st_mode) + ", not " + Octal(exact_mode);
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return path.string() + " is writable by group or others (mode " + Octal(info.st_mode) + ")";
  }
  return "";
}

}  // namespace

Result<bool> CheckTrustedDirectory(const fs::path& directory, uid_t owner) {
  return WalkTrustedPath(directory, owner, /*create=*/false);
}

Status MakeTrustedDirectory(const fs::path& directory, uid_t owner) {
  Result<bool> made = WalkTrustedPath(directory, owner, /*create=*/true);
  return made.ok() ? Status::Ok() : made.status();
}

Result<std::string> ReadFileNoFollow(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) return Status::IoError("cannot read " + path.string() + ": a symlink");
    return Status::IoError(SystemError("cannot read", path));
  }
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = Status::IoError(SystemError("cannot read", path));
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

Status CheckPrivateKey(const fs::path& private_key, uid_t owner) {
  std::string problem = FileProblem(private_key, owner, 0600);
  if (problem.empty()) problem = FileProblem(private_key.string() + ".pub", owner, 0);
  if (problem.empty()) return Status::Ok();
  return Status::IoError(problem + "; refusing to reuse the key " + private_key.string() +
                         " (remove it and its .pub to have a new one generated)");
}

}  // namespace faultline::cluster
