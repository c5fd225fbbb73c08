// The run store: one directory per run, store/<test>/<YYYYmmddTHHMMSS>/, holding test.json,
// history.jsonl, results.json, run.log and nodes/<node>/; store/latest and store/<test>/latest
// point at the newest finished run, store/current and store/<test>/current at the newest started
// one. Used by the lifecycle thread.
#pragma once

#include <filesystem>
#include <string>

#include "core/op.h"
#include "core/status.h"

namespace faultline {

struct RunDirectory {
  std::filesystem::path path;
  std::filesystem::path history() const { return path / "history.jsonl"; }
  std::filesystem::path results() const { return path / "results.json"; }
  std::filesystem::path test_json() const { return path / "test.json"; }
  std::filesystem::path log() const { return path / "run.log"; }
  std::filesystem::path node(const std::string& name) const { return path / "nodes" / name; }
};

// Test and node names become path components (store/<test>/, nodes/<node>/), so they are kept
// to a safe alphabet: 1 to 128 of letters, digits and `.` `_` `-` `+` `:` (IPv6 node addresses),
// not starting with `.` or `-` (so never `.`, `..` or a hidden file, never read as a flag).
// InvalidArgument naming `what` ("test name", "node name") and the name otherwise.
Status CheckPathName(const std::string& what, const std::string& name);

// Creates a fresh run directory (a suffix keeps two runs in the same second apart) and points
// the `current` links at it (store/current, store/<test>/current: the run under way, or the last
// one started). RunTest points the `latest` links at it once it has finished (results.json
// written), so `latest` is always the last finished run, as in Jepsen's store. InvalidArgument for a test name CheckPathName refuses; IoError when
// the run directory would not lie inside the store (a symlink planted at store/<test>).
Result<RunDirectory> CreateRunDirectory(const std::filesystem::path& store,
                                        const std::string& test_name);

// Points store/<link_name> and store/<test>/<link_name> at `run` (relative symlinks, replaced
// atomically). Failures are ignored: the links are a convenience, the run directory is the record.
void PointLinks(const RunDirectory& run, const std::string& link_name);

Status WriteJsonFile(const std::filesystem::path& path, const Json& value);
Result<Json> ReadJsonFile(const std::filesystem::path& path);

}  // namespace faultline
