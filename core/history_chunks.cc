// Cutting a text into chunks and parsing them on several threads (see history_readers.h).
#include <algorithm>
#include <condition_variable>
#include <cstring>
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

size_t SkipSpacesAndComments(std::string_view text, size_t i) {
  while (true) {
    i = text::SkipWhitespace(text, i);
    if (i >= text.size() || text[i] != ';') return i;
    i = text.find('\n', i);
    if (i == std::string_view::npos) return text.size();
  }
}

// ValueForm::kText for readers of formats whose text is not JSON: the trees written compactly.
void TreesToTexts(Op* op) {
  for (Json* value : {&op->value, &op->error}) {
    if (!value->is_null()) *value = value->dump(-1, ' ', false, Json::error_handler_t::replace);
  }
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
                                                     : text::SkipWhitespace(text, begin);
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

void ReserveOps(std::string_view text, const Chunk& chunk, std::vector<Op>* ops) {
  // The first chunk's ops become the history's, so it makes room for every chunk's.
  const size_t begin = chunk.begin;
  const size_t end = chunk.role == ChunkRole::kFirst ? text.size() : chunk.end;
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
                                   int threads, bool* parsed_in_chunks, ValueForm value_form) {
  if (threads <= 0) threads = chunk_count;
  const size_t begin = text::ContentBegin(text);
  if (text::SkipWhitespace(text, begin) >= text.size())
    return ErrorAtEnd(text, source, "a history");
  const FormatReader reader = ReaderFor(format);
  std::vector<Chunk> chunks;
  char closer = '\0';
  if (chunk_count > 1 && text.size() >= min_parallel_bytes &&
      FindTopLevelCloser(text, begin, format, &closer)) {
    chunks = PlanChunks(text, begin, chunk_count, reader.boundary, closer);
    for (Chunk& chunk : chunks) chunk.value_form = value_form;
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
        reader.parse(text, source, {begin, text.size(), ChunkRole::kOnly, '\0', value_form},
                     nullptr);
    if (!output.status.ok()) return output.status;
    history.ops = std::move(output.ops);
    history.header = std::move(output.header);
  }
  if (format == HistoryFormat::kJepsenLog && history.ops.empty()) {
    return ErrorAtEnd(text, source, "a jepsen.util history line");
  }
  if (value_form == ValueForm::kText && ReaderFor(format).parse != internal::ParseJsonChunk) {
    for (Op& op : history.ops) TreesToTexts(&op);  // only the JSON reader keeps texts itself
  }
  return history;
}

Result<History> ReadHistoryWithThreads(std::string_view text, std::string_view source,
                                       HistoryFormat format, size_t threads,
                                       ValueForm value_form) {
  // One thread parses the whole text as one chunk: cutting it would only add work.
  size_t chunks = threads <= 1 ? 1 : std::max(threads, text.size() / kChunkBytes);
  chunks = std::min(chunks, std::max<size_t>(1, text.size() / kChunkMinBytes));
  return ReadHistoryChunked(text, source, format, static_cast<int>(chunks), kParallelMinBytes,
                            static_cast<int>(threads), nullptr, value_form);
}

}  // namespace internal
}  // namespace faultline
