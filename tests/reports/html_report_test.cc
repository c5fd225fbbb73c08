#include "reports/html_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/history_io.h"
#include "support/temp_folder.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMs = 1'000'000;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// The part of `page` from `<section id="ID"` to its `</section>`.
std::string Section(const std::string& page, const std::string& id) {
  size_t begin = page.find("<section id=\"" + id + "\"");
  if (begin == std::string::npos) return "";
  size_t end = page.find("</section>", begin);
  return page.substr(begin, end - begin);
}

// The ops of a chunk file, parsed back: the text is `faultlineTimeline.addChunk(N,[...]);`.
Json ChunkOps(const std::string& text, int64_t number) {
  std::string prefix = "faultlineTimeline.addChunk(" + std::to_string(number) + ",";
  EXPECT_EQ(text.rfind(prefix, 0), 0u) << text.substr(0, 80);
  EXPECT_TRUE(text.ends_with(");\n"));
  return Json::parse(text.substr(prefix.size(), text.size() - prefix.size() - 3));
}

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(folder_.empty()); }

  void Add(int64_t time_ms, OpType type, int64_t process, const std::string& f, Json value = nullptr,
           Json error = nullptr) {
    const auto index = static_cast<int64_t>(history_.ops.size());
    history_.ops.push_back({.index = index, .time_ns = time_ms * kMs, .type = type,
                            .process = process, .f = f, .value = std::move(value),
                            .error = std::move(error), .extra = nullptr, .line = 0});
  }

  // A register run over 4 s: writes and reads, one failed write, a partition of n1 and n2 from
  // 1 s to 3 s, stored as a run folder with test.json, results.json and two perf plots.
  void StoreSmallRun() {
    history_.header = {{"test", "small-register"}, {"seed", 42}, {"nodes", {"n1", "n2", "n3"}}};
    Add(100, OpType::kInvoke, 0, "write", 1);
    Add(110, OpType::kOk, 0, "write", 1);
    Add(200, OpType::kInvoke, 1, "read");
    Add(205, OpType::kOk, 1, "read", 1);
    Add(1000, OpType::kInvoke, kNemesisProcess, "start-partition");
    Add(1010, OpType::kInfo, kNemesisProcess, "start-partition", Json({"n1", "n2"}));
    Add(1500, OpType::kInvoke, 0, "write", 2);
    Add(1540, OpType::kFail, 0, "write", 2, "timeout");
    Add(3000, OpType::kInvoke, kNemesisProcess, "stop-partition");
    Add(3005, OpType::kOk, kNemesisProcess, "stop-partition", "healed");
    Add(4000, OpType::kInvoke, 1, "read");
    Add(4003, OpType::kOk, 1, "read", 1);
    ASSERT_TRUE(WriteJsonlFile(history_, (folder_ / "history.jsonl").string()).ok());
    std::ofstream(folder_ / "test.json")
        << Json({{"name", "small-register"}, {"seed", 42}, {"nodes", {"n1", "n2", "n3"}},
                 {"concurrency", 2}, {"workload", "register"}})
               .dump();
    Json stats = {{"valid", true}, {"count", 5}, {"ok_count", 4}, {"fail_count", 1},
                  {"info_count", 0},
                  {"by_f",
                   {{"read", {{"count", 2}, {"ok_count", 2}, {"fail_count", 0}, {"info_count", 0}}},
                    {"write", {{"count", 3}, {"ok_count", 2}, {"fail_count", 1}, {"info_count", 0}}}}},
                  {"never_succeeded", Json::array()}};
    std::ofstream(folder_ / "results.json")
        << Json({{"valid", false},
                 {"checkers",
                  {{"linearizable", {{"valid", false}, {"error", "cannot linearize read 1"}}},
                   {"stats", stats}}}})
               .dump();
    fs::create_directories(folder_ / "checker" / "perf");
    std::ofstream(folder_ / "checker" / "perf" / "latency-raw.png") << "PNG bytes";
    std::ofstream(folder_ / "checker" / "perf" / "latency-raw.svg") << "<svg/>";
    std::ofstream(folder_ / "checker" / "perf" / "rate.svg") << "<svg/>";
  }

  std::string WriteAndRead() {
    std::vector<std::string> warnings;
    Status written = WriteRunReport(folder_, "", &warnings);
    EXPECT_TRUE(written.ok()) << written.message();
    return ReadText(folder_ / "report" / "index.html");
  }

  testing::TempFolder temp_{"faultline_html_"};
  const fs::path folder_ = temp_.path();
  History history_;
};

