// Reading and writing history files.
//
// Formats: faultline JSONL (header line, then one op per line), Jepsen history.edn (a vector or a
// bare sequence of op maps, records such as #jepsen.history.Op{...} included), Jepsen log lines
// ("INFO jepsen.util - 3 :invoke :cas [1 2]"), and elle-cli JSON (a JSON array of ops, or one op
// object per line). Format detection looks at the first meaningful characters of the text.
//
// EDN values become JSON: keywords lose their ':' ("read"), nil is null, vectors, lists and sets are
// arrays, map keys become strings, tagged values keep their value. Ops keep every key they carry:
// the ones faultline knows go to Op's fields, the rest to Op::extra.
//
// Errors: every malformed input gives a Status of kParseError whose message is one line,
// "FILE:LINE:COLUMN: expected WHAT, found WHAT". A reader never returns part of a file as if it
// were the whole. All functions are thread-safe; ReadHistoryFile may use `threads` workers.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "core/op.h"
#include "core/status.h"

namespace faultline {

enum class HistoryFormat { kAuto, kJsonl, kEdn, kJepsenLog, kElleJson };

std::string_view ToString(HistoryFormat format);
// Accepts "auto", "jsonl", "edn", "jepsen-log", "elle-json".
std::optional<HistoryFormat> ParseHistoryFormat(std::string_view text);

// How an op's value and error are kept. kTree: as JSON trees (what checkers read). kText: each
// present value and error is a JSON string holding the value's JSON text, checked exactly as a
// tree would be (the same errors) but never built: a JSON file's own text (as written there),
// other formats' values written compactly. For readers that only show values (the report's
// timeline): a list-append transaction is one string instead of dozens of heap nodes.
enum class ValueForm { kTree, kText };

struct ReadOptions {
  HistoryFormat format = HistoryFormat::kAuto;
  int threads = 1;  // parse workers for large files; 0 = all cores
  // ReadHistoryFile on a run's history.jsonl: a last line without its newline (a run killed
  // mid-write) is dropped; everything before it is intact.
  bool drop_torn_last_line = false;
  ValueForm value_form = ValueForm::kTree;
};

// An op read with ValueForm::kText made as if read with kTree: its value and error texts parsed
// into trees (a value that is not a string is left as it is). For the few ops a text-valued reader
// must look into (the nemesis's).
Status ParseValueTexts(Op* op);

// Guesses the format from the text's first non-blank, non-comment characters.
HistoryFormat DetectFormat(std::string_view text);

Result<History> ReadHistoryText(std::string_view text, std::string_view source_name,
                                const ReadOptions& options = {});
Result<History> ReadHistoryFile(const std::string& path, const ReadOptions& options = {});

// One JSONL line without its newline: the header object (with "faultline_history" first), and an
// op exactly as Op::ToJson().dump() writes it, appended to `line` (for streaming journals).
std::string JsonlHeaderLine(const Json& header);
void AppendJsonlLine(const Op& op, std::string* line);

// Writes the header line then one op per line.
void WriteJsonl(const History& history, std::ostream& out);
Status WriteJsonlFile(const History& history, const std::string& path);

}  // namespace faultline
