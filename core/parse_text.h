// Shared pieces of faultline's hand-written history readers (EDN, JSON, Jepsen log lines).
//
// TextParser is the cursor every reader builds on: a view of the whole text, a [begin, end) range
// it may read, and the first error it met. Offsets are always offsets into the whole text, so a
// parser that reads only one chunk of a file still reports errors at the file's line and column.
// Errors are one line: "SOURCE:LINE:COLUMN: expected WHAT, found WHAT" (DESIGN.md, history_io.h).
//
// Internal to core/; not thread-safe per object (each thread uses its own parsers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace faultline::text {

// Collections, tags and discards nest at most this deep; deeper input is a parse error, never a
// stack overflow.
inline constexpr int kMaxDepth = 1000;

struct Location {
  int64_t line = 1;
  int64_t column = 1;  // in bytes, 1-based
};

// The 1-based line and column of byte `offset` of `text`.
Location LocateOffset(std::string_view text, size_t offset);
std::string FormatLocation(std::string_view text, size_t offset);  // "LINE:COLUMN"

// The 1-based line of successive offsets, counted from `begin`'s line (line 1). Queries must not
// go backwards; the counting is a memchr sweep, so a whole pass costs one scan of the text.
class LineCounter {
 public:
  LineCounter(std::string_view text, size_t begin) : text_(text), position_(begin) {}
  int64_t LineAt(size_t offset);

 private:
  std::string_view text_;
  size_t position_;
  int64_t line_ = 1;
};

// The first offset at or after `i` that is not a space, tab, newline, carriage return or form feed.
size_t SkipWhitespace(std::string_view text, size_t i);
// Where a text's content begins: after a UTF-8 byte order mark, if it has one.
size_t ContentBegin(std::string_view text);

// Offset of the first byte of `text` that breaks UTF-8, or npos when it is all valid.
size_t FindInvalidUtf8(std::string_view text);
// Length of the valid UTF-8 sequence that starts `text`, or 0 when it does not start with one.
size_t Utf8SequenceLength(std::string_view text);
// Appends a code point (<= 0x10FFFF, not a surrogate) as UTF-8.
void AppendUtf8(uint32_t code_point, std::string* out);
// Decimal digits (no sign) as an int64, negated when `negative`; false when out of range.
bool ParseDecimalInt64(std::string_view digits, bool negative, int64_t* out);
// What a one-letter escape (\n, \t, \", \\, \/, \b, \f, \r) stands for, or '\0'.
char DecodeSimpleEscape(char letter);
// The letter of the one-letter escape JSON writes for `c` (\b \f \n \r \t), or '\0'.
char EncodeSimpleEscape(char c);
// The value of four hex digits, or -1.
int32_t ParseHex4(std::string_view digits);

// "found" text for a message: printable ASCII and valid UTF-8 kept, other bytes as \xNN, at most
// about `max_bytes` bytes (then "...").
std::string Printable(std::string_view token, size_t max_bytes = 40);

// Words for a message: "a", "a or b", "a, b or c" (`last` joins the last two).
std::string JoinedWords(const std::vector<std::string>& words, std::string_view last = " or ");

// The op keys faultline maps to Op fields; everything else goes to Op::extra.
enum class OpKey { kIndex, kTime, kType, kProcess, kF, kValue, kError, kOther };
OpKey ClassifyOpKey(std::string_view name);

class TextParser {
 public:
  // Reads text[begin, end); `source` names the file in error messages.
  TextParser(std::string_view text, std::string_view source, size_t begin, size_t end);

  size_t pos() const { return pos_; }
  void set_pos(size_t pos) { pos_ = pos; }
  size_t end() const { return end_; }
  bool at_end() const { return pos_ >= end_; }
  // The current byte; only meaningful when !at_end().
  char Peek() const { return text_[pos_]; }
  bool PeekIs(char c) const { return pos_ < end_ && text_[pos_] == c; }
  std::string_view text() const { return text_; }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // Records "expected WHAT, found <the token at offset>" unless an error is already recorded, and
  // returns false so callers can `return Fail(...)`.
  bool Fail(size_t offset, std::string_view expected);
  bool FailFound(size_t offset, std::string_view expected, std::string_view found);

  // How the token at `offset` reads in a message: "end of file", "}", ":bogus", "\"abc\"".
  std::string DescribeAt(size_t offset) const;

  // Fails at the first invalid UTF-8 byte of text[begin, end), if any.
  bool CheckUtf8(size_t begin, size_t end);

 protected:
  // Reads the four hex digits of a \\u escape at pos() (after "\\u"), and the low surrogate's
  // escape that must follow a high surrogate; `start` is the offset of the backslash.
  bool ReadUnicodeEscape(size_t start, std::string* out);

  // Counts one level of nesting for as long as it lives; check ok() after constructing it.
  class DepthGuard {
   public:
    DepthGuard(TextParser* parser, size_t offset);
    ~DepthGuard() { --parser_->depth_; }
    bool ok() const { return ok_; }

   private:
    TextParser* parser_;
    bool ok_;
  };

  std::string_view text_;
  std::string_view source_;
  size_t pos_;
  size_t end_;
  int depth_ = 0;
  Status status_;
};

}  // namespace faultline::text
