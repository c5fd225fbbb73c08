// Jepsen history.edn: a top-level vector or list of op maps, or a bare sequence of them; records
// (#jepsen.history.Op{...}) read as maps. Op maps are converted field by field while they are
// read, without an intermediate generic value, because this is the hot loop of large files.
#include <string>

#include "core/edn.h"
#include "core/history_readers.h"
#include "core/parse_text.h"

namespace faultline::internal {
namespace {

constexpr std::string_view kProcessExpected = "a process (an integer >= 0 or :nemesis)";

bool IsTagStart(std::string_view text, size_t pos, size_t end) {
  if (pos + 1 >= end || text[pos] != '#') return false;
  const char c = text[pos + 1];
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

class EdnHistoryReader {
 public:
  EdnHistoryReader(std::string_view text, std::string_view source, const Chunk& chunk,
                   std::vector<Op>* prefix)
      : parser_(text, source, chunk.begin, chunk.end), lines_(text, chunk.begin), chunk_(chunk) {
    TakePrefix(prefix, &output_);
  }

  ChunkOutput Read() {
    ReserveOps(parser_.text(), chunk_, &output_.ops);
    const bool read_all = ReadAll();
    return FinishChunk(read_all, parser_, lines_, chunk_, &output_);
  }

 private:
  bool ReadAll();
  bool ReadOpening(char* closer);
  bool ReadClosing();
  bool ReadOp();
  bool ReadOpFields(Op* op);
  bool ReadField(text::OpKey key, std::string_view name, Op* op);
  bool ReadProcess(int64_t* process);
  bool ReadType(OpType* type);
  bool ReadTime(int64_t* time_ns);

  EdnParser parser_;
  text::LineCounter lines_;
  Chunk chunk_;
  size_t opener_ = 0;
  ChunkOutput output_;
  // Which required keys the op being read has had.
  bool has_type_ = false;
  bool has_process_ = false;
  bool has_index_ = false;
};

bool EdnHistoryReader::ReadAll() {
  char closer = chunk_.closer;
  if (!parser_.SkipSpace()) return false;
  if (OpensText(chunk_.role) && !ReadOpening(&closer)) return false;
  while (true) {
    if (!parser_.SkipSpace()) return false;
    if (parser_.at_end()) {
      if (closer != '\0' && ClosesText(chunk_.role)) return parser_.FailUnclosed(opener_, closer);
      return true;
    }
    if (closer != '\0' && parser_.Peek() == closer) {
      if (!ClosesText(chunk_.role)) return parser_.Fail(parser_.pos(), "an op map");
      return ReadClosing();
    }
    if (!ReadOp()) return false;
  }
}

bool EdnHistoryReader::ReadOpening(char* closer) {
  if (parser_.at_end()) return parser_.Fail(parser_.pos(), "a history");
  const char c = parser_.Peek();
  if (chunk_.role == ChunkRole::kOnly) *closer = c == '[' ? ']' : c == '(' ? ')' : '\0';
  if (*closer == '\0') return true;
  if (c != (*closer == ']' ? '[' : '(')) return parser_.Fail(parser_.pos(), "[");
  opener_ = parser_.pos();
  parser_.set_pos(opener_ + 1);
  return true;
}

bool EdnHistoryReader::ReadClosing() {
  parser_.set_pos(parser_.pos() + 1);
  if (!parser_.SkipSpace()) return false;
  if (!parser_.at_end()) return parser_.Fail(parser_.pos(), "end of file");
  return true;
}

bool EdnHistoryReader::ReadOp() {
  const size_t start = parser_.pos();
  // A record such as #jepsen.history.Op{...} is a map with a tag in front.
  while (IsTagStart(parser_.text(), parser_.pos(), parser_.end())) {
    parser_.set_pos(parser_.pos() + 1);
    parser_.set_pos(parser_.pos() + parser_.TokenHere().size());
    if (!parser_.SkipSpace()) return false;
  }
  if (!parser_.PeekIs('{')) return parser_.Fail(parser_.pos(), "an op map");
  Op& op = output_.ops.emplace_back();
  op.line = lines_.LineAt(start);
  has_type_ = has_process_ = has_index_ = false;
  if (!ReadOpFields(&op)) return false;
  if (!has_type_) return parser_.FailFound(start, "key :type", "an op without it");
  if (!has_process_) return parser_.FailFound(start, "key :process", "an op without it");
  if (!has_index_) {
    op.index = static_cast<int64_t>(output_.ops.size()) - 1;
    output_.default_indices.push_back(output_.ops.size() - 1);
  }
  return true;
}

bool EdnHistoryReader::ReadOpFields(Op* op) {
  const size_t opener = parser_.pos();
  parser_.set_pos(opener + 1);
  std::string other_key;
  while (true) {
    if (!parser_.SkipSpace()) return false;
    if (parser_.at_end()) return parser_.FailUnclosed(opener, '}');
    const char c = parser_.Peek();
    if (c == '}') break;
    if (c == ')' || c == ']') return parser_.Fail(parser_.pos(), "an op key or }");
    std::string_view name;
    const size_t key_start = parser_.pos();
    if (c == ':') {
      if (!parser_.ReadKeyword(&name)) return false;
    } else {
      if (!parser_.ReadMapKey(&other_key)) return false;
      name = other_key;
      // A symbol `index` next to the field :index would be lost when the op is written out.
      if (text::ClassifyOpKey(name) != text::OpKey::kOther) {
        return parser_.Fail(key_start, "a keyword key :" + other_key);
      }
    }
    if (!parser_.SkipSpace()) return false;
    if (parser_.at_end()) return parser_.FailUnclosed(opener, '}');
    const char next = parser_.Peek();
    if (next == '}' || next == ')' || next == ']') {
      const std::string shown = text::Printable(name);
      return parser_.Fail(parser_.pos(), "a value for key " + (c == ':' ? ":" + shown : shown));
    }
    const text::OpKey key = c == ':' ? text::ClassifyOpKey(name) : text::OpKey::kOther;
    if (!ReadField(key, name, op)) return false;
  }
  parser_.set_pos(parser_.pos() + 1);
  return true;
}

bool EdnHistoryReader::ReadField(text::OpKey key, std::string_view name, Op* op) {
  switch (key) {
    case text::OpKey::kProcess:
      has_process_ = true;
      return ReadProcess(&op->process);
    case text::OpKey::kType:
      has_type_ = true;
      return ReadType(&op->type);
    case text::OpKey::kF:
      return ReadEdnOpName(&parser_, &op->f);
    case text::OpKey::kValue:
      return parser_.ReadValueHere(&op->value);
    case text::OpKey::kError:
      return parser_.ReadValueHere(&op->error);
    case text::OpKey::kIndex:
      has_index_ = true;
      return parser_.ReadInteger("an integer :index", &op->index);
    case text::OpKey::kTime:
      return ReadTime(&op->time_ns);
    case text::OpKey::kOther:
      break;
  }
  if (!op->extra.is_object()) op->extra = Json::object();
  return parser_.ReadValueHere(&op->extra[std::string(name)]);
}

bool EdnHistoryReader::ReadProcess(int64_t* process) {
  const size_t start = parser_.pos();
  if (parser_.Peek() == ':') {
    std::string_view name;
    if (!parser_.ReadKeyword(&name)) return false;
    if (name != "nemesis") return parser_.Fail(start, kProcessExpected);
    *process = kNemesisProcess;
    return true;
  }
  if (!parser_.ReadInteger(kProcessExpected, process)) return false;
  if (*process < 0) return parser_.Fail(start, kProcessExpected);
  return true;
}

bool EdnHistoryReader::ReadTime(int64_t* time_ns) {
  const size_t start = parser_.pos();
  if (!parser_.ReadInteger("an integer :time", time_ns)) return false;
  return *time_ns >= 0 || parser_.Fail(start, "a :time >= 0 (nanoseconds since the start)");
}

bool EdnHistoryReader::ReadType(OpType* type) {
  const size_t start = parser_.pos();
  std::string_view name;
  if (parser_.Peek() != ':' || !parser_.ReadKeyword(&name)) {
    return parser_.Fail(start, "one of :invoke :ok :fail :info");
  }
  const std::optional<OpType> parsed = ParseOpType(name);
  if (!parsed || name.front() == ':') return parser_.Fail(start, "one of :invoke :ok :fail :info");
  *type = *parsed;
  return true;
}

}  // namespace

bool ReadEdnOpName(EdnParser* parser, std::string* name) {
  const size_t start = parser->pos();
  if (parser->PeekIs(':')) {
    std::string_view keyword;
    if (!parser->ReadKeyword(&keyword)) return false;
    name->assign(keyword);
    return true;
  }
  // Strings and symbols name operations too; nil means none. A character (\a) does not.
  const bool character = parser->PeekIs('\\');
  Json value;
  if (!parser->ReadValueHere(&value)) return false;
  if (value.is_null()) {
    name->clear();
  } else if (value.is_string() && !character) {
    *name = std::move(value.get_ref<std::string&>());
  } else {
    return parser->Fail(start, "an operation name such as :read");
  }
  return true;
}

ChunkOutput ParseEdnChunk(std::string_view text, std::string_view source, const Chunk& chunk,
                          std::vector<Op>* prefix) {
  return EdnHistoryReader(text, source, chunk, prefix).Read();
}

}  // namespace faultline::internal
