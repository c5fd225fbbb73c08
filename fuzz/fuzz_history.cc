// libFuzzer target for one history format (FAULTLINE_FUZZ_FORMAT: jsonl, edn, jepsen_log,
// elle_json, or auto for format detection through the public ReadHistoryText).
//
// Beyond "no crash, no sanitizer report", each input checks the readers' promises:
//  - a failed read is a kParseError with one line "fuzz:LINE:COLUMN: expected WHAT, found WHAT";
//  - a parse cut into chunks (as for large files on several threads) has exactly the serial
//    outcome, the same ops or the same error;
//  - a history that reads back from its own JSONL has the same ops.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "core/history_io.h"
#include "core/history_readers.h"

namespace faultline {
namespace {

#define FAULTLINE_STRINGIFY_INNER(x) #x
#define FAULTLINE_STRINGIFY(x) FAULTLINE_STRINGIFY_INNER(x)
constexpr std::string_view kFormatName = FAULTLINE_STRINGIFY(FAULTLINE_FUZZ_FORMAT);

void Check(bool condition, const char* what, const std::string& detail) {
  if (condition) return;
  std::fprintf(stderr, "fuzz check failed: %s\n%s\n", what, detail.c_str());
  std::abort();
}

HistoryFormat FormatUnderTest() {
  if (kFormatName == "jsonl") return HistoryFormat::kJsonl;
  if (kFormatName == "edn") return HistoryFormat::kEdn;
  if (kFormatName == "jepsen_log") return HistoryFormat::kJepsenLog;
  if (kFormatName == "elle_json") return HistoryFormat::kElleJson;
  return HistoryFormat::kAuto;
}

bool IsDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// "fuzz:LINE:COLUMN: expected WHAT, found WHAT" on one line.
void CheckMessage(const Status& status) {
  const std::string& message = status.message();
  Check(status.code() == StatusCode::kParseError, "error is a parse error", status.ToString());
  Check(message.find('\n') == std::string::npos, "message is one line", message);
  const std::string_view rest = std::string_view(message).substr(0, message.find(": expected "));
  Check(rest.size() < message.size(), "message says expected", message);
  Check(message.find(", found ", rest.size()) != std::string::npos, "message says found", message);
  Check(rest.starts_with("fuzz:"), "message names the source", message);
  const std::string_view position = rest.substr(5);
  const size_t colon = position.find(':');
  Check(colon != std::string_view::npos && IsDigits(position.substr(0, colon)) &&
            IsDigits(position.substr(colon + 1)),
        "message has LINE:COLUMN", message);
}

bool SameOp(const Op& a, const Op& b, bool compare_lines) {
  return a.index == b.index && a.time_ns == b.time_ns && a.type == b.type &&
         a.process == b.process && a.f == b.f && a.value == b.value && a.error == b.error &&
         a.extra == b.extra && (!compare_lines || a.line == b.line);
}

void CheckSame(const Result<History>& a, const Result<History>& b, bool compare_lines,
               const char* what) {
  Check(a.ok() == b.ok(), what, a.ok() ? b.status().message() : a.status().message());
  if (!a.ok()) {
    Check(a.status().message() == b.status().message(), what,
          a.status().message() + "\nvs\n" + b.status().message());
    return;
  }
  Check(a->ops.size() == b->ops.size(), what, "op counts differ");
  for (size_t i = 0; i < a->ops.size(); ++i) {
    Check(SameOp(a->ops[i], b->ops[i], compare_lines), what,
          a->ops[i].ToJson().dump() + "\nvs\n" + b->ops[i].ToJson().dump());
  }
}

Result<History> Read(std::string_view text, HistoryFormat format, int chunks) {
  if (format == HistoryFormat::kAuto && chunks == 1) {
    return ReadHistoryText(text, "fuzz", ReadOptions{HistoryFormat::kAuto, 1});
  }
  if (format == HistoryFormat::kAuto) format = DetectFormat(text);
  return internal::ReadHistoryChunked(text, "fuzz", format, chunks, 0);
}

// JSON histories read with ValueForm::kText: the same error as with trees, or the same ops once
// their value texts are parsed (core/history_io.h's promise).
void CheckValueTexts(std::string_view text, HistoryFormat format, const Result<History>& trees) {
  const HistoryFormat detected = format == HistoryFormat::kAuto ? DetectFormat(text) : format;
  if (detected != HistoryFormat::kJsonl && detected != HistoryFormat::kElleJson) return;
  ReadOptions options;
  options.format = detected;
  options.value_form = ValueForm::kText;
  Result<History> texts = ReadHistoryText(text, "fuzz", options);
  if (!texts.ok() || !trees.ok()) {
    Check(texts.ok() == trees.ok() &&
              texts.status().message() == trees.status().message(),
          "value texts", "errors differ: " + texts.status().message() + "\nvs\n" +
                             trees.status().message());
    return;
  }
  Check(texts->ops.size() == trees->ops.size(), "value texts", "op counts differ");
  for (size_t i = 0; i < texts->ops.size(); ++i) {
    Op op = texts->ops[i];
    Check(ParseValueTexts(&op).ok(), "value texts", "a kept text does not parse");
    Check(SameOp(op, trees->ops[i], true), "value texts",
          op.ToJson().dump() + "\nvs\n" + trees->ops[i].ToJson().dump());
  }
}

}  // namespace
}  // namespace faultline

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace faultline;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const HistoryFormat format = FormatUnderTest();
  const Result<History> serial = Read(text, format, 1);
  if (!serial.ok()) CheckMessage(serial.status());
  CheckSame(serial, Read(text, format, 3), true, "chunked parse equals serial parse");
  if (serial.ok()) {
    std::ostringstream jsonl;
    WriteJsonl(*serial, jsonl);
    CheckSame(serial, Read(jsonl.str(), HistoryFormat::kJsonl, 1), false, "JSONL round trip");
  }
  CheckValueTexts(text, format, serial);
  return 0;
}
