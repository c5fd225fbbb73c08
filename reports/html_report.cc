#include "reports/html_report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "core/file_write.h"
#include "core/history_io.h"
#include "core/json_parser.h"
#include "core/validate.h"
#include "reports/anomalies.h"
#include "reports/html.h"
#include "reports/html_report_script.h"
#include "reports/perf.h"
#include "reports/plots.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kFileMode = 0644;
// Bounds on what the page renders server-side, so a pathological run cannot make it huge.
constexpr size_t kMaxFaultRows = 2000;
constexpr size_t kMaxResultJsonBytes = 64 * 1024;
// How many ops the timeline's first window shows (well under the page's drawing bound).
constexpr size_t kFirstWindowOps = 300;
// The page draws at most this many ops at once (kMaxDrawn in reports/html_report_script.h).
constexpr size_t kMaxDrawnOps = 3000;

// Outcome codes of the chunk files (html_report.h).
enum TimelineOutcome { kTimelineOk = 0, kTimelineFail = 1, kTimelineInfo = 2, kTimelinePending = 3 };

void AppendInteger(int64_t value, std::string* out) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
  out->append(digits, end);
}

// A JSON dump made safe for a <script>: `<` `>` `&` can appear in JSON text only inside strings,
// where their \u escapes mean the same characters.
void AppendScriptSafe(std::string_view dump, std::string* out) {
  for (char c : dump) {
    switch (c) {
      case '<':
        out->append("\\u003c");
        break;
      case '>':
        out->append("\\u003e");
        break;
      case '&':
        out->append("\\u0026");
        break;
      default:
        out->push_back(c);
    }
  }
}

// ScriptJson appended to `out`, with fast paths for the values histories mostly hold (null,
// integers, short plain strings): a million ops would otherwise pay a dump each.
void AppendScriptJson(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::value_t::null:
      out->append("null");
      return;
    case Json::value_t::number_integer:
      AppendInteger(value.get<int64_t>(), out);
      return;
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return;
    case Json::value_t::string: {
      const std::string& text = value.get_ref<const std::string&>();
      bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
      });
      if (plain) {
        out->push_back('"');
        out->append(text);
        out->push_back('"');
        return;
      }
      break;
    }
    default:
      break;
  }
  AppendScriptSafe(value.dump(-1, ' ', false, Json::error_handler_t::replace), out);
}

std::string Html(std::string_view text) { return HtmlEscape(text); }

// A JSON value for a table cell: strings as themselves, the rest as compact JSON; escaped.
std::string HtmlValue(const Json& value) { return HtmlEscapeJson(value); }

std::string FormatSeconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", seconds);
  return text;
}

// "valid", "invalid" or "unknown" from a results.json "valid" field (true, false, "unknown").
std::string VerdictName(const Json& valid) {
  if (valid.is_boolean()) return valid.get<bool>() ? "valid" : "invalid";
  if (valid.is_string() && (valid == "valid" || valid == "invalid")) return valid.get<std::string>();
  return "unknown";
}

std::string VerdictBadge(const Json& valid) {
  std::string name = VerdictName(valid);
  return "<span class=\"verdict v-" + name + "\">" + name + "</span>";
}

// ---------------------------------------------------------------------------------------------
// The timeline's data.

struct TimelineEntry {
  int64_t invoke = 0;
  int64_t complete = 0;
  int64_t invoke_position = -1;      // -1 for a completion without invocation
  int64_t completion_position = -1;  // -1 when never completed
  int32_t f = 0;
  int32_t outcome = kTimelineOk;
};

int32_t OutcomeCode(OpType type) {
  switch (type) {
    case OpType::kOk:
      return kTimelineOk;
    case OpType::kFail:
      return kTimelineFail;
    default:
      return kTimelineInfo;
  }
}

// A value as the chunk files hold it: a tree written as script-safe JSON, a text (ValueForm::kText,
// already JSON, checked by the reader) copied with `<` `>` `&` escaped.
void AppendValue(const Json& value, ValueForm form, std::string* out) {
  if (form == ValueForm::kText && value.is_string()) {
    AppendScriptSafe(value.get_ref<const std::string&>(), out);
  } else {
    AppendScriptJson(value, out);
  }
}

