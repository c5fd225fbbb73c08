#include "reports/anomalies.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <system_error>
#include <unordered_map>

#include "checker/txn/txn.h"
#include "core/json_parser.h"
#include "core/op_values.h"
#include "reports/graphviz.h"
#include "reports/html.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

// The classes the fragment uses; the page's own style may override them.
constexpr const char* kStyle = R"(<style>
#anomalies article.anomaly{border:1px solid #ccc;border-left:6px solid #c0392b;margin:1em 0;padding:.5em 1em}
#anomalies article.anomaly.allowed{border-left-color:#999}
#anomalies table{border-collapse:collapse;font-size:90%}
#anomalies td,#anomalies th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
#anomalies tr.failed td{background:#fdd}
#anomalies code,#anomalies pre{font-family:monospace;white-space:pre-wrap;word-break:break-all}
#anomalies figure.cycle img{max-width:100%}
#anomalies svg.timeline{font:11px monospace;max-width:100%}
</style>
)";

// Longest prefix shown of the linearization (its tail leads to the contradiction).
constexpr size_t kShownSteps = 40;

std::string Text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Field `name` of `object` as escaped text; "" when absent.
std::string Field(const Json& object, const char* name) {
  if (!object.is_object() || !object.contains(name)) return "";
  return HtmlEscapeJson(object[name]);
}

const Json& Member(const Json& object, const char* name) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto found = object.find(name);
  return found == object.end() ? kNull : *found;
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// Characters (UTF-8 code points) in `text`.
size_t CharacterCount(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// `text` cut to at most `limit` characters (code points), with an ellipsis; empty when
// `limit` is 0.
std::string Shortened(const std::string& text, size_t limit) {
  if (CharacterCount(text) <= limit) return text;
  size_t end = 0;
  for (size_t kept = 0; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 && kept++ == limit) break;
  }
  return limit == 0 ? std::string() : text.substr(0, end) + "\xE2\x80\xA6";
}

// A file name part from a name in the results (anomaly types, checker names): only
// [A-Za-z0-9._-], never a path.
std::string SafeName(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    out += plain ? c : '_';
  }
  return out.empty() ? "anomaly" : out;
}

std::string ArticleStart(const std::string& checker, const std::string& kind,
                         const std::string& extra_class = "") {
  return "<article class=\"anomaly " + kind + (extra_class.empty() ? "" : " " + extra_class) +
         "\" data-checker=\"" + HtmlEscape(checker) + "\">\n";
}

// ---- linearizability ---------------------------------------------------------------------------

// One call of the history: its invocation and completion (positions in history.ops).
struct Call {
  size_t invoke = 0;
  std::optional<size_t> completion;
};

std::vector<Call> Calls(const History& history) {
  std::vector<Call> calls;
  std::unordered_map<int64_t, size_t> open;  // process -> its open call
  for (size_t position = 0; position < history.ops.size(); ++position) {
    const Op& op = history.ops[position];
    if (op.is_nemesis()) continue;
    if (op.is_invoke()) {
      open[op.process] = calls.size();
      calls.push_back({position, std::nullopt});
      continue;
    }
    auto found = open.find(op.process);
    if (found == open.end()) continue;
    calls[found->second].completion = position;
    open.erase(found);
  }
  return calls;
}

// Whether `op` belongs to the partition `key` (the checker's key field or [key value] tuple, as
// core/op_values.h has it).
bool InPartition(const Op& op, const std::string& key, ValueForm form) {
  if (op.extra.is_object() && op.extra.contains("key")) return Text(op.extra["key"]) == key;
  auto is_tuple_of_key = [&](const Json& value) {
    return IsKeyedRegisterValue(op.f, value) && Text(value[0]) == key;
  };
  if (form == ValueForm::kText && op.value.is_string()) {
    Result<Json> tree = ParseJson(op.value.get_ref<const std::string&>());
    return tree.ok() && is_tuple_of_key(*tree);
  }
  return is_tuple_of_key(op.value);
}

