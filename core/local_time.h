// The local time now as text, for names and stamps people read beside their own clock (run
// folders, JUnit timestamps). Thread-safe (localtime_r).
#pragma once

#include <string>

namespace faultline {

// Now, local time, formatted by strftime's `format` ("%Y%m%dT%H%M%S"); at most 63 characters.
std::string LocalTimeNow(const char* format);

}  // namespace faultline
