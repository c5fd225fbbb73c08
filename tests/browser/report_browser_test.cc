// The report pages in a real browser (issue 10's acceptance): Debian's headless Chromium
// (tests/support/chromium.h) loads (a) the report of a fake run with a linearizability violation,
// (b) the report of a list-append history with a G-single cycle whose key and test name are
// `<script>alert(1)</script>`, and (c) the `faultline serve` page (the real binary on 127.0.0.1)
// with hostile names in its store, and the report through it. Each check reads the DOM after the
// page's scripts ran (--dump-dom, with --virtual-time-budget so the timeline's chunk files load)
// and takes a screenshot, and requires:
// - no console message at all: Chromium logs every console message and uncaught exception of the
//   page on stderr with --enable-logging=stderr (a "CONSOLE" line), and the pages log nothing when
//   they work; the first test proves that such an error is seen;
// - the anomaly's text and the plots: the four <img> of #plots, their files beside the page;
// - hostile values as text: escaped in the DOM, and the page has exactly its own <script>s;
// - a screenshot PNG of the window's size with real content (size well above a blank page's);
// - no Chromium process left behind.
// docs/images/ holds screenshots made the same way (scripts/doc_screenshots.sh).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/chromium.h"
#include "support/command.h"
#include "support/skip.h"
#include "support/temp_folder.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

using faultline::testing::ChromiumInstalled;
using faultline::testing::ChromiumRun;
using faultline::testing::CommandOutput;
using faultline::testing::Faultline;
using faultline::testing::RunChromium;
using faultline::testing::TempFolder;

constexpr char kHostile[] = "<script>alert(1)</script>";
constexpr char kHostileEscaped[] = "&lt;script&gt;alert(1)&lt;/script&gt;";
constexpr int kWidth = 1400, kHeight = 2000;
// A blank window of that size is a PNG of a few KB; a rendered report is well over 50 KB.
constexpr uintmax_t kMinScreenshotBytes = 20 * 1024;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t Count(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// The part of `dom` from the element with id `id` to the next <section (or the end).
std::string Section(const std::string& dom, const std::string& id) {
  const size_t begin = dom.find("id=\"" + id + "\"");
  if (begin == std::string::npos) return "";
  const size_t end = dom.find("<section", begin);
  return dom.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

uint32_t BigEndian32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// A PNG file (signature, IHDR first) of `width` x `height` (0: any) and at least `min_bytes`.
void ExpectPng(const fs::path& path, uint32_t width, uint32_t height, uintmax_t min_bytes) {
  const std::string bytes = ReadText(path);
  ASSERT_GE(bytes.size(), 24u) << path;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  EXPECT_EQ(bytes.substr(12, 4), "IHDR") << path;
  if (width != 0) {
    EXPECT_EQ(BigEndian32(bytes, 16), width) << path;
  }
  if (height != 0) {
    EXPECT_EQ(BigEndian32(bytes, 20), height) << path;
  }
  EXPECT_GE(bytes.size(), min_bytes) << path;
}

// `url` loaded once: the DOM after its scripts ran and a screenshot, written to `screenshot`.
ChromiumRun Load(const std::string& url, const fs::path& screenshot) {
  return RunChromium(url, {"--virtual-time-budget=5000", "--dump-dom",
                           "--screenshot=" + screenshot.string(),
                           "--window-size=" + std::to_string(kWidth) + "," +
                               std::to_string(kHeight)});
}

// What every page load must give: it ended by itself, logged nothing, left nothing running,
// printed a DOM and a real screenshot.
void ExpectCleanLoad(const ChromiumRun& run, const fs::path& screenshot) {
  ASSERT_TRUE(run.started);
  EXPECT_FALSE(run.timed_out) << run.log;
  EXPECT_EQ(run.exit_code, 0) << run.log;
  EXPECT_FALSE(run.left_running);
  EXPECT_TRUE(run.console.empty()) << "console messages:\n" << Joined(run.console);
  EXPECT_TRUE(Has(run.out, "</html>")) << run.out.substr(0, 2000);
  ExpectPng(screenshot, kWidth, kHeight, kMinScreenshotBytes);
}

// The four perf plots in #plots, each an <img> whose PNG lies beside the page.
void ExpectPlots(const std::string& dom, const fs::path& report_directory) {
  const std::string plots = Section(dom, "plots");
  for (const std::string name : {"latency-raw", "latency-quantiles", "rate", "availability"}) {
    EXPECT_TRUE(Has(plots, "<img src=\"plots/" + name + ".png\"")) << name << "\n" << plots;
    ExpectPng(report_directory / "plots" / (name + ".png"), 0, 0, 2048);
  }
}

// The timeline drew ops once its chunk file loaded: "N operations in this window." with N > 0,
// and every bar it drew lies inside the window (none squeezed onto its right edge).
void ExpectTimelineDrawn(const std::string& dom) {
  std::smatch match;
  static const std::regex kStatus(R"re(id="timeline-status"[^>]*>([0-9]+) operations in this)re");
  ASSERT_TRUE(std::regex_search(dom, match, kStatus)) << Section(dom, "timeline");
  const int drawn = std::stoi(match[1].str());
  EXPECT_GT(drawn, 0);
  EXPECT_EQ(static_cast<int>(Count(dom, "<div class=\"tl-op ")), drawn);
  EXPECT_EQ(Count(dom, "left: 100%; width: 0%"), 0u) << "ops drawn at the window's edge";
}

class Browser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ChromiumInstalled()) {
      FAULTLINE_SKIP() << faultline::testing::kChromiumPath
                       << " is missing (Debian's chromium, scripts/setup.sh)";
    }
    ASSERT_FALSE(folder_.path().empty());
  }

  TempFolder folder_{"faultline_browser_"};
};

