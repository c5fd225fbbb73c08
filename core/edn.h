// EDN (extensible data notation, Clojure's data syntax) read straight into JSON values.
//
// Mapping: nil -> null; true/false -> booleans; integers (also 12N) -> int64, and one outside
// int64's range is a parse error; floats (also 1.5M) -> double; strings, keywords (without ':'),
// symbols and characters (\a, \newline) -> strings; ##Inf, ##-Inf, ##NaN -> the strings "##Inf"...;
// vectors, lists and sets -> arrays; maps -> objects whose keys are keyword names, or the EDN
// text of any other key (so "x" and :x stay distinct); tagged values (#inst "...",
// #jepsen.history.Op{...}) -> the value. Commas are whitespace, ';' comments run to the end of the
// line, #_ discards the next value.
//
// EdnParser is also the building block of the history readers: it reads [begin, end) of a larger
// text and reports errors at the larger text's line:column. One parser per thread.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/op.h"
#include "core/parse_text.h"
#include "core/status.h"

namespace faultline {

namespace edn_internal {
// ASCII bytes that continue a keyword or symbol (not whitespace, not a delimiter).
constexpr std::array<bool, 256> MakePlainTokenBytes() {
  std::array<bool, 256> table{};
  for (int c = 0x21; c < 0x7F; ++c) table[c] = true;
  for (unsigned char c : std::string_view(",()[]{}\";\\")) table[c] = false;
  return table;
}
inline constexpr std::array<bool, 256> kPlainTokenBytes = MakePlainTokenBytes();
}  // namespace edn_internal

class EdnParser : public text::TextParser {
 public:
  using TextParser::TextParser;

  // Skips whitespace, commas, comments and #_ discarded values; false when a discard is malformed.
  // The common separators are handled inline: this runs between every two tokens.
  bool SkipSpace() {
    const char* data = text_.data();
    size_t pos = pos_;
    while (pos < end_) {
      switch (data[pos]) {
        case ' ':
        case ',':
        case '\n':
          ++pos;
          break;
        case '\t':
        case '\r':
        case '\f':
        case '\v':
        case ';':
        case '#':
          pos_ = pos;
          return SkipOtherSpace();
        default:
          pos_ = pos;
          return true;
      }
    }
    pos_ = pos;
    return true;
  }
  // SkipSpace, then one value.
  bool ReadValue(Json* out);
  // One value starting exactly at pos() (no space before it).
  bool ReadValueHere(Json* out);
  // A keyword at pos() (which holds ':'); `name` is a view of the text without the ':'.
  bool ReadKeyword(std::string_view* name) {
    const char* data = text_.data();
    size_t end = pos_ + 1;
    while (end < end_ && edn_internal::kPlainTokenBytes[static_cast<unsigned char>(data[end])]) {
      ++end;
    }
    const bool plain_end = end >= end_ || !IsTokenByte(data[end]);
    if (!plain_end || end == pos_ + 1) return ReadOtherKeyword(name);
    *name = std::string_view(data + pos_ + 1, end - pos_ - 1);
    pos_ = end;
    return true;
  }
  // A map key at pos(): a keyword's name, or the EDN text of any other value.
  bool ReadMapKey(std::string* key);
  // An integer at pos(); anything else (or out of int64 range) fails with `expected`.
  bool ReadInteger(std::string_view expected, int64_t* out);
  // The token starting at pos() (up to whitespace or a delimiter; at least one byte).
  std::string_view TokenHere() const;
  // Fails at pos() with "expected } to close the { at LINE:COLUMN" for the opener at `opener`.
  bool FailUnclosed(size_t opener, char closer);

 private:
  bool ReadString(std::string* out);
  bool ReadEscape(std::string* out);
  bool ReadCharacter(Json* out);
  bool ReadAtom(Json* out);
  bool ReadNumber(std::string_view token, Json* out);
  bool ReadSequence(size_t opener, char closer, Json* out);
  bool ReadMap(Json* out);
  bool ReadDispatch(Json* out);
  bool ReadTagged(Json* out);
  static bool IsTokenByte(char c);
  // ReadKeyword for the rare keywords: non-ASCII, or empty.
  bool ReadOtherKeyword(std::string_view* name);
  bool SkipOtherSpace();
  bool SkipDiscard();
};

// Parses a text holding exactly one EDN value (space and comments around it allowed).
Result<Json> ParseEdn(std::string_view text, std::string_view source = "");

}  // namespace faultline
