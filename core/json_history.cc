// faultline JSONL (an optional header object, then one op object per line) and elle-cli JSON (a
// JSON array of op objects, or one op object per line). Both are read by one reader: the top-level
// '[' picks the array form; otherwise objects follow each other separated by whitespace, and the
// first one is the header when it says "faultline_history" or has neither "type" nor "index".
#include <string>

#include "core/history_readers.h"
#include "core/json_parser.h"
#include "core/parse_text.h"

namespace faultline::internal {
namespace {

constexpr std::string_view kProcessExpected = "a process (an integer >= 0 or \"nemesis\")";
constexpr std::string_view kTypeExpected = "one of \"invoke\" \"ok\" \"fail\" \"info\"";

// A header says so, or at least carries none of the keys an op is made of; an op that merely
// misses "type" must still be reported as such.
bool IsHeader(const Json& object) {
  if (object.contains("faultline_history")) return true;
  for (const char* key : {"type", "index", "process", "f"}) {
    if (object.contains(key)) return false;
  }
  return true;
}

class JsonHistoryReader {
 public:
  JsonHistoryReader(std::string_view text, std::string_view source, const Chunk& chunk,
                    std::vector<Op>* prefix)
      : parser_(text, source, chunk.begin, chunk.end),
        source_(source),
        lines_(text, chunk.begin),
        chunk_(chunk) {
    TakePrefix(prefix, &output_);
  }

  ChunkOutput Read() {
    ReserveOps(parser_.text(), chunk_, &output_.ops);
    const bool read_all = ReadAll();
    return FinishChunk(read_all, parser_, lines_, chunk_, &output_);
  }

 private:
  bool ReadAll();
  bool ReadArrayForm();
  bool ReadClosing();
  bool ReadSequenceForm();
  bool ReadHeaderOrOp();
  bool ReadOp();
  bool ReadOpFields(Op* op);
  bool ReadField(text::OpKey key, std::string_view name, Op* op);
  bool ReadValueOrText(Json* value);
  bool ReadProcess(int64_t* process);
  bool ReadType(OpType* type);
  bool ReadTime(int64_t* time_ns);
  bool ReadName(std::string* name);