// The harness itself: an error the page throws and one it logs are seen, the page's script did
// run (the DOM is the one after it), and no Chromium process outlives the call.
TEST_F(Browser, HarnessSeesConsoleErrorsAndLeavesNoProcess) {
  const fs::path page = folder_.path() / "broken.html";
  Write(page,
        "<!DOCTYPE html><html><body><p id=\"p\">before</p><script>"
        "document.getElementById('p').textContent = 'after';"
        "console.error('logged error'); undefinedFunction();</script></body></html>");
  const fs::path screenshot = folder_.path() / "broken.png";
  ChromiumRun run = Load("file://" + page.string(), screenshot);
  ASSERT_TRUE(run.started);
  EXPECT_FALSE(run.timed_out);
  EXPECT_FALSE(run.left_running);
  EXPECT_TRUE(Has(run.out, "<p id=\"p\">after</p>")) << run.out;
  const std::string console = Joined(run.console);
  EXPECT_TRUE(Has(console, "logged error")) << run.log;
  EXPECT_TRUE(Has(console, "Uncaught ReferenceError: undefinedFunction is not defined")) << run.log;
  ExpectPng(screenshot, kWidth, kHeight, 1);
}

// (a) A fake register run whose reads are stale: invalid, with the linearizability anomaly (the
// op that could not be placed, the ops around it), the plots, and the timeline drawn.
TEST_F(Browser, LinearizabilityViolationReport) {
  const fs::path store = folder_.path() / "store";
  CommandOutput run = Faultline("test --db fake --fake-bug stale-reads --time-limit 1.5 --rate 200 "
                                "--seed 1 --store " + store.string());
  ASSERT_EQ(run.exit_code, 1) << run.out;
  const fs::path report = fs::canonical(store / "latest") / "report";
  ASSERT_TRUE(fs::exists(report / "index.html")) << run.out;

  const fs::path screenshot = folder_.path() / "a.png";
  ChromiumRun load = Load("file://" + (report / "index.html").string(), screenshot);
  ExpectCleanLoad(load, screenshot);
  const std::string& dom = load.out;
  for (const std::string id : {"test", "verdicts", "stats", "faults", "plots", "anomalies",
                               "timeline"}) {
    EXPECT_TRUE(Has(dom, "id=\"" + id + "\"")) << id;
  }
  EXPECT_TRUE(Has(Section(dom, "verdicts"), "<span class=\"verdict v-invalid\">invalid</span>"));
  const std::string anomalies = Section(dom, "anomalies");
  EXPECT_TRUE(Has(anomalies, "linearizable: not linearizable")) << anomalies.substr(0, 3000);
  EXPECT_TRUE(Has(anomalies, "Could not be placed")) << anomalies.substr(0, 3000);
  ExpectPlots(dom, report);
  ExpectTimelineDrawn(dom);
}