TEST_F(HtmlReportTest, EverySectionShowsTheRunsData) {
  StoreSmallRun();
  std::string page = WriteAndRead();
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);

  std::string test = Section(page, "test");
  EXPECT_NE(test.find("small-register"), std::string::npos) << test;
  EXPECT_NE(test.find("<th>seed</th><td>42</td>"), std::string::npos) << test;
  EXPECT_NE(test.find("n1, n2, n3"), std::string::npos) << test;
  EXPECT_NE(test.find("4.003 s"), std::string::npos) << test;  // duration: the last op's time
  EXPECT_NE(test.find("<th>workload</th><td>register</td>"), std::string::npos) << test;

  std::string verdicts = Section(page, "verdicts");
  EXPECT_NE(verdicts.find("data-checker=\"linearizable\"><td>linearizable</td><td><span "
                          "class=\"verdict v-invalid\">invalid</span>"),
            std::string::npos)
      << verdicts;
  EXPECT_NE(verdicts.find("data-checker=\"stats\"><td>stats</td><td><span class=\"verdict "
                          "v-valid\">valid</span>"),
            std::string::npos)
      << verdicts;
  EXPECT_NE(verdicts.find("cannot linearize read 1"), std::string::npos);

  std::string stats = Section(page, "stats");
  EXPECT_NE(stats.find("<td>write</td><td class=\"num\">3</td><td class=\"num\">2</td><td "
                       "class=\"num\">1</td><td class=\"num\">0</td>"),
            std::string::npos)
      << stats;
  EXPECT_NE(stats.find("<td>all</td><td class=\"num\">5</td>"), std::string::npos) << stats;

  std::string faults = Section(page, "faults");
  EXPECT_NE(faults.find("<td>partition</td><td class=\"num\">1.000</td><td class=\"num\">3.005"
                        "</td><td class=\"num\">2.005</td>"),
            std::string::npos)
      << faults;
  EXPECT_NE(faults.find("[&quot;n1&quot;,&quot;n2&quot;]"), std::string::npos) << faults;
  EXPECT_NE(faults.find("class=\"fault-bar k0\" style=\"left:24.981%;width:50.087%\""),
            std::string::npos)
      << faults;

  // Plots: copied beside the page (it survives being moved), PNG shown, SVG linked.
  std::string plots = Section(page, "plots");
  EXPECT_NE(plots.find("<a href=\"plots/latency-raw.svg\"><img src=\"plots/latency-raw.png\""),
            std::string::npos)
      << plots;
  EXPECT_NE(plots.find("<img src=\"plots/rate.svg\""), std::string::npos) << plots;
  EXPECT_EQ(plots.find("availability"), std::string::npos) << "no file, no figure";
  EXPECT_EQ(ReadText(folder_ / "report" / "plots" / "latency-raw.png"), "PNG bytes");

  EXPECT_NE(page.find("<section id=\"anomalies\""), std::string::npos);

  std::string timeline = Section(page, "timeline");
  EXPECT_NE(timeline.find("<div id=\"timeline-view\">"), std::string::npos);
  EXPECT_NE(timeline.find("\"faults\":[[\"partition\",1000000,3005000]]"), std::string::npos)
      << timeline;
  Json ops = ChunkOps(ReadText(folder_ / "report" / "timeline" / "0000.js"), 0);
  ASSERT_EQ(ops.size(), 6u);  // 4 client ops and 2 nemesis ops, each invocation with its completion
  EXPECT_EQ(ops[0], Json::parse(R"([100000,110000,0,0,0,1,1,null,0])"));
  EXPECT_EQ(ops[3], Json::parse(R"([1500000,1540000,0,0,1,2,2,"timeout",6])"));
}

TEST_F(HtmlReportTest, ARunWithoutResultsOrPlotsSaysSo) {
  Add(100, OpType::kInvoke, 0, "write", 1);
  ASSERT_TRUE(WriteJsonlFile(history_, (folder_ / "history.jsonl").string()).ok());
  std::string page = WriteAndRead();
  EXPECT_NE(Section(page, "verdicts").find("Not checked"), std::string::npos);
  EXPECT_NE(Section(page, "stats").find("No stats checker result"), std::string::npos);
  EXPECT_NE(Section(page, "faults").find("No faults"), std::string::npos);
  EXPECT_NE(Section(page, "plots").find("No plots"), std::string::npos);
  // Never completed: drawn to the history's end, outcome 3.
  Json ops = ChunkOps(ReadText(folder_ / "report" / "timeline" / "0000.js"), 0);
  EXPECT_EQ(ops, Json::parse(R"([[100000,100000,0,0,3,1,null,null,0]])"));
}

