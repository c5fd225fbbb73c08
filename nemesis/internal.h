// Helpers internal to nemesis/: running one action per node at once (faults hit their nodes at
// the same moment, and a slow node does not delay the others) and portable random orders.
#pragma once

#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/catch.h"
#include "core/op.h"
#include "core/status.h"
#include "generators/random.h"

namespace faultline::nemesis {

// Runs action(0) .. action(count - 1), each on its own thread, and returns their statuses. An
// action that throws gives an Internal error (core/catch.h), as does a thread that cannot start:
// nothing ends the process while other nodes are half-way through a fault.
inline std::vector<Status> InParallel(size_t count, const std::function<Status(size_t)>& action) {
  std::vector<Status> statuses(count);
  std::vector<std::thread> threads;
  threads.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    try {
      threads.emplace_back(
          [&, i] { statuses[i] = CatchAll("a nemesis action", [&] { return action(i); }); });
    } catch (...) {
      statuses[i] =
          Status::Internal("no thread for a nemesis action: " + CurrentExceptionMessage());
    }
  }
  for (std::thread& thread : threads) thread.join();
  return statuses;
}

// Ok when every status is; else the first error's code with every error's message, "; "-joined.
inline Status Combine(const std::vector<Status>& statuses) {
  Status first;
  std::string message;
  for (const Status& status : statuses) {
    if (status.ok()) continue;
    if (first.ok()) first = status;
    if (!message.empty()) message += "; ";
    message += status.message();
  }
  return first.ok() ? first : Status(first.code(), message);
}

// A random order of `nodes`: Fisher-Yates with the portable draws, so a seed gives the same order
// with every standard library.
inline std::vector<std::string> Shuffled(std::vector<std::string> nodes, gen::Rng& rng) {
  for (size_t i = nodes.size(); i > 1; --i) {
    std::swap(nodes[i - 1], nodes[gen::UniformBelow(rng, i)]);
  }
  return nodes;
}

// A command's output as lines, and as whitespace-separated words.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// The name of `value` in a table of (value, name) pairs, or "unknown".
template <class Enum, size_t N>
std::string_view NameIn(const std::pair<Enum, std::string_view> (&table)[N], Enum value) {
  for (const auto& [known, name] : table) {
    if (known == value) return name;
  }
  return "unknown";
}

// The value named `name` in such a table, or nullopt.
template <class Enum, size_t N>
std::optional<Enum> ValueIn(const std::pair<Enum, std::string_view> (&table)[N],
                            std::string_view name) {
  for (const auto& [value, known] : table) {
    if (known == name) return value;
  }
  return std::nullopt;
}

// The nodes of an op value's "nodes" list; InvalidArgument naming the op `f` when it is not a
// list of strings.
inline Result<std::vector<std::string>> NodesOf(const Json& value, const std::string& f) {
  const Json* nodes = value.is_object() && value.contains("nodes") ? &value["nodes"] : nullptr;
  if (nodes == nullptr || !nodes->is_array()) {
    return Status::InvalidArgument(f + ": the value needs \"nodes\": [...], got " + value.dump());
  }
  std::vector<std::string> names;
  for (const Json& node : *nodes) {
    if (!node.is_string()) return Status::InvalidArgument(f + ": not a node name: " + node.dump());
    names.push_back(node.get<std::string>());
  }
  return names;
}

}  // namespace faultline::nemesis
