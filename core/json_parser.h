// A strict JSON reader (RFC 8259) over part of a larger text, for the JSONL and elle-cli readers.
//
// nlohmann::json's own parser is not used because the readers need errors in the form
// "FILE:LINE:COLUMN: expected WHAT, found WHAT", a nesting limit, and ops converted field by field
// while they are read. Integers outside int64 are a parse error (never silently rounded); strings
// must be valid UTF-8 and escape their control characters. One parser per thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/op.h"
#include "core/parse_text.h"
#include "core/status.h"

namespace faultline {

class JsonParser : public text::TextParser {
 public:
  using TextParser::TextParser;

  void SkipSpace();
  // SkipSpace, then one value. With `out` null the value is checked exactly as it would be read
  // (the same errors) but nothing is built: for readers that keep a value's text.
  bool ReadValue(Json* out);
  // One value starting exactly at pos(); `out` may be null as for ReadValue.
  bool ReadValueHere(Json* out);
  // A string at pos() (which holds '"'); `out` views the text when the string has no escapes,
  // else `scratch`, which holds the decoded string.
  bool ReadStringView(std::string_view* out, std::string* scratch);
  bool ReadString(std::string* out);
  // An integer at pos(); anything else fails with `expected`.
  bool ReadInteger(std::string_view expected, int64_t* out);

 private:
  std::string_view NumberTokenHere() const;
  bool ReadNumber(Json* out);
  bool ReadEscape(std::string* out);
  bool ReadArray(Json* out);
  bool DropItems(size_t base);  // false, after removing the unfinished array's items
  bool ReadObject(Json* out);
  bool ReadLiteral(Json* out);

  std::vector<Json> items_;  // the items of the arrays being read, innermost last
  std::string scratch_;      // strings checked and not kept
};

// Parses a text holding exactly one JSON value (whitespace around it allowed).
Result<Json> ParseJson(std::string_view text, std::string_view source = "");

}  // namespace faultline
