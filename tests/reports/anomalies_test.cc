// The anomaly sections of the report (reports/anomalies.h), rendered from real checker results'
// JSON as results.json stores them, and the Graphviz runner (reports/graphviz.h).
#include "reports/anomalies.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "checker/linearizable/linearizable.h"
#include "checker/session/session.h"
#include "checker/txn/txn.h"
#include "core/history_io.h"
#include "reports/graphviz.h"
#include "reports/html.h"
#include "support/command.h"
#include "support/junit_schema.h"
#include "support/skip.h"
#include "support/temp_folder.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMs = 1'000'000;
constexpr char kDot[] = "/usr/bin/dot";
const std::string kCases = std::string(FAULTLINE_TEST_DATA) + "/elle/cases/";

#define FAULTLINE_REQUIRE_DOT() \
  if (!fs::exists(kDot)) FAULTLINE_SKIP() << kDot << " is missing (graphviz, scripts/setup.sh)"

class AnomaliesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(folder_.empty()); }

  void Add(int64_t time_ms, OpType type, int64_t process, const std::string& f, Json value) {
    const auto index = static_cast<int64_t>(history_.ops.size());
    history_.ops.push_back({.index = index, .time_ns = time_ms * kMs, .type = type,
                            .process = process, .f = f, .value = std::move(value),
                            .error = nullptr, .extra = nullptr, .line = 0});
  }
  // A register history no order explains: 1 then 2 are written one after the other, then a read
  // that starts after both returns `read`.
  void StaleRead(const Json& first, const Json& second, const Json& read) {
    Add(0, OpType::kInvoke, 0, "write", first);
    Add(10, OpType::kOk, 0, "write", first);
    Add(20, OpType::kInvoke, 1, "write", second);
    Add(30, OpType::kOk, 1, "write", second);
    Add(40, OpType::kInvoke, 2, "read", nullptr);
    Add(50, OpType::kOk, 2, "read", read);
  }
  Json Linearizable() {
    Result<LinearizableResult> checked = CheckLinearizable(history_, {"cas-register", nullptr});
    EXPECT_TRUE(checked.ok()) << checked.status().message();
    EXPECT_EQ(checked->verdict, Verdict::kInvalid);
    return Json{{"linearizable", checked->ToJson()}};
  }
  Json ListAppend(const std::string& file) {
    Result<History> read = ReadHistoryFile(kCases + file);
    EXPECT_TRUE(read.ok()) << read.status().message();
    history_ = *read;
    Result<TxnResult> checked = CheckTransactions(history_);
    EXPECT_TRUE(checked.ok()) << checked.status().message();
    EXPECT_EQ(checked->verdict, Verdict::kInvalid);
    return Json{{"list-append", checked->ToJson()}};
  }
  AnomalyHtml Render(const Json& checkers, const std::string& dot = kDot) {
    AnomalyOptions options;
    options.dot_command = dot;
    return RenderAnomalies(checkers, history_, folder_, folder_, options);
  }

  testing::TempFolder temp_{"faultline_anomalies_"};  // removed with everything in it
  const fs::path& folder_ = temp_.path();
  History history_;
};

std::vector<fs::path> Files(const fs::path& folder, const std::string& extension) {
  std::vector<fs::path> found;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().extension() == extension) found.push_back(entry.path());
  }
  return found;
}

std::string Contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

testing::CommandOutput Xmllint(const fs::path& path) {
  return testing::RunCommand(std::string(testing::kXmllint) + " --noout '" + path.string() + "'");
}

// The inline timeline drawing, cut out of the fragment.
std::string InlineSvg(const std::string& html) {
  const size_t begin = html.find("<svg");
  const size_t end = html.find("</svg>");
  if (begin == std::string::npos || end == std::string::npos) return "";
  return html.substr(begin, end + 6 - begin);
}

