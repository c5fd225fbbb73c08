#include "core/status.h"

namespace faultline {

std::string Status::ToString() const {
  switch (code_) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument: " + message_;
    case StatusCode::kParseError: return "parse error: " + message_;
    case StatusCode::kIoError: return "I/O error: " + message_;
    case StatusCode::kMalformedHistory: return "malformed history: " + message_;
    case StatusCode::kUnsupported: return "unsupported: " + message_;
    case StatusCode::kInternal: return "internal error: " + message_;
  }
  return message_;
}

}  // namespace faultline
