// Jepsen log lines: "INFO  jepsen.util - 3	:invoke	:cas	[1 2]" (tabs or spaces), the way
// jepsen.util/log-op printed ops. A line is a history line when it reads
// "jepsen.util - PROCESS :TYPE" (PROCESS an integer or :nemesis, TYPE invoke/ok/fail/info, '-' or
// ':' after the logger name); every other line (setup noise, stack traces, knossos' dumps of
// "World with fixed history") is skipped. A history line's remaining fields are EDN: f, then an
// optional value (nil when absent), then an optional error; they must parse. Logs carry no times
// (-1) and no indices (the position).
#include <cstring>

#include "core/edn.h"
#include "core/history_readers.h"
#include "core/parse_text.h"

namespace faultline::internal {
namespace {

constexpr std::string_view kLogger = "jepsen.util";
constexpr std::string_view kNemesis = ":nemesis";

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

size_t SkipBlanks(std::string_view line, size_t i) {
  while (i < line.size() && IsBlank(line[i])) ++i;
  return i;
}

// The "PROCESS :TYPE" part of a history line, as offsets into the line.
struct LinePrefix {
  size_t process_begin = 0;
  size_t process_end = 0;
  OpType type = OpType::kInvoke;
  size_t fields_begin = 0;  // just after the type
};

// Matches "jepsen.util - PROCESS :TYPE"; false for any other line.
bool MatchPrefix(std::string_view line, LinePrefix* prefix) {
  const size_t logger = line.find(kLogger);
  if (logger == std::string_view::npos) return false;
  size_t i = SkipBlanks(line, logger + kLogger.size());
  if (i >= line.size() || (line[i] != '-' && line[i] != ':')) return false;
  i = SkipBlanks(line, i + 1);
  size_t j = i;
  if (line.substr(i).starts_with(kNemesis)) {
    j = i + kNemesis.size();
  } else {
    while (j < line.size() && IsDigit(line[j])) ++j;
  }
  if (j == i || j >= line.size() || !IsBlank(line[j])) return false;
  const size_t type_begin = SkipBlanks(line, j);
  if (type_begin >= line.size() || line[type_begin] != ':') return false;
  size_t type_end = type_begin + 1;
  while (type_end < line.size() && IsLower(line[type_end])) ++type_end;
  const std::optional<OpType> type =
      ParseOpType(line.substr(type_begin + 1, type_end - type_begin - 1));
  if (!type || (type_end < line.size() && !IsBlank(line[type_end]) && line[type_end] != '\r')) {
    return false;
  }
  *prefix = {i, j, *type, type_end};
  return true;
}

// f, then the optional value and error, then the end of the line.
bool ReadFields(EdnParser* parser, Op* op) {
  if (!parser->SkipSpace()) return false;
  if (parser->at_end()) return parser->Fail(parser->pos(), "an operation name such as :read");
  if (!ReadEdnOpName(parser, &op->f) || !parser->SkipSpace()) return false;
  if (parser->at_end()) return true;
  if (!parser->ReadValueHere(&op->value) || !parser->SkipSpace()) return false;
  if (parser->at_end()) return true;
  if (!parser->ReadValueHere(&op->error) || !parser->SkipSpace()) return false;
  return parser->at_end() || parser->Fail(parser->pos(), "end of line");
}

class JepsenLogReader {
 public:
  JepsenLogReader(std::string_view text, std::string_view source, const Chunk& chunk,
                  std::vector<Op>* prefix)
      : text_(text), source_(source), chunk_(chunk) {
    TakePrefix(prefix, &output_);
  }

  ChunkOutput Read() {
    ReserveOps(text_, chunk_, &output_.ops);
    size_t pos = chunk_.begin;
    int64_t line = 1;
    while (pos < chunk_.end) {
      const void* newline = std::memchr(text_.data() + pos, '\n', chunk_.end - pos);
      const size_t line_end =
          newline ? static_cast<const char*>(newline) - text_.data() : chunk_.end;
      if (!ReadLine(pos, line_end, line)) return std::move(output_);
      if (newline == nullptr) break;
      ++output_.newlines;
      pos = line_end + 1;
      ++line;
    }
    return std::move(output_);
  }

 private:
  bool ReadLine(size_t begin, size_t end, int64_t line);

  std::string_view text_;
  std::string_view source_;
  Chunk chunk_;
  ChunkOutput output_;
};

bool JepsenLogReader::ReadLine(size_t begin, size_t end, int64_t line) {
  LinePrefix prefix;
  if (!MatchPrefix(text_.substr(begin, end - begin), &prefix)) return true;
  EdnParser parser(text_, source_, begin + prefix.fields_begin, end);
  Op op;
  op.line = line;
  op.type = prefix.type;
  const std::string_view process =
      text_.substr(begin + prefix.process_begin, prefix.process_end - prefix.process_begin);
  if (process == kNemesis) {
    op.process = kNemesisProcess;
  } else if (!text::ParseDecimalInt64(process, false, &op.process)) {
    parser.FailFound(begin + prefix.process_begin, "a process within int64 range",
                     text::Printable(process));
  }
  if (!parser.ok() || !ReadFields(&parser, &op)) {
    output_.status = parser.status();
    return false;
  }
  op.index = static_cast<int64_t>(output_.ops.size());
  output_.default_indices.push_back(output_.ops.size());
  output_.ops.push_back(std::move(op));
  return true;
}

}  // namespace

ChunkOutput ParseJepsenLogChunk(std::string_view text, std::string_view source, const Chunk& chunk,
                                std::vector<Op>* prefix) {
  return JepsenLogReader(text, source, chunk, prefix).Read();
}

}  // namespace faultline::internal
