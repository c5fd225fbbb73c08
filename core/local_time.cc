#include "core/local_time.h"

#include <ctime>

namespace faultline {

std::string LocalTimeNow(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm parts{};
  localtime_r(&now, &parts);
  char text[64];
  const size_t length = std::strftime(text, sizeof text, format, &parts);
  return std::string(text, length);
}

}  // namespace faultline