std::string CallLabel(const History& history, const Call& call) {
  const Op& invoke = history.ops[call.invoke];
  std::string label = invoke.f;
  if (!invoke.value.is_null()) label += " " + Text(invoke.value);
  if (call.completion) {
    const Op& done = history.ops[*call.completion];
    if (done.type != OpType::kOk) label += " (" + std::string(ToString(done.type)) + ")";
    if (done.type == OpType::kOk && done.value != invoke.value) label += " -> " + Text(done.value);
  } else {
    label += " (pending)";
  }
  return label;
}

// The label drawn inside a call's bar from x1 to x2: as many characters as fit (the 11px
// monospace font's glyphs are kLabelCharWidth wide), none on a bar too narrow for one, so that
// labels of dense calls never run over their neighbours (the bar's title has the whole label).
constexpr double kLabelCharWidth = 6.6;
constexpr double kLabelPadding = 3;

std::string BarLabel(const std::string& label, double x1, double x2, double y) {
  const double room = x2 - x1 - 2 * kLabelPadding;
  const auto fit = static_cast<size_t>(std::max(room, 0.0) / kLabelCharWidth);
  if (fit == 0) return "";
  // Shortened adds an ellipsis, one character more.
  const std::string shown = CharacterCount(label) <= fit ? label : Shortened(label, fit - 1);
  if (shown.empty()) return "";
  return "<text x=\"" + Number(x1 + kLabelPadding) + "\" y=\"" + Number(y + 15) + "\">" +
         HtmlEscape(shown) + "</text>";
}

