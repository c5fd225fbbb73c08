// Op and History: the data model every part of faultline shares (DESIGN.md "History file").
//
// An Op is one event of a history: the invocation of an operation by a process, or its completion
// (ok: it happened; fail: it did not; info: it may have happened at any time after its invoke, even
// after the history ends). Ops are plain values; a History is a vector of them in the order they
// were recorded, plus the file's header. Neither is synchronised: share a History between threads
// only as const.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline {

using Json = nlohmann::json;

enum class OpType : uint8_t { kInvoke, kOk, kFail, kInfo };

std::string_view ToString(OpType type);
std::optional<OpType> ParseOpType(std::string_view text);

// The nemesis is a process too; it is written "nemesis" in files and stored as this value.
inline constexpr int64_t kNemesisProcess = -1;

struct Op {
  int64_t index = -1;    // position in the history as recorded (Jepsen's :index)
  int64_t time_ns = -1;  // nanoseconds since the test started; -1 when the file has none
  OpType type = OpType::kInvoke;
  int64_t process = 0;  // >= 0 for clients, kNemesisProcess for the nemesis
  std::string f;        // the operation's name without a leading ':' ("read", "cas", "txn")
  Json value;           // null when absent
  Json error;           // null when absent; any value (Jepsen errors may be keywords or vectors)
  Json extra;           // null, or an object holding every other key of the op (e.g. "key")
  int64_t line = 0;     // 1-based line of the source file where the op starts; 0 if unknown

  bool is_invoke() const { return type == OpType::kInvoke; }
  bool is_completion() const { return type != OpType::kInvoke; }
  bool is_nemesis() const { return process == kNemesisProcess; }

  // The op as one JSONL object (index, time, type, process, f, value, error, extra keys).
  Json ToJson() const;
};

std::string ProcessName(int64_t process);

// The file-level metadata of a history: the JSONL header object (test, seed, concurrency, nodes,
// ...). An empty object for formats that carry none.
struct History {
  Json header = Json::object();
  std::vector<Op> ops;
  std::string source;  // the file name, for error messages ("" for in-memory histories)
};

}  // namespace faultline
