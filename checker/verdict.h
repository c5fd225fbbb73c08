// Three-way verdicts (DESIGN.md principle 3): valid, invalid, or unknown when a checker could not
// decide (budget exhausted, cut short). Merging keeps the worst: invalid > unknown > valid.
#pragma once

#include <optional>
#include <string_view>

namespace faultline {

enum class Verdict { kValid, kInvalid, kUnknown };

inline Verdict Merge(Verdict a, Verdict b) {
  if (a == Verdict::kInvalid || b == Verdict::kInvalid) return Verdict::kInvalid;
  if (a == Verdict::kUnknown || b == Verdict::kUnknown) return Verdict::kUnknown;
  return Verdict::kValid;
}

inline std::string_view ToString(Verdict verdict) {
  switch (verdict) {
    case Verdict::kValid: return "valid";
    case Verdict::kInvalid: return "invalid";
    case Verdict::kUnknown: return "unknown";
  }
  return "?";
}

// Process exit codes shared by every command (Jepsen's CLI): 0 valid, 1 invalid, 2 unknown.
inline int ExitCode(Verdict verdict) {
  switch (verdict) {
    case Verdict::kValid: return 0;
    case Verdict::kInvalid: return 1;
    case Verdict::kUnknown: return 2;
  }
  return 255;
}
inline constexpr int kExitBadInput = 254;
inline constexpr int kExitInternalError = 255;

}  // namespace faultline