void AppendEntry(const TimelineEntry& entry, const History& history, ValueForm form,
                 std::string* out) {
  const Op* invocation =
      entry.invoke_position >= 0 ? &history.ops[static_cast<size_t>(entry.invoke_position)] : nullptr;
  const Op* completion = entry.completion_position >= 0
                             ? &history.ops[static_cast<size_t>(entry.completion_position)]
                             : nullptr;
  const Op& any = invocation ? *invocation : *completion;
  if (any.is_nemesis()) form = ValueForm::kTree;  // ReadStoredRun parses the nemesis's values
  out->push_back('[');
  AppendInteger(entry.invoke, out);
  out->push_back(',');
  AppendInteger(entry.complete, out);
  out->push_back(',');
  AppendInteger(any.process, out);
  out->push_back(',');
  AppendInteger(entry.f, out);
  out->push_back(',');
  AppendInteger(entry.outcome, out);
  out->push_back(',');
  // References on both sides: `op ? op->value : Json()` would deep-copy every value (a
  // list-append transaction is dozens of heap nodes), a third of the timeline's time at 1M ops.
  static const Json kNoValue;
  AppendValue(invocation ? invocation->value : kNoValue, form, out);
  out->push_back(',');
  AppendValue(completion ? completion->value : kNoValue, form, out);
  out->push_back(',');
  AppendValue(completion ? completion->error : kNoValue, form, out);
  out->push_back(',');
  AppendInteger(any.index >= 0 ? any.index
                               : (invocation ? entry.invoke_position : entry.completion_position),
                out);
  out->push_back(']');
}

std::string ChunkFileName(size_t chunk) {
  char name[32];
  std::snprintf(name, sizeof name, "%04zu.js", chunk);
  return name;
}

// ---------------------------------------------------------------------------------------------
// The page's sections.

void AppendRow(std::string_view key, const std::string& html_value, std::string* page) {
  *page += "<tr><th>" + Html(key) + "</th><td>" + html_value + "</td></tr>\n";
}

void TestSection(const RunReport& run, const Timeline& timeline, std::string* page) {
  const History& history = *run.history;
  const Json& test = run.test.is_object() ? run.test : history.header;
  *page += "<section id=\"test\"><h2>Test</h2>\n<table class=\"keys\">\n";
  const std::string name = test.value("name", test.value("test", std::string()));
  AppendRow("name", name.empty() ? "<em>unnamed</em>" : Html(name), page);
  AppendRow("seed", test.contains("seed") ? HtmlValue(test["seed"]) : "<em>not recorded</em>",
            page);
  std::string nodes;
  if (test.contains("nodes") && test["nodes"].is_array()) {
    for (const Json& node : test["nodes"]) nodes += (nodes.empty() ? "" : ", ") + HtmlValue(node);
  }
  AppendRow("nodes", nodes.empty() ? "<em>none recorded</em>" : nodes, page);
  std::string duration = timeline.unit == "us"
                             ? FormatSeconds(static_cast<double>(timeline.end) / 1e6) +
                                   " s (from the start to the history's last op)"
                             : "<em>unknown: the history has ops without a time</em>";
  AppendRow("duration", duration, page);
  AppendRow("history", std::to_string(history.ops.size()) + " ops", page);
  if (run.results.is_object()) {
    if (run.results.value("interrupted", false)) AppendRow("interrupted", "yes: cut short", page);
    if (run.results.contains("error"))
      AppendRow("error", "<span class=\"error\">" + HtmlValue(run.results["error"]) + "</span>",
                page);
  }
  *page += "</table>\n";
  if (test.is_object() && !test.empty()) {
    *page += "<details><summary>All options (" +
             std::string(run.test.is_object() ? "test.json" : "the history's header") +
             ")</summary>\n<table class=\"keys options\">\n";
    for (const auto& [key, value] : test.items()) AppendRow(key, HtmlValue(value), page);
    *page += "</table></details>\n";
  }
  *page += "</section>\n";
}

// A checker's one-line summary: its error, or the kinds stats found never succeeding.
std::string CheckerSummary(const Json& result) {
  if (!result.is_object()) return "";
  if (result.contains("error")) return "<span class=\"error\">" + HtmlValue(result["error"]) + "</span>";
  if (result.contains("never_succeeded") && result["never_succeeded"].is_array() &&
      !result["never_succeeded"].empty()) {
    std::string kinds;
    for (const Json& f : result["never_succeeded"]) kinds += (kinds.empty() ? "" : ", ") + HtmlValue(f);
    return "never succeeded: " + kinds;
  }
  return "";
}

