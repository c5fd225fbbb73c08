#include "core/history_io.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/history_readers.h"
#include "core/parse_text.h"

namespace faultline {
namespace {

// Below this size one thread parses faster than several can start.
constexpr size_t kParallelMinBytes = size_t{4} << 20;
// Chunks of about this size: many per thread, so that assembling overlaps parsing and uneven
// cores balance, and small enough that a chunk's own op array (moved into the history when it is
// done) comes back from malloc for the next chunk rather than as fresh pages to fault in.
constexpr size_t kChunkBytes = size_t{4} << 20;
constexpr size_t kChunkMinBytes = size_t{1} << 20;
// ReserveOps measures lines over this many bytes.
constexpr size_t kSampleBytes = size_t{64} << 10;
// Format detection looks this far for a Jepsen logger name.
constexpr size_t kLogSniffBytes = size_t{1} << 20;
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

size_t SkipSpaces(std::string_view text, size_t i) {
  while (i < text.size() && IsSpace(text[i])) ++i;
  return i;
}

size_t SkipSpacesAndComments(std::string_view text, size_t i) {
  while (true) {
    i = SkipSpaces(text, i);
    if (i >= text.size() || text[i] != ';') return i;
    i = text.find('\n', i);
    if (i == std::string_view::npos) return text.size();
  }
}

size_t ContentBegin(std::string_view text) {
  return text.starts_with(kByteOrderMark) ? kByteOrderMark.size() : 0;
}

bool LooksLikeJepsenLog(std::string_view text) {
  if (text.substr(0, kLogSniffBytes).find("jepsen.") != std::string_view::npos) return true;
  for (std::string_view word : {"INFO", "WARN", "ERROR", "DEBUG", "TRACE", "lein"}) {
    if (text.starts_with(word)) return true;
  }
  return false;
}

Status ErrorAtEnd(std::string_view text, std::string_view source, std::string_view expected) {
  std::string message(source.empty() ? std::string_view("<input>") : source);
  message += ":" + text::FormatLocation(text, text.size()) + ": expected ";
  message.append(expected);
  message += ", found end of file";
  return Status::ParseError(std::move(message));
}

struct FormatReader {
  internal::ChunkParser parse;
  internal::BoundaryKind boundary;
};

FormatReader ReaderFor(HistoryFormat format) {
  switch (format) {
    case HistoryFormat::kJepsenLog:
      return {internal::ParseJepsenLogChunk, internal::BoundaryKind::kAnyLine};
    case HistoryFormat::kJsonl:
    case HistoryFormat::kElleJson:
      return {internal::ParseJsonChunk, internal::BoundaryKind::kOpLine};
    case HistoryFormat::kEdn:
    case HistoryFormat::kAuto:
      break;
  }
  return {internal::ParseEdnChunk, internal::BoundaryKind::kOpLine};
}

// The top-level closer of the whole text for chunk planning; false when the start of the text is
// unusual enough (a #_ discard before the first op) that only a serial parse should read it.
bool FindTopLevelCloser(std::string_view text, size_t begin, HistoryFormat format, char* closer) {
  const size_t first =
      format == HistoryFormat::kEdn ? SkipSpacesAndComments(text, begin) : SkipSpaces(text, begin);
  if (first >= text.size()) return false;
  const char c = text[first];
  if (format == HistoryFormat::kJepsenLog) {
    *closer = '\0';
    return true;
  }
  if (format != HistoryFormat::kEdn) {
    *closer = c == '[' ? ']' : '\0';
    return true;
  }
  if (c == '#' && text.substr(first).starts_with("#_")) return false;
  *closer = c == '[' ? ']' : c == '(' ? ')' : '\0';
  return true;
}

// Parses chunks on several threads, the caller's included, and appends each finished chunk in
// file order to the history while later chunks are still being parsed, so that assembling (moving
// ops and touching fresh memory) overlaps with parsing. Chunks are taken from a shared counter, so
// a thread slowed by other work on its core takes fewer of them.
class ChunkPipeline {
 public:
  ChunkPipeline(std::string_view text, std::string_view source, internal::ChunkParser parse,
                std::vector<internal::Chunk> chunks)
      : text_(text),
        source_(source),
        parse_(parse),
        chunks_(std::move(chunks)),
        outputs_(chunks_.size()),
        done_(chunks_.size(), false) {}

  // False when a chunk failed; the history is then incomplete and must be discarded.
  bool Run(int threads, History* history);

 private:
  void Work();
  void Parse(size_t index, std::vector<Op>* prefix);
  void Append(size_t index, History* history);

