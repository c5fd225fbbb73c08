#include "runner/cli/config_json.h"

#include <fstream>
#include <iterator>

#include "core/json_parser.h"

namespace faultline::cli {
namespace {

constexpr std::string_view kFlag = "--config";

// A scalar as the flag's text: strings as they are, the rest as JSON (true, 3, 2.5).
bool ScalarText(const Json& value, std::string* text) {
  if (value.is_string()) {
    *text = value.get<std::string>();
    return true;
  }
  if (value.is_boolean() || value.is_number()) {
    *text = value.dump();
    return true;
  }
  return false;
}

Result<std::vector<std::string>> FlagsOf(const std::string& file) {
  std::ifstream input(file, std::ios::binary);
  if (!input) return Status::IoError(file + ": cannot read the --config file");
  const std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  Result<Json> parsed = ParseJson(text, file);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) {
    return Status::ParseError(file + ": expected a JSON object of flags, found " +
                              std::string(parsed->type_name()));
  }
  std::vector<std::string> flags;
  for (const auto& [key, value] : parsed->items()) {
    std::string scalar;
    if (ScalarText(value, &scalar)) {
      flags.push_back("--" + key + "=" + scalar);
      continue;
    }
    bool scalars = value.is_array();
    for (const Json& element : scalars ? value : Json::array()) {
      scalars = scalars && ScalarText(element, &scalar);
      if (scalars) flags.push_back("--" + key + "=" + scalar);
    }
    if (!scalars) {
      return Status::ParseError(file + ": \"" + key +
                                "\": expected a string, number, boolean or an array of them, "
                                "found " + value.dump());
    }
  }
  return flags;
}

}  // namespace

Result<std::vector<std::string>> ExpandConfigFiles(const std::vector<std::string>& arguments) {
  std::vector<std::string> expanded;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    std::string file;
    if (argument == kFlag) {
      if (i + 1 == arguments.size()) return Status::InvalidArgument("--config needs a file");
      file = arguments[++i];
    } else if (argument.rfind(std::string(kFlag) + "=", 0) == 0) {
      file = argument.substr(kFlag.size() + 1);
    } else {
      expanded.push_back(argument);
      continue;
    }
    Result<std::vector<std::string>> flags = FlagsOf(file);
    if (!flags.ok()) return flags.status();
    expanded.insert(expanded.end(), flags->begin(), flags->end());
  }
  return expanded;
}

}  // namespace faultline::cli
