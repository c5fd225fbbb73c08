// Format names and detection, and reading histories from text and files (history_io.h). The
// readers themselves are edn_history.cc, json_history.cc and jepsen_log.cc; history_chunks.cc
// runs them on several threads; jsonl_writer.cc writes.
#include "core/history_io.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "core/history_readers.h"
#include "core/json_parser.h"
#include "core/parse_text.h"

namespace faultline {
namespace {

// Format detection looks this far for a Jepsen logger name.
constexpr size_t kLogSniffBytes = size_t{1} << 20;

bool LooksLikeJepsenLog(std::string_view text) {
  if (text.substr(0, kLogSniffBytes).find("jepsen.") != std::string_view::npos) return true;
  for (std::string_view word : {"INFO", "WARN", "ERROR", "DEBUG", "TRACE", "lein"}) {
    if (text.starts_with(word)) return true;
  }
  return false;
}

}  // namespace

std::string_view ToString(HistoryFormat format) {
  switch (format) {
    case HistoryFormat::kAuto:
      return "auto";
    case HistoryFormat::kJsonl:
      return "jsonl";
    case HistoryFormat::kEdn:
      return "edn";
    case HistoryFormat::kJepsenLog:
      return "jepsen-log";
    case HistoryFormat::kElleJson:
      return "elle-json";
  }
  return "?";
}

std::optional<HistoryFormat> ParseHistoryFormat(std::string_view text) {
  for (HistoryFormat format : {HistoryFormat::kAuto, HistoryFormat::kJsonl, HistoryFormat::kEdn,
                               HistoryFormat::kJepsenLog, HistoryFormat::kElleJson}) {
    if (text == ToString(format)) return format;
  }
  return std::nullopt;
}

HistoryFormat DetectFormat(std::string_view text) {
  const size_t first = text::SkipWhitespace(text, text::ContentBegin(text));
  if (first >= text.size()) return HistoryFormat::kEdn;
  switch (text[first]) {
    case ';':
    case '(':
    case '#':
      return HistoryFormat::kEdn;
    case '[': {
      const size_t second = text::SkipWhitespace(text, first + 1);
      if (second >= text.size() || text[second] != '{') return HistoryFormat::kEdn;
      const size_t third = text::SkipWhitespace(text, second + 1);
      return third < text.size() && text[third] == '"' ? HistoryFormat::kElleJson
                                                       : HistoryFormat::kEdn;
    }
    case '{': {
      const size_t second = text::SkipWhitespace(text, first + 1);
      const bool json = second < text.size() && (text[second] == '"' || text[second] == '}');
      return json ? HistoryFormat::kJsonl : HistoryFormat::kEdn;
    }
    default:
      return LooksLikeJepsenLog(text.substr(first)) ? HistoryFormat::kJepsenLog
                                                    : HistoryFormat::kEdn;
  }
}

namespace {

// The CPUs this process may run on (its affinity mask, which hardware_concurrency ignores).
size_t AvailableCpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
    return static_cast<size_t>(CPU_COUNT(&set));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

Result<History> ReadHistoryText(std::string_view text, std::string_view source_name,
                                const ReadOptions& options) {
  const HistoryFormat format =
      options.format == HistoryFormat::kAuto ? DetectFormat(text) : options.format;
  const size_t threads = options.threads == 0 ? AvailableCpus() : std::max(options.threads, 1);
  return internal::ReadHistoryWithThreads(text, source_name, format, threads, options.value_form);
}

Status ParseValueTexts(Op* op) {
  for (Json* value : {&op->value, &op->error}) {
    if (!value->is_string()) continue;
    Result<Json> tree = ParseJson(value->get_ref<const std::string&>());
    if (!tree.ok()) return tree.status();
    *value = std::move(*tree);
  }
  return Status::Ok();
}

namespace {

// A file's bytes: mapped when it is a regular file (no copy, and the page cache's pages instead of
// fresh ones to fault in), read into a buffer otherwise (pipes, /dev/stdin, empty files).
class FileText {
 public:
  FileText() = default;
  FileText(const FileText&) = delete;
  FileText& operator=(const FileText&) = delete;
  ~FileText() {
    if (mapped_ != nullptr) ::munmap(mapped_, size_);
  }

  Status Load(const std::string& path);
  std::string_view view() const {
    return {mapped_ != nullptr ? static_cast<const char*>(mapped_) : buffer_.data(), size_};
  }

 private:
  Status ReadAll(int fd, const std::string& path);

  void* mapped_ = nullptr;
  std::string buffer_;
  size_t size_ = 0;
};

Status FileText::Load(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
    // MAP_POPULATE maps every page now, in one call, rather than one fault per page later.
    void* mapped = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ,
                          MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (mapped != MAP_FAILED) {
      mapped_ = mapped;
      size_ = static_cast<size_t>(info.st_size);
      ::close(fd);
      return Status::Ok();
    }
  }
  Status status = ReadAll(fd, path);
  ::close(fd);
  return status;
}

Status FileText::ReadAll(int fd, const std::string& path) {
  constexpr size_t kBlock = size_t{1} << 16;
  while (true) {
    buffer_.resize(size_ + kBlock);
    const ssize_t got = ::read(fd, buffer_.data() + size_, kBlock);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status::IoError(path + ": cannot read: " + std::strerror(errno));
    if (got == 0) break;
    size_ += static_cast<size_t>(got);
  }
  buffer_.resize(size_);
  return Status::Ok();
}

}  // namespace

Result<History> ReadHistoryFile(const std::string& path, const ReadOptions& options) {
  FileText file;
  if (Status status = file.Load(path); !status.ok()) return status;
  std::string_view text = file.view();
  if (options.drop_torn_last_line && !text.empty() && text.back() != '\n') {
    text = text.substr(0, text.rfind('\n') + 1);  // npos + 1: no whole line at all
  }
  return ReadHistoryText(text, path, options);
}

}  // namespace faultline