  std::string_view text_;
  std::string_view source_;
  internal::ChunkParser parse_;
  std::vector<internal::Chunk> chunks_;
  std::vector<internal::ChunkOutput> outputs_;
  std::mutex mutex_;
  std::condition_variable finished_;
  std::vector<bool> done_;  // guarded by mutex_
  size_t next_ = 0;         // the next chunk to parse; guarded by mutex_
  bool failed_ = false;     // guarded by mutex_
  int64_t base_ops_ = 0;    // ops and lines of the chunks appended so far
  int64_t base_lines_ = 0;
};

bool ChunkPipeline::Run(int threads, History* history) {
  std::vector<std::thread> workers;
  const int useful = std::min(threads, static_cast<int>(chunks_.size()));
  for (int i = 1; i < useful; ++i) workers.emplace_back([this] { Work(); });
  size_t appended = 0;
  std::unique_lock lock(mutex_);
  while (appended < chunks_.size() && !failed_) {
    if (done_[appended]) {
      lock.unlock();
      Append(appended++, history);
      lock.lock();
    } else if (next_ < chunks_.size()) {
      // The next chunk in file order is parsed straight after the ops appended so far.
      const size_t index = next_++;
      const bool in_order = index == appended;
      lock.unlock();
      Parse(index, in_order ? &history->ops : nullptr);
      lock.lock();
    } else {
      finished_.wait(lock);
    }
  }
  const bool ok = !failed_;
  lock.unlock();
  for (std::thread& worker : workers) worker.join();
  return ok;
}

void ChunkPipeline::Work() {
  std::unique_lock lock(mutex_);
  while (!failed_ && next_ < chunks_.size()) {
    const size_t index = next_++;
    lock.unlock();
    Parse(index, nullptr);
    lock.lock();
  }
}

void ChunkPipeline::Parse(size_t index, std::vector<Op>* prefix) {
  internal::ChunkOutput output = parse_(text_, source_, chunks_[index], prefix);
  const bool ok = output.status.ok();
  std::lock_guard lock(mutex_);
  outputs_[index] = std::move(output);
  done_[index] = true;
  failed_ = failed_ || !ok;
  finished_.notify_all();
}

void ChunkPipeline::Append(size_t index, History* history) {
  internal::ChunkOutput& output = outputs_[index];
  const size_t first = output.prefix_ops;
  if (first == 0) {
    // Parsed apart (or first): its positions are local.
    for (size_t position : output.default_indices) output.ops[position].index += base_ops_;
  }
  for (size_t i = first; i < output.ops.size(); ++i) output.ops[i].line += base_lines_;
  base_ops_ += static_cast<int64_t>(output.ops.size() - first);
  base_lines_ += output.newlines;
  if (index == 0) history->header = std::move(output.header);
  if (index == 0 || first > 0 || history->ops.empty()) {
    // The first chunk reserved room for the whole text's ops, so the others append in place.
    history->ops = std::move(output.ops);
  } else {
    history->ops.insert(history->ops.end(), std::make_move_iterator(output.ops.begin()),
                        std::make_move_iterator(output.ops.end()));
  }
  output = {};
}

// Offset just past the next boundary line at or after `from`, or npos.
size_t NextBoundary(std::string_view text, size_t from, internal::BoundaryKind kind) {
  while (from < text.size()) {
    const void* newline = std::memchr(text.data() + from, '\n', text.size() - from);
    if (newline == nullptr) return std::string_view::npos;
    const size_t line = static_cast<const char*>(newline) - text.data() + 1;
    if (kind == internal::BoundaryKind::kAnyLine) return line;
    size_t i = line;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == ',')) ++i;
    const bool opens_op = i < text.size() && (text[i] == '{' || text[i] == '#');
    if (opens_op && !text.substr(i).starts_with("#_")) return line;
    from = line;
  }
  return std::string_view::npos;
}

}  // namespace