// The calls around the failing one, per process on a time axis, as inline SVG: linearized calls
// green, the one that could not be placed red, calls whose outcome is unknown dashed.
std::string TimelineSvg(const History& history, const Json& result, const AnomalyOptions& options) {
  const Json& failed = Member(result, "op");
  if (!failed.is_object() || !failed.contains("index")) return "";
  const int64_t failed_index = failed.value("index", int64_t{-1});
  std::vector<Call> calls = Calls(history);
  const Json& key = Member(result, "key");
  if (!key.is_null()) {
    std::vector<Call> keyed;
    for (const Call& call : calls) {
      if (InPartition(history.ops[call.invoke], Text(key), options.value_form)) keyed.push_back(call);
    }
    if (!keyed.empty()) calls = std::move(keyed);
  }
  std::optional<size_t> failing;
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& call = calls[i];
    const int64_t done = call.completion ? history.ops[*call.completion].index : -1;
    if (done == failed_index || (!call.completion && history.ops[call.invoke].index == failed_index)) {
      failing = i;
    }
  }
  if (!failing) return "";
  std::set<int64_t> linearized;  // invoke indices
  std::map<int64_t, size_t> step_of;
  const Json& prefix = Member(result, "longest_linearizable_prefix");
  if (prefix.is_array()) {
    for (size_t i = 0; i < prefix.size(); ++i) {
      const int64_t invoke = prefix[i].value("invoke_index", int64_t{-1});
      linearized.insert(invoke);
      step_of[invoke] = i + 1;
    }
  }
  // The window: `context_ops` calls per process on each side of the failing one (by invocation
  // order), and every call concurrent with it.
  const Call& failing_call = calls[*failing];
  const size_t failing_end = failing_call.completion.value_or(history.ops.size());
  const size_t reach = static_cast<size_t>(std::max(options.context_ops, 0));
  std::map<int64_t, size_t> before, after;  // process -> calls taken
  std::vector<size_t> shown;
  for (size_t i = *failing; i-- > 0;) {
    const Call& call = calls[i];
    const size_t end = call.completion.value_or(history.ops.size());
    const bool concurrent = end > failing_call.invoke;
    if (concurrent || before[history.ops[call.invoke].process]++ < reach) shown.push_back(i);
  }
  shown.push_back(*failing);
  for (size_t i = *failing + 1; i < calls.size(); ++i) {
    const Call& call = calls[i];
    const bool concurrent = call.invoke < failing_end;
    if (concurrent || after[history.ops[call.invoke].process]++ < reach) shown.push_back(i);
  }
  std::sort(shown.begin(), shown.end());

  // x: times when every shown op has one, else history positions.
  bool timed = true;
  for (size_t i : shown) {
    const Call& call = calls[i];
    if (history.ops[call.invoke].time_ns < 0) timed = false;
    if (call.completion && history.ops[*call.completion].time_ns < 0) timed = false;
  }
  auto x_of = [&](size_t position) {
    return timed ? static_cast<double>(history.ops[position].time_ns)
                 : static_cast<double>(position);
  };
  double low = x_of(calls[shown.front()].invoke);
  double high = low;
  for (size_t i : shown) {
    const Call& call = calls[i];
    low = std::min(low, x_of(call.invoke));
    high = std::max(high, x_of(call.completion.value_or(call.invoke)));
  }
  const double open_end = high + std::max((high - low) * 0.05, 1.0);  // where pending calls end
  std::map<int64_t, size_t> lane;  // process -> row
  for (size_t i : shown) lane.emplace(history.ops[calls[i].invoke].process, 0);
  size_t row = 0;
  for (auto& [process, index] : lane) index = row++;

  constexpr double kLeft = 90, kWidth = 860, kLane = 30, kTop = 10;
  const double height = kTop + kLane * static_cast<double>(lane.size()) + 30;
  auto px = [&](double x) { return kLeft + (x - low) / std::max(open_end - low, 1.0) * kWidth; };
  std::string svg = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    Number(kLeft + kWidth + 10) + "\" height=\"" + Number(height) +
                    "\" role=\"img\">\n";
  for (const auto& [process, index] : lane) {
    const double y = kTop + kLane * static_cast<double>(index);
    svg += "<text x=\"4\" y=\"" + Number(y + 18) + "\">process " +
           HtmlEscape(ProcessName(process)) + "</text>\n";
    svg += "<line x1=\"" + Number(kLeft) + "\" x2=\"" + Number(kLeft + kWidth) + "\" y1=\"" +
           Number(y + kLane - 2) + "\" y2=\"" + Number(y + kLane - 2) +
           "\" stroke=\"#eee\"/>\n";
  }
  for (size_t i : shown) {
    const Call& call = calls[i];
    const Op& invoke = history.ops[call.invoke];
    // An info or pending call may take effect until the end: its bar runs to the edge, dashed.
    // A failed call did not happen; its bar ends at its completion, dotted.
    const OpType outcome = call.completion ? history.ops[*call.completion].type : OpType::kInfo;
    const bool unknown = outcome == OpType::kInfo;
    const double x1 = px(x_of(call.invoke));
    const double x2 = std::max(x1 + 3, px(unknown ? open_end : x_of(*call.completion)));
    const double y = kTop + kLane * static_cast<double>(lane[invoke.process]) + 3;
    const bool is_failing = i == *failing;
    const bool is_linearized = linearized.count(invoke.index) > 0;
    const char* fill = is_failing ? "#f4a6a6" : is_linearized ? "#b7e4b0" : "#dde6f0";
    const char* stroke = is_failing ? "#c0392b" : is_linearized ? "#2e7d32" : "#7f8c9a";
    const std::string label = CallLabel(history, call);
    std::string title = "process " + ProcessName(invoke.process) + ": " + label + " [index " +
                        std::to_string(invoke.index) + ".." +
                        (call.completion ? std::to_string(history.ops[*call.completion].index)
                                         : std::string()) +
                        "]";
    if (is_failing) title += ", could not be linearized";
    if (auto step = step_of.find(invoke.index); step != step_of.end()) {
      title += ", linearized as step " + std::to_string(step->second);
    }
    svg += "<g class=\"call" + std::string(is_failing ? " failed" : "") +
           (is_linearized ? " linearized" : "") + "\"><title>" + HtmlEscape(title) +
           "</title><rect x=\"" + Number(x1) + "\" y=\"" + Number(y) + "\" width=\"" +
           Number(x2 - x1) + "\" height=\"" + Number(kLane - 8) + "\" fill=\"" + fill +
           "\" stroke=\"" + stroke + "\"" +
           (unknown ? " stroke-dasharray=\"4 2\""
                    : outcome == OpType::kFail ? " stroke-dasharray=\"1 2\"" : "") +
           "/>" + BarLabel(label, x1, x2, y) + "</g>\n";
  }
  const double axis_y = kTop + kLane * static_cast<double>(lane.size()) + 15;
  const std::string unit = timed ? " ms" : " (history position)";
  const double scale = timed ? 1e6 : 1;
  svg += "<text x=\"" + Number(kLeft) + "\" y=\"" + Number(axis_y) + "\">" +
         Number(low / scale) + unit + "</text><text x=\"" + Number(kLeft + kWidth) +
         "\" y=\"" + Number(axis_y) + "\" text-anchor=\"end\">" + Number(open_end / scale) + unit +
         "</text>\n</svg>\n";
  return svg;
}

