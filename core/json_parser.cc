#include "core/json_parser.h"

#include <charconv>

namespace faultline {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsNumberByte(char c) {
  return IsDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Checks RFC 8259's number grammar; `integer` says whether it has no fraction and no exponent.
bool IsJsonNumber(std::string_view token, bool* integer) {
  size_t i = 0;
  const size_t n = token.size();
  const auto digits = [&]() {
    const size_t first = i;
    while (i < n && IsDigit(token[i])) ++i;
    return i > first;
  };
  if (i < n && token[i] == '-') ++i;
  if (i < n && token[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  *integer = i == n;
  if (i < n && token[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < n && (token[i] == '+' || token[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

}  // namespace

void JsonParser::SkipSpace() {
  while (pos_ < end_ && IsJsonSpace(text_[pos_])) ++pos_;
}

bool JsonParser::ReadValue(Json* out) {
  SkipSpace();
  return ReadValueHere(out);
}

bool JsonParser::ReadValueHere(Json* out) {
  if (at_end()) return Fail(pos_, "a JSON value");
  switch (Peek()) {
    case '"': {
      if (out != nullptr) {
        *out = std::string();
        return ReadString(&out->get_ref<std::string&>());
      }
      std::string_view checked;
      return ReadStringView(&checked, &scratch_);
    }
    case '[':
      return ReadArray(out);
    case '{':
      return ReadObject(out);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return ReadNumber(out);
    default:
      return ReadLiteral(out);
  }
}

bool JsonParser::ReadLiteral(Json* out) {
  const std::string_view rest = text_.substr(pos_, end_ - pos_);
  Json literal;
  if (rest.starts_with("null")) {
    pos_ += 4;
  } else if (rest.starts_with("true")) {
    literal = true;
    pos_ += 4;
  } else if (rest.starts_with("false")) {
    literal = false;
    pos_ += 5;
  } else {
    return Fail(pos_, "a JSON value");
  }
  if (out != nullptr) *out = literal;
  return true;
}

std::string_view JsonParser::NumberTokenHere() const {
  size_t i = pos_;
  while (i < end_ && IsNumberByte(text_[i])) ++i;
  return text_.substr(pos_, i - pos_);
}

bool JsonParser::ReadNumber(Json* out) {
  const std::string_view token = NumberTokenHere();
  bool integer = false;
  if (!IsJsonNumber(token, &integer)) return FailFound(pos_, "a number", text::Printable(token));
  if (integer) {
    int64_t value = 0;
    if (!ReadInteger("a number", &value)) return false;
    if (out != nullptr) *out = value;
    return true;
  }
  double value = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (error != std::errc() || end != token.data() + token.size()) {
    return FailFound(pos_, "a number within double range", text::Printable(token));
  }
  if (out != nullptr) *out = value;
  pos_ += token.size();
  return true;
}

bool JsonParser::ReadInteger(std::string_view expected, int64_t* out) {
  const std::string_view token = NumberTokenHere();
  bool integer = false;
  if (token.empty() || !IsJsonNumber(token, &integer) || !integer) return Fail(pos_, expected);
  const bool negative = token[0] == '-';
  if (!text::ParseDecimalInt64(token.substr(negative ? 1 : 0), negative, out)) {
    return FailFound(pos_, "an integer within int64 range", text::Printable(token));
  }
  pos_ += token.size();
  return true;
}

bool JsonParser::ReadString(std::string* out) {
  std::string_view view;
  if (!ReadStringView(&view, out)) return false;
  if (view.data() != out->data()) out->assign(view);
  return true;
}

bool JsonParser::ReadStringView(std::string_view* out, std::string* scratch) {
  const size_t open = pos_;
  size_t i = open + 1;
  size_t piece = i;
  bool escaped = false;
  unsigned char high_bits = 0;
  while (true) {
    while (i < end_ && text_[i] != '"' && text_[i] != '\\' &&
           static_cast<unsigned char>(text_[i]) >= 0x20) {
      high_bits |= static_cast<unsigned char>(text_[i++]);
    }
    if (i >= end_ || text_[i] == '\n') {
      return Fail(i, "\" to end the string that starts at " + text::FormatLocation(text_, open));
    }
    if (static_cast<unsigned char>(text_[i]) < 0x20) {
      return FailFound(i, "an escape (\\u0001) for the control character",
                       "byte " + text::Printable(text_.substr(i, 1)));
    }
    if (text_[i] == '"') break;
    if (!escaped) scratch->clear();
    escaped = true;
    scratch->append(text_.data() + piece, i - piece);
    pos_ = i;
    if (!ReadEscape(scratch)) return false;
    i = piece = pos_;
  }
  if ((high_bits & 0x80) && !CheckUtf8(open + 1, i)) return false;
  if (escaped) {
    scratch->append(text_.data() + piece, i - piece);
    *out = *scratch;
  } else {
    *out = text_.substr(open + 1, i - open - 1);
  }
  pos_ = i + 1;
  return true;
}

bool JsonParser::ReadEscape(std::string* out) {
  static constexpr std::string_view kEscapes =
      "a JSON escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)";
  const size_t start = pos_;
  if (start + 1 >= end_) return Fail(start + 1, kEscapes);
  pos_ = start + 2;
  const char c = text_[start + 1];
  if (c == 'u') return ReadUnicodeEscape(start, out);
  const char decoded = text::DecodeSimpleEscape(c);
  if (decoded == '\0') return FailFound(start, kEscapes, text::Printable(text_.substr(start, 2)));
  out->push_back(decoded);
  return true;
}

bool JsonParser::ReadArray(Json* out) {
  const size_t opener = pos_++;
  DepthGuard guard(this, opener);
  if (!guard.ok()) return false;
  // The items gather on the parser's stack (nested arrays above their parent's), and the array
  // is built once at its exact size: growing it item by item cost a malloc per doubling, and a
  // history is mostly small arrays (micro-ops, reads).
  const size_t base = items_.size();
  SkipSpace();
  if (PeekIs(']')) {
    ++pos_;
    if (out != nullptr) *out = Json::array();
    return true;
  }
  while (true) {
    Json item;
    if (!ReadValue(out != nullptr ? &item : nullptr)) return DropItems(base);
    if (out != nullptr) items_.push_back(std::move(item));
    SkipSpace();
    if (PeekIs(']')) {
      ++pos_;
      if (out == nullptr) return true;
      *out = Json::array();
      auto& array = out->get_ref<Json::array_t&>();
      array.reserve(items_.size() - base);
      for (size_t i = base; i < items_.size(); ++i) array.push_back(std::move(items_[i]));
      items_.resize(base);
      return true;
    }
    if (!PeekIs(',')) {
      Fail(pos_, ", or ]");
      return DropItems(base);
    }
    ++pos_;
  }
}

bool JsonParser::DropItems(size_t base) {
  items_.resize(base);
  return false;
}

bool JsonParser::ReadObject(Json* out) {
  const size_t opener = pos_++;
  DepthGuard guard(this, opener);
  if (!guard.ok()) return false;
  if (out != nullptr) *out = Json::object();
  SkipSpace();
  if (PeekIs('}')) {
    ++pos_;
    return true;
  }
  std::string key;
  while (true) {
    SkipSpace();
    if (!PeekIs('"')) return Fail(pos_, "a string key");
    if (!ReadString(&key)) return false;
    SkipSpace();
    if (!PeekIs(':')) return Fail(pos_, ":");
    ++pos_;
    if (!ReadValue(out != nullptr ? &out->get_ref<Json::object_t&>()[key] : nullptr)) return false;
    SkipSpace();
    if (PeekIs('}')) {
      ++pos_;
      return true;
    }
    if (!PeekIs(',')) return Fail(pos_, ", or }");
    ++pos_;
  }
}

Result<Json> ParseJson(std::string_view text, std::string_view source) {
  JsonParser parser(text, source, 0, text.size());
  Json value;
  if (parser.ReadValue(&value)) {
    parser.SkipSpace();
    if (!parser.at_end()) parser.Fail(parser.pos(), "end of file");
  }
  if (!parser.ok()) return parser.status();
  return value;
}

}  // namespace faultline
