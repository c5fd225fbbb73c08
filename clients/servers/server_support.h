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

// The checks the SQL servers' options share (clients/postgres, clients/galera), InvalidArgument
// naming `db`: a port in 1..65535, a start timeout of at least 1 s, a directory Teardown may
// remove, and a user (and a password, when one is given) of letters, digits and _ only, since
// both go into SQL, connection strings and config files as they are.
Status ValidateServerOptions(const std::string& db, int port, double start_timeout_s,
                             const std::string& directory, const std::string& user,
                             const std::string& password);

// The version number in a server program's --version output: the first run of digits and dots
// with at least one dot, alone or after "v", "v=" or "V" ("postgres (PostgreSQL) 15.10 (Debian
// 15.10-0+deb12u1)" -> "15.10", "Redis server v=7.0.15 sha=..." -> "7.0.15", "mariadbd  Ver
// 10.11.19-MariaDB-0+deb12u1" -> "10.11.19", "etcd Version: 3.4.23" -> "3.4.23"). ParseError
// quoting the output's first line when it holds none.
Result<std::string> ProgramVersion(const std::string& output);

}  // namespace faultline::clients