// The G-single history: two concurrent transactions, T1 appends to x and to the key K, T2
// appends to x after T1 and reads K empty, then a read of x shows both appends. K and the test's
// name are `<script>alert(1)</script>`.
std::string GSingleHistory() {
  const std::string key = "\"<script>alert(1)</script>\"";
  const std::string t1 = "[[\"append\",\"x\",1],[\"append\"," + key + ",1]]";
  const std::string t2 = "[[\"append\",\"x\",2],[\"r\"," + key + ",null]]";
  return "{\"faultline_history\":1,\"test\":" + key + ",\"concurrency\":3}\n"
         "{\"index\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"txn\",\"time\":1000000,\"value\":" +
         t1 + "}\n"
         "{\"index\":1,\"type\":\"invoke\",\"process\":1,\"f\":\"txn\",\"time\":1100000,\"value\":" +
         t2 + "}\n"
         "{\"index\":2,\"type\":\"ok\",\"process\":0,\"f\":\"txn\",\"time\":2000000,\"value\":" +
         t1 + "}\n"
         "{\"index\":3,\"type\":\"ok\",\"process\":1,\"f\":\"txn\",\"time\":2100000,\"value\":" +
         t2 + "}\n"
         "{\"index\":4,\"type\":\"invoke\",\"process\":2,\"f\":\"txn\",\"time\":3000000,"
         "\"value\":[[\"r\",\"x\",null]]}\n"
         "{\"index\":5,\"type\":\"ok\",\"process\":2,\"f\":\"txn\",\"time\":3500000,"
         "\"value\":[[\"r\",\"x\",[1,2]]]}\n";
}

// The page's own script elements, and nothing else: a value that became markup would add one.
void ExpectOnlyOwnScripts(const std::string& dom) {
  EXPECT_EQ(Count(dom, "<script"), 3u) << dom.substr(0, 3000);
  EXPECT_TRUE(Has(dom, "<script type=\"application/json\" id=\"timeline-index\">"));
  EXPECT_TRUE(Has(dom, "<script src=\"timeline/0000.js\">"));  // added by the page's script
}