void VerdictsSection(const RunReport& run, std::string* page) {
  *page += "<section id=\"verdicts\"><h2>Verdicts</h2>\n";
  if (!run.results.is_object()) {
    *page += "<p class=\"note\">Not checked: no results.json.</p></section>\n";
    return;
  }
  *page += "<p>Run: " + VerdictBadge(run.results.value("valid", Json("unknown"))) + "</p>\n";
  const Json& checkers = run.results.value("checkers", Json::object());
  if (!checkers.is_object() || checkers.empty()) {
    *page += "<p class=\"note\">No checker results.</p></section>\n";
    return;
  }
  *page += "<table class=\"grid\"><tr><th>checker</th><th>verdict</th><th></th></tr>\n";
  for (const auto& [name, result] : checkers.items()) {
    Json valid = result.is_object() ? result.value("valid", Json("unknown")) : Json("unknown");
    *page += "<tr class=\"checker\" data-checker=\"" + Html(name) + "\"><td>" + Html(name) +
             "</td><td>" + VerdictBadge(valid) + "</td><td>" + CheckerSummary(result) +
             "</td></tr>\n";
  }
  *page += "</table>\n";
  for (const auto& [name, result] : checkers.items()) {
    std::string text = result.dump(2, ' ', false, Json::error_handler_t::replace);
    std::string cut;
    if (text.size() > kMaxResultJsonBytes) {
      text.resize(kMaxResultJsonBytes);
      cut = "\n... (cut at " + std::to_string(kMaxResultJsonBytes / 1024) +
            " KiB: the whole result is in results.json)";
    }
    *page += "<details><summary>" + Html(name) + ": result</summary><pre>" + Html(text) +
             Html(cut) + "</pre></details>\n";
  }
  *page += "</section>\n";
}

std::string CountCell(const Json& counts, const char* key) {
  return "<td class=\"num\">" + HtmlValue(counts.is_object() ? counts.value(key, Json(0)) : Json(0)) +
         "</td>";
}

void StatsSection(const RunReport& run, std::string* page) {
  *page += "<section id=\"stats\"><h2>Stats</h2>\n";
  const Json* stats = nullptr;
  if (run.results.is_object() && run.results.contains("checkers") &&
      run.results["checkers"].is_object() && run.results["checkers"].contains("stats")) {
    stats = &run.results["checkers"]["stats"];
  }
  if (!stats || !stats->is_object()) {
    *page += "<p class=\"note\">No stats checker result.</p></section>\n";
    return;
  }
  std::vector<std::string> never;
  if (stats->contains("never_succeeded") && (*stats)["never_succeeded"].is_array()) {
    for (const Json& f : (*stats)["never_succeeded"]) never.push_back(HtmlValue(f));
  }
  *page +=
      "<table class=\"grid\"><tr><th>operation</th><th>count</th><th>ok</th><th>fail</th>"
      "<th>info</th></tr>\n";
  if (stats->contains("by_f") && (*stats)["by_f"].is_object()) {
    for (const auto& [f, counts] : (*stats)["by_f"].items()) {
      bool failed_always = std::find(never.begin(), never.end(), Html(f)) != never.end();
      *page += std::string("<tr") + (failed_always ? " class=\"never\"" : "") + "><td>" + Html(f) +
               "</td>" + CountCell(counts, "count") + CountCell(counts, "ok_count") +
               CountCell(counts, "fail_count") + CountCell(counts, "info_count") + "</tr>\n";
    }
  }
  *page += "<tr class=\"total\"><td>all</td>" + CountCell(*stats, "count") +
           CountCell(*stats, "ok_count") + CountCell(*stats, "fail_count") +
           CountCell(*stats, "info_count") + "</tr>\n</table>\n";
  if (!never.empty()) {
    std::string kinds;
    for (const std::string& f : never) kinds += (kinds.empty() ? "" : ", ") + f;
    *page += "<p class=\"warn\">Never succeeded: " + kinds +
             " (the run tested nothing for these: unknown).</p>\n";
  }
  *page += "</section>\n";
}