TEST_F(AnomaliesTest, LinearizabilityNamesTheFailingOpAndShowsThePrefixWithStates) {
  StaleRead(1, 2, 1);
  const Json checkers = Linearizable();
  AnomalyHtml rendered = Render(checkers);
  const std::string& html = rendered.html;
  EXPECT_TRUE(rendered.warnings.empty());
  EXPECT_NE(html.find("<section id=\"anomalies\">"), std::string::npos) << html;
  EXPECT_NE(html.find("data-checker=\"linearizable\""), std::string::npos) << html;
  // The op that could not be placed: the read's completion (index 5), returning 1.
  EXPECT_NE(html.find("Could not be placed: <code>process 2 ok read 1 (index 5)</code>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<tr class=\"failed\">"), std::string::npos) << html;
  // The longest linearization: both writes with the register's state after each.
  const Json& prefix = checkers["linearizable"]["longest_linearizable_prefix"];
  ASSERT_EQ(prefix.size(), 2u) << prefix.dump();
  for (size_t step = 0; step < prefix.size(); ++step) {
    const std::string row = "<tr><td>" + std::to_string(step + 1) + "</td><td>" +
                            std::to_string(step) + "</td><td><code>" +
                            HtmlEscape(prefix[step]["op"].get<std::string>()) +
                            "</code></td><td>" + std::to_string(2 * step) + ".." +
                            std::to_string(2 * step + 1) + "</td><td><code>" +
                            HtmlEscape(prefix[step]["state"].get<std::string>()) + "</code>";
    EXPECT_NE(html.find(row), std::string::npos) << row << "\n" << html;
  }
  EXPECT_NE(prefix[1]["state"].get<std::string>().find('2'), std::string::npos);
  // The timeline: one lane per process, the failing call red, the linearized ones green.
  const std::string svg = InlineSvg(html);
  ASSERT_FALSE(svg.empty()) << html;
  for (const char* lane : {">process 0<", ">process 1<", ">process 2<"}) {
    EXPECT_NE(svg.find(lane), std::string::npos) << lane;
  }
  EXPECT_NE(svg.find("class=\"call failed\""), std::string::npos) << svg;
  size_t linearized = 0;
  for (size_t at = 0; (at = svg.find("class=\"call linearized\"", at)) != std::string::npos; ++at) {
    ++linearized;
  }
  EXPECT_EQ(linearized, 2u) << svg;
}

// A dense window: many short calls with long values beside a few long ones. Every label fits
// inside its own bar (11px monospace, 6.6px a character), so no two labels run over each other,
// and a failed call's bar ends at its completion instead of running to the edge.
TEST_F(AnomaliesTest, DenseCallsKeepTheirLabelsInsideTheirBars) {
  const std::string long_value(40, 'v');
  Add(0, OpType::kInvoke, 0, "write", 1);
  for (int i = 0; i < 40; ++i) {
    Add(1 + 2 * i, OpType::kInvoke, 1, "write", long_value + std::to_string(i));
    Add(2 + 2 * i, i == 35 ? OpType::kFail : OpType::kOk, 1, "write",
        long_value + std::to_string(i));
  }
  Add(100, OpType::kOk, 0, "write", 1);
  Add(110, OpType::kInvoke, 2, "read", nullptr);
  Add(120, OpType::kOk, 2, "read", 7);  // never written: cannot be placed
  const std::string svg = InlineSvg(Render(Linearizable()).html);
  ASSERT_FALSE(svg.empty());
  const std::regex call("<g class=\"call[^\"]*\"><title>([^<]*)</title><rect x=\"([-0-9.]+)\" "
                        "y=\"[-0-9.]+\" width=\"([-0-9.]+)\"[^>]*/>(<text x=\"([-0-9.]+)\"[^>]*>"
                        "([^<]*)</text>)?</g>");
  size_t calls = 0, labelled = 0, failed = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), call); it != std::sregex_iterator();
       ++it) {
    const std::smatch& match = *it;
    ++calls;
    const double left = std::stod(match[2]), right = left + std::stod(match[3]);
    if (match[4].matched) {
      ++labelled;
      const std::string text = match[6];
      size_t characters = 0;  // code points; "&amp;" and the like count as one
      for (size_t at = 0; at < text.size(); ++at) {
        if (text[at] == '&') at = text.find(';', at);
        if ((static_cast<unsigned char>(text[at]) & 0xC0) != 0x80) ++characters;
      }
      EXPECT_GE(std::stod(match[5]), left) << match[0];
      EXPECT_LE(std::stod(match[5]) + 6.6 * static_cast<double>(characters), right + 0.1)
          << match[0];
    }
    if (std::string(match[1]).find("(fail)") != std::string::npos) {
      ++failed;
      EXPECT_LT(right, 900) << "a failed call runs to the edge: " << match[0];
    }
  }
  EXPECT_GE(calls, 10u) << svg;  // the window: 10 calls per process around the failing one
  EXPECT_EQ(failed, 1u) << svg;
  EXPECT_GE(labelled, 2u) << svg;  // the long calls still say what they are
}

