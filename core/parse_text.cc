#include "core/parse_text.h"

#include <algorithm>
#include <cstring>

namespace faultline::text {
namespace {

bool IsTokenEnd(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '\f':
    case '\v':
    case ',':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '"':
    case ';':
      return true;
    default:
      return false;
  }
}

// Length of the UTF-8 sequence starting at text[0] if it is valid, else 0.
}  // namespace

size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t minimum = 0;
  uint32_t code_point = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, minimum = 0x80, code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, minimum = 0x800, code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, minimum = 0x10000, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  if (code_point < minimum || code_point > 0x10FFFF || surrogate) return 0;
  return length;
}

namespace {

// The literal "..." starting at text[offset] (which is '"'), through its closing quote or `end`.
std::string_view StringLiteralAt(std::string_view text, size_t offset, size_t end) {
  size_t i = offset + 1;
  while (i < end && text[i] != '"') i += (text[i] == '\\') ? 2 : 1;
  return text.substr(offset, std::min(i + 1, end) - offset);
}

std::string_view TokenAt(std::string_view text, size_t offset, size_t end) {
  if (IsTokenEnd(text[offset])) return text.substr(offset, 1);
  size_t i = offset + 1;
  while (i < end && !IsTokenEnd(text[i])) ++i;
  return text.substr(offset, i - offset);
}

}  // namespace

Location LocateOffset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  Location location;
  size_t line_start = 0;
  const char* data = text.data();
  while (const void* found = std::memchr(data + line_start, '\n', offset - line_start)) {
    line_start = static_cast<const char*>(found) - data + 1;
    ++location.line;
  }
  location.column = static_cast<int64_t>(offset - line_start) + 1;
  return location;
}

std::string FormatLocation(std::string_view text, size_t offset) {
  const Location location = LocateOffset(text, offset);
  return std::to_string(location.line) + ":" + std::to_string(location.column);
}

int64_t LineCounter::LineAt(size_t offset) {
  const char* data = text_.data();
  while (position_ < offset) {
    const void* found = std::memchr(data + position_, '\n', offset - position_);
    if (found == nullptr) {
      position_ = offset;
      break;
    }
    position_ = static_cast<const char*>(found) - data + 1;
    ++line_;
  }
  return line_;
}

size_t SkipWhitespace(std::string_view text, size_t i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
                             text[i] == '\r' || text[i] == '\f')) {
    ++i;
  }
  return i;
}

size_t ContentBegin(std::string_view text) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  return text.starts_with(kByteOrderMark) ? kByteOrderMark.size() : 0;
}

size_t FindInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t length = Utf8SequenceLength(text.substr(i));
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

bool ParseDecimalInt64(std::string_view digits, bool negative, int64_t* out) {
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t value = 0;
  for (char c : digits) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (limit - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  return true;
}

char DecodeSimpleEscape(char letter) {
  switch (letter) {
    case '"':
    case '\\':
    case '/':
      return letter;
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return '\0';
  }
}

char EncodeSimpleEscape(char c) {
  switch (c) {
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    default:
      return '\0';
  }
}

int32_t ParseHex4(std::string_view digits) {
  if (digits.size() < 4) return -1;
  int32_t value = 0;
  for (size_t i = 0; i < 4; ++i) {
    const char c = digits[i];
    int32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

std::string JoinedWords(const std::vector<std::string>& words, std::string_view last) {
  std::string text;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) text += i + 1 == words.size() ? last : std::string_view(", ");
    text += words[i];
  }
  return text;
}

std::string Printable(std::string_view token, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t i = 0;
  while (i < token.size() && out.size() < max_bytes) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    const size_t length = Utf8SequenceLength(token.substr(i));
    if (c >= 0x20 && c != 0x7F && length > 0) {
      out.append(token.substr(i, length));
      i += length;
      continue;
    }
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
    ++i;
  }
  if (i < token.size()) out += "...";
  return out;
}

