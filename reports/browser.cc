#include "reports/browser.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "core/op.h"
#include "reports/html.h"
#include "reports/junit.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

constexpr size_t kStampLength = 15;  // YYYYmmddTHHMMSS

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsDigit);
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool ContainsIgnoringCase(std::string_view text, std::string_view part) {
  auto equal = [](char a, char b) { return Lower(a) == Lower(b); };
  return std::search(text.begin(), text.end(), part.begin(), part.end(), equal) != text.end();
}

// The -N suffix of a run name as a number (0 when there is none), so -10 sorts after -9.
uint64_t SuffixOf(std::string_view name) {
  if (name.size() <= kStampLength + 1) return 0;
  uint64_t suffix = 0;
  for (char c : name.substr(kStampLength + 1)) {
    suffix = suffix > UINT64_MAX / 10 ? UINT64_MAX : suffix * 10 + static_cast<uint64_t>(c - '0');
  }
  return suffix;
}

// Whether `path` is itself (not through a symlink) an entry of the given type.
bool IsReal(const fs::path& path, fs::file_type type) {
  std::error_code error;
  return fs::symlink_status(path, error).type() == type && !error;
}

std::string Joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// Percent-encodes every byte but the unreserved ones (RFC 3986) and, for a path, '/'.
std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '-' ||
                      c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

// "20240131T235959-2" as "2024-01-31 23:59:59 (2)".
std::string DisplayTime(std::string_view name) {
  std::string_view stamp = name.substr(0, kStampLength);
  std::string out = std::string(stamp.substr(0, 4)) + "-" + std::string(stamp.substr(4, 2)) + "-" +
                    std::string(stamp.substr(6, 2)) + " " + std::string(stamp.substr(9, 2)) + ":" +
                    std::string(stamp.substr(11, 2)) + ":" + std::string(stamp.substr(13, 2));
  if (name.size() > kStampLength) out += " (" + std::string(name.substr(kStampLength + 1)) + ")";
  return out;
}

std::string MachineTime(std::string_view name) {
  std::string display = DisplayTime(name.substr(0, kStampLength));
  display[10] = 'T';
  return display;
}

// The index's URL for `query` at `page`, HTML-escaped for an attribute.
std::string IndexHref(const IndexQuery& query, int64_t page) {
  std::vector<std::string> parameters;
  if (query.verdict) parameters.push_back("verdict=" + std::string(ToString(*query.verdict)));
  if (!query.test.empty()) parameters.push_back("test=" + PercentEncode(query.test, false));
  if (page != 1) parameters.push_back("page=" + std::to_string(page));
  return HtmlEscape("/" + (parameters.empty() ? "" : "?" + Joined(parameters, "&")));
}

std::string RunPath(const RunEntry& run) {
  return UrlEncodePath(run.test) + "/" + UrlEncodePath(run.name);
}