std::string OpDescription(const Json& op) {
  std::string text = "process " + Field(op, "process") + " " + Field(op, "type") + " " +
                     Field(op, "f");
  if (op.contains("value") && !op["value"].is_null()) text += " " + Field(op, "value");
  text += " (index " + Field(op, "index");
  if (op.contains("line")) text += ", line " + Field(op, "line");
  return text + ")";
}

std::string Linearizability(const std::string& checker, const Json& result,
                            const History& history, const AnomalyOptions& options) {
  const Json& prefix = Member(result, "longest_linearizable_prefix");
  std::string html = ArticleStart(checker, "linearizability");
  html += "<h3>" + HtmlEscape(checker) + ": not linearizable (model " + Field(result, "model") +
          ")</h3>\n";
  if (result.contains("reason")) html += "<p class=\"reason\">" + Field(result, "reason") + "</p>\n";
  if (result.contains("key")) {
    html += "<p class=\"key\">key <code>" + Field(result, "key") + "</code></p>\n";
  }
  const Json& failed = Member(result, "op");
  if (failed.is_object()) {
    html += "<p class=\"failed-op\">Could not be placed: <code>" + OpDescription(failed) +
            "</code>. No order of the ops below that the model accepts lets it take effect before "
            "it completed.</p>\n";
  }
  const std::string timeline = TimelineSvg(history, result, options);
  if (!timeline.empty()) {
    html += "<figure class=\"timeline\">\n" + timeline +
            "<figcaption>The ops around it, per process (left to right: invocation to "
            "completion). Green: in the longest linearization found; red: the op that could not "
            "be placed; dashed: outcome unknown (info or never completed).</figcaption></figure>\n";
  }
  html += "<table class=\"linearization\"><caption>The longest linearization found, " +
          std::to_string(prefix.size()) +
          " ops, with the model's state after each</caption>\n<thead><tr><th>#</th><th>process"
          "</th><th>op</th><th>index</th><th>state after</th></tr></thead>\n<tbody>\n";
  html += "<tr class=\"initial\"><td>0</td><td></td><td>initial state</td><td></td><td><code>" +
          Field(result, "initial_state") + "</code></td></tr>\n";
  const size_t first = prefix.size() > kShownSteps ? prefix.size() - kShownSteps : 0;
  if (first > 0) {
    html += "<tr class=\"elided\"><td colspan=\"5\">&#8230; " + std::to_string(first) +
            " earlier ops</td></tr>\n";
  }
  for (size_t i = first; i < prefix.size(); ++i) {
    const Json& step = prefix[i];
    std::string indices = Field(step, "invoke_index") + "..";
    if (step.value("completion_index", int64_t{-1}) >= 0) indices += Field(step, "completion_index");
    html += "<tr><td>" + std::to_string(i + 1) + "</td><td>" + Field(step, "process") +
            "</td><td><code>" + Field(step, "op") + "</code></td><td>" + indices +
            "</td><td><code>" + Field(step, "state") + "</code></td></tr>\n";
  }
  if (failed.is_object()) {
    html += "<tr class=\"failed\"><td>&#10007;</td><td>" + Field(failed, "process") +
            "</td><td><code>" + Field(failed, "f") + " " + Field(failed, "value") +
            "</code></td><td>" + Field(failed, "index") +
            "</td><td>cannot be placed</td></tr>\n";
  }
  html += "</tbody></table>\n</article>\n";
  return html;
}