// Every text from the history, the test or the results shows as text: nothing a value holds can
// open an element or end a script.
TEST_F(HtmlReportTest, EveryValueIsEscaped) {
  const std::string evil = "<script>alert(1)</script>";
  history_.header = {{"test", evil}};
  Add(100, OpType::kInvoke, 0, evil, evil);
  Add(110, OpType::kOk, 0, evil, "</script><img src=x onerror=alert(2)>", evil);
  Add(200, OpType::kInvoke, kNemesisProcess, "start-" + evil, evil);
  Add(210, OpType::kOk, kNemesisProcess, "start-" + evil, evil);
  ASSERT_TRUE(WriteJsonlFile(history_, (folder_ / "history.jsonl").string()).ok());
  std::ofstream(folder_ / "test.json") << Json({{"name", evil}, {"seed", evil}, {evil, evil}}).dump();
  std::ofstream(folder_ / "results.json")
      << Json({{"valid", evil},
               {"checkers",
                {{evil, {{"valid", false}, {"error", evil}}},
                 {"stats",
                  {{"valid", "unknown"},
                   {"by_f", {{evil, {{"count", 1}, {"ok_count", 0}}}}},
                   {"never_succeeded", {evil}}}}}}})
             .dump();
  std::string page = WriteAndRead();
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("<title>&lt;script&gt;alert(1)&lt;/script&gt;: unknown"), std::string::npos);
  // Exactly the page's own scripts: the timeline's index and the code.
  EXPECT_EQ(Count(page, "<script"), 2u);
  EXPECT_EQ(Count(page, "</script>"), 2u);
  // The inline JSON and the chunk file hold no '<' at all (\u003c), yet parse back to the values.
  std::string index = page.substr(page.find("id=\"timeline-index\">"));
  index = index.substr(index.find('>') + 1, index.find("</script>") - index.find('>') - 1);
  EXPECT_EQ(index.find('<'), std::string::npos) << index;
  EXPECT_EQ(Json::parse(index)["fs"][0], evil);
  std::string chunk = ReadText(folder_ / "report" / "timeline" / "0000.js");
  EXPECT_EQ(chunk.find('<'), std::string::npos) << chunk;
  Json ops = ChunkOps(chunk, 0);
  EXPECT_EQ(ops[0][5], evil);
  EXPECT_EQ(ops[0][6], "</script><img src=x onerror=alert(2)>");
  EXPECT_EQ(ops[0][7], evil);
}

// A stored run's report reads client values as text (ValueForm::kText) and copies them into the
// chunk files; those files are byte for byte the ones made from the values as trees.
TEST_F(HtmlReportTest, ChunksFromValueTextsEqualChunksFromTrees) {
  const std::vector<Json> values = {
      Json::parse(R"([["append",3,7],["r",4,null],["r",5,[1,2,3]]])"),
      "<script>alert(1)</script> & \"quoted\" \\ caf\u00e9 \u2028",
      2.5, -0.0, 1e300, Json::parse(R"({"k":[true,false,null],"z":{}})"), nullptr, -42};
  int64_t time = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const auto process = static_cast<int64_t>(i % 3);
    Add(time++, OpType::kInvoke, process, "txn", values[i]);
    Add(time++, i % 4 == 3 ? OpType::kFail : OpType::kOk, process, "txn",
        values[(i + 1) % values.size()], i % 4 == 3 ? values[i] : Json(nullptr));
  }
  Add(time++, OpType::kInvoke, kNemesisProcess, "start-partition", "<n1>");
  Add(time++, OpType::kInfo, kNemesisProcess, "start-partition", Json({"n1", "<n2>"}));
  Add(time++, OpType::kInvoke, 0, "txn", values[0]);  // never completes
  ASSERT_TRUE(WriteJsonlFile(history_, (folder_ / "history.jsonl").string()).ok());
  std::vector<std::string> warnings;
  Result<StoredRun> stored = ReadStoredRun(folder_, &warnings, ValueForm::kText);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_EQ(stored->history.ops[0].value, values[0].dump());  // a text, not a tree
  RunReport run{&stored->history, nullptr, nullptr, "", stored->value_form};
  ASSERT_TRUE(WriteHtmlReport(run, folder_ / "report", {.chunk_ops = 3}, &warnings).ok());
  const Timeline trees = BuildTimeline(history_, 3);
  ASSERT_EQ(trees.chunk_texts.size(), 4u);
  for (size_t chunk = 0; chunk < trees.chunk_texts.size(); ++chunk) {
    char name[16];
    std::snprintf(name, sizeof name, "%04zu.js", chunk);
    EXPECT_EQ(ReadText(folder_ / "report" / "timeline" / name), trees.chunk_texts[chunk]) << name;
  }
}

