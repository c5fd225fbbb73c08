// Exceptions stopped where they would cross a thread boundary, and turned into values.
//
// Code that runs another module's code on a thread of its own (one thread per node, the
// interpreter's workers, a progress printer) calls it through these: an exception there (a node's
// reply read with the wrong JSON type, bad_alloc, ...) would otherwise reach std::terminate and
// end the process with members running and nothing healed. The caller reports the error instead.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "core/status.h"

namespace faultline {

// What the exception being handled says: its what(), or a fixed text for one that is not a
// std::exception. Only inside a catch block.
inline std::string CurrentExceptionMessage() {
  try {
    throw;
  } catch (const std::exception& error) {
    return error.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// action(), a Status; or Internal "<what> threw: <message>" when it throws.
template <class Action>
Status CatchAll(std::string_view what, Action&& action) {
  try {
    return action();
  } catch (...) {
    return Status::Internal(std::string(what) + " threw: " + CurrentExceptionMessage());
  }
}

}  // namespace faultline
