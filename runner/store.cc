#include "runner/store.h"

#include <algorithm>
#include <string_view>
#include <fstream>
#include <system_error>

#include "core/local_time.h"

namespace faultline {
namespace {

// Replaces `link` with a symlink to `target` (relative), atomically via a rename.
void PointLink(const std::filesystem::path& link, const std::filesystem::path& target) {
  std::error_code ignored;
  std::filesystem::path temporary = link;
  temporary += ".new";
  std::filesystem::remove(temporary, ignored);
  std::filesystem::create_directory_symlink(target, temporary, ignored);
  if (!ignored) std::filesystem::rename(temporary, link, ignored);
}

bool IsNameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("._-+:").find(c) != std::string_view::npos;
}

// Whether `child` is really the entry `name` of `directory`, and not a symlink that leads
// elsewhere. Both must exist.
bool IsEntryOf(const std::filesystem::path& child, const std::filesystem::path& directory,
               const std::string& name) {
  std::error_code error;
  std::filesystem::path real_child = std::filesystem::canonical(child, error);
  if (error) return false;
  std::filesystem::path real_directory = std::filesystem::canonical(directory, error);
  return !error && real_child == real_directory / name;
}

}  // namespace

Status CheckPathName(const std::string& what, const std::string& name) {
  constexpr size_t kMaxLength = 128;
  bool safe = !name.empty() && name.size() <= kMaxLength && name[0] != '.' && name[0] != '-' &&
              std::all_of(name.begin(), name.end(), IsNameCharacter);
  if (safe) return Status::Ok();
  return Status::InvalidArgument(
      what + " \"" + name +
      "\": expected 1 to 128 letters, digits, '.', '_', '-', '+' or ':', not starting with '.' "
      "or '-' (it becomes a directory name)");
}

Result<RunDirectory> CreateRunDirectory(const std::filesystem::path& store,
                                        const std::string& test_name) {
  if (Status name = CheckPathName("test name", test_name); !name.ok()) return name;
  std::filesystem::path test_dir = store / test_name;
  std::error_code error;
  std::filesystem::create_directories(test_dir, error);
  if (error) return Status::IoError(test_dir.string() + ": " + error.message());
  if (!IsEntryOf(test_dir, store, test_name)) {
    return Status::IoError(test_dir.string() + " leads outside the store " + store.string() +
                           " (a symlink?): refusing to write runs there");
  }
  std::string stamp = LocalTimeNow("%Y%m%dT%H%M%S");
  std::filesystem::path run = test_dir / stamp;
  for (int suffix = 1; !std::filesystem::create_directory(run, error); ++suffix) {
    if (error) return Status::IoError(run.string() + ": " + error.message());
    if (suffix > 1000) return Status::IoError(run.string() + ": too many runs this second");
    run = test_dir / (stamp + "-" + std::to_string(suffix));
  }
  std::filesystem::create_directories(run / "nodes", error);
  PointLinks(RunDirectory{run}, "current");
  return RunDirectory{run};
}

void PointLinks(const RunDirectory& run, const std::string& link_name) {
  const std::filesystem::path test_dir = run.path.parent_path();
  PointLink(test_dir / link_name, run.path.filename());
  PointLink(test_dir.parent_path() / link_name, test_dir.filename() / run.path.filename());
}

Status WriteJsonFile(const std::filesystem::path& path, const Json& value) {
  std::ofstream out(path, std::ios::trunc);
  out << value.dump(2) << "\n";
  out.flush();
  if (!out) return Status::IoError(path.string() + ": cannot write");
  return Status::Ok();
}

Result<Json> ReadJsonFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path.string() + ": cannot open");
  Json value = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::ParseError(path.string() + ": not valid JSON");
  return value;
}

}  // namespace faultline
