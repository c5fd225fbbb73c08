#include "reports/graphviz.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>

#include "reports/subprocess.h"

namespace faultline::reports {

namespace fs = std::filesystem;

bool DotDrawer::Draw(const fs::path& dot_file, const fs::path& svg_file,
                     std::vector<std::string>* warnings) {
  if (missing_) return false;
  // Temporary names beside the SVG, unique per process: a reader never sees half a drawing.
  const std::string suffix = ".tmp" + std::to_string(::getpid());
  const fs::path partial = svg_file.string() + suffix;
  const fs::path log = svg_file.string() + suffix + ".log";
  const ProgramOutcome outcome = RunProgram(
      {options_.command, "-Tsvg", "-o", partial.string(), dot_file.string()}, log,
      options_.timeout_s);
  std::error_code ignored;
  fs::remove(log, ignored);
  if (outcome.spawn_error != 0) {
    missing_ = true;
    warnings->push_back("no cycle drawings: cannot run Graphviz ('" + options_.command +
                        "': " + std::strerror(outcome.spawn_error) +
                        "); install graphviz (scripts/setup.sh)");
    fs::remove(partial, ignored);
    return false;
  }
  if (!outcome.ok()) {
    warnings->push_back("no drawing of " + dot_file.string() + ": dot failed (" +
                        outcome.Failure(options_.timeout_s) + ")");
    fs::remove(partial, ignored);
    return false;
  }
  std::error_code renamed;
  fs::rename(partial, svg_file, renamed);
  if (renamed) {
    warnings->push_back("cannot write " + svg_file.string() + ": " + renamed.message());
    fs::remove(partial, ignored);
    return false;
  }
  return true;
}

size_t DotDrawer::DrawDirectory(const fs::path& directory, std::vector<std::string>* warnings) {
  std::vector<fs::path> dots;
  std::error_code error;
  for (fs::recursive_directory_iterator entry(directory, error), end; !error && entry != end;
       entry.increment(error)) {
    if (entry->path().extension() == ".dot" && entry->is_regular_file()) {
      dots.push_back(entry->path());
    }
  }
  if (error) {
    warnings->push_back("cannot list " + directory.string() + ": " + error.message());
    return 0;
  }
  std::sort(dots.begin(), dots.end());
  size_t drawn = 0;
  for (const fs::path& dot : dots) {
    fs::path svg = dot;
    svg.replace_extension(".svg");
    if (Draw(dot, svg, warnings)) ++drawn;
  }
  return drawn;
}

}  // namespace faultline::reports