// (b) The G-single report: the anomaly named, explained and drawn, the plots, and the hostile
// key and test name shown as text everywhere (title, header, test, anomaly, tables, bars).
TEST_F(Browser, GSingleReportShowsHostileValuesAsText) {
  const fs::path history = folder_.path() / "history.jsonl";
  Write(history, GSingleHistory());
  const fs::path report = folder_.path() / "report";
  CommandOutput checked = Faultline("report --checker list-append --consistency-model serializable " +
                                    history.string() + " --out " + report.string());
  ASSERT_EQ(checked.exit_code, 1) << checked.out;
  ASSERT_TRUE(Has(checked.out, "G-single")) << checked.out;

  const fs::path screenshot = folder_.path() / "b.png";
  ChromiumRun load = Load("file://" + (report / "index.html").string(), screenshot);
  ExpectCleanLoad(load, screenshot);
  const std::string& dom = load.out;
  const std::string anomalies = Section(dom, "anomalies");
  EXPECT_TRUE(Has(anomalies, "data-type=\"G-single-item\"")) << anomalies.substr(0, 3000);
  EXPECT_TRUE(Has(anomalies, "<h3>list-append: G-single-item</h3>"));
  EXPECT_TRUE(Has(anomalies, std::string("T1 read ") + kHostileEscaped + " without T2"));
  static const std::regex kCycle(R"re(<img src="(anomalies/[^"]+\.svg)")re");
  std::smatch cycle;
  ASSERT_TRUE(std::regex_search(anomalies, cycle, kCycle)) << anomalies.substr(0, 3000);
  const std::string svg = ReadText(report / cycle[1].str());
  EXPECT_TRUE(Has(svg, kHostileEscaped));
  EXPECT_FALSE(Has(svg, kHostile));
  ExpectPlots(dom, report);
  ExpectTimelineDrawn(dom);

  EXPECT_FALSE(Has(dom, kHostile));
  EXPECT_TRUE(Has(dom, std::string("<title>") + kHostileEscaped));
  EXPECT_TRUE(Has(dom, std::string("<h1>") + kHostileEscaped));
  EXPECT_TRUE(Has(Section(dom, "test"), std::string("<td>") + kHostileEscaped + "</td>"));
  // In the timeline's bars (set by the page's script from the chunk file's JSON) as text too.
  EXPECT_GE(Count(Section(dom, "timeline"), kHostileEscaped), 2u);
  ExpectOnlyOwnScripts(dom);
}

// (c) `faultline serve` on 127.0.0.1: the runs page (a G-single run and a run whose test folder
// and error are hostile), then the G-single run's report through the server, its timeline file
// and plots fetched over HTTP.
class ServeBrowser : public Browser {
 protected:
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          ADD_FAILURE() << "serve did not stop on SIGTERM";
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  // Starts `faultline serve --store STORE --port 0` and returns the address it prints.
  std::string Serve(const fs::path& store) {
    const fs::path output = folder_.path() / "serve.out";
    std::vector<std::string> arguments = {FAULTLINE_BINARY, "serve",     "--store", store.string(),
                                          "--host",         "127.0.0.1", "--port",  "0"};
    std::vector<char*> argv;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int spawned = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return "";
    static const std::regex kListening(R"(http://127\.0\.0\.1:[0-9]+/)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch match;
      const std::string text = ReadText(output);
      if (std::regex_search(text, match, kListening)) return match[0].str();
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        ADD_FAILURE() << "serve exited: " << text;
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "serve did not say where it listens: " << ReadText(output);
    return "";
  }

  pid_t pid_ = 0;
};

TEST_F(ServeBrowser, RunsPageAndAServedReport) {
  const fs::path store = folder_.path() / "store";
  const fs::path run = store / "g-single" / "20240102T000000";
  Write(run / "history.jsonl", GSingleHistory());
  CommandOutput checked = Faultline("report --checker list-append --consistency-model "
                                    "serializable " + run.string());
  ASSERT_EQ(checked.exit_code, 1) << checked.out;
  const std::string hostile_test = "<img src=x onerror=alert(1)>";
  Write(store / hostile_test / "20240101T000000" / "results.json",
        "{\"valid\": \"unknown\", \"error\": \"<script>alert(1)</script>\", \"checkers\": {}}");

  const std::string address = Serve(store);
  ASSERT_FALSE(address.empty());
  const fs::path runs_screenshot = folder_.path() / "serve.png";
  ChromiumRun runs_page = Load(address, runs_screenshot);
  ExpectCleanLoad(runs_page, runs_screenshot);
  const std::string& dom = runs_page.out;
  EXPECT_TRUE(Has(dom, "<table id=\"runs\">"));
  EXPECT_EQ(Count(dom, "<tr class=\"run invalid\" data-test=\"g-single\""), 1u) << dom;
  EXPECT_TRUE(Has(dom, "list-append: found G-single-item")) << dom;
  EXPECT_EQ(Count(dom, "<tr class=\"run unknown\""), 1u) << dom;
  EXPECT_TRUE(Has(dom, "<td class=\"test\">&lt;img src=x onerror=alert(1)&gt;</td>")) << dom;
  EXPECT_TRUE(Has(dom, std::string("the run failed: ") + kHostileEscaped)) << dom;
  EXPECT_FALSE(Has(dom, "<img")) << dom;
  EXPECT_FALSE(Has(dom, "<script")) << dom;  // the runs page has no script at all

  const fs::path report_screenshot = folder_.path() / "served-report.png";
  ChromiumRun report_page =
      Load(address + "store/g-single/20240102T000000/report/index.html", report_screenshot);
  ExpectCleanLoad(report_page, report_screenshot);
  EXPECT_TRUE(Has(Section(report_page.out, "anomalies"), "data-type=\"G-single-item\""));
  ExpectPlots(report_page.out, run / "report");
  ExpectTimelineDrawn(report_page.out);  // timeline/0000.js came over HTTP
  ExpectOnlyOwnScripts(report_page.out);
}

}  // namespace