OpKey ClassifyOpKey(std::string_view name) {
  switch (name.size()) {
    case 1:
      if (name[0] == 'f') return OpKey::kF;
      break;
    case 4:
      if (name == "type") return OpKey::kType;
      if (name == "time") return OpKey::kTime;
      break;
    case 5:
      if (name == "value") return OpKey::kValue;
      if (name == "index") return OpKey::kIndex;
      if (name == "error") return OpKey::kError;
      break;
    case 7:
      if (name == "process") return OpKey::kProcess;
      break;
    default:
      break;
  }
  return OpKey::kOther;
}

TextParser::TextParser(std::string_view text, std::string_view source, size_t begin, size_t end)
    : text_(text), source_(source), pos_(begin), end_(std::min(end, text.size())) {}

bool TextParser::Fail(size_t offset, std::string_view expected) {
  return FailFound(offset, expected, DescribeAt(offset));
}

bool TextParser::FailFound(size_t offset, std::string_view expected, std::string_view found) {
  if (!status_.ok()) return false;
  std::string message(source_.empty() ? std::string_view("<input>") : source_);
  message += ":" + FormatLocation(text_, offset) + ": expected ";
  message.append(expected);
  message += ", found ";
  message.append(found);
  status_ = Status::ParseError(std::move(message));
  return false;
}

std::string TextParser::DescribeAt(size_t offset) const {
  if (offset >= end_) return end_ >= text_.size() ? "end of file" : "end of line";
  switch (text_[offset]) {
    case '\n':
      return "end of line";
    case '\r':
      return "carriage return";
    case ' ':
      return "space";
    case '\t':
      return "tab";
    case '"':
      return Printable(StringLiteralAt(text_, offset, end_));
    default:
      return Printable(TokenAt(text_, offset, end_));
  }
}

bool TextParser::CheckUtf8(size_t begin, size_t end) {
  const size_t bad = FindInvalidUtf8(text_.substr(begin, end - begin));
  if (bad == std::string_view::npos) return true;
  return FailFound(begin + bad, "UTF-8 text", "byte " + Printable(text_.substr(begin + bad, 1)));
}

bool TextParser::ReadUnicodeEscape(size_t start, std::string* out) {
  const int32_t unit = ParseHex4(text_.substr(pos_, std::min<size_t>(4, end_ - pos_)));
  if (unit < 0) {
    return FailFound(start, "four hex digits after \\u",
                     Printable(text_.substr(start, std::min<size_t>(6, end_ - start))));
  }
  pos_ += 4;
  if (unit >= 0xDC00 && unit <= 0xDFFF) {
    return FailFound(start, "a code point, not a lone low surrogate",
                     Printable(text_.substr(start, 6)));
  }
  if (unit < 0xD800 || unit > 0xDBFF) {
    AppendUtf8(static_cast<uint32_t>(unit), out);
    return true;
  }
  const std::string_view rest = text_.substr(pos_, std::min<size_t>(6, end_ - pos_));
  const int32_t low =
      rest.size() == 6 && rest[0] == '\\' && rest[1] == 'u' ? ParseHex4(rest.substr(2)) : -1;
  if (low < 0xDC00 || low > 0xDFFF) {
    return FailFound(pos_, "a low surrogate \\uDC00-\\uDFFF after a high surrogate",
                     rest.empty() ? DescribeAt(pos_) : Printable(rest));
  }
  pos_ += 6;
  AppendUtf8(0x10000 + ((static_cast<uint32_t>(unit) - 0xD800) << 10) +
                 (static_cast<uint32_t>(low) - 0xDC00),
             out);
  return true;
}

TextParser::DepthGuard::DepthGuard(TextParser* parser, size_t offset) : parser_(parser) {
  ok_ = ++parser_->depth_ <= kMaxDepth;
  if (!ok_) {
    parser_->Fail(offset, "at most " + std::to_string(kMaxDepth) + " levels of nesting");
  }
}

}  // namespace faultline::text
