#include "core/op.h"

namespace faultline {

std::string_view ToString(OpType type) {
  switch (type) {
    case OpType::kInvoke: return "invoke";
    case OpType::kOk: return "ok";
    case OpType::kFail: return "fail";
    case OpType::kInfo: return "info";
  }
  return "?";
}

std::optional<OpType> ParseOpType(std::string_view text) {
  if (!text.empty() && text.front() == ':') text.remove_prefix(1);
  if (text == "invoke") return OpType::kInvoke;
  if (text == "ok") return OpType::kOk;
  if (text == "fail") return OpType::kFail;
  if (text == "info") return OpType::kInfo;
  return std::nullopt;
}

std::string ProcessName(int64_t process) {
  return process == kNemesisProcess ? "nemesis" : std::to_string(process);
}

Json Op::ToJson() const {
  Json out = Json::object();
  out["index"] = index;
  if (time_ns >= 0) out["time"] = time_ns;
  out["type"] = ToString(type);
  if (process == kNemesisProcess) {
    out["process"] = "nemesis";
  } else {
    out["process"] = process;
  }
  out["f"] = f;
  out["value"] = value;
  if (!error.is_null()) out["error"] = error;
  if (extra.is_object()) {
    for (const auto& [key, item] : extra.items()) {
      if (!out.contains(key)) out[key] = item;
    }
  }
  return out;
}

}  // namespace faultline
