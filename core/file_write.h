// Writing a file so that a crash never leaves it torn and a symlink planted where it goes is
// replaced, never followed: for files root writes in directories others may have prepared (the
// local cluster's state) and for reports a CI job reads (JUnit). Thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "core/status.h"

namespace faultline {

// Replaces `path` with `text`: written to a fresh name in the same directory, opened with
// O_CREAT|O_EXCL|O_NOFOLLOW and `mode`, then renamed over `path`. IoError naming the file and
// errno's text; the temporary is removed on failure.
Status WriteFileExclusively(const std::filesystem::path& path, const std::string& text,
                            mode_t mode);

}  // namespace faultline