// What the nemesis said about a fault: its start's value, and its completion's if different.
std::string FaultWhat(const FaultInterval& interval, const History& history,
                      const std::vector<int64_t>& partner) {
  const Op& start = history.ops[static_cast<size_t>(interval.start_position)];
  std::string text = start.value.is_null() ? "" : HtmlValue(start.value);
  int64_t completion = partner[static_cast<size_t>(interval.start_position)];
  if (start.is_invoke() && completion >= 0) {
    const Op& done = history.ops[static_cast<size_t>(completion)];
    if (!done.value.is_null() && done.value != start.value)
      text += (text.empty() ? "" : " &rarr; ") + HtmlValue(done.value);
    if (!done.error.is_null())
      text += " <span class=\"error\">" + HtmlValue(done.error) + "</span>";
  }
  return text;
}

void FaultsSection(const History& history, const std::vector<FaultInterval>& faults,
                   const std::vector<int64_t>& partner, int64_t end_ns, std::string* page) {
  *page += "<section id=\"faults\"><h2>Faults</h2>\n";
  if (faults.empty()) {
    *page += "<p class=\"note\">No faults: the nemesis started none.</p></section>\n";
    return;
  }
  std::vector<std::string> kinds;
  for (const FaultInterval& fault : faults) {
    if (std::find(kinds.begin(), kinds.end(), fault.kind) == kinds.end()) kinds.push_back(fault.kind);
  }
  std::sort(kinds.begin(), kinds.end());
  const double span = static_cast<double>(std::max<int64_t>(end_ns, 1));
  // Bars on the run's time axis, one row per kind.
  *page += "<div class=\"fault-bars\">\n";
  for (size_t k = 0; k < kinds.size(); ++k) {
    *page += "<div class=\"fault-row\"><span class=\"fault-label\">" + Html(kinds[k]) +
             "</span><span class=\"fault-track\">";
    size_t drawn = 0;
    for (const FaultInterval& fault : faults) {
      if (fault.kind != kinds[k] || drawn++ >= kMaxFaultRows) continue;
      char style[96];
      double left = 100.0 * static_cast<double>(fault.start_ns) / span;
      double width = 100.0 * static_cast<double>(fault.stop_ns - fault.start_ns) / span;
      std::snprintf(style, sizeof style, "left:%.3f%%;width:%.3f%%", left, width);
      *page += "<span class=\"fault-bar k" + std::to_string(k % 6) + "\" style=\"" + style +
               "\" title=\"" + Html(kinds[k]) + " " +
               FormatSeconds(static_cast<double>(fault.start_ns) / 1e9) + " s to " +
               FormatSeconds(static_cast<double>(fault.stop_ns) / 1e9) + " s\"></span>";
    }
    *page += "</span></div>\n";
  }
  *page += "</div>\n<table class=\"grid\"><tr><th>fault</th><th>from (s)</th><th>to (s)</th>"
           "<th>for (s)</th><th>what (nodes, as the nemesis said)</th></tr>\n";
  for (size_t i = 0; i < faults.size() && i < kMaxFaultRows; ++i) {
    const FaultInterval& fault = faults[i];
    std::string to = FormatSeconds(static_cast<double>(fault.stop_ns) / 1e9);
    if (!fault.healed) to += " <span class=\"warn\">(never healed: the history's end)</span>";
    *page += "<tr><td>" + Html(fault.kind) + "</td><td class=\"num\">" +
             FormatSeconds(static_cast<double>(fault.start_ns) / 1e9) + "</td><td class=\"num\">" +
             to + "</td><td class=\"num\">" +
             FormatSeconds(static_cast<double>(fault.stop_ns - fault.start_ns) / 1e9) +
             "</td><td>" + FaultWhat(fault, history, partner) + "</td></tr>\n";
  }
  *page += "</table>\n";
  if (faults.size() > kMaxFaultRows)
    *page += "<p class=\"note\">" + std::to_string(faults.size() - kMaxFaultRows) +
             " more faults not listed.</p>\n";
  *page += "</section>\n";
}