// A run's report reads client values as text (ValueForm::kText); the linearizability drawing of
// a keyed (kv) failure picks the failing key's calls from those texts exactly as from trees.
TEST_F(AnomaliesTest, KeyedFailureDrawsTheSameFromValueTexts) {
  for (const char* key : {"x", "y"}) {
    Add(0, OpType::kInvoke, 0, "write", Json::array({key, 1}));
    Add(10, OpType::kOk, 0, "write", Json::array({key, 1}));
  }
  Add(20, OpType::kInvoke, 1, "write", Json::array({"x", 2}));
  Add(30, OpType::kOk, 1, "write", Json::array({"x", 2}));
  Add(40, OpType::kInvoke, 2, "read", Json::array({"x", nullptr}));
  Add(50, OpType::kOk, 2, "read", Json::array({"x", 1}));  // stale: 2 was written before
  Add(60, OpType::kInvoke, 3, "read", Json::array({"y", nullptr}));
  Add(70, OpType::kOk, 3, "read", Json::array({"y", 1}));
  Result<LinearizableResult> checked = CheckLinearizable(history_, {"kv", nullptr});
  ASSERT_TRUE(checked.ok()) << checked.status().message();
  ASSERT_EQ(checked->verdict, Verdict::kInvalid);
  ASSERT_EQ(checked->partition_key, "x");
  const Json checkers = {{"linearizable", checked->ToJson()}};
  const std::string from_trees = Render(checkers).html;
  const fs::path file = folder_ / "history.jsonl";
  ASSERT_TRUE(WriteJsonlFile(history_, file.string()).ok());
  ReadOptions options;
  options.value_form = ValueForm::kText;
  Result<History> texts = ReadHistoryFile(file.string(), options);
  ASSERT_TRUE(texts.ok()) << texts.status().message();
  ASSERT_TRUE(texts->ops[0].value.is_string());
  AnomalyOptions text_options;
  text_options.dot_command = kDot;
  text_options.value_form = ValueForm::kText;
  const std::string from_texts =
      RenderAnomalies(checkers, *texts, folder_, folder_, text_options).html;
  EXPECT_EQ(from_texts, from_trees);
  const std::string svg = InlineSvg(from_texts);
  EXPECT_NE(svg.find("write [&quot;x&quot;,2]"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("&quot;y&quot;"), std::string::npos) << "another key's call drawn: " << svg;
}

TEST_F(AnomaliesTest, ValidResultsAddNothing) {
  StaleRead(1, 2, 2);
  Result<LinearizableResult> checked = CheckLinearizable(history_, {"cas-register", nullptr});
  ASSERT_TRUE(checked.ok());
  ASSERT_EQ(checked->verdict, Verdict::kValid);
  AnomalyHtml rendered = Render({{"linearizable", checked->ToJson()}});
  EXPECT_EQ(rendered.html, "");
  EXPECT_TRUE(rendered.warnings.empty());
}

TEST_F(AnomaliesTest, HostileValuesShowAsText) {
  FAULTLINE_REQUIRE_XMLLINT();
  const std::string hostile = "<script>alert(1)</script>";
  StaleRead(hostile, "&x; \"'", hostile);
  const std::string html = Render(Linearizable()).html;
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << html;
  EXPECT_EQ(html.find("&x;"), std::string::npos) << html;
  // The inline timeline is well-formed XML with the value as text.
  const fs::path svg = folder_ / "timeline.svg";
  std::ofstream(svg) << InlineSvg(html);
  testing::CommandOutput lint = Xmllint(svg);
  EXPECT_EQ(lint.exit_code, 0) << lint.out;
}

TEST_F(AnomaliesTest, GSingleCycleIsDrawnAsValidSvgWithItsExplanation) {
  FAULTLINE_REQUIRE_DOT();
  FAULTLINE_REQUIRE_XMLLINT();
  const Json checkers = ListAppend("la-G-single.edn");
  AnomalyHtml rendered = Render(checkers);
  EXPECT_TRUE(rendered.warnings.empty()) << rendered.warnings.front();
  const std::string& html = rendered.html;
  bool found = false;
  for (const Json& anomaly : checkers["list-append"]["anomalies"]) {
    if (anomaly["type"] != "G-single-item") continue;  // Elle names it so too
    found = true;
    const std::string explanation = HtmlEscape(anomaly["explanation"].get<std::string>());
    EXPECT_NE(html.find("<p class=\"explanation\">" + explanation + "</p>"), std::string::npos)
        << html;
  }
  ASSERT_TRUE(found) << checkers.dump();
  EXPECT_NE(html.find("data-type=\"G-single-item\""), std::string::npos) << html;
  EXPECT_NE(html.find("<img src=\"anomalies/list-append-G-single-item-0.svg\""), std::string::npos)
      << html;
  const fs::path svg = folder_ / "anomalies" / "list-append-G-single-item-0.svg";
  ASSERT_TRUE(fs::exists(svg));
  testing::CommandOutput lint = Xmllint(svg);
  EXPECT_EQ(lint.exit_code, 0) << lint.out;
  const std::string drawing = Contents(svg);
  EXPECT_NE(drawing.find("<svg"), std::string::npos);
  EXPECT_NE(drawing.find("T1"), std::string::npos);
  EXPECT_NE(drawing.find("rw"), std::string::npos);  // G-single: exactly one rw edge
  for (const fs::path& partial : Files(folder_ / "anomalies", ".log")) ADD_FAILURE() << partial;
}

TEST_F(AnomaliesTest, G1cCycleIsDrawnToo) {
  FAULTLINE_REQUIRE_DOT();
  const Json checkers = ListAppend("la-G1c.edn");
  AnomalyHtml rendered = Render(checkers);
  EXPECT_TRUE(rendered.warnings.empty());
  EXPECT_NE(rendered.html.find("data-type=\"G1c\""), std::string::npos) << rendered.html;
  EXPECT_TRUE(fs::exists(folder_ / "anomalies" / "list-append-G1c-0.svg"));
}

TEST_F(AnomaliesTest, MissingDotIsOneWarningAndTheDotTextIsShown) {
  Json checkers = ListAppend("la-G1c.edn");
  checkers["list-append-again"] = checkers["list-append"];  // two cycles at least
  AnomalyHtml rendered = Render(checkers, (folder_ / "no-such-dot").string());
  ASSERT_EQ(rendered.warnings.size(), 1u);
  EXPECT_NE(rendered.warnings[0].find("no-such-dot"), std::string::npos) << rendered.warnings[0];
  EXPECT_NE(rendered.html.find("<pre class=\"dot\">digraph"), std::string::npos) << rendered.html;
  EXPECT_EQ(rendered.html.find("<img"), std::string::npos);
  EXPECT_TRUE(Files(folder_ / "anomalies", ".svg").empty());
}

TEST_F(AnomaliesTest, SessionViolationsShowTheirWitnesses) {
  Add(0, OpType::kInvoke, 0, "txn", Json::parse(R"([["append","x",1]])"));
  Add(1, OpType::kOk, 0, "txn", Json::parse(R"([["append","x",1]])"));
  Add(2, OpType::kInvoke, 0, "txn", Json::parse(R"([["r","x",null]])"));
  Add(3, OpType::kOk, 0, "txn", Json::parse(R"([["r","x",[]]])"));
  Result<SessionResult> checked = CheckSessions(history_);
  ASSERT_TRUE(checked.ok()) << checked.status().message();
  ASSERT_EQ(checked->verdict, Verdict::kInvalid);
  const Json checkers = {{"session", checked->ToJson()}};
  const std::string html = Render(checkers).html;
  EXPECT_NE(html.find("data-guarantee=\"read-your-writes\""), std::string::npos) << html;
  const Json& witness = checkers["session"]["guarantees"]["read-your-writes"]["witnesses"][0];
  for (const Json& op : witness["ops"]) {
    EXPECT_NE(html.find("<code>" + HtmlEscape(op["action"].get<std::string>()) + "</code>"),
              std::string::npos)
        << op.dump() << "\n" << html;
  }
  EXPECT_NE(html.find("<p class=\"conclusion\">" +
                      HtmlEscape(witness["conclusion"].get<std::string>()) +
                      ": read-your-writes violated</p>"),
            std::string::npos)
      << html;
}

// A cycle whose transactions hold markup and an entity-like value still draws as valid XML, the
// value as text (TxnCycleDot escapes & for Graphviz, which reads entities in labels).
TEST_F(AnomaliesTest, HostileValuesInACycleDrawAsText) {
  FAULTLINE_REQUIRE_DOT();
  FAULTLINE_REQUIRE_XMLLINT();
  const Json anomaly = Json::parse(R"({"type": "G<0>", "explanation": "<b>x</b>",
      "txns": [{"index": 1, "process": 0, "type": "ok", "value": [["append", "<script>", "&x;"]]},
               {"index": 3, "process": 1, "type": "ok", "value": [["append", "\"k\\", "&lt;"]]}],
      "cycle": [{"from": "T1", "to": "T2", "kind": "ww", "why": "&lt;"},
                {"from": "T2", "to": "T1", "kind": "ww", "why": "\"q\""}]})");
  const Json checkers = {{"list-append", {{"valid", false}, {"anomaly_types", {"G<0>"}},
                                          {"anomalies", {anomaly}}}}};
  AnomalyHtml rendered = Render(checkers);
  EXPECT_TRUE(rendered.warnings.empty()) << rendered.warnings.front();
  EXPECT_EQ(rendered.html.find("<b>"), std::string::npos) << rendered.html;
  EXPECT_NE(rendered.html.find("&lt;b&gt;x&lt;/b&gt;"), std::string::npos) << rendered.html;
  const fs::path svg = folder_ / "anomalies" / "list-append-G_0_-0.svg";
  ASSERT_TRUE(fs::exists(svg)) << rendered.html;
  testing::CommandOutput lint = Xmllint(svg);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << Contents(svg);
  const std::string drawing = Contents(svg);
  EXPECT_EQ(drawing.find("<script>"), std::string::npos);
  EXPECT_NE(drawing.find("&lt;script&gt;"), std::string::npos) << drawing;
  EXPECT_NE(drawing.find("&amp;x;"), std::string::npos) << drawing;
  // "&lt;" is the value's own text, not an entity Graphviz should turn into "<".
  EXPECT_NE(drawing.find("&quot;&amp;lt;&quot;"), std::string::npos) << drawing;
}

