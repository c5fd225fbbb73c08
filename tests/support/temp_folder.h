// A fresh folder under the system's temporary directory for one test, removed with everything in
// it when the value goes away. Tests that write files (reports, plots, run folders) use one each,
// so tests running side by side never share a path.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace faultline::testing {

class TempFolder {
 public:
  // `prefix` names the folder (`<prefix>XXXXXX`); path() is empty when it could not be made.
  explicit TempFolder(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace faultline::testing
