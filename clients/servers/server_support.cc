#include "clients/servers/server_support.h"

#include <random>

namespace faultline::clients {

std::string RandomPassword() {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device device;
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string password;
  for (int i = 0; i < 24; ++i) password += kAlphabet[pick(device)];
  return password;
}

std::string NodeDirectory(const std::string& pattern, const std::string& node) {
  std::string directory = pattern;
  for (size_t at = directory.find("{node}"); at != std::string::npos;
       at = directory.find("{node}", at + node.size())) {
    directory.replace(at, 6, node);
  }
  return directory;
}

Status ValidateRemovableDirectory(const std::string& directory, const std::string& what) {
  if (directory.empty() || directory[0] != '/' ||
      directory.find_first_not_of("/.") == std::string::npos ||
      directory.find("..") != std::string::npos) {
    return Status::InvalidArgument(what + " '" + directory +
                                   "' is not an absolute directory Teardown may remove");
  }
  return Status::Ok();
}

Status ValidateServerOptions(const std::string& db, int port, double start_timeout_s,
                             const std::string& directory, const std::string& user,
                             const std::string& password) {
  if (port <= 0 || port > 65535) return Status::InvalidArgument(db + " port must be in 1..65535");
  if (!(start_timeout_s >= 1)) {
    return Status::InvalidArgument(db + " start timeout must be at least 1 s");
  }
  if (Status removable = ValidateRemovableDirectory(directory, db + " directory");
      !removable.ok()) {
    return removable;
  }
  auto plain = [](const std::string& text) {
    return !text.empty() && text.find_first_not_of(
                                "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos;
  };
  if (!plain(user)) {
    return Status::InvalidArgument(db + " user '" + user + "' must be letters, digits and _");
  }
  if (!password.empty() && !plain(password)) {
    return Status::InvalidArgument(db + " password must be letters, digits and _");
  }
  return Status::Ok();
}

Result<std::string> ProgramVersion(const std::string& output) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (size_t at = 0; at < output.size(); ++at) {
    // A number starts a word, or follows the word's "v", "v=" or "V" (not "x86_64"'s 64).
    if (!digit(output[at]) || (at > 0 && output[at - 1] != ' ' && output[at - 1] != '=' &&
                               output[at - 1] != 'v' && output[at - 1] != 'V' &&
                               output[at - 1] != '\t')) {
      continue;
    }
    size_t end = at;
    while (end < output.size() && (digit(output[end]) || output[end] == '.')) ++end;
    while (end > at && output[end - 1] == '.') --end;  // "15." at a sentence's end
    std::string number = output.substr(at, end - at);
    if (number.find('.') != std::string::npos) return number;
    at = end;
  }
  return Status::ParseError("no version number in '" + output.substr(0, output.find('\n')) +
                            "'");
}

}  // namespace faultline::clients