// ---- isolation (list-append, rw-register) ------------------------------------------------------

struct CycleFiles {
  fs::path directory;  // report_directory/anomalies
  DotDrawer drawer;
  std::map<std::string, int> numbers;  // file stem -> next number
};

// The cycle drawing: an <img> of the SVG dot drew, else the DOT text.
std::string CycleFigure(const std::string& checker, const Json& anomaly, CycleFiles* files,
                        std::vector<std::string>* warnings) {
  const std::string dot = TxnCycleDot(anomaly);
  const std::string stem = SafeName(checker) + "-" + SafeName(Text(Member(anomaly, "type")));
  const std::string name = stem + "-" + std::to_string(files->numbers[stem]++);
  const std::string fallback = "<figure class=\"cycle\"><pre class=\"dot\">" + HtmlEscape(dot) +
                               "</pre><figcaption>The cycle in Graphviz DOT (not drawn)"
                               "</figcaption></figure>\n";
  if (files->drawer.missing()) return fallback;
  std::error_code error;
  fs::create_directories(files->directory, error);
  const fs::path dot_path = files->directory / (name + ".dot");
  {
    std::ofstream out(dot_path, std::ios::binary | std::ios::trunc);
    out << dot;
    out.close();
    if (error || !out) {
      warnings->push_back("cannot write " + dot_path.string());
      return fallback;
    }
  }
  if (!files->drawer.Draw(dot_path, files->directory / (name + ".svg"), warnings)) return fallback;
  return "<figure class=\"cycle\"><img src=\"anomalies/" + HtmlEscape(name) +
         ".svg\" alt=\"the " + HtmlEscape(Text(Member(anomaly, "type"))) +
         " cycle\"><figcaption>Each box a transaction, each arrow a dependency: ww (black) "
         "overwrote, wr (blue) read, rw (red) read a state the other overwrote, process (gray) "
         "and realtime (green) order.</figcaption></figure>\n";
}

std::string Isolation(const std::string& checker, const Json& result, CycleFiles* files,
                      std::vector<std::string>* warnings) {
  std::set<std::string> forbidden;
  if (Member(result, "anomaly_types").is_array()) {
    for (const Json& type : result["anomaly_types"]) forbidden.insert(Text(type));
  }
  std::string html;
  for (const Json& anomaly : Member(result, "anomalies")) {
    if (!anomaly.is_object()) continue;
    const std::string type = Text(Member(anomaly, "type"));
    const bool allowed = forbidden.count(type) == 0;
    html += ArticleStart(checker, "isolation", allowed ? "allowed" : "") ;
    html.insert(html.size() - 2, " data-type=\"" + HtmlEscape(type) + "\"");
    html += "<h3>" + HtmlEscape(checker) + ": " + HtmlEscape(type) +
            (allowed ? " (allowed by the consistency model checked)" : "") + "</h3>\n";
    html += "<p class=\"explanation\">" + Field(anomaly, "explanation") + "</p>\n";
    const Json& cycle = Member(anomaly, "cycle");
    if (cycle.is_array() && !cycle.empty()) {
      html += CycleFigure(checker, anomaly, files, warnings);
      html += "<table class=\"cycle-steps\"><thead><tr><th>from</th><th>to</th><th>kind</th>"
              "<th>why</th></tr></thead><tbody>\n";
      for (const Json& step : cycle) {
        html += "<tr><td>" + Field(step, "from") + "</td><td>" + Field(step, "to") + "</td><td>" +
                Field(step, "kind") + "</td><td>" + Field(step, "why") + "</td></tr>\n";
      }
      html += "</tbody></table>\n";
    }
    const Json& txns = Member(anomaly, "txns");
    if (txns.is_array() && !txns.empty()) {
      html += "<table class=\"transactions\"><thead><tr><th></th><th>index</th><th>process</th>"
              "<th>type</th><th>value</th></tr></thead><tbody>\n";
      for (size_t i = 0; i < txns.size(); ++i) {
        html += "<tr><td>T" + std::to_string(i + 1) + "</td><td>" + Field(txns[i], "index") +
                "</td><td>" + Field(txns[i], "process") + "</td><td>" + Field(txns[i], "type") +
                "</td><td><code>" + Field(txns[i], "value") + "</code></td></tr>\n";
      }
      html += "</tbody></table>\n";
    }
    if (anomaly.contains("details")) {
      html += "<pre class=\"details\">" + HtmlEscape(anomaly["details"].dump(
                                              2, ' ', false, Json::error_handler_t::replace)) +
              "</pre>\n";
    }
    html += "</article>\n";
  }
  return html;
}