TEST(ScriptJsonTest, NothingCanEndTheScript) {
  EXPECT_EQ(ScriptJson(Json({{"a", "</script>&"}})), R"({"a":"\u003c/script\u003e\u0026"})");
  EXPECT_EQ(Json::parse(ScriptJson("</script>")), "</script>");
  EXPECT_EQ(ScriptJson(Json(std::string("\xff"))), "\"\xef\xbf\xbd\"");  // not UTF-8: U+FFFD
}

// A 100k-op history: each op lands in the chunk its invocation's rank says, chunks are in time
// order with their index right, and the page's size does not grow with the history.
TEST_F(HtmlReportTest, TimelineChunksHoldEveryOpInOrder) {
  constexpr int64_t kPairs = 50'000;
  constexpr int64_t kProcesses = 10;
  // Process i mod 10 invokes op i at i ms; it completes half a ms later, every 7th failing.
  for (int64_t i = 0; i < kPairs; ++i) {
    const int64_t process = i % kProcesses;
    Add(i, OpType::kInvoke, process, i % 3 == 0 ? "write" : "read", i);
    Add(i, i % 7 == 0 ? OpType::kFail : OpType::kOk, process, i % 3 == 0 ? "write" : "read", i);
    history_.ops.back().time_ns = i * kMs + 500'000;
  }
  ASSERT_EQ(history_.ops.size(), 100'000u);
  constexpr int64_t kChunk = 5000;
  Timeline timeline = BuildTimeline(history_, kChunk);
  EXPECT_EQ(timeline.unit, "us");
  EXPECT_EQ(timeline.fs, (std::vector<std::string>{"write", "read"}));
  ASSERT_EQ(timeline.chunks.size(), 10u);
  ASSERT_EQ(timeline.chunk_texts.size(), 10u);
  int64_t seen = 0;
  for (size_t chunk = 0; chunk < timeline.chunks.size(); ++chunk) {
    Json ops = ChunkOps(timeline.chunk_texts[chunk], static_cast<int64_t>(chunk));
    ASSERT_EQ(ops.size(), static_cast<size_t>(kChunk));
    EXPECT_EQ(timeline.chunks[chunk].count, kChunk);
    EXPECT_EQ(timeline.chunks[chunk].first, ops.front()[0]);
    EXPECT_EQ(timeline.chunks[chunk].last, ops.back()[0]);
    EXPECT_EQ(timeline.chunks[chunk].reach, ops.back()[1]);
    for (const Json& op : ops) {
      const int64_t i = seen++;  // the i-th invocation, invoked at i ms
      ASSERT_EQ(op[0], i * 1000) << "chunk " << chunk;
      ASSERT_EQ(op[1], i * 1000 + 500);
      ASSERT_EQ(op[2], i % kProcesses);
      ASSERT_EQ(op[3], i % 3 == 0 ? 0 : 1);
      ASSERT_EQ(op[4], i % 7 == 0 ? 1 : 0);
      ASSERT_EQ(op[5], i);
      ASSERT_EQ(op[8], 2 * i);  // the invocation's index
    }
  }
  EXPECT_EQ(seen, kPairs);

  // The page holds the index, not the ops: 100k ops add about nothing to it.
  const fs::path big = folder_ / "big";
  const fs::path small = folder_ / "small";
  std::vector<std::string> warnings;
  RunReport run{&history_, nullptr, nullptr, ""};
  ASSERT_TRUE(WriteHtmlReport(run, big, {}, &warnings).ok());
  History few;
  few.ops.assign(history_.ops.begin(), history_.ops.begin() + 1000);
  run.history = &few;
  ASSERT_TRUE(WriteHtmlReport(run, small, {}, &warnings).ok());
  const auto big_size = fs::file_size(big / "index.html");
  const auto small_size = fs::file_size(small / "index.html");
  EXPECT_LT(big_size, 64u * 1024) << big_size;
  EXPECT_LT(big_size - small_size, 2048u) << big_size << " vs " << small_size;
  EXPECT_TRUE(fs::exists(big / "timeline" / "0009.js"));
  EXPECT_FALSE(fs::exists(big / "timeline" / "0010.js"));
}

// The page's first window holds the first 300 ops whole: it reaches their latest completion (the
// last op invoked is not left zero wide on its right edge), but not past the 3000th invocation
// (the page draws at most 3000 ops), however long an early op took.
TEST_F(HtmlReportTest, FirstWindowReachesTheFirstOpsCompletions) {
  Add(1, OpType::kInvoke, 0, "txn");
  Add(2, OpType::kInvoke, 1, "txn");
  Add(3, OpType::kOk, 0, "txn");
  Add(4, OpType::kOk, 1, "txn");
  Add(5, OpType::kInvoke, 2, "txn");
  Add(9, OpType::kOk, 2, "txn");
  EXPECT_EQ(BuildTimeline(history_, 100).first_window, 8'000);  // 1 ms to 9 ms, in us

  history_.ops.clear();
  for (int64_t i = 0; i < 400; ++i) {
    Add(i, OpType::kInvoke, 0, "read");
    Add(i, OpType::kOk, 0, "read");
    history_.ops.back().time_ns += 500'000;
  }
  EXPECT_EQ(BuildTimeline(history_, 100).first_window, 299'500);  // op 299's completion

  history_.ops.clear();
  Add(0, OpType::kInvoke, 0, "read");  // completes after everything else
  for (int64_t i = 1; i < 4000; ++i) {
    Add(i, OpType::kInvoke, 1, "read");
    Add(i, OpType::kOk, 1, "read");
  }
  Add(10'000, OpType::kOk, 0, "read");
  EXPECT_EQ(BuildTimeline(history_, 5000).first_window, 2'999'000);  // op 2999's invocation
}

// Invocations are sorted by time when the file's order steps back; a history without times is
// laid out by position.
TEST_F(HtmlReportTest, TimelineOrdersByInvocationAndFallsBackToPositions) {
  Add(50, OpType::kInvoke, 0, "read");
  Add(60, OpType::kOk, 0, "read", 1);
  Add(10, OpType::kInvoke, 1, "write", 1);  // recorded later, invoked earlier
  Add(20, OpType::kOk, 1, "write", 1);
  Timeline timed = BuildTimeline(history_, 1);
  ASSERT_EQ(timed.chunks.size(), 2u);
  EXPECT_EQ(timed.chunks[0].first, 10'000);
  EXPECT_EQ(ChunkOps(timed.chunk_texts[0], 0)[0][3], 1);  // write: the second kind seen
  EXPECT_EQ(timed.chunks[1].first, 50'000);

  for (Op& op : history_.ops) op.time_ns = -1;
  Timeline untimed = BuildTimeline(history_, 10);
  EXPECT_EQ(untimed.unit, "position");
  EXPECT_EQ(untimed.end, 3);
  Json ops = ChunkOps(untimed.chunk_texts[0], 0);
  EXPECT_EQ(ops[0][0], 0);
  EXPECT_EQ(ops[0][1], 1);
  EXPECT_EQ(ops[1][0], 2);
  EXPECT_EQ(ops[1][1], 3);
}

// A report written again with fewer chunks leaves none of the old ones behind, and nothing else
// in the folder is touched.
TEST_F(HtmlReportTest, RewritingRemovesOnlyOldChunks) {
  for (int64_t i = 0; i < 30; ++i) {
    Add(i, OpType::kInvoke, 0, "read");
    Add(i, OpType::kOk, 0, "read", i);
  }
  std::vector<std::string> warnings;
  RunReport run{&history_, nullptr, nullptr, ""};
  ASSERT_TRUE(WriteHtmlReport(run, folder_, {.chunk_ops = 5}, &warnings).ok());
  EXPECT_TRUE(fs::exists(folder_ / "timeline" / "0005.js"));
  std::ofstream(folder_ / "timeline" / "notes.js") << "mine";
  history_.ops.resize(10);
  ASSERT_TRUE(WriteHtmlReport(run, folder_, {.chunk_ops = 5}, &warnings).ok());
  EXPECT_TRUE(fs::exists(folder_ / "timeline" / "0000.js"));
  EXPECT_FALSE(fs::exists(folder_ / "timeline" / "0001.js"));
  EXPECT_FALSE(fs::exists(folder_ / "timeline" / "0005.js"));
  EXPECT_EQ(ReadText(folder_ / "timeline" / "notes.js"), "mine");
}

TEST_F(HtmlReportTest, AMissingOrBrokenHistoryIsAnErrorNamingTheFile) {
  std::vector<std::string> warnings;
  Status missing = WriteRunReport(folder_, "", &warnings);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find((folder_ / "history.jsonl").string()), std::string::npos);
  std::ofstream(folder_ / "history.jsonl") << "{\"faultline_history\":1}\n{\"index\": oops}\n";
  Status broken = WriteRunReport(folder_, "", &warnings);
  EXPECT_EQ(broken.code(), StatusCode::kParseError) << broken.message();
  EXPECT_NE(broken.message().find("history.jsonl:2"), std::string::npos) << broken.message();
}

}  // namespace
}  // namespace faultline::reports