// A two-transaction cycle has two opposite edges between the same pair, drawn side by side: their
// labels stay apart by at least a character (they once ran together as "rwww").
TEST_F(AnomaliesTest, OppositeEdgeLabelsDoNotTouch) {
  FAULTLINE_REQUIRE_DOT();
  const Json anomaly = Json::parse(R"({"type": "G-single", "explanation": "x",
      "txns": [{"index": 1, "process": 0, "type": "ok", "value": [["r", "x", [1]], ["append", "y", 2]]},
               {"index": 3, "process": 1, "type": "ok", "value": [["append", "x", 2], ["r", "y", []]]}],
      "cycle": [{"from": "T1", "to": "T2", "kind": "rw", "why": "a"},
                {"from": "T2", "to": "T1", "kind": "ww", "why": "b"}]})");
  const Json checkers = {{"list-append", {{"valid", false}, {"anomaly_types", {"G-single"}},
                                          {"anomalies", {anomaly}}}}};
  AnomalyHtml rendered = Render(checkers);
  EXPECT_TRUE(rendered.warnings.empty()) << rendered.warnings.front();
  const fs::path svg = folder_ / "anomalies" / "list-append-G-single-0.svg";
  ASSERT_TRUE(fs::exists(svg)) << rendered.html;
  const std::string drawing = Contents(svg);
  // Each edge label is a <text> centred on x; its glyphs are about 0.6 em wide (monospace, or
  // narrower for a serif font).
  struct Label { double x = 0, size = 0; size_t characters = 0; };
  auto label = [&](const std::string& kind) {
    const std::regex text("<text[^>]* x=\"([-0-9.]+)\"[^>]* font-size=\"([0-9.]+)\"[^>]*>\\s*" +
                          kind + "\\s*</text>");
    std::smatch match;
    EXPECT_TRUE(std::regex_search(drawing, match, text)) << kind << " not drawn: " << drawing;
    return match.empty() ? Label{}
                         : Label{std::stod(match[1]), std::stod(match[2]), kind.size()};
  };
  const Label rw = label("rw");
  const Label ww = label("ww");
  const double half_widths = 0.3 * (rw.size * rw.characters + ww.size * ww.characters);
  EXPECT_GE(std::abs(rw.x - ww.x) - half_widths, std::min(rw.size, ww.size) * 0.6) << drawing;
}

