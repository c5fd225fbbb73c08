#include "core/edn.h"

#include <array>
#include <charconv>
#include <cstring>

namespace faultline {
namespace {

enum CharClass : uint8_t { kTokenByte = 0, kSpaceByte = 1, kDelimiterByte = 2 };

constexpr std::array<uint8_t, 256> MakeCharClasses() {
  std::array<uint8_t, 256> classes{};
  for (unsigned char c : std::string_view(" \t\n\r\f\v,")) classes[c] = kSpaceByte;
  for (unsigned char c : std::string_view("()[]{}\";\\")) classes[c] = kDelimiterByte;
  return classes;
}

constexpr std::array<uint8_t, 256> kCharClasses = MakeCharClasses();

// String content the hot loop passes over: ASCII other than '"' and '\\'. Non-ASCII bytes stop it,
// to be checked as UTF-8.
constexpr std::array<bool, 256> MakePlainStringBytes() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x80; ++c) table[c] = c != '"' && c != '\\';
  return table;
}

constexpr std::array<bool, 256> kPlainStringByte = MakePlainStringBytes();

constexpr std::string_view kEscapes = "a string escape (\\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX)";
constexpr std::string_view kDispatch = "#{, #_, ## or a tag such as #inst after #";

bool IsSpace(char c) { return kCharClasses[static_cast<unsigned char>(c)] == kSpaceByte; }
bool IsTokenEnd(char c) { return kCharClasses[static_cast<unsigned char>(c)] != kTokenByte; }
bool IsCloser(char c) { return c == ')' || c == ']' || c == '}'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctal(char c) { return c >= '0' && c <= '7'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool IsSymbolStart(char c) {
  return IsAlpha(c) || static_cast<unsigned char>(c) >= 0x80 ||
         std::string_view(".*+!-_?$%&=<>/").find(c) != std::string_view::npos;
}

// The value of 1 to 3 octal digits, or -1 when `digits` is not that or exceeds 0377.
int ParseOctal(std::string_view digits) {
  if (digits.empty() || digits.size() > 3) return -1;
  int value = 0;
  for (char c : digits) {
    if (!IsOctal(c)) return -1;
    value = value * 8 + (c - '0');
  }
  return value <= 0377 ? value : -1;
}

// The code point of a \uXXXX character's name ("u00e9"), or -1.
int32_t CharacterCode(std::string_view name) {
  if (name.size() != 5 || name[0] != 'u') return -1;
  const int32_t code = text::ParseHex4(name.substr(1));
  return code >= 0xD800 && code <= 0xDFFF ? -1 : code;
}

// Clojure's names for characters (\newline); empty when `name` is none of them.
std::string_view NamedCharacter(std::string_view name) {
  if (name == "newline") return "\n";
  if (name == "space") return " ";
  if (name == "tab") return "\t";
  if (name == "return") return "\r";
  if (name == "backspace") return "\b";
  if (name == "formfeed") return "\f";
  return {};
}

}  // namespace

std::string_view EdnParser::TokenHere() const {
  size_t i = pos_ + 1;
  while (i < end_ && !IsTokenEnd(text_[i])) ++i;
  return text_.substr(pos_, std::min(i, end_) - pos_);
}

bool EdnParser::SkipOtherSpace() {
  while (pos_ < end_) {
    const char c = text_[pos_];
    if (IsSpace(c)) {
      ++pos_;
    } else if (c == ';') {
      const void* newline = std::memchr(text_.data() + pos_, '\n', end_ - pos_);
      pos_ = newline ? static_cast<const char*>(newline) - text_.data() : end_;
    } else if (c == '#' && pos_ + 1 < end_ && text_[pos_ + 1] == '_') {
      if (!SkipDiscard()) return false;
    } else {
      break;
    }
  }
  return true;
}

bool EdnParser::SkipDiscard() {
  DepthGuard guard(this, pos_);
  if (!guard.ok()) return false;
  pos_ += 2;
  if (!SkipSpace()) return false;
  if (at_end() || IsCloser(Peek())) return Fail(pos_, "a value to discard after #_");
  Json ignored;
  return ReadValueHere(&ignored);
}

bool EdnParser::ReadValue(Json* out) {
  if (!SkipSpace()) return false;
  return ReadValueHere(out);
}

bool EdnParser::ReadValueHere(Json* out) {
  if (at_end()) return Fail(pos_, "a value");
  switch (Peek()) {
    case '"':
      *out = std::string();
      return ReadString(&out->get_ref<std::string&>());
    case ':': {
      std::string_view name;
      if (!ReadKeyword(&name)) return false;
      *out = std::string(name);
      return true;
    }
    case '[':
      return ReadSequence(pos_++, ']', out);
    case '(':
      return ReadSequence(pos_++, ')', out);
    case '{':
      return ReadMap(out);
    case '#':
      return ReadDispatch(out);
    case '\\':
      return ReadCharacter(out);
    case ')':
    case ']':
    case '}':
      return Fail(pos_, "a value");
    default:
      return ReadAtom(out);
  }
}

bool EdnParser::IsTokenByte(char c) { return !IsTokenEnd(c); }

bool EdnParser::ReadOtherKeyword(std::string_view* name) {
  const size_t start = pos_;
  size_t i = start + 1;
  while (i < end_ && edn_internal::kPlainTokenBytes[static_cast<unsigned char>(text_[i])]) ++i;
  if (i < end_ && !IsTokenEnd(text_[i])) {  // a non-ASCII byte
    while (i < end_ && !IsTokenEnd(text_[i])) ++i;
    if (!CheckUtf8(start + 1, i)) return false;
  }
  if (i == start + 1) return Fail(start, "a keyword name after :");
  *name = text_.substr(start + 1, i - start - 1);
  pos_ = i;
  return true;
}

bool EdnParser::ReadMapKey(std::string* key) {
  if (Peek() == ':') {
    std::string_view name;
    if (!ReadKeyword(&name)) return false;
    key->assign(name);
    return true;
  }
  const size_t start = pos_;
  Json ignored;
  if (!ReadValueHere(&ignored)) return false;
  // Comments inside the key's text are not checked elsewhere.
  if (!CheckUtf8(start, pos_)) return false;
  key->assign(text_.substr(start, pos_ - start));
  return true;
}

bool EdnParser::ReadInteger(std::string_view expected, int64_t* out) {
  const size_t start = pos_;
  size_t i = start;
  const bool negative = i < end_ && text_[i] == '-';
  if (i < end_ && (text_[i] == '-' || text_[i] == '+')) ++i;
  const size_t digits = i;
  while (i < end_ && IsDigit(text_[i])) ++i;
  const size_t count = i - digits;
  if (i < end_ && text_[i] == 'N') ++i;
  // Clojure reads a leading 0 as octal; EDN forbids it.
  const bool leading_zero = count > 1 && text_[digits] == '0';
  if (count == 0 || leading_zero || (i < end_ && !IsTokenEnd(text_[i]))) {
    return Fail(start, expected);
  }
  if (!text::ParseDecimalInt64(text_.substr(digits, count), negative, out)) {
    return FailFound(start, "an integer within int64 range",
                     text::Printable(text_.substr(start, i - start)));
  }
  pos_ = i;
  return true;
}

bool EdnParser::ReadString(std::string* out) {
  const size_t open = pos_;
  size_t i = open + 1;
  size_t piece = i;
  bool non_ascii = false;
  while (true) {
    while (i < end_ && kPlainStringByte[static_cast<unsigned char>(text_[i])]) ++i;
    if (i < end_ && static_cast<unsigned char>(text_[i]) >= 0x80) {
      non_ascii = true;
      ++i;
      continue;
    }
    if (i >= end_) {
      return Fail(i, "\" to end the string that starts at " + text::FormatLocation(text_, open));
    }
    out->append(text_.data() + piece, i - piece);
    if (text_[i] == '"') break;
    pos_ = i;
    if (!ReadEscape(out)) return false;
    i = piece = pos_;
  }
  if (non_ascii && !CheckUtf8(open + 1, i)) return false;
  pos_ = i + 1;
  return true;
}

bool EdnParser::ReadEscape(std::string* out) {
  const size_t start = pos_;
  if (start + 1 >= end_) return Fail(start + 1, kEscapes);
  const char c = text_[start + 1];
  pos_ = start + 2;
  if (c == 'u') return ReadUnicodeEscape(start, out);
  if (const char decoded = text::DecodeSimpleEscape(c); decoded != '\0' && c != '/') {
    out->push_back(decoded);
    return true;
  }
  size_t digits = 1;
  while (digits < 3 && pos_ < end_ && IsOctal(text_[pos_])) ++pos_, ++digits;
  const int value = ParseOctal(text_.substr(start + 1, digits));
  if (value < 0) {
    return FailFound(start, kEscapes, text::Printable(text_.substr(start, 2)));
  }
  text::AppendUtf8(static_cast<uint32_t>(value), out);
  return true;
}

bool EdnParser::ReadCharacter(Json* out) {
  const size_t start = pos_;
  const size_t first = start + 1;
  if (first >= end_ || IsBlank(text_[first])) return Fail(first, "a character after \\");
  const size_t length = text::Utf8SequenceLength(text_.substr(first, end_ - first));
  if (length == 0) return CheckUtf8(first, first + 1);
  size_t i = first + length;
  while (i < end_ && !IsTokenEnd(text_[i])) ++i;
  const std::string_view name = text_.substr(first, i - first);
  std::string value;
  if (name.size() == length) {
    value = name;
  } else if (!NamedCharacter(name).empty()) {
    value = NamedCharacter(name);
  } else if (const int32_t code = CharacterCode(name); code >= 0) {
    text::AppendUtf8(static_cast<uint32_t>(code), &value);
  } else if (name[0] == 'o' && ParseOctal(name.substr(1)) >= 0) {
    text::AppendUtf8(static_cast<uint32_t>(ParseOctal(name.substr(1))), &value);
  } else {
    return FailFound(start, "a character such as \\a, \\newline or \\u00e9",
                     text::Printable(text_.substr(start, i - start)));
  }
  pos_ = i;
  *out = std::move(value);
  return true;
}

bool EdnParser::ReadAtom(Json* out) {
  const std::string_view token = TokenHere();
  const char c = token[0];
  const bool sign = c == '+' || c == '-';
  if (IsDigit(c) || (sign && token.size() > 1 && IsDigit(token[1]))) return ReadNumber(token, out);
  if (token == "nil") {
    *out = nullptr;
  } else if (token == "true") {
    *out = true;
  } else if (token == "false") {
    *out = false;
  } else {
    if (!IsSymbolStart(c)) return Fail(pos_, "a value");
    if (!CheckUtf8(pos_, pos_ + token.size())) return false;
    *out = std::string(token);
  }
  pos_ += token.size();
  return true;
}

bool EdnParser::ReadNumber(std::string_view token, Json* out) {
  const std::string_view unsigned_part = token.substr(token[0] == '+' || token[0] == '-' ? 1 : 0);
  const size_t digits = unsigned_part.find_first_not_of("0123456789");
  const bool integer = digits == std::string_view::npos ||
                       (digits + 1 == unsigned_part.size() && unsigned_part.back() == 'N');
  if (integer) {
    int64_t value = 0;
    if (!ReadInteger("a number", &value)) return false;
    *out = value;
    return true;
  }
  std::string_view body = unsigned_part;
  if (body.back() == 'M') body.remove_suffix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (end != body.data() + body.size() || body.empty()) {
    return FailFound(pos_, "a number", text::Printable(token));
  }
  if (error != std::errc()) {
    return FailFound(pos_, "a number within double range", text::Printable(token));
  }
  *out = token[0] == '-' ? -value : value;
  pos_ += token.size();
  return true;
}

bool EdnParser::ReadSequence(size_t opener, char closer, Json* out) {
  DepthGuard guard(this, opener);
  if (!guard.ok()) return false;
  *out = Json::array();
  auto& items = out->get_ref<Json::array_t&>();
  while (true) {
    if (!SkipSpace()) return false;
    if (at_end()) return FailUnclosed(opener, closer);
    const char c = Peek();
    if (c == closer) {
      ++pos_;
      return true;
    }
    if (IsCloser(c)) return Fail(pos_, std::string("a value or ") + closer);
    items.emplace_back();
    if (!ReadValueHere(&items.back())) return false;
  }
}

bool EdnParser::ReadMap(Json* out) {
  const size_t opener = pos_++;
  DepthGuard guard(this, opener);
  if (!guard.ok()) return false;
  *out = Json::object();
  auto& object = out->get_ref<Json::object_t&>();
  std::string key;
  while (true) {
    if (!SkipSpace()) return false;
    if (at_end()) return FailUnclosed(opener, '}');
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    if (IsCloser(Peek())) return Fail(pos_, "a map key or }");
    if (!ReadMapKey(&key)) return false;
    if (!SkipSpace()) return false;
    if (at_end()) return FailUnclosed(opener, '}');
    if (IsCloser(Peek())) return Fail(pos_, "a map value");
    if (!ReadValueHere(&object[key])) return false;
  }
}

bool EdnParser::ReadDispatch(Json* out) {
  const size_t start = pos_;
  if (start + 1 >= end_) return Fail(start, kDispatch);
  const char next = text_[start + 1];
  if (next == '{') {
    pos_ += 2;
    return ReadSequence(start, '}', out);
  }
  if (next == '_') {
    if (!SkipDiscard() || !SkipSpace()) return false;
    if (at_end() || IsCloser(Peek())) return Fail(pos_, "a value");
    return ReadValueHere(out);
  }
  if (next == '#') {
    const std::string_view token = TokenHere();
    if (token != "##Inf" && token != "##-Inf" && token != "##NaN") {
      return FailFound(start, "##Inf, ##-Inf or ##NaN", text::Printable(token));
    }
    *out = std::string(token);
    pos_ += token.size();
    return true;
  }
  if (IsAlpha(next)) return ReadTagged(out);
  return Fail(start, kDispatch);
}

bool EdnParser::ReadTagged(Json* out) {
  DepthGuard guard(this, pos_);
  if (!guard.ok()) return false;
  ++pos_;
  const std::string_view tag = TokenHere();
  pos_ += tag.size();
  if (!SkipSpace()) return false;
  if (at_end() || IsCloser(Peek())) {
    return Fail(pos_, "a value after the tag #" + text::Printable(tag));
  }
  return ReadValueHere(out);
}

bool EdnParser::FailUnclosed(size_t opener, char closer) {
  const std::string_view open = text_[opener] == '#' ? "#{" : text_.substr(opener, 1);
  std::string expected(1, closer);
  expected += " to close the ";
  expected += open;
  expected += " at " + text::FormatLocation(text_, opener);
  return Fail(pos_, expected);
}

Result<Json> ParseEdn(std::string_view text, std::string_view source) {
  EdnParser parser(text, source, 0, text.size());
  Json value;
  if (parser.ReadValue(&value) && parser.SkipSpace() && !parser.at_end()) {
    parser.Fail(parser.pos(), "end of file");
  }
  if (!parser.ok()) return parser.status();
  return value;
}

}  // namespace faultline
