// WriteJsonl and WriteJsonlFile (history_io.h): faultline's own format, one op per line.
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "core/history_io.h"
#include "core/parse_text.h"

namespace faultline {
namespace {

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string JsonlHeaderLine(const Json& header) {
  std::string line = "{\"faultline_history\":";
  const bool has_version = header.is_object() && header.contains("faultline_history");
  line += has_version ? Dump(header["faultline_history"]) : "1";
  if (header.is_object()) {
    for (const auto& [key, value] : header.items()) {
      if (key == "faultline_history") continue;
      line += "," + Dump(Json(key)) + ":" + Dump(value);
    }
  }
  return line + "}";
}

namespace {

void AppendArray(const Json& array, std::string* out);
void AppendObject(const Json& object, std::string* out);

// Appends `text` as a JSON string exactly as nlohmann's dump() writes it (ensure_ascii off).
void AppendQuoted(std::string_view text, std::string* out) {
  if (text::FindInvalidUtf8(text) != std::string_view::npos) {
    out->append(Dump(Json(std::string(text))));  // dump() replaces the bad bytes
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : text) {
    const char escape = c == '"' || c == '\\' ? c : text::EncodeSimpleEscape(c);
    if (escape != '\0') {
      out->push_back('\\');
      out->push_back(escape);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Appends value.dump(): written here for the common types, since each dump() call sets up a
// serializer of its own; floats (whose shortest form is nlohmann's own) still go through dump().
void AppendJson(const Json& value, std::string* out) {
  char digits[24];
  switch (value.type()) {
    case Json::value_t::null:
      out->append("null");
      return;
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      const auto [end, error] =
          value.is_number_unsigned()
              ? std::to_chars(digits, digits + sizeof(digits), value.get<uint64_t>())
              : std::to_chars(digits, digits + sizeof(digits), value.get<int64_t>());
      out->append(digits, end);
      return;
    }
    case Json::value_t::string:
      AppendQuoted(value.get_ref<const std::string&>(), out);
      return;
    case Json::value_t::array:
      AppendArray(value, out);
      return;
    case Json::value_t::object:
      AppendObject(value, out);
      return;
    default:
      out->append(Dump(value));
  }
}

void AppendArray(const Json& array, std::string* out) {
  out->push_back('[');
  for (const Json& item : array) {
    if (out->back() != '[') out->push_back(',');
    AppendJson(item, out);
  }
  out->push_back(']');
}

void AppendObject(const Json& object, std::string* out) {
  out->push_back('{');
  for (const auto& [key, item] : object.items()) {
    if (out->back() != '{') out->push_back(',');
    AppendQuoted(key, out);
    out->push_back(':');
    AppendJson(item, out);
  }
  out->push_back('}');
}

// Appends "name":value for one of the op's own fields.
void AppendField(const Op& op, std::string_view name, std::string* line) {
  if (line->back() != '{') line->push_back(',');
  line->push_back('"');
  line->append(name);
  line->append("\":");
  if (name == "error") {
    AppendJson(op.error, line);
  } else if (name == "f") {
    AppendQuoted(op.f, line);
  } else if (name == "index") {
    line->append(std::to_string(op.index));
  } else if (name == "process") {
    line->append(op.is_nemesis() ? "\"nemesis\"" : std::to_string(op.process));
  } else if (name == "time") {
    line->append(std::to_string(op.time_ns));
  } else if (name == "type") {
    line->append("\"" + std::string(ToString(op.type)) + "\"");
  } else {
    AppendJson(op.value, line);
  }
}

}  // namespace

// Appends what Op::ToJson().dump() gives, without building the object (a map of fresh strings
// per op, which made writing several times slower than reading): the same members in the same
// sorted order, extra keys merged in except those the op's own fields already use.
void AppendJsonlLine(const Op& op, std::string* line) {
  std::array<std::string_view, 7> fields;  // the members ToJson writes, in key order
  size_t count = 0;
  if (!op.error.is_null()) fields[count++] = "error";
  fields[count++] = "f";
  fields[count++] = "index";
  fields[count++] = "process";
  if (op.time_ns >= 0) fields[count++] = "time";
  fields[count++] = "type";
  fields[count++] = "value";
  line->push_back('{');
  size_t next = 0;
  const auto append_field = [&] { AppendField(op, fields[next++], line); };
  if (op.extra.is_object()) {
    for (const auto& [key, item] : op.extra.items()) {
      while (next < count && fields[next] < key) append_field();
      if (next < count && fields[next] == key) continue;
      if (line->back() != '{') line->push_back(',');
      AppendQuoted(key, line);
      line->push_back(':');
      AppendJson(item, line);
    }
  }
  while (next < count) append_field();
  line->push_back('}');
}

void WriteJsonl(const History& history, std::ostream& out) {
  constexpr size_t kFlushBytes = size_t{1} << 20;
  std::string buffer = JsonlHeaderLine(history.header) + "\n";
  for (const Op& op : history.ops) {
    AppendJsonlLine(op, &buffer);
    buffer.push_back('\n');
    if (buffer.size() >= kFlushBytes) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
}

Status WriteJsonlFile(const History& history, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError(path + ": cannot open for writing: " + std::strerror(errno));
  WriteJsonl(history, out);
  out.flush();
  if (!out) return Status::IoError(path + ": cannot write: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace faultline