constexpr std::pair<std::string_view, std::string_view> kPlotCaptions[] = {
    {"latency-raw", "every client op at its invocation time, latency on a log scale"},
    {"latency-quantiles", "p50, p95, p99 and max latency of ok ops per window"},
    {"rate", "ops per second invoked in each window, by outcome"},
    {"availability", "fraction of ok ops and Apdex per window"},
};

// Hard-links (or copies, across file systems) `from` to `to`, replacing it.
Status CopyPlot(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::remove(to, error);
  fs::create_hard_link(from, to, error);
  if (!error) return Status::Ok();
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, error);
  if (error) return Status::IoError(to.string() + ": cannot copy " + from.string() + ": " +
                                    error.message());
  return Status::Ok();
}

void PlotsSection(const RunReport& run, const fs::path& report_directory,
                  std::vector<std::string>* warnings, std::string* page) {
  *page += "<section id=\"plots\"><h2>Plots</h2>\n";
  const fs::path source = run.run_directory.empty() ? fs::path() : run.run_directory / "checker" / "perf";
  int shown = 0;
  for (const auto& [name, caption] : kPlotCaptions) {
    std::string png, svg;
    for (const char* extension : {".png", ".svg"}) {
      fs::path from = source / (std::string(name) + extension);
      std::error_code error;
      if (source.empty() || !fs::is_regular_file(from, error)) continue;
      fs::create_directories(report_directory / "plots", error);
      fs::path to = report_directory / "plots" / from.filename();
      if (fs::equivalent(from, to, error)) {  // the report sits where the plots are
      } else if (Status copied = CopyPlot(from, to); !copied.ok()) {
        warnings->push_back("plot not shown: " + copied.message());
        continue;
      }
      (std::string_view(extension) == ".png" ? png : svg) = "plots/" + from.filename().string();
    }
    if (png.empty() && svg.empty()) continue;
    ++shown;
    const std::string& image = png.empty() ? svg : png;
    *page += "<figure class=\"plot\" id=\"plot-" + std::string(name) + "\"><a href=\"" +
             Html(svg.empty() ? png : svg) + "\"><img src=\"" + Html(image) + "\" alt=\"" +
             std::string(name) + "\" loading=\"lazy\"></a><figcaption>" + std::string(name) +
             ": " + std::string(caption) + "</figcaption></figure>\n";
  }
  if (shown == 0)
    *page += "<p class=\"note\">No plots: the perf checker writes them into the run's "
             "checker/perf/.</p>\n";
  *page += "</section>\n";
}

void AnomaliesSection(const RunReport& run, const fs::path& report_directory,
                      std::vector<std::string>* warnings, std::string* page) {
  Json checkers = run.results.is_object() ? run.results.value("checkers", Json::object())
                                          : Json::object();
  AnomalyHtml anomalies =
      RenderAnomalies(checkers, *run.history, run.run_directory, report_directory,
                      AnomalyOptions{.value_form = run.value_form});
  for (std::string& warning : anomalies.warnings) warnings->push_back(std::move(warning));
  if (!anomalies.html.empty()) {
    *page += anomalies.html + "\n";
  } else {
    *page += "<section id=\"anomalies\"><h2>Anomalies</h2><p class=\"note\">None found.</p>"
             "</section>\n";
  }
}

