// The per-format history readers behind history_io.h, and the chunking that lets them run on
// several threads.
//
// A large text is cut into chunks at likely boundaries between top-level ops (a line that starts
// an op). Each chunk is parsed on its own thread as if it were a file of its own, with its role
// (the only chunk, the first, a middle one or the last) saying which of the opening '[', the
// header, the closing ']' and the end of the file it must see. When every chunk parses, each one
// began exactly where the one before it ended, so the ops are exactly the ones a serial parse
// gives; when any chunk fails (a bad guess, or a genuinely malformed file), the whole text is
// parsed serially again and that parse's result, error included, is the answer. So errors read
// the same whatever the thread count, and a guessed boundary can cost time but never correctness.
//
// Internal to core/ (and the fuzz targets, which compare chunked and serial parses).
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

#include "core/edn.h"
#include "core/history_io.h"
#include "core/op.h"
#include "core/status.h"

namespace faultline::internal {

enum class ChunkRole { kOnly, kFirst, kMiddle, kLast };

struct Chunk {
  size_t begin = 0;
  size_t end = 0;
  ChunkRole role = ChunkRole::kOnly;
  // The top-level closing bracket (']' or ')') when the ops sit in one top-level vector or list,
  // '\0' for a bare sequence. Decided once for the whole text; kOnly chunks decide it themselves.
  char closer = '\0';
  ValueForm value_form = ValueForm::kTree;  // how the chunk's ops keep their values (JSON readers)
};

bool OpensText(ChunkRole role);   // kOnly, kFirst: must see the opening '[' or the header
bool ClosesText(ChunkRole role);  // kOnly, kLast: must see the closing ']' and the end of file

struct ChunkOutput {
  // The prefix the chunk was parsed after (see ChunkParser), then the chunk's ops, whose lines
  // count from the chunk's first line (1).
  std::vector<Op> ops;
  size_t prefix_ops = 0;
  std::vector<size_t> default_indices;  // positions in ops whose index is their position
  Json header = Json::object();         // JSONL header (first chunk only)
  int64_t newlines = 0;                 // '\n' bytes in [begin, end)
  Status status;
};

// Reserves room for the ops of the chunk (for a first chunk, of the rest of the text too, since
// its ops become the history's), extrapolated from the line length of its start, generously:
// unused capacity costs only address space while growing the array costs a copy and page faults.
void ReserveOps(std::string_view text, const Chunk& chunk, std::vector<Op>* ops);

// Ends a chunk read by a TextParser-based reader: the newline count when it read to the end,
// else the parser's error.
template <class Parser, class Lines>
ChunkOutput FinishChunk(bool read_all, const Parser& parser, Lines& lines, const Chunk& chunk,
                        ChunkOutput* output) {
  if (read_all) {
    output->newlines = lines.LineAt(chunk.end) - 1;
  } else {
    output->status = parser.status();
  }
  return std::move(*output);
}

// Parses one chunk of `text` (offsets are into the whole text). With a `prefix` (the ops of every
// chunk before this one), the chunk's ops are appended to it, so that they need not be moved
// there later, and an index that is the op's position is already the position in the file.
using ChunkParser = ChunkOutput (*)(std::string_view text, std::string_view source,
                                    const Chunk& chunk, std::vector<Op>* prefix);

ChunkOutput ParseEdnChunk(std::string_view text, std::string_view source, const Chunk& chunk,
                          std::vector<Op>* prefix = nullptr);
ChunkOutput ParseJsonChunk(std::string_view text, std::string_view source, const Chunk& chunk,
                           std::vector<Op>* prefix = nullptr);
ChunkOutput ParseJepsenLogChunk(std::string_view text, std::string_view source, const Chunk& chunk,
                                std::vector<Op>* prefix = nullptr);

// Moves `prefix` (if any) into output->ops and notes its length.
inline void TakePrefix(std::vector<Op>* prefix, ChunkOutput* output) {
  if (prefix == nullptr) return;
  output->ops = std::move(*prefix);
  output->prefix_ops = output->ops.size();
}

// An op's :f at the parser's position (not at its end): a keyword, string or symbol; nil is "".
bool ReadEdnOpName(EdnParser* parser, std::string* name);

// Where a chunk boundary may go: the start of a line whose first meaningful byte opens an op.
enum class BoundaryKind { kOpLine, kAnyLine };

// Plans up to `count` chunks of text[begin, end): equal sizes, moved forward to the next
// boundary. `closer` is the whole text's top-level closer (see Chunk).
std::vector<Chunk> PlanChunks(std::string_view text, size_t begin, int count, BoundaryKind kind,
                              char closer);

// Reads `text` in the given (not kAuto) format, cutting it into `chunk_count` chunks parsed by
// `threads` threads (0: one per chunk) when it is at least `min_parallel_bytes` long.
// `parsed_in_chunks`, when given, says whether the chunks' result was used (rather than a serial
// parse after a chunk failed). ReadHistoryText uses this with its own thresholds; tests and fuzz
// targets force small chunks.
Result<History> ReadHistoryChunked(std::string_view text, std::string_view source,
                                   HistoryFormat format, int chunk_count, size_t min_parallel_bytes,
                                   int threads = 0, bool* parsed_in_chunks = nullptr,
                                   ValueForm value_form = ValueForm::kTree);

// Reads `text` with up to `threads` threads: ReadHistoryChunked with the chunk sizes and the
// threshold that pay on real files.
Result<History> ReadHistoryWithThreads(std::string_view text, std::string_view source,
                                       HistoryFormat format, size_t threads,
                                       ValueForm value_form = ValueForm::kTree);

}  // namespace faultline::internal