constexpr std::string_view kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #202124; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
a { color: #1a56c4; }
code { background: #f1f3f4; padding: 0 .2em; }
form { margin: .8em 0; }
form label { margin-right: 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #dadce0;
         vertical-align: top; }
th { background: #f1f3f4; }
td.links a { margin-right: .6em; }
td.note, .note { color: #5f6368; font-size: .9em; overflow-wrap: anywhere; }
tr.valid { background: #e6f4ea; }
tr.invalid { background: #fce8e6; }
tr.unknown { background: #fef7e0; }
tr.unfinished { background: #f1f3f4; }
tr.valid td.verdict { color: #137333; font-weight: bold; }
tr.invalid td.verdict { color: #c5221f; font-weight: bold; }
tr.unknown td.verdict { color: #b06000; font-weight: bold; }
tr.unfinished td.verdict { color: #5f6368; font-weight: bold; }
span.checker { display: inline-block; margin-right: .8em; }
span.checker.valid { color: #137333; }
span.checker.invalid { color: #c5221f; }
span.checker.unknown { color: #b06000; }
nav#pages { margin: 1em 0; }
nav#pages a, nav#pages span { margin-right: 1em; }
)";

std::string PageStart(std::string_view title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         HtmlEscape(title) + "</title>\n<style>" + std::string(kStyle) +
         "</style>\n</head>\n<body>\n";
}

std::string RunRow(const RunEntry& run) {
  const std::string verdict(ToString(run.verdict));
  const std::string path = RunPath(run);
  std::string row = "<tr class=\"run " + verdict + (run.finished ? "" : " unfinished") +
                    "\" data-test=\"" + HtmlEscape(run.test) + "\" data-run=\"" +
                    HtmlEscape(run.name) + "\">";
  row += "<td class=\"started\"><time datetime=\"" + HtmlEscape(MachineTime(run.name)) + "\">" +
         HtmlEscape(DisplayTime(run.name)) + "</time></td>";
  row += "<td class=\"test\">" + HtmlEscape(run.test) + "</td>";
  row += "<td class=\"verdict\">" + (run.finished ? verdict : "running or crashed") + "</td>";
  row += "<td class=\"checkers\">";
  for (const auto& [name, checker_verdict] : run.checkers) {
    const std::string text(ToString(checker_verdict));
    row += "<span class=\"checker " + text + "\">" + HtmlEscape(name) + ": " + text + "</span>";
  }
  if (!run.note.empty()) row += "<div class=\"note\">" + HtmlEscape(run.note) + "</div>";
  row += "</td><td class=\"links\">";
  if (run.has_report) {
    row +=
        "<a class=\"report\" href=\"/store/" + HtmlEscape(path) + "/report/index.html\">report</a>";
  }
  row += "<a class=\"files\" href=\"/store/" + HtmlEscape(path) + "/\">files</a>";
  row += "<a class=\"archive\" href=\"/archive/" + HtmlEscape(path) + ".tar.gz\">archive</a>";
  row += "</td></tr>\n";
  return row;
}

std::string Pager(const RunPage& page, const IndexQuery& query) {
  std::string nav = "<nav id=\"pages\">";
  if (page.page > 1) {
    nav += "<a rel=\"prev\" href=\"" + IndexHref(query, page.page - 1) + "\">previous</a>";
  }
  nav += "<span>page " + std::to_string(page.page) + " of " + std::to_string(page.page_count) +
         "</span>";
  if (page.page < page.page_count) {
    nav += "<a rel=\"next\" href=\"" + IndexHref(query, page.page + 1) + "\">next</a>";
  }
  return nav + "</nav>\n";
}

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) value /= 1024, ++unit;
  std::ostringstream out;
  out.precision(unit == 0 ? 0 : 1);
  out << std::fixed << value << " " << kUnits[unit];
  return out.str();
}

// Whether `path` lies strictly under `root` (both canonical).
bool IsStrictlyUnder(const fs::path& path, const fs::path& root) {
  auto [root_end, path_at] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end() && path_at != path.end();
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

bool IsRunName(std::string_view name) {
  if (name.size() < kStampLength) return false;
  std::string_view stamp = name.substr(0, kStampLength);
  if (!AllDigits(stamp.substr(0, 8)) || stamp[8] != 'T' || !AllDigits(stamp.substr(9))) {
    return false;
  }
  if (name.size() == kStampLength) return true;
  return name[kStampLength] == '-' && AllDigits(name.substr(kStampLength + 1));
}

RunEntry ReadRun(const fs::path& directory, std::string test, std::string name) {
  RunEntry run;
  run.test = std::move(test);
  run.name = std::move(name);
  run.has_report = IsReal(directory / "report", fs::file_type::directory) &&
                   IsReal(directory / "report" / "index.html", fs::file_type::regular);
  const fs::path results_path = directory / "results.json";
  std::error_code error;
  const fs::file_type type = fs::symlink_status(results_path, error).type();
  if (type == fs::file_type::not_found) {
    run.note = "no results.json: running, or crashed before checking";
    return run;
  }
  run.finished = true;
  if (type != fs::file_type::regular) {
    run.note = "results.json is not a regular file";
    return run;
  }
  std::ifstream in(results_path);
  const Json results = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!in.good() && !in.eof()) {
    run.note = "results.json cannot be read";
    return run;
  }
  std::optional<Verdict> verdict = VerdictOf(results);
  if (results.is_discarded() || !verdict) {
    run.note = results.is_discarded() ? "results.json is not valid JSON"
                                      : "results.json states no verdict";
    return run;
  }
  run.verdict = *verdict;
  std::vector<std::string> notes;
  if (results.contains("error") && results["error"].is_string()) {
    notes.push_back("the run failed: " + results["error"].get<std::string>());
  }
  if (results.value("interrupted", false) == true) notes.push_back("interrupted");
  if (results.contains("checkers") && results["checkers"].is_object()) {
    for (const auto& [checker, result] : results["checkers"].items()) {
      const Verdict checker_verdict = VerdictOf(result).value_or(Verdict::kUnknown);
      run.checkers.emplace_back(checker, checker_verdict);
      if (checker_verdict != Verdict::kValid) {
        notes.push_back(checker + ": " + CheckerSummary(result, ToString(checker_verdict)));
      }
    }
  }
  run.note = Joined(notes, "; ");
  return run;
}

Result<std::vector<RunEntry>> ScanStore(const fs::path& store) {
  std::error_code error;
  fs::directory_iterator tests(store, error);
  if (error) return Status::IoError("store " + store.string() + ": " + error.message());
  std::vector<RunEntry> runs;
  for (const fs::directory_entry& test : tests) {
    const std::string test_name = test.path().filename().string();
    // Links (latest, current) and hidden or half-written entries are not tests.
    if (test_name.empty() || test_name[0] == '.' || test.is_symlink(error) ||
        !test.is_directory(error)) {
      continue;
    }
    fs::directory_iterator entries(test.path(), error);
    if (error) continue;  // removed or unreadable meanwhile: the other tests still show
    for (const fs::directory_entry& entry : entries) {
      const std::string run_name = entry.path().filename().string();
      if (!IsRunName(run_name) || entry.is_symlink(error) || !entry.is_directory(error)) continue;
      runs.push_back(ReadRun(entry.path(), test_name, run_name));
    }
  }
  std::sort(runs.begin(), runs.end(), [](const RunEntry& a, const RunEntry& b) {
    const std::string_view a_stamp = std::string_view(a.name).substr(0, kStampLength);
    const std::string_view b_stamp = std::string_view(b.name).substr(0, kStampLength);
    if (a_stamp != b_stamp) return a_stamp > b_stamp;
    if (SuffixOf(a.name) != SuffixOf(b.name)) return SuffixOf(a.name) > SuffixOf(b.name);
    return a.test < b.test;
  });
  return runs;
}

Result<IndexQuery> ParseIndexQuery(std::string_view verdict, std::string_view test,
                                   std::string_view page) {
  IndexQuery query;
  if (verdict == "valid") {
    query.verdict = Verdict::kValid;
  } else if (verdict == "invalid") {
    query.verdict = Verdict::kInvalid;
  } else if (verdict == "unknown") {
    query.verdict = Verdict::kUnknown;
  } else if (!verdict.empty()) {
    return Status::InvalidArgument("verdict: expected valid, invalid or unknown");
  }
  query.test = std::string(test);
  if (!page.empty()) {
    // 18 digits always fit an int64; a larger page is past the last one anyway.
    if (!AllDigits(page)) return Status::InvalidArgument("page: expected a positive number");
    query.page = page.size() > 18 ? INT64_MAX : std::stoll(std::string(page));
    if (query.page < 1) return Status::InvalidArgument("page: expected a positive number");
  }
  return query;
}

bool Matches(const RunEntry& run, const IndexQuery& query) {
  if (query.verdict && run.verdict != *query.verdict) return false;
  return ContainsIgnoringCase(run.test, query.test);
}

RunPage SelectPage(const std::vector<RunEntry>& runs, const IndexQuery& query, size_t page_size) {
  assert(page_size > 0);
  std::vector<const RunEntry*> matching;
  for (const RunEntry& run : runs) {
    if (Matches(run, query)) matching.push_back(&run);
  }
  RunPage page;
  page.matching = matching.size();
  page.page_count =
      std::max<int64_t>(1, static_cast<int64_t>((matching.size() + page_size - 1) / page_size));
  page.page = std::clamp<int64_t>(query.page, 1, page.page_count);
  page.first = static_cast<size_t>(page.page - 1) * page_size;
  for (size_t i = page.first; i < matching.size() && i < page.first + page_size; ++i) {
    page.runs.push_back(*matching[i]);
  }
  return page;
}

std::string IndexHtml(const RunPage& page, const IndexQuery& query, std::string_view store_label) {
  std::string html = PageStart("faultline runs");
  html += "<h1>faultline runs</h1>\n<p class=\"store\">store <code>" + HtmlEscape(store_label) +
          "</code></p>\n";
  html +=
      "<form id=\"filter\" method=\"get\" action=\"/\">\n<label>verdict <select "
      "name=\"verdict\"><option value=\"\">all</option>";
  for (Verdict verdict : {Verdict::kValid, Verdict::kInvalid, Verdict::kUnknown}) {
    const std::string text(ToString(verdict));
    html += "<option value=\"" + text + "\"" + (query.verdict == verdict ? " selected" : "") + ">" +
            text + "</option>";
  }
  html += "</select></label>\n<label>test <input type=\"search\" name=\"test\" value=\"" +
          HtmlEscape(query.test) +
          "\"></label>\n<button type=\"submit\">filter</button>\n"
          "</form>\n";
  html += "<p id=\"summary\">";
  if (page.matching == 0) {
    html += "no runs match";
  } else {
    html += "runs " + std::to_string(page.first + 1) + " to " +
            std::to_string(page.first + page.runs.size()) + " of " + std::to_string(page.matching) +
            ", newest first";
  }
  html +=
      "</p>\n<table id=\"runs\">\n<thead><tr><th>started</th><th>test</th><th>verdict</th>"
      "<th>checkers</th><th>links</th></tr></thead>\n<tbody>\n";
  for (const RunEntry& run : page.runs) html += RunRow(run);
  html += "</tbody>\n</table>\n" + Pager(page, query) + "</body>\n</html>\n";
  return html;
}

std::string ListingHtml(std::string_view relative, const std::vector<ListingEntry>& entries) {
  std::vector<ListingEntry> sorted = entries;
  std::sort(sorted.begin(), sorted.end(), [](const ListingEntry& a, const ListingEntry& b) {
    if (a.is_directory != b.is_directory) return a.is_directory;
    return a.name < b.name;
  });
  std::string html = PageStart("faultline: " + std::string(relative));
  // The heading's breadcrumbs: each folder on the way links to its own listing.
  html += "<h1><a href=\"/\">runs</a>";
  std::string prefix;
  std::vector<std::string> components;
  for (const fs::path& component : fs::path(relative)) components.push_back(component.string());
  for (const std::string& component : components) {
    prefix += (prefix.empty() ? "" : "/") + component;
    html += " / <a href=\"/store/" + HtmlEscape(UrlEncodePath(prefix)) + "/\">" +
            HtmlEscape(component) + "</a>";
  }
  html += "</h1>\n";
  if (components.size() == 2 && IsRunName(components[1])) {
    html += "<p><a class=\"archive\" href=\"/archive/" + HtmlEscape(UrlEncodePath(prefix)) +
            ".tar.gz\">download this run (tar.gz)</a></p>\n";
  }
  html += "<table id=\"files\">\n<thead><tr><th>name</th><th>size</th></tr></thead>\n<tbody>\n";
  for (const ListingEntry& entry : sorted) {
    const std::string href = "/store/" + UrlEncodePath(std::string(relative) + "/" + entry.name) +
                             (entry.is_directory ? "/" : "");
    html += "<tr><td><a href=\"" + HtmlEscape(href) + "\">" + HtmlEscape(entry.name) +
            (entry.is_directory ? "/" : "") + "</a></td><td>" +
            (entry.is_directory ? "" : HumanSize(entry.size_bytes)) + "</td></tr>\n";
  }
  html += "</tbody>\n</table>\n</body>\n</html>\n";
  return html;
}

std::string UrlEncodePath(std::string_view text) { return PercentEncode(text, true); }

std::string ContentTypeFor(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), Lower);
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".gz", "application/gzip"},
      {".xml", "application/xml"},
      {".jsonl", "text/plain; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
      {".log", "text/plain; charset=utf-8"},
      {".dot", "text/plain; charset=utf-8"},
      {".edn", "text/plain; charset=utf-8"},
      {".csv", "text/plain; charset=utf-8"},
      {"", "text/plain; charset=utf-8"},
  };
  for (const auto& [known, type] : kTypes) {
    if (extension == known) return std::string(type);
  }
  return "application/octet-stream";
}

StoreFile::StoreFile(StoreFile&& other) noexcept { *this = std::move(other); }

StoreFile& StoreFile::operator=(StoreFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    is_directory_ = other.is_directory_;
    size_bytes_ = other.size_bytes_;
    relative_ = std::move(other.relative_);
  }
  return *this;
}

StoreFile::~StoreFile() {
  if (fd_ >= 0) ::close(fd_);
}

int StoreFile::Release() { return std::exchange(fd_, -1); }

Result<StoreFile> OpenStoreFile(const fs::path& store, std::string_view requested) {
  const std::string shown(requested);
  if (requested.empty() || requested.front() == '/' ||
      requested.find('\0') != std::string_view::npos ||
      requested.find('\\') != std::string_view::npos) {
    return Status::InvalidArgument(shown + ": not a path below the store");
  }
  fs::path candidate;
  for (const fs::path& component : fs::path(requested)) {
    if (component == "." || component == "..") {
      return Status::InvalidArgument(shown + ": `.` and `..` are refused");
    }
    if (!component.empty()) candidate /= component;
  }
  if (candidate.empty()) return Status::InvalidArgument(shown + ": not a path below the store");
  std::error_code error;
  const fs::path root = fs::canonical(store, error);
  if (error) return Status::IoError("store " + store.string() + ": " + error.message());
  const fs::path real = fs::canonical(root / candidate, error);
  if (error) return Status::IoError(shown + ": " + error.message());
  if (!IsStrictlyUnder(real, root)) {
    return Status::InvalidArgument(shown + ": leads outside the store");
  }
  // Walks the resolved path again with O_NOFOLLOW from the root, so that what is opened is what
  // was checked: a symlink put in place since the check fails to open (ELOOP, ENOTDIR).
  int directory = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory < 0) return Status::IoError("store " + root.string() + ": " + ErrnoText());
  const fs::path relative = real.lexically_relative(root);
  std::vector<fs::path> components(relative.begin(), relative.end());
  for (size_t i = 0; i < components.size(); ++i) {
    const bool last = i + 1 == components.size();
    // O_NONBLOCK: opening a FIFO planted in the store must not block the server.
    const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
    const int next = ::openat(directory, components[i].c_str(), flags);
    const int open_errno = errno;
    ::close(directory);
    if (next < 0) return Status::IoError(shown + ": " + std::strerror(open_errno));
    directory = next;
  }
  StoreFile file(directory, false, 0, relative.generic_string());
  struct stat about {};
  if (::fstat(file.fd(), &about) != 0) return Status::IoError(shown + ": " + ErrnoText());
  if (!S_ISREG(about.st_mode) && !S_ISDIR(about.st_mode)) {
    return Status::InvalidArgument(shown + ": neither a file nor a folder");
  }
  return StoreFile(file.Release(), S_ISDIR(about.st_mode), static_cast<uint64_t>(about.st_size),
                   relative.generic_string());
}

Result<std::vector<ListingEntry>> ListFolder(const StoreFile& folder) {
  assert(folder.is_directory());
  const int fd = ::dup(folder.fd());
  if (fd < 0) return Status::IoError(folder.relative() + ": " + ErrnoText());
  DIR* stream = ::fdopendir(fd);
  if (stream == nullptr) {
    ::close(fd);
    return Status::IoError(folder.relative() + ": " + ErrnoText());
  }
  ::rewinddir(stream);  // the duplicate shares its position with `folder`
  std::vector<ListingEntry> entries;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat about {};
    if (::fstatat(fd, entry->d_name, &about, AT_SYMLINK_NOFOLLOW) != 0) continue;
    entries.push_back({std::string(name), S_ISDIR(about.st_mode),
                       S_ISREG(about.st_mode) ? static_cast<uint64_t>(about.st_size) : 0});
  }
  ::closedir(stream);
  return entries;
}

}  // namespace faultline::reports