void TimelineSection(const Timeline& timeline, const std::vector<FaultInterval>& faults,
                     std::string* page) {
  Json index = {{"unit", timeline.unit}, {"end", timeline.end}, {"fs", timeline.fs},
                {"first_window", timeline.first_window}, {"dir", "timeline/"}};
  Json chunks = Json::array();
  for (const TimelineChunk& chunk : timeline.chunks)
    chunks.push_back({chunk.first, chunk.last, chunk.reach, chunk.count});
  index["chunks"] = std::move(chunks);
  Json bands = Json::array();
  for (const FaultInterval& fault : faults) {
    int64_t start = 0, stop = 0;
    if (timeline.unit == "us") {
      start = fault.start_ns / 1000;
      stop = fault.stop_ns / 1000;
    } else {
      start = fault.start_position;
      stop = fault.stop_position >= 0 ? fault.stop_position : timeline.end;
    }
    bands.push_back({fault.kind, start, stop});
  }
  index["faults"] = std::move(bands);
  *page +=
      "<section id=\"timeline\"><h2>Operation timeline</h2>\n"
      "<p class=\"note\">One row per process (the nemesis first), time left to right; each bar "
      "runs from an op's invocation to its completion. Click a bar for its details. Shaded: "
      "faults.</p>\n"
      "<div class=\"controls\">"
      "<button id=\"tl-first\" title=\"start\">&laquo;</button>"
      "<button id=\"tl-prev\" title=\"earlier\">&lsaquo;</button>"
      "<button id=\"tl-next\" title=\"later\">&rsaquo;</button>"
      "<button id=\"tl-last\" title=\"end\">&raquo;</button>"
      "<button id=\"tl-zoom-in\" title=\"zoom in\">+</button>"
      "<button id=\"tl-zoom-out\" title=\"zoom out\">&minus;</button>"
      "<input id=\"tl-position\" type=\"range\" min=\"0\" max=\"1000\" value=\"0\">"
      "<span id=\"tl-window\"></span></div>\n"
      "<div id=\"timeline-status\" class=\"note\"></div>\n"
      "<div id=\"timeline-view\"></div>\n"
      "<pre id=\"timeline-detail\"></pre>\n"
      "<script type=\"application/json\" id=\"timeline-index\">" +
      ScriptJson(index) + "</script>\n</section>\n";
}

// The whole file into `text`, read at the size it has now in one call: a std::string built from
// istreambuf_iterators reads a byte at a time and regrows, which took 3x the CPU time and twice
// the memory on a 220 MB history (docs/performance.md, "Reports"). False when it cannot be read.
bool ReadFileText(const fs::path& path, std::string* text) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return false;
  const std::streamoff size = in.tellg();
  in.seekg(0);
  if (size < 0 || !in) {  // not seekable (a pipe): the slow way
    in.clear();
    text->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
  }
  text->resize(static_cast<size_t>(size));
  in.read(text->data(), size);
  text->resize(static_cast<size_t>(in.gcount()));  // shorter if it shrank meanwhile
  return !in.bad();
}

Result<Json> ReadJson(const fs::path& path) {
  std::string text;
  if (!ReadFileText(path, &text)) return Status::IoError(path.string() + ": cannot open");
  return ParseJson(text, path.string());
}

// Removes the chunk files (NNNN.js) of an earlier report, and nothing else.
void RemoveOldChunks(const fs::path& directory) {
  std::error_code error;
  for (fs::directory_iterator entry(directory, error), end; !error && entry != end;
       entry.increment(error)) {
    const std::string name = entry->path().filename().string();
    bool chunk = name.size() >= 7 && name.ends_with(".js") &&
                 std::all_of(name.begin(), name.end() - 3, [](char c) { return c >= '0' && c <= '9'; });
    std::error_code ignored;
    if (chunk) fs::remove(entry->path(), ignored);
  }
}

}  // namespace

std::string ScriptJson(const Json& value) {
  std::string text;
  AppendScriptSafe(value.dump(-1, ' ', false, Json::error_handler_t::replace), &text);
  return text;
}

