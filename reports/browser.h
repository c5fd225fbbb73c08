// The results browser's pure part (`faultline serve`, runner/cli/serve_command.h does the HTTP):
// the store scanned into a list of runs, filtered and paged; the HTML of the index page and of a
// folder's listing; content types; and the resolution of a requested path that refuses every way
// out of the store.
//
// The store is store/<test>/<YYYYmmddTHHMMSS>[-N]/ (runner/store.h). Links (store/latest,
// store/current, store/<test>/latest, ...) and anything that is not a real folder with a run's
// name are not runs and are skipped. Every name and value shown on a page is HTML-escaped
// (reports/html.h) and every name in a link percent-encoded, so a planted file name
// `<script>alert(1)</script>` shows as text. Plain functions; any thread; the store may change
// while they read it (a run being written is simply seen as it is at that moment).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checker/verdict.h"
#include "core/status.h"

namespace faultline::reports {

// One stored run, as the index shows it.
struct RunEntry {
  std::string test;  // store/<test>
  std::string name;  // the run's folder: YYYYmmddTHHMMSS, or with -N when two runs shared a second
  // Whether results.json exists. A run without one is still running, or crashed (never checked):
  // its verdict is unknown, and the index says "running or crashed".
  bool finished = false;
  Verdict verdict = Verdict::kUnknown;
  std::vector<std::pair<std::string, Verdict>> checkers;  // results.json's "checkers", by name
  // One line on why the run is not valid: the summaries of its checkers that were not, the run's
  // error or interruption, or why results.json could not be read. Empty for a valid run.
  std::string note;
  bool has_report = false;  // report/index.html is a regular file in the run's folder
};

// Whether `name` is a run folder's name: YYYYmmddTHHMMSS with an optional -N (N digits).
bool IsRunName(std::string_view name);

// The run in `directory` (store/<test>/<name>), read from its results.json (a regular file, never
// a symlink). An unreadable or malformed results.json makes the run finished and unknown, with
// the reason in `note`.
RunEntry ReadRun(const std::filesystem::path& directory, std::string test, std::string name);

// Every run in the store, newest first: by the folder's timestamp name (then its -N suffix, as a
// number), ties by test name. IoError when `store` is not a readable folder.
Result<std::vector<RunEntry>> ScanStore(const std::filesystem::path& store);

// The index's query: ?verdict=valid|invalid|unknown&test=SUBSTRING&page=N.
struct IndexQuery {
  std::optional<Verdict> verdict;  // none: every verdict (unknown includes unfinished runs)
  std::string test;                // a substring of the test name, ASCII case-insensitive; "" = any
  int64_t page = 1;                // 1-based; clamped to the pages there are
};

// The query from its raw values ("" for a parameter not given). InvalidArgument for a verdict
// other than valid, invalid, unknown or "" (all), and for a page that is not a positive number.
Result<IndexQuery> ParseIndexQuery(std::string_view verdict, std::string_view test,
                                   std::string_view page);

bool Matches(const RunEntry& run, const IndexQuery& query);

// The runs of one page of those that match.
struct RunPage {
  std::vector<RunEntry> runs;
  size_t matching = 0;     // runs that match the query, on every page
  size_t first = 0;        // index in the matching runs of runs[0]
  int64_t page = 1;        // the query's page, clamped to [1, page_count]
  int64_t page_count = 1;  // at least 1, even with no runs
};

// The page of `query` of the runs that match it, `page_size` (> 0) per page.
RunPage SelectPage(const std::vector<RunEntry>& runs, const IndexQuery& query, size_t page_size);

// The index page: a filter form, table#runs with a row class="run valid|invalid|unknown" per run
// (coloured by it; an unfinished run is "run unknown unfinished") linking its report when it has
// one (/store/<test>/<run>/report/index.html), its files (/store/<test>/<run>/) and its archive
// (/archive/<test>/<run>.tar.gz); links to the other pages keep the filter. `store_label` names
// the store in the heading. Inline CSS only: no script, nothing from the network.
std::string IndexHtml(const RunPage& page, const IndexQuery& query, std::string_view store_label);

// `relative` (a folder under the store, '/'-separated, no leading '/') as a listing: its entries
// sorted by name, folders first, each linking /store/<relative>/<entry>.
struct ListingEntry {
  std::string name;
  bool is_directory = false;
  uint64_t size_bytes = 0;
};
std::string ListingHtml(std::string_view relative, const std::vector<ListingEntry>& entries);

// `text` percent-encoded for a URL path: every byte but letters, digits, - . _ ~ and '/'.
std::string UrlEncodePath(std::string_view text);

// The Content-Type to serve a file with, by its extension: text/html, text/css, text/javascript
// (with charset=utf-8), image/svg+xml, image/png, application/json, application/gzip; jsonl, txt,
// log, dot, edn, csv and files without an extension as text/plain; charset=utf-8; anything else
// application/octet-stream.
std::string ContentTypeFor(const std::filesystem::path& path);

// A file or folder of the store, opened for reading.
class StoreFile {
 public:
  StoreFile() = default;
  StoreFile(int fd, bool is_directory, uint64_t size_bytes, std::string relative)
      : fd_(fd),
        is_directory_(is_directory),
        size_bytes_(size_bytes),
        relative_(std::move(relative)) {}
  StoreFile(StoreFile&& other) noexcept;
  StoreFile& operator=(StoreFile&& other) noexcept;
  StoreFile(const StoreFile&) = delete;
  StoreFile& operator=(const StoreFile&) = delete;
  ~StoreFile();

  int fd() const { return fd_; }
  // Hands the descriptor over: the caller closes it.
  int Release();
  bool is_directory() const { return is_directory_; }
  uint64_t size_bytes() const { return size_bytes_; }
  // Its path under the store's real root, '/'-separated, symlinks resolved.
  const std::string& relative() const { return relative_; }

 private:
  int fd_ = -1;
  bool is_directory_ = false;
  uint64_t size_bytes_ = 0;
  std::string relative_;
};

// Opens `requested` (a path below the store as a URL gave it, already percent-decoded, '/'-
// separated) for reading, only if it lies strictly under the store's real root:
// - refused: an empty path (the root itself), an absolute one, one with a `..` or `.` component,
//   a NUL or a backslash;
// - the path is resolved with its symlinks (store/latest leads to a run); the result must be
//   strictly under the store's canonical root, or it is refused;
// - the resolved path is then opened one component at a time from the root with O_NOFOLLOW, so a
//   symlink swapped in after the check is refused too.
// Only regular files and folders are opened. NotFound-like refusals are InvalidArgument (outside
// the store, or a bad path) and IoError (missing, unreadable): the server answers 404 to both.
Result<StoreFile> OpenStoreFile(const std::filesystem::path& store, std::string_view requested);

// The entries of an opened folder (its names as they are; symlinks listed as files of size 0).
Result<std::vector<ListingEntry>> ListFolder(const StoreFile& folder);

}  // namespace faultline::reports
