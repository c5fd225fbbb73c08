// TxnResult and TxnAnomaly as JSON, text and Graphviz.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "checker/txn/txn.h"

namespace faultline {
namespace {

// `text` inside a DOT double-quoted string: quotes and backslashes escaped; & as &amp;, since
// Graphviz reads entities in labels (a value "&lt;" would show as "<", and "&x;" would make its
// SVG invalid XML).
std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Compact JSON; bytes that are not UTF-8 become U+FFFD instead of an exception.
std::string Dumped(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : Dumped(value);
}

// TxnLine of an op as Op::ToJson wrote it.
std::string TxnLineOf(const Json& op) {
  return "index " + Dumped(op.value("index", Json())) + ", process " +
         Text(op.value("process", Json())) + ", " + Text(op.value("type", Json())) + ": " +
         Dumped(op.value("value", Json()));
}

Json Strings(const std::vector<std::string>& values) { return Json(values); }

}  // namespace

Json TxnAnomaly::ToJson() const {
  Json ops = Json::array();
  for (const Op& op : txns) ops.push_back(op.ToJson());
  Json steps = Json::array();
  for (const TxnCycleStep& step : cycle) {
    steps.push_back({{"from", "T" + std::to_string(step.from + 1)},
                     {"to", "T" + std::to_string(step.to + 1)},
                     {"kind", step.kind},
                     {"why", step.why}});
  }
  Json json = {{"type", type}, {"explanation", explanation}, {"txns", ops}};
  if (!cycle.empty()) json["cycle"] = steps;
  if (!details.is_null() && !details.empty()) json["details"] = details;
  return json;
}

std::string TxnAnomaly::ToDot() const { return TxnCycleDot(ToJson()); }

std::string TxnCycleDot(const Json& anomaly) {
  const Json& txns = anomaly.contains("txns") && anomaly["txns"].is_array() ? anomaly["txns"]
                                                                              : Json::array();
  std::ostringstream dot;
  dot << "digraph \"" << Escape(Text(anomaly.value("type", Json("anomaly"))))
      << "\" {\n  graph [nodesep=0.6, ranksep=0.6];\n  node [shape=box, fontname=monospace];\n"
      // Each label padded and in its edge's colour: two opposite edges between the same pair
      // (a two-transaction cycle) are drawn side by side, and bare labels ran together ("rwww").
      << "  edge [fontname=monospace, fontsize=11];\n";
  for (size_t i = 0; i < txns.size(); ++i) {
    const std::string line = txns[i].is_object() ? TxnLineOf(txns[i]) : Dumped(txns[i]);
    dot << "  T" << i + 1 << " [label=\"T" << i + 1 << "\\n" << Escape(line) << "\"];\n";
  }
  static const std::map<std::string, std::string> kColors = {
      {"ww", "black"}, {"wr", "blue"}, {"rw", "red"}, {"process", "gray"}, {"realtime", "green"}};
  const Json& cycle = anomaly.contains("cycle") && anomaly["cycle"].is_array() ? anomaly["cycle"]
                                                                                : Json::array();
  for (const Json& step : cycle) {
    if (!step.is_object()) continue;
    const std::string kind = Text(step.value("kind", Json("")));
    auto color = kColors.find(kind);
    const std::string edge_color = color == kColors.end() ? "black" : color->second;
    dot << "  \"" << Escape(Text(step.value("from", Json("")))) << "\" -> \""
        << Escape(Text(step.value("to", Json("")))) << "\" [label=\" " << Escape(kind) << " \", color="
        << edge_color << ", fontcolor=" << edge_color << ", tooltip=\""
        << Escape(Text(step.value("why", Json("")))) << "\"];\n";
  }
  dot << "}\n";
  return dot.str();
}

Json TxnResult::ToJson() const {
  Json examples = Json::array();
  for (const TxnAnomaly& anomaly : anomalies) examples.push_back(anomaly.ToJson());
  Json json = {
      {"valid", verdict == Verdict::kUnknown ? Json("unknown") : Json(verdict == Verdict::kValid)},
      {"verdict", ToString(verdict)},
      {"reason", reason},
      {"anomaly_types", Strings(anomaly_types)},
      {"found_types", Strings(found_types)},
      {"not", Strings(not_models)},
      {"also_not", Strings(also_not)},
      {"strongest_models", Strings(strongest_models)},
      {"transactions", transactions},
      {"edges", edges},
      {"largest_component", largest_component},
      {"search_steps", search_steps},
      {"anomalies", examples}};
  if (!warnings.empty()) json["warnings"] = Strings(warnings);
  return json;
}

std::string TxnResult::ToText() const {
  auto join = [](const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
    return text.empty() ? std::string("none") : text;
  };
  std::ostringstream out;
  out << ToString(verdict) << " (" << reason << ")\n";
  out << "  " << transactions << " transactions, " << edges << " edges, largest cycle component "
      << largest_component << "\n";
  out << "  anomalies found: " << join(found_types) << "\n";
  out << "  not: " << join(not_models) << "; consistent with at most: " << join(strongest_models)
      << "\n";
  for (const TxnAnomaly& anomaly : anomalies) {
    out << "  " << anomaly.type << ": " << anomaly.explanation << "\n";
    for (size_t i = 0; i < anomaly.txns.size(); ++i) {
      out << "    T" << i + 1 << " = " << TxnLineOf(anomaly.txns[i].ToJson()) << "\n";
    }
  }
  return out.str();
}

Status TxnResult::WriteCycleDots(const std::string& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::IoError("cannot create " + dir + ": " + error.message());
  std::map<std::string, int> numbers;
  for (const TxnAnomaly& anomaly : anomalies) {
    if (anomaly.cycle.empty()) continue;
    std::string path =
        dir + "/" + anomaly.type + "-" + std::to_string(numbers[anomaly.type]++) + ".dot";
    std::ofstream file(path);
    file << anomaly.ToDot();
    if (!file) return Status::IoError("cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace faultline