namespace {

// BuildTimeline with the history's lenient pairing (core/validate.h) already made.
// Each chunk file's text is handed to `take_chunk` (its number, its text) as soon as it is made,
// so that only one is in memory at a time; a failure stops the build and is returned.
using ChunkSink = std::function<Status(size_t, std::string&&)>;

Result<Timeline> BuildTimeline(const History& history, ValueForm form,
                               const std::vector<int64_t>& partner, int64_t chunk_ops,
                               const ChunkSink& take_chunk) {
  chunk_ops = std::max<int64_t>(chunk_ops, 1);
  Timeline timeline;
  const std::vector<Op>& ops = history.ops;
  const bool timed = std::all_of(ops.begin(), ops.end(), [](const Op& op) { return op.time_ns >= 0; });
  timeline.unit = timed ? "us" : "position";
  auto time_of = [&](size_t position) {
    return timed ? ops[position].time_ns / 1000 : static_cast<int64_t>(position);
  };
  for (size_t position = 0; position < ops.size(); ++position)
    timeline.end = std::max(timeline.end, time_of(position));
  std::unordered_map<std::string_view, int32_t> ids;
  std::vector<TimelineEntry> entries;
  entries.reserve(ops.size() / 2 + 1);
  for (size_t position = 0; position < ops.size(); ++position) {
    const Op& op = ops[position];
    const int64_t other = partner[position];
    if (op.is_completion() && other >= 0) continue;  // drawn with its invocation
    auto [id, added] = ids.try_emplace(op.f, static_cast<int32_t>(timeline.fs.size()));
    if (added) timeline.fs.push_back(op.f);
    TimelineEntry entry;
    entry.f = id->second;
    entry.invoke = time_of(position);
    if (op.is_invoke()) {
      entry.invoke_position = static_cast<int64_t>(position);
      entry.completion_position = other;
      if (other >= 0) {
        entry.complete = std::max(entry.invoke, time_of(static_cast<size_t>(other)));
        entry.outcome = OutcomeCode(ops[static_cast<size_t>(other)].type);
      } else {
        entry.complete = timeline.end;
        entry.outcome = kTimelinePending;
      }
    } else {  // a completion nobody invoked (lenient): a point
      entry.completion_position = static_cast<int64_t>(position);
      entry.complete = entry.invoke;
      entry.outcome = OutcomeCode(op.type);
    }
    entries.push_back(entry);
  }
  // Invocation order; a history whose times step back (foreign files) is sorted, stably.
  auto earlier = [](const TimelineEntry& a, const TimelineEntry& b) { return a.invoke < b.invoke; };
  if (!std::is_sorted(entries.begin(), entries.end(), earlier))
    std::stable_sort(entries.begin(), entries.end(), earlier);

  // The first window runs from the first invocation to the latest completion of the first ops,
  // so that each of them is drawn whole (the last ones would otherwise sit on its right edge,
  // zero wide), but it never reaches past the invocation of the last op the page can draw.
  if (!entries.empty()) {
    const size_t first_ops = std::min(entries.size(), kFirstWindowOps);
    int64_t reach = entries[first_ops - 1].invoke;
    for (size_t i = 0; i < first_ops; ++i) reach = std::max(reach, entries[i].complete);
    if (entries.size() >= kMaxDrawnOps) reach = std::min(reach, entries[kMaxDrawnOps - 1].invoke);
    timeline.first_window = std::max<int64_t>(1, reach - entries.front().invoke);
  }
  const size_t per_chunk = static_cast<size_t>(chunk_ops);
  for (size_t begin = 0; begin < entries.size(); begin += per_chunk) {
    const size_t end = std::min(entries.size(), begin + per_chunk);
    const size_t number = timeline.chunks.size();
    TimelineChunk chunk;
    chunk.first = entries[begin].invoke;
    chunk.last = entries[end - 1].invoke;
    chunk.count = static_cast<int64_t>(end - begin);
    std::string text = "faultlineTimeline.addChunk(" + std::to_string(number) + ",[\n";
    text.reserve(64 * (end - begin));
    for (size_t i = begin; i < end; ++i) {
      chunk.reach = std::max(chunk.reach, entries[i].complete);
      if (i > begin) text += ",\n";
      AppendEntry(entries[i], history, form, &text);
    }
    text += "]);\n";
    timeline.chunks.push_back(chunk);
    if (Status taken = take_chunk(number, std::move(text)); !taken.ok()) return taken;
  }
  return timeline;
}

}  // namespace

Timeline BuildTimeline(const History& history, int64_t chunk_ops) {
  Result<Pairing> pairing = PairHistory(history, /*lenient=*/true);  // lenient: never fails
  std::vector<std::string> texts;
  Result<Timeline> timeline =
      BuildTimeline(history, ValueForm::kTree, pairing->partner, chunk_ops,
                    [&](size_t, std::string&& text) {
                      texts.push_back(std::move(text));
                      return Status::Ok();
                    });
  timeline->chunk_texts = std::move(texts);  // the sink never fails
  return std::move(*timeline);
}