namespace internal {

void ReserveOps(std::string_view text, size_t begin, size_t end, std::vector<Op>* ops) {
  const size_t bytes = end - begin;
  const std::string_view sample = text.substr(begin, std::min(bytes, kSampleBytes));
  const size_t lines = std::count(sample.begin(), sample.end(), '\n');
  size_t estimate = lines == 0 ? bytes / 64 : bytes / sample.size() * lines * 5 / 4;
  // No op is shorter than about 20 bytes; this bounds the reservation on odd input.
  estimate = std::min(estimate, bytes / 20) + 16;
  ops->reserve(ops->size() + estimate);
}

bool OpensText(ChunkRole role) { return role == ChunkRole::kOnly || role == ChunkRole::kFirst; }
bool ClosesText(ChunkRole role) { return role == ChunkRole::kOnly || role == ChunkRole::kLast; }

std::vector<Chunk> PlanChunks(std::string_view text, size_t begin, int count, BoundaryKind kind,
                              char closer) {
  std::vector<Chunk> chunks;
  size_t start = begin;
  for (int k = 1; k < count; ++k) {
    const size_t target = begin + (text.size() - begin) / count * k;
    const size_t boundary = NextBoundary(text, std::max(target, start), kind);
    if (boundary == std::string_view::npos || boundary >= text.size()) break;
    chunks.push_back({start, boundary, ChunkRole::kMiddle, closer});
    start = boundary;
  }
  chunks.push_back({start, text.size(), ChunkRole::kLast, closer});
  chunks.front().role = chunks.size() == 1 ? ChunkRole::kOnly : ChunkRole::kFirst;
  return chunks;
}

Result<History> ReadHistoryChunked(std::string_view text, std::string_view source,
                                   HistoryFormat format, int chunk_count, size_t min_parallel_bytes,
                                   int threads, bool* parsed_in_chunks) {
  if (threads <= 0) threads = chunk_count;
  const size_t begin = ContentBegin(text);
  if (SkipSpaces(text, begin) >= text.size()) return ErrorAtEnd(text, source, "a history");
  const FormatReader reader = ReaderFor(format);
  std::vector<Chunk> chunks;
  char closer = '\0';
  if (chunk_count > 1 && text.size() >= min_parallel_bytes &&
      FindTopLevelCloser(text, begin, format, &closer)) {
    chunks = PlanChunks(text, begin, chunk_count, reader.boundary, closer);
  }
  History history;
  history.source = std::string(source);
  const bool parallel_ok =
      chunks.size() > 1 &&
      ChunkPipeline(text, source, reader.parse, std::move(chunks)).Run(threads, &history);
  if (parsed_in_chunks != nullptr) *parsed_in_chunks = parallel_ok;
  if (!parallel_ok) {
    // The serial parse is the reference: it decides both the ops and the first error.
    ChunkOutput output =
        reader.parse(text, source, {begin, text.size(), ChunkRole::kOnly, '\0'}, nullptr);
    if (!output.status.ok()) return output.status;
    history.ops = std::move(output.ops);
    history.header = std::move(output.header);
  }
  if (format == HistoryFormat::kJepsenLog && history.ops.empty()) {
    return ErrorAtEnd(text, source, "a jepsen.util history line");
  }
  return history;
}

}  // namespace internal

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
  const size_t first = SkipSpaces(text, ContentBegin(text));
  if (first >= text.size()) return HistoryFormat::kEdn;
  switch (text[first]) {
    case ';':
    case '(':
    case '#':
      return HistoryFormat::kEdn;
    case '[': {
      const size_t second = SkipSpaces(text, first + 1);
      if (second >= text.size() || text[second] != '{') return HistoryFormat::kEdn;
      const size_t third = SkipSpaces(text, second + 1);
      return third < text.size() && text[third] == '"' ? HistoryFormat::kElleJson
                                                       : HistoryFormat::kEdn;
    }
    case '{': {
      const size_t second = SkipSpaces(text, first + 1);
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
  // One thread parses the whole text as one chunk: cutting it would only add work.
  size_t chunks = threads == 1 ? 1 : std::max(threads, text.size() / kChunkBytes);
  chunks = std::min(chunks, std::max<size_t>(1, text.size() / kChunkMinBytes));
  return internal::ReadHistoryChunked(text, source_name, format, static_cast<int>(chunks),
                                      kParallelMinBytes, static_cast<int>(threads));
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

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string HeaderLine(const Json& header) {
  std::string line = "{\"faultline_history\":";
  const bool has_version = header.is_object() && header.contains("faultline_history");
  line += has_version ? Dump(header["faultline_history"]) : "1";
  if (header.is_object()) {
    for (const auto& [key, value] : header.items()) {
      if (key == "faultline_history") continue;
      line += "," + Dump(Json(key)) + ":" + Dump(value);
    }
  }
  return line + "}";
}

void AppendArray(const Json& array, std::string* out);
void AppendObject(const Json& object, std::string* out);

// Appends `text` as a JSON string exactly as nlohmann's dump() writes it (ensure_ascii off).
void AppendQuoted(std::string_view text, std::string* out) {
  if (text::FindInvalidUtf8(text) != std::string_view::npos) {
    out->append(Dump(Json(std::string(text))));  // dump() replaces the bad bytes
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : text) {
    const char escape = c == '"' || c == '\\' ? c : text::EncodeSimpleEscape(c);
    if (escape != '\0') {
      out->push_back('\\');
      out->push_back(escape);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Appends value.dump(): written here for the common types, since each dump() call sets up a
// serializer of its own; floats (whose shortest form is nlohmann's own) still go through dump().
void AppendJson(const Json& value, std::string* out) {
  char digits[24];
  switch (value.type()) {
    case Json::value_t::null:
      out->append("null");
      return;
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      const auto [end, error] =
          value.is_number_unsigned()
              ? std::to_chars(digits, digits + sizeof(digits), value.get<uint64_t>())
              : std::to_chars(digits, digits + sizeof(digits), value.get<int64_t>());
      out->append(digits, end);
      return;
    }
    case Json::value_t::string:
      AppendQuoted(value.get_ref<const std::string&>(), out);
      return;
    case Json::value_t::array:
      AppendArray(value, out);
      return;
    case Json::value_t::object:
      AppendObject(value, out);
      return;
    default:
      out->append(Dump(value));
  }
}

void AppendArray(const Json& array, std::string* out) {
  out->push_back('[');
  for (const Json& item : array) {
    if (out->back() != '[') out->push_back(',');
    AppendJson(item, out);
  }
  out->push_back(']');
}

void AppendObject(const Json& object, std::string* out) {
  out->push_back('{');
  for (const auto& [key, item] : object.items()) {
    if (out->back() != '{') out->push_back(',');
    AppendQuoted(key, out);
    out->push_back(':');
    AppendJson(item, out);
  }
  out->push_back('}');
}

// Appends "name":value for one of the op's own fields.
void AppendField(const Op& op, std::string_view name, std::string* line) {
  if (line->back() != '{') line->push_back(',');
  line->push_back('"');
  line->append(name);
  line->append("\":");
  if (name == "error") {
    AppendJson(op.error, line);
  } else if (name == "f") {
    AppendQuoted(op.f, line);
  } else if (name == "index") {
    line->append(std::to_string(op.index));
  } else if (name == "process") {
    line->append(op.is_nemesis() ? "\"nemesis\"" : std::to_string(op.process));
  } else if (name == "time") {
    line->append(std::to_string(op.time_ns));
  } else if (name == "type") {
    line->append("\"" + std::string(ToString(op.type)) + "\"");
  } else {
    AppendJson(op.value, line);
  }
}

// Appends what Op::ToJson().dump() gives, without building the object (a map of fresh strings
// per op, which made writing several times slower than reading): the same members in the same
// sorted order, extra keys merged in except those the op's own fields already use.
void AppendOpLine(const Op& op, std::string* line) {
  std::array<std::string_view, 7> fields;  // the members ToJson writes, in key order
  size_t count = 0;
  if (!op.error.is_null()) fields[count++] = "error";
  fields[count++] = "f";
  fields[count++] = "index";
  fields[count++] = "process";
  if (op.time_ns >= 0) fields[count++] = "time";
  fields[count++] = "type";
  fields[count++] = "value";
  line->push_back('{');
  size_t next = 0;
  const auto append_field = [&] { AppendField(op, fields[next++], line); };
  if (op.extra.is_object()) {
    for (const auto& [key, item] : op.extra.items()) {
      while (next < count && fields[next] < key) append_field();
      if (next < count && fields[next] == key) continue;
      if (line->back() != '{') line->push_back(',');
      AppendQuoted(key, line);
      line->push_back(':');
      AppendJson(item, line);
    }
  }
  while (next < count) append_field();
  line->push_back('}');
}

}  // namespace

Result<History> ReadHistoryFile(const std::string& path, const ReadOptions& options) {
  FileText file;
  if (Status status = file.Load(path); !status.ok()) return status;
  return ReadHistoryText(file.view(), path, options);
}

void WriteJsonl(const History& history, std::ostream& out) {
  constexpr size_t kFlushBytes = size_t{1} << 20;
  std::string buffer = HeaderLine(history.header) + "\n";
  for (const Op& op : history.ops) {
    AppendOpLine(op, &buffer);
    buffer.push_back('\n');
    if (buffer.size() >= kFlushBytes) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
}

Status WriteJsonlFile(const History& history, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError(path + ": cannot open for writing: " + std::strerror(errno));
  WriteJsonl(history, out);
  out.flush();
  if (!out) return Status::IoError(path + ": cannot write: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace faultline
