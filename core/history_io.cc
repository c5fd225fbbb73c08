#include "core/history_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "core/history_readers.h"
#include "core/parse_text.h"

namespace faultline {
namespace {

// Below this size one thread parses faster than several can start.
constexpr size_t kParallelMinBytes = size_t{4} << 20;
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
  const size_t first = format == HistoryFormat::kEdn ? SkipSpacesAndComments(text, begin)
                                                     : SkipSpaces(text, begin);
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

// Assembles chunk outputs in order: indices that were positions and lines become file-wide.
History Assemble(std::vector<internal::ChunkOutput>* outputs, std::string_view source) {
  History history;
  history.source = std::string(source);
  history.header = std::move(outputs->front().header);
  // The first chunk reserved room for the whole text's ops (see ParseChunks), so the others are
  // appended without moving it.
  history.ops = std::move(outputs->front().ops);
  int64_t base_ops = static_cast<int64_t>(history.ops.size());
  int64_t base_lines = outputs->front().newlines;
  for (size_t i = 1; i < outputs->size(); ++i) {
    internal::ChunkOutput& output = (*outputs)[i];
    for (size_t position : output.default_indices) output.ops[position].index += base_ops;
    for (Op& op : output.ops) op.line += base_lines;
    history.ops.insert(history.ops.end(), std::make_move_iterator(output.ops.begin()),
                       std::make_move_iterator(output.ops.end()));
    base_ops += static_cast<int64_t>(output.ops.size());
    base_lines += output.newlines;
    output.ops = {};
  }
  return history;
}

std::vector<internal::ChunkOutput> ParseChunks(std::string_view text, std::string_view source,
                                               internal::ChunkParser parse,
                                               const std::vector<internal::Chunk>& chunks) {
  std::vector<internal::ChunkOutput> outputs(chunks.size());
  std::vector<std::thread> workers;
  workers.reserve(chunks.size() - 1);
  for (size_t i = 1; i < chunks.size(); ++i) {
    workers.emplace_back([&, i] { outputs[i] = parse(text, source, chunks[i]); });
  }
  outputs[0] = parse(text, source, chunks[0]);
  for (std::thread& worker : workers) worker.join();
  return outputs;
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
  ops->reserve(estimate);
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
                                   HistoryFormat format, int chunk_count,
                                   size_t min_parallel_bytes) {
  const size_t begin = ContentBegin(text);
  if (SkipSpaces(text, begin) >= text.size()) return ErrorAtEnd(text, source, "a history");
  const FormatReader reader = ReaderFor(format);
  std::vector<Chunk> chunks;
  char closer = '\0';
  if (chunk_count > 1 && text.size() >= min_parallel_bytes &&
      FindTopLevelCloser(text, begin, format, &closer)) {
    chunks = PlanChunks(text, begin, chunk_count, reader.boundary, closer);
  }
  std::vector<ChunkOutput> outputs;
  if (chunks.size() > 1) outputs = ParseChunks(text, source, reader.parse, chunks);
  const bool chunks_ok = !outputs.empty() && std::all_of(outputs.begin(), outputs.end(),
                                                         [](const ChunkOutput& output) {
                                                           return output.status.ok();
                                                         });
  if (!chunks_ok) {
    // The serial parse is the reference: it decides both the ops and the first error.
    outputs.clear();
    outputs.push_back(reader.parse(text, source, {begin, text.size(), ChunkRole::kOnly, '\0'}));
    if (!outputs.front().status.ok()) return outputs.front().status;
  }
  History history = Assemble(&outputs, source);
  if (format == HistoryFormat::kJepsenLog && history.ops.empty()) {
    return ErrorAtEnd(text, source, "a jepsen.util history line");
  }
  return history;
}

}  // namespace internal

std::string_view ToString(HistoryFormat format) {
  switch (format) {
    case HistoryFormat::kAuto: return "auto";
    case HistoryFormat::kJsonl: return "jsonl";
    case HistoryFormat::kEdn: return "edn";
    case HistoryFormat::kJepsenLog: return "jepsen-log";
    case HistoryFormat::kElleJson: return "elle-json";
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

Result<History> ReadHistoryText(std::string_view text, std::string_view source_name,
                                const ReadOptions& options) {
  const HistoryFormat format =
      options.format == HistoryFormat::kAuto ? DetectFormat(text) : options.format;
  int threads = options.threads;
  if (threads == 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  return internal::ReadHistoryChunked(text, source_name, format, std::max(threads, 1),
                                      kParallelMinBytes);
}

namespace {

// The whole file in one buffer, read with as few system calls as its size allows.
Status ReadWholeFile(const std::string& path, std::unique_ptr<char[]>* buffer, size_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  size_t capacity = (::fstat(fd, &info) == 0 && info.st_size > 0) ? info.st_size + 1 : 1 << 16;
  *buffer = std::unique_ptr<char[]>(new char[capacity]);
  *size = 0;
  while (true) {
    if (*size == capacity) {
      capacity *= 2;
      auto bigger = std::unique_ptr<char[]>(new char[capacity]);
      std::memcpy(bigger.get(), buffer->get(), *size);
      *buffer = std::move(bigger);
    }
    const ssize_t got = ::read(fd, buffer->get() + *size, capacity - *size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      return Status::IoError(path + ": cannot read: " + reason);
    }
    if (got == 0) break;
    *size += static_cast<size_t>(got);
  }
  ::close(fd);
  return Status::Ok();
}

std::string HeaderLine(const Json& header) {
  std::string line = "{\"faultline_history\":";
  const bool has_version = header.is_object() && header.contains("faultline_history");
  line += has_version ? header["faultline_history"].dump() : "1";
  if (header.is_object()) {
    for (const auto& [key, value] : header.items()) {
      if (key == "faultline_history") continue;
      line += "," + Json(key).dump(-1, ' ', false, Json::error_handler_t::replace) + ":";
      line += value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
  }
  return line + "}";
}

}  // namespace

Result<History> ReadHistoryFile(const std::string& path, const ReadOptions& options) {
  std::unique_ptr<char[]> buffer;
  size_t size = 0;
  if (Status status = ReadWholeFile(path, &buffer, &size); !status.ok()) return status;
  return ReadHistoryText(std::string_view(buffer.get(), size), path, options);
}

void WriteJsonl(const History& history, std::ostream& out) {
  out << HeaderLine(history.header) << '\n';
  for (const Op& op : history.ops) {
    out << op.ToJson().dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
  }
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