Status WriteHtmlReport(const RunReport& run, const fs::path& report_directory,
                       const HtmlReportOptions& options, std::vector<std::string>* warnings) {
  const History& history = *run.history;
  std::error_code error;
  fs::create_directories(report_directory / "timeline", error);
  if (error)
    return Status::IoError(report_directory.string() + ": cannot create: " + error.message());
  RemoveOldChunks(report_directory / "timeline");

  Result<Pairing> pairing = PairHistory(history, /*lenient=*/true);  // lenient: never fails
  Result<Timeline> built =
      BuildTimeline(history, run.value_form, pairing->partner, options.chunk_ops,
                    [&](size_t chunk, std::string&& text) {
                      return WriteFileExclusively(
                          report_directory / "timeline" / ChunkFileName(chunk), text, kFileMode);
                    });
  if (!built.ok()) return built.status();
  const Timeline& timeline = *built;

  std::vector<FaultInterval> faults = FaultIntervals(history);
  int64_t end_ns = 0;
  for (const Op& op : history.ops) end_ns = std::max(end_ns, op.time_ns);

  const Json& test = run.test.is_object() ? run.test : history.header;
  const std::string name = test.value("name", test.value("test", std::string("faultline run")));
  const std::string verdict = run.results.is_object()
                                  ? VerdictName(run.results.value("valid", Json("unknown")))
                                  : "not checked";
  std::string page;
  page.reserve(64 * 1024);
  page += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>" + Html(name) + ": " + Html(verdict) + " &middot; faultline</title>\n<style>" +
          std::string(kReportStyle) + "</style></head>\n<body>\n<header><h1>" + Html(name) +
          " " + (run.results.is_object() ? VerdictBadge(run.results.value("valid", Json("unknown")))
                                         : std::string("<span class=\"verdict\">not checked</span>")) +
          "</h1>\n<nav><a href=\"#test\">test</a> <a href=\"#verdicts\">verdicts</a> "
          "<a href=\"#stats\">stats</a> <a href=\"#faults\">faults</a> <a href=\"#plots\">plots</a> "
          "<a href=\"#anomalies\">anomalies</a> <a href=\"#timeline\">timeline</a></nav></header>\n"
          "<main>\n";
  TestSection(run, timeline, &page);
  VerdictsSection(run, &page);
  StatsSection(run, &page);
  FaultsSection(history, faults, pairing->partner, end_ns, &page);
  PlotsSection(run, report_directory, warnings, &page);
  AnomaliesSection(run, report_directory, warnings, &page);
  TimelineSection(timeline, faults, &page);
  page += "</main>\n<script>" + std::string(kReportScript) + "</script>\n</body></html>\n";
  return WriteFileExclusively(report_directory / "index.html", page, kFileMode);
}

Result<StoredRun> ReadStoredRun(const fs::path& run_directory,
                                std::vector<std::string>* warnings, ValueForm value_form) {
  const fs::path history_file = run_directory / "history.jsonl";
  ReadOptions read_options;
  read_options.format = HistoryFormat::kJsonl;
  read_options.threads = 0;
  read_options.drop_torn_last_line = true;  // a run killed mid-write
  read_options.value_form = value_form;
  Result<History> history = ReadHistoryFile(history_file.string(), read_options);
  if (!history.ok()) return history.status();
  StoredRun run;
  run.history = std::move(*history);
  run.value_form = value_form;
  for (Op& op : run.history.ops) {
    // The fault table reads the nemesis's values; the texts were checked, so they parse.
    if (op.is_nemesis() && value_form == ValueForm::kText) {
      if (Status parsed = ParseValueTexts(&op); !parsed.ok()) return parsed;
    }
  }
  for (auto [file, into] : {std::pair{"test.json", &run.test}, std::pair{"results.json", &run.results}}) {
    std::error_code error;
    if (!fs::exists(run_directory / file, error)) continue;
    Result<Json> read = ReadJson(run_directory / file);
    if (read.ok() && read->is_object()) {
      *into = std::move(*read);
    } else {
      warnings->push_back(read.ok() ? (run_directory / file).string() + ": not a JSON object"
                                    : read.status().message());
    }
  }
  return run;
}

Status WriteRunReport(const fs::path& run_directory, const fs::path& report_directory,
                      std::vector<std::string>* warnings) {
  // The page only shows values: texts, not trees (a fifth of the time and memory for a 1M
  // list-append run).
  Result<StoredRun> stored = ReadStoredRun(run_directory, warnings, ValueForm::kText);
  if (!stored.ok()) return stored.status();
  RunReport run{&stored->history, stored->test, stored->results, run_directory,
                stored->value_form};
  return WriteHtmlReport(run, report_directory.empty() ? run_directory / "report" : report_directory,
                         {}, warnings);
}

}  // namespace faultline::reports
