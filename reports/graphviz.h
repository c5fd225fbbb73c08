// Graphviz `dot` as a subprocess: DOT files drawn as SVG for the report's anomaly cycles and for
// `faultline check --cycles-dir` (checker/ writes the DOT files, it never spawns programs).
//
// dot runs through posix_spawnp (no shell; the paths are argv entries, never parsed), its stdin
// /dev/null, its output into a scratch file, in a process group of its own that is killed when it
// runs past `timeout_s`. The SVG is written beside under a temporary name and renamed, so a reader
// never sees half a drawing, and removed when dot fails.
//
// Drawings are optional: a missing dot (not on PATH, or `command` naming no program) is one
// warning for the whole DotDrawer, after which it draws nothing; dot failing or timing out on a
// file is one warning for that file. Never an error. A DotDrawer is used by one thread at a time.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faultline::reports {

struct DotOptions {
  // The program run: a name looked up on PATH, or a path (with a '/').
  std::string command = "dot";
  double timeout_s = 30;  // per drawing; a cycle of a few transactions takes milliseconds
};

class DotDrawer {
 public:
  explicit DotDrawer(DotOptions options = {}) : options_(std::move(options)) {}

  // Draws the DOT file `dot_file` into `svg_file`. True when the SVG was written; otherwise
  // a warning was added to `warnings` (not null), unless dot was already known to be missing.
  bool Draw(const std::filesystem::path& dot_file, const std::filesystem::path& svg_file,
            std::vector<std::string>* warnings);

  // Draws every *.dot file inside `directory` (and its folders: a composition's checkers write
  // into DIRECTORY/<checker>/) into an .svg file beside it, in path order. Returns how many
  // were drawn.
  size_t DrawDirectory(const std::filesystem::path& directory, std::vector<std::string>* warnings);

  bool missing() const { return missing_; }

 private:
  DotOptions options_;
  bool missing_ = false;  // dot could not be started once: never tried again
};

}  // namespace faultline::reports