// ---- session guarantees ------------------------------------------------------------------------

std::string Sessions(const std::string& checker, const Json& result) {
  std::string html;
  const Json& guarantees = Member(result, "guarantees");
  if (!guarantees.is_object()) return html;
  for (const auto& [guarantee, judged] : guarantees.items()) {
    const Json& witnesses = Member(judged, "witnesses");
    if (!witnesses.is_array() || witnesses.empty()) continue;
    html += ArticleStart(checker, "session");
    html.insert(html.size() - 2, " data-guarantee=\"" + HtmlEscape(guarantee) + "\"");
    html += "<h3>" + HtmlEscape(checker) + ": " + HtmlEscape(guarantee) + " violated (" +
            Field(judged, "violations") + " violations, " + std::to_string(witnesses.size()) +
            " shown)</h3>\n";
    for (const Json& witness : witnesses) {
      html += "<div class=\"witness\"><p>session " + Field(witness, "session") + " (processes " +
              Field(witness, "processes") + ")";
      if (witness.contains("key")) html += ", key <code>" + Field(witness, "key") + "</code>";
      html += "</p>\n<ol>\n";
      for (const Json& op : Member(witness, "ops")) {
        html += "<li>op " + Field(op, "index") + " (process " + Field(op, "process") + ", " +
                Field(op, "type");
        if (op.contains("time")) {
          html += " at t=" + Number(op.value("time", 0.0) / 1e6) + " ms";
        }
        html += ") <code>" + Field(op, "action") + "</code></li>\n";
      }
      html += "</ol>\n<p class=\"conclusion\">" + Field(witness, "conclusion") + ": " +
              HtmlEscape(guarantee) + " violated</p></div>\n";
    }
    html += "</article>\n";
  }
  return html;
}

}  // namespace

AnomalyHtml RenderAnomalies(const Json& checkers, const History& history,
                            const fs::path& run_directory, const fs::path& report_directory) {
  return RenderAnomalies(checkers, history, run_directory, report_directory, AnomalyOptions{});
}

AnomalyHtml RenderAnomalies(const Json& checkers, const History& history,
                            const fs::path& /*run_directory*/, const fs::path& report_directory,
                            const AnomalyOptions& options) {
  AnomalyHtml out;
  if (!checkers.is_object()) return out;
  CycleFiles files{report_directory / "anomalies", DotDrawer({options.dot_command}), {}};
  std::string articles;
  for (const auto& [name, result] : checkers.items()) {
    if (!result.is_object()) continue;
    // By what the result holds, not by name: a composition may name its checkers freely.
    try {
      if (result.contains("longest_linearizable_prefix")) {
        articles += Linearizability(name, result, history, options);
      } else if (Member(result, "anomalies").is_array()) {
        articles += Isolation(name, result, &files, &out.warnings);
      } else if (Member(result, "guarantees").is_object()) {
        articles += Sessions(name, result);
      }
    } catch (const std::exception& error) {  // a malformed stored result: the rest still renders
      out.warnings.push_back("anomalies of " + name + " not shown: " + error.what());
    }
  }
  if (articles.empty()) return out;
  out.html = "<section id=\"anomalies\">\n" + std::string(kStyle) + "<h2>Anomalies</h2>\n" +
             articles + "</section>\n";
  return out;
}

}  // namespace faultline::reports
