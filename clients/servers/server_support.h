// What the real databases faultline installs on the nodes (clients/postgres, clients/redis) share:
// a per-test password and a per-node directory. Pure functions, any thread.
#pragma once

#include <string>

#include "core/status.h"

namespace faultline::clients {

// 24 letters and digits from the system's entropy (a seed would make it guessable): characters
// every config file, connection string and script carries as they are.
std::string RandomPassword();

// `pattern` with each "{node}" replaced by `node`, so that nodes sharing one filesystem (the local
// cluster) never share a directory.
std::string NodeDirectory(const std::string& pattern, const std::string& node);

// Ok when `directory` is absolute, not "/" and holds no "..": a directory Teardown may remove.
// InvalidArgument naming `what` ("postgres directory") otherwise.
Status ValidateRemovableDirectory(const std::string& directory, const std::string& what);

}  // namespace faultline::clients