  JsonParser parser_;
  std::string_view source_;
  text::LineCounter lines_;
  Chunk chunk_;
  ChunkOutput output_;
  std::string key_scratch_;
  std::string value_scratch_;
  bool has_type_ = false;
  bool has_process_ = false;
  bool has_index_ = false;
};

bool JsonHistoryReader::ReadAll() {
  parser_.SkipSpace();
  if (chunk_.role == ChunkRole::kOnly) {
    if (parser_.at_end()) return parser_.Fail(parser_.pos(), "a history");
    chunk_.closer = parser_.Peek() == '[' ? ']' : '\0';
  }
  return chunk_.closer == ']' ? ReadArrayForm() : ReadSequenceForm();
}

bool JsonHistoryReader::ReadArrayForm() {
  if (OpensText(chunk_.role)) {
    if (!parser_.PeekIs('[')) return parser_.Fail(parser_.pos(), "[");
    parser_.set_pos(parser_.pos() + 1);
    parser_.SkipSpace();
    if (parser_.PeekIs(']') && ClosesText(chunk_.role)) return ReadClosing();
  }
  bool expect_op = true;
  while (true) {
    parser_.SkipSpace();
    if (parser_.at_end()) {
      if (ClosesText(chunk_.role)) {
        return parser_.Fail(parser_.pos(), expect_op ? "an op object" : ", or ]");
      }
      // A chunk that is not the last must end between a comma and the next op.
      return expect_op || parser_.Fail(parser_.pos(), ",");
    }
    if (expect_op) {
      if (!ReadOp()) return false;
      expect_op = false;
    } else if (parser_.Peek() == ',') {
      parser_.set_pos(parser_.pos() + 1);
      expect_op = true;
    } else if (parser_.Peek() == ']' && ClosesText(chunk_.role)) {
      return ReadClosing();
    } else {
      return parser_.Fail(parser_.pos(), ", or ]");
    }
  }
}

bool JsonHistoryReader::ReadClosing() {
  parser_.set_pos(parser_.pos() + 1);
  parser_.SkipSpace();
  return parser_.at_end() || parser_.Fail(parser_.pos(), "end of file");
}

bool JsonHistoryReader::ReadSequenceForm() {
  if (OpensText(chunk_.role) && !parser_.at_end() && !ReadHeaderOrOp()) return false;
  while (true) {
    parser_.SkipSpace();
    if (parser_.at_end()) return true;
    if (!ReadOp()) return false;
  }
}

bool JsonHistoryReader::ReadHeaderOrOp() {
  const size_t start = parser_.pos();
  if (!parser_.PeekIs('{')) return parser_.Fail(start, "a header or op object");
  // A separate parser probes the object, so that an op (whose fields get their own errors and
  // one more level of nesting) is read, and fails, exactly as any later op would.
  JsonParser probe(parser_.text(), source_, start, parser_.end());
  Json first;
  if (!probe.ReadValueHere(&first) || !IsHeader(first)) return ReadOp();
  const auto version = first.find("faultline_history");
  if (version != first.end() && !(version->is_number_integer() && *version == 1)) {
    return parser_.FailFound(start, "a header with \"faultline_history\":1",
                             "\"faultline_history\":" + text::Printable(version->dump()));
  }
  output_.header = std::move(first);
  parser_.set_pos(probe.pos());
  return true;
}

bool JsonHistoryReader::ReadOp() {
  const size_t start = parser_.pos();
  if (!parser_.PeekIs('{')) return parser_.Fail(start, "an op object");
  Op& op = output_.ops.emplace_back();
  op.line = lines_.LineAt(start);
  has_type_ = has_process_ = has_index_ = false;
  if (!ReadOpFields(&op)) return false;
  if (!has_type_) return parser_.FailFound(start, "key \"type\"", "an op without it");
  if (!has_process_) return parser_.FailFound(start, "key \"process\"", "an op without it");
  if (!has_index_) {
    op.index = static_cast<int64_t>(output_.ops.size()) - 1;
    output_.default_indices.push_back(output_.ops.size() - 1);
  }
  return true;
}

bool JsonHistoryReader::ReadOpFields(Op* op) {
  parser_.set_pos(parser_.pos() + 1);
  parser_.SkipSpace();
  if (parser_.PeekIs('}')) {
    parser_.set_pos(parser_.pos() + 1);
    return true;
  }
  while (true) {
    parser_.SkipSpace();
    if (!parser_.PeekIs('"')) return parser_.Fail(parser_.pos(), "a string key");
    std::string_view name;
    if (!parser_.ReadStringView(&name, &key_scratch_)) return false;
    parser_.SkipSpace();
    if (!parser_.PeekIs(':')) return parser_.Fail(parser_.pos(), ":");
    parser_.set_pos(parser_.pos() + 1);
    parser_.SkipSpace();
    if (!ReadField(text::ClassifyOpKey(name), name, op)) return false;
    parser_.SkipSpace();
    if (parser_.PeekIs('}')) {
      parser_.set_pos(parser_.pos() + 1);
      return true;
    }
    if (!parser_.PeekIs(',')) return parser_.Fail(parser_.pos(), ", or }");
    parser_.set_pos(parser_.pos() + 1);
  }
}

bool JsonHistoryReader::ReadField(text::OpKey key, std::string_view name, Op* op) {
  switch (key) {
    case text::OpKey::kProcess:
      has_process_ = true;
      return ReadProcess(&op->process);
    case text::OpKey::kType:
      has_type_ = true;
      return ReadType(&op->type);
    case text::OpKey::kF:
      return ReadName(&op->f);
    case text::OpKey::kValue:
      return ReadValueOrText(&op->value);
    case text::OpKey::kError:
      return ReadValueOrText(&op->error);
    case text::OpKey::kIndex:
      has_index_ = true;
      return parser_.ReadInteger("an integer \"index\"", &op->index);
    case text::OpKey::kTime:
      return ReadTime(&op->time_ns);
    case text::OpKey::kOther:
      break;
  }
  if (!op->extra.is_object()) op->extra = Json::object();
  return parser_.ReadValueHere(&op->extra[std::string(name)]);
}

bool JsonHistoryReader::ReadValueOrText(Json* value) {
  if (chunk_.value_form == ValueForm::kTree) return parser_.ReadValueHere(value);
  const size_t start = parser_.pos();
  if (!parser_.ReadValueHere(nullptr)) return false;
  const std::string_view text = parser_.text().substr(start, parser_.pos() - start);
  if (text != "null") *value = std::string(text);  // null is an absent value, as in a tree
  return true;
}

bool JsonHistoryReader::ReadProcess(int64_t* process) {
  const size_t start = parser_.pos();
  if (parser_.PeekIs('"')) {
    std::string_view name;
    if (!parser_.ReadStringView(&name, &value_scratch_)) return false;
    if (name != "nemesis") return parser_.Fail(start, kProcessExpected);
    *process = kNemesisProcess;
    return true;
  }
  if (!parser_.ReadInteger(kProcessExpected, process)) return false;
  if (*process < 0) return parser_.Fail(start, kProcessExpected);
  return true;
}

bool JsonHistoryReader::ReadTime(int64_t* time_ns) {
  const size_t start = parser_.pos();
  if (!parser_.ReadInteger("an integer \"time\"", time_ns)) return false;
  return *time_ns >= 0 || parser_.Fail(start, "a \"time\" >= 0 (nanoseconds since the start)");
}

bool JsonHistoryReader::ReadType(OpType* type) {
  const size_t start = parser_.pos();
  if (!parser_.PeekIs('"')) return parser_.Fail(start, kTypeExpected);
  std::string_view name;
  if (!parser_.ReadStringView(&name, &value_scratch_)) return false;
  const std::optional<OpType> parsed = ParseOpType(name);
  if (!parsed || name.front() == ':') return parser_.Fail(start, kTypeExpected);
  *type = *parsed;
  return true;
}

bool JsonHistoryReader::ReadName(std::string* name) {
  const size_t start = parser_.pos();
  if (parser_.PeekIs('"')) return parser_.ReadString(name);
  const std::string_view rest = parser_.text().substr(start, parser_.end() - start);
  if (!rest.starts_with("null")) return parser_.Fail(start, "an operation name (a string)");
  name->clear();
  parser_.set_pos(start + 4);
  return true;
}

}  // namespace

ChunkOutput ParseJsonChunk(std::string_view text, std::string_view source, const Chunk& chunk,
                           std::vector<Op>* prefix) {
  return JsonHistoryReader(text, source, chunk, prefix).Read();
}

}  // namespace faultline::internal