TEST(Graphviz, AProgramPastItsTimeIsKilledWithOneWarning) {
  const fs::path folder = fs::temp_directory_path() / ("faultline_dot_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const fs::path slow = folder / "slow-dot";
  std::ofstream(slow) << "#!/bin/sh\nexec sleep 30\n";
  ::chmod(slow.c_str(), 0755);
  std::ofstream(folder / "a.dot") << "digraph { a -> b }\n";
  DotDrawer drawer({slow.string(), 0.3});
  std::vector<std::string> warnings;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(drawer.DrawDirectory(folder, &warnings), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("timed out"), std::string::npos) << warnings[0];
  EXPECT_FALSE(fs::exists(folder / "a.svg"));
  EXPECT_EQ(Files(folder, ".log").size(), 0u);
  fs::remove_all(folder);
}

TEST(Graphviz, DrawsEveryDotFileOfAFolderAndItsFolders) {
  if (!fs::exists(kDot)) FAULTLINE_SKIP() << kDot << " is missing";
  const fs::path folder = fs::temp_directory_path() / ("faultline_dots_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  std::ofstream(folder / "a.dot") << "digraph { a -> b }\n";
  fs::create_directories(folder / "list-append");  // a composition's checker's own folder
  std::ofstream(folder / "list-append" / "b.dot") << "digraph { c -> d }\n";
  std::ofstream(folder / "broken.dot") << "digraph { -> }\n";
  std::vector<std::string> warnings;
  DotDrawer drawer({kDot});
  EXPECT_EQ(drawer.DrawDirectory(folder, &warnings), 2u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("broken.dot"), std::string::npos) << warnings[0];
  EXPECT_TRUE(fs::exists(folder / "a.svg"));
  EXPECT_TRUE(fs::exists(folder / "list-append" / "b.svg"));
  EXPECT_FALSE(fs::exists(folder / "broken.svg"));
  fs::remove_all(folder);
}

}  // namespace
}  // namespace faultline::reports
