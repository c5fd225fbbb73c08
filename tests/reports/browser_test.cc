// The results browser's pure part (reports/browser.h): the store read into runs (links and
// stray entries skipped, newest first), filters, pages, the escaping of the pages, content types,
// and the path resolution that keeps every request inside the store.
#include "reports/browser.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class BrowserStore : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("faultline_browser_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(base_);
    store_ = base_ / "store";
    fs::create_directories(store_);
  }
  void TearDown() override { fs::remove_all(base_); }

  // A finished run with the given results.json text.
  fs::path Run(const std::string& test, const std::string& name, const std::string& results) {
    fs::path run = store_ / test / name;
    fs::create_directories(run / "nodes");
    if (!results.empty()) Write(run / "results.json", results);
    return run;
  }

  std::vector<std::string> Names(const std::vector<RunEntry>& runs) {
    std::vector<std::string> names;
    for (const RunEntry& run : runs) names.push_back(run.test + "/" + run.name);
    return names;
  }

  fs::path base_;
  fs::path store_;
};

TEST(RunName, OnlyATimestampWithAnOptionalNumberedSuffix) {
  EXPECT_TRUE(IsRunName("20240131T235959"));
  EXPECT_TRUE(IsRunName("20240131T235959-2"));
  EXPECT_TRUE(IsRunName("20240131T235959-10"));
  for (const char* name :
       {"latest", "current", "", "20240131T23595", "20240131X235959", "20240131T235959-",
        "20240131T235959-a", "20240131T235959x", "2024013aT235959", "20240131T235959.new"}) {
    EXPECT_FALSE(IsRunName(name)) << name;
  }
}

TEST_F(BrowserStore, RunsNewestFirstSkippingLinksAndStrayEntries) {
  Run("etcd", "20240101T000001",
      R"({"valid": true, "checkers": {"linearizable": {"valid": true}}})");
  Run("etcd", "20240101T000002", R"({"valid": false})");
  Run("etcd", "20240101T000002-2", R"({"valid": true})");
  Run("etcd", "20240101T000002-10", R"({"valid": true})");
  Run("fake", "20240101T000002", R"({"valid": "unknown"})");
  Run("fake", "20231231T235959", R"({"valid": true})");
  // Links as the store keeps them, a folder and a file that are not runs, a hidden folder.
  fs::create_directory_symlink("etcd/20240101T000002-10", store_ / "latest");
  fs::create_directory_symlink("etcd/20240101T000002-10", store_ / "current");
  fs::create_directory_symlink("20240101T000002-10", store_ / "etcd" / "latest");
  fs::create_directory_symlink("20240101T000001", store_ / "etcd" / "20240201T000000");
  fs::create_directories(store_ / "etcd" / "notarun");
  Write(store_ / "etcd" / "20240301T000000", "a file, not a run folder");
  Write(store_ / "README", "not a test");
  Run(".hidden", "20240101T000003", R"({"valid": true})");

  Result<std::vector<RunEntry>> runs = ScanStore(store_);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(Names(*runs),
            (std::vector<std::string>{"etcd/20240101T000002-10", "etcd/20240101T000002-2",
                                      "etcd/20240101T000002", "fake/20240101T000002",
                                      "etcd/20240101T000001", "fake/20231231T235959"}));
}

TEST_F(BrowserStore, VerdictsCheckersNotesAndReports) {
  fs::path valid = Run("etcd", "20240101T000001",
                       R"({"valid": true, "checkers": {"linearizable": {"valid": true},
                           "stats": {"valid": true}}})");
  Write(valid / "report" / "index.html", "<html></html>");
  Run("etcd", "20240101T000002",
      R"({"valid": false, "checkers": {"linearizable": {"valid": false,
          "error": "op 7 cannot be linearized"}, "stats": {"valid": true}}})");
  Run("etcd", "20240101T000003", R"({"valid": "unknown", "interrupted": true})");
  Run("etcd", "20240101T000004", "");  // no results.json: running, or crashed
  Run("etcd", "20240101T000005", "{not json");
  fs::path linked = Run("etcd", "20240101T000006", "");
  Write(base_ / "outside.json", R"({"valid": true})");
  fs::create_symlink(base_ / "outside.json", linked / "results.json");
  fs::create_directories(linked / "report");
  fs::create_symlink(base_ / "outside.json", linked / "report" / "index.html");

  Result<std::vector<RunEntry>> scanned = ScanStore(store_);
  ASSERT_TRUE(scanned.ok());
  ASSERT_EQ(scanned->size(), 6u);
  std::map<std::string, RunEntry> runs;
  for (const RunEntry& run : *scanned) runs[run.name] = run;

  const RunEntry& first = runs["20240101T000001"];
  EXPECT_TRUE(first.finished);
  EXPECT_EQ(first.verdict, Verdict::kValid);
  EXPECT_TRUE(first.has_report);
  EXPECT_EQ(first.note, "");
  ASSERT_EQ(first.checkers.size(), 2u);
  EXPECT_EQ(first.checkers[0], (std::pair<std::string, Verdict>{"linearizable", Verdict::kValid}));

  const RunEntry& invalid = runs["20240101T000002"];
  EXPECT_EQ(invalid.verdict, Verdict::kInvalid);
  EXPECT_FALSE(invalid.has_report);
  EXPECT_TRUE(Has(invalid.note, "linearizable: op 7 cannot be linearized")) << invalid.note;
  EXPECT_FALSE(Has(invalid.note, "stats")) << invalid.note;

  EXPECT_EQ(runs["20240101T000003"].verdict, Verdict::kUnknown);
  EXPECT_TRUE(Has(runs["20240101T000003"].note, "interrupted"));

  const RunEntry& unfinished = runs["20240101T000004"];
  EXPECT_FALSE(unfinished.finished);
  EXPECT_EQ(unfinished.verdict, Verdict::kUnknown);

  EXPECT_TRUE(runs["20240101T000005"].finished);
  EXPECT_EQ(runs["20240101T000005"].verdict, Verdict::kUnknown);
  EXPECT_TRUE(Has(runs["20240101T000005"].note, "not valid JSON"));

  // A results.json or report planted as a symlink out of the store is not read or linked.
  EXPECT_EQ(runs["20240101T000006"].verdict, Verdict::kUnknown);
  EXPECT_TRUE(Has(runs["20240101T000006"].note, "not a regular file"));
  EXPECT_FALSE(runs["20240101T000006"].has_report);
}

TEST(IndexQueryTest, ParsesAndRefuses) {
  Result<IndexQuery> all = ParseIndexQuery("", "", "");
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->verdict.has_value());
  EXPECT_EQ(all->page, 1);
  Result<IndexQuery> some = ParseIndexQuery("invalid", "etcd", "3");
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->verdict, Verdict::kInvalid);
  EXPECT_EQ(some->test, "etcd");
  EXPECT_EQ(some->page, 3);
  EXPECT_EQ(ParseIndexQuery("", "", "99999999999999999999999")->page, INT64_MAX);
  for (const char* verdict : {"true", "VALID", "crashed"}) {
    EXPECT_FALSE(ParseIndexQuery(verdict, "", "").ok()) << verdict;
  }
  for (const char* page : {"0", "-1", "x", "1.5", " 2"}) {
    EXPECT_FALSE(ParseIndexQuery("", "", page).ok()) << page;
  }
}

std::vector<RunEntry> Entries() {
  std::vector<RunEntry> runs;
  auto add = [&](std::string test, std::string name, Verdict verdict, bool finished) {
    RunEntry run;
    run.test = std::move(test);
    run.name = std::move(name);
    run.verdict = verdict;
    run.finished = finished;
    runs.push_back(run);
  };
  add("etcd-register", "20240105T000000", Verdict::kValid, true);
  add("etcd-register", "20240104T000000", Verdict::kInvalid, true);
  add("fake-register", "20240103T000000", Verdict::kUnknown, false);
  add("Fake-Set", "20240102T000000", Verdict::kUnknown, true);
  add("etcd-set", "20240101T000000", Verdict::kValid, true);
  return runs;
}

TEST(SelectPageTest, FiltersByVerdictAndTestName) {
  const std::vector<RunEntry> runs = Entries();
  auto names = [&](const char* verdict, const char* test) {
    RunPage page = SelectPage(runs, *ParseIndexQuery(verdict, test, ""), 50);
    std::vector<std::string> out;
    for (const RunEntry& run : page.runs) out.push_back(run.name.substr(6, 2));
    return out;
  };
  EXPECT_EQ(names("", ""), (std::vector<std::string>{"05", "04", "03", "02", "01"}));
  EXPECT_EQ(names("valid", ""), (std::vector<std::string>{"05", "01"}));
  EXPECT_EQ(names("invalid", ""), (std::vector<std::string>{"04"}));
  // Unknown includes the run that never finished.
  EXPECT_EQ(names("unknown", ""), (std::vector<std::string>{"03", "02"}));
  // A substring, ignoring ASCII case.
  EXPECT_EQ(names("", "FAKE"), (std::vector<std::string>{"03", "02"}));
  EXPECT_EQ(names("valid", "etcd"), (std::vector<std::string>{"05", "01"}));
  EXPECT_EQ(names("", "-set"), (std::vector<std::string>{"02", "01"}));
  EXPECT_TRUE(names("", "postgres").empty());
}

TEST(SelectPageTest, PagesAndClamps) {
  const std::vector<RunEntry> runs = Entries();
  RunPage second = SelectPage(runs, *ParseIndexQuery("", "", "2"), 2);
  EXPECT_EQ(second.matching, 5u);
  EXPECT_EQ(second.page_count, 3);
  EXPECT_EQ(second.page, 2);
  EXPECT_EQ(second.first, 2u);
  ASSERT_EQ(second.runs.size(), 2u);
  EXPECT_EQ(second.runs[0].name, "20240103T000000");
  RunPage last = SelectPage(runs, *ParseIndexQuery("", "", "3"), 2);
  ASSERT_EQ(last.runs.size(), 1u);
  EXPECT_EQ(last.runs[0].name, "20240101T000000");
  RunPage beyond = SelectPage(runs, *ParseIndexQuery("", "", "99"), 2);
  EXPECT_EQ(beyond.page, 3);
  EXPECT_EQ(beyond.runs.size(), 1u);
  RunPage none = SelectPage(runs, *ParseIndexQuery("", "nothing", "4"), 2);
  EXPECT_EQ(none.page, 1);
  EXPECT_EQ(none.page_count, 1);
  EXPECT_TRUE(none.runs.empty());
}

TEST(IndexHtmlTest, RowsClassedByVerdictWithLinksAndPager) {
  std::vector<RunEntry> runs = Entries();
  runs[0].has_report = true;
  runs[0].checkers = {{"linearizable", Verdict::kValid}, {"stats", Verdict::kValid}};
  IndexQuery query = *ParseIndexQuery("", "e", "2");
  std::string html = IndexHtml(SelectPage(runs, query, 2), query, "/srv/store");
  EXPECT_TRUE(Has(html, "<table id=\"runs\">"));
  EXPECT_TRUE(Has(html, "<tr class=\"run unknown unfinished\" data-test=\"fake-register\""));
  EXPECT_TRUE(Has(html, "<td class=\"verdict\">running or crashed</td>"));
  EXPECT_TRUE(Has(html, "<tr class=\"run unknown\" data-test=\"Fake-Set\""));
  EXPECT_FALSE(Has(html, "data-test=\"etcd-register\"")) << "page 1's runs are not on page 2";
  EXPECT_TRUE(Has(html, "href=\"/store/Fake-Set/20240102T000000/\">files</a>"));
  EXPECT_TRUE(Has(html, "href=\"/archive/Fake-Set/20240102T000000.tar.gz\">archive</a>"));
  EXPECT_FALSE(Has(html, "report/index.html")) << "neither run on page 2 has a report";
  EXPECT_TRUE(Has(html, "<time datetime=\"2024-01-02T00:00:00\">2024-01-02 00:00:00</time>"));
  // The pager keeps the filter; no script anywhere.
  EXPECT_TRUE(Has(html, "<a rel=\"prev\" href=\"/?test=e\">previous</a>")) << html;
  EXPECT_TRUE(Has(html, "<a rel=\"next\" href=\"/?test=e&amp;page=3\">next</a>")) << html;
  EXPECT_TRUE(Has(html, "runs 3 to 4 of 5"));
  EXPECT_FALSE(Has(html, "<script"));

  std::string first = IndexHtml(SelectPage(runs, *ParseIndexQuery("valid", "", ""), 2),
                                *ParseIndexQuery("valid", "", ""), "store");
  EXPECT_TRUE(Has(first, "<tr class=\"run valid\" data-test=\"etcd-register\""));
  EXPECT_TRUE(Has(first, "href=\"/store/etcd-register/20240105T000000/report/index.html\""));
  EXPECT_TRUE(Has(first, "<span class=\"checker valid\">linearizable: valid</span>"));
  EXPECT_TRUE(Has(first, "<option value=\"valid\" selected>"));
  EXPECT_FALSE(Has(first, "rel=\"prev\"") || Has(first, "rel=\"next\""));
}

TEST(IndexHtmlTest, EveryNameAndValueIsEscaped) {
  RunEntry run;
  run.test = "<script>alert(1)</script>";
  run.name = "20240101T000000";
  run.finished = true;
  run.verdict = Verdict::kInvalid;
  run.checkers = {{"<b>checker</b>", Verdict::kInvalid}};
  run.note = "value <img src=x onerror=alert(2)> & \"quoted\"";
  IndexQuery query = *ParseIndexQuery("", "\"><script>alert(3)</script>", "");
  query.test = "\"><script>alert(3)</script>";
  std::string html =
      IndexHtml(SelectPage({run}, *ParseIndexQuery("", "", ""), 10), query, "<store>");
  EXPECT_FALSE(Has(html, "<script")) << html;
  EXPECT_FALSE(Has(html, "<img")) << html;
  EXPECT_FALSE(Has(html, "<b>")) << html;
  EXPECT_TRUE(Has(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(Has(html, "value &lt;img src=x onerror=alert(2)&gt; &amp; &quot;quoted&quot;"));
  EXPECT_TRUE(Has(html, "value=\"&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;\""));
  // Names in links are percent-encoded.
  EXPECT_TRUE(Has(html, "/store/%3Cscript%3Ealert%281%29%3C/script%3E/20240101T000000/"));
}

TEST(ListingHtmlTest, EntriesEscapedEncodedFoldersFirst) {
  std::string html =
      ListingHtml("etcd/20240101T000000", {{"run.log", false, 2048},
                                           {"nodes", true, 0},
                                           {"<img src=x onerror=alert(1)>.log", false, 5},
                                           {"a b#?.txt", false, 1}});
  EXPECT_FALSE(Has(html, "<img")) << html;
  EXPECT_TRUE(Has(html, "href=\"/store/etcd/20240101T000000/a%20b%23%3F.txt\""));
  EXPECT_TRUE(Has(html, "href=\"/store/etcd/20240101T000000/nodes/\">nodes/</a>"));
  EXPECT_TRUE(Has(html, "2.0 KiB"));
  EXPECT_LT(html.find("nodes/"), html.find("run.log"));
  EXPECT_TRUE(Has(html, "href=\"/archive/etcd/20240101T000000.tar.gz\""));
  EXPECT_TRUE(Has(html, "<a href=\"/store/etcd/\">etcd</a>"));
  EXPECT_FALSE(Has(ListingHtml("etcd/20240101T000000/nodes", {}), "/archive/"));
}

TEST(ContentTypeTest, ByExtension) {
  EXPECT_EQ(ContentTypeFor("report/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a/style.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("latency-raw.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("latency-raw.png"), "image/png");
  EXPECT_EQ(ContentTypeFor("results.json"), "application/json");
  for (const char* text : {"history.jsonl", "run.log", "notes.txt", "cycle.dot", "nodes/n1/out"}) {
    EXPECT_EQ(ContentTypeFor(text), "text/plain; charset=utf-8") << text;
  }
  EXPECT_EQ(ContentTypeFor("core.bin"), "application/octet-stream");
}

TEST(UrlEncodePathTest, KeepsUnreservedAndSlashes) {
  EXPECT_EQ(UrlEncodePath("etcd/2024-01_x.~y"), "etcd/2024-01_x.~y");
  EXPECT_EQ(UrlEncodePath("a b/%/..?#\"<"), "a%20b/%25/..%3F%23%22%3C");
  EXPECT_EQ(UrlEncodePath("\xc3\xa9"), "%C3%A9");
}

TEST_F(BrowserStore, OpensFilesAndFoldersStrictlyInside) {
  fs::path run = Run("etcd", "20240101T000001", R"({"valid": true})");
  Write(run / "run.log", "hello\n");
  fs::create_directory_symlink("etcd/20240101T000001", store_ / "latest");

  Result<StoreFile> log = OpenStoreFile(store_, "etcd/20240101T000001/run.log");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_FALSE(log->is_directory());
  EXPECT_EQ(log->size_bytes(), 6u);
  char buffer[16] = {};
  EXPECT_EQ(::pread(log->fd(), buffer, sizeof buffer, 0), 6);
  EXPECT_EQ(std::string(buffer), "hello\n");

  // A link inside the store leads where it points; the result says where.
  Result<StoreFile> latest = OpenStoreFile(store_, "latest/run.log");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->relative(), "etcd/20240101T000001/run.log");

  Result<StoreFile> folder = OpenStoreFile(store_, "etcd//20240101T000001/");
  ASSERT_TRUE(folder.ok()) << folder.status().ToString();
  EXPECT_TRUE(folder->is_directory());
  EXPECT_EQ(folder->relative(), "etcd/20240101T000001");
  Result<std::vector<ListingEntry>> entries = ListFolder(*folder);
  ASSERT_TRUE(entries.ok());
  std::set<std::string> names;
  for (const ListingEntry& entry : *entries) names.insert(entry.name);
  EXPECT_EQ(names, (std::set<std::string>{"nodes", "results.json", "run.log"}));
}

TEST_F(BrowserStore, RefusesEveryWayOut) {
  fs::path run = Run("etcd", "20240101T000001", R"({"valid": true})");
  Write(base_ / "secret.txt", "secret");
  fs::create_directories(base_ / "elsewhere");
  Write(base_ / "elsewhere" / "inner.txt", "secret");
  fs::create_symlink(base_ / "secret.txt", run / "escape.txt");
  fs::create_symlink("../../../secret.txt", run / "relative-escape.txt");
  fs::create_directory_symlink(base_ / "elsewhere", run / "escape-folder");
  fs::create_directory_symlink("..", store_ / "up");
  fs::create_directory_symlink(".", store_ / "self");
  ASSERT_EQ(::mkfifo((run / "fifo").c_str(), 0600), 0);

  for (const char* path : {"",
                           "/",
                           ".",
                           "..",
                           "../secret.txt",
                           "etcd/../../secret.txt",
                           "etcd/./20240101T000001",
                           "etcd/20240101T000001/../../../secret.txt",
                           "/etc/passwd",
                           "etcd/20240101T000001/escape.txt",
                           "etcd/20240101T000001/relative-escape.txt",
                           "etcd/20240101T000001/escape-folder/inner.txt",
                           "etcd/20240101T000001/escape-folder",
                           "up/secret.txt",
                           "up",
                           "self",
                           "self/",
                           "etcd\\..\\..\\secret.txt",
                           "etcd/20240101T000001/fifo",
                           "etcd/20240101T000001/missing.txt"}) {
    Result<StoreFile> opened = OpenStoreFile(store_, path);
    EXPECT_FALSE(opened.ok()) << "opened \"" << path << "\" as "
                              << (opened.ok() ? opened->relative() : "");
  }
  EXPECT_FALSE(OpenStoreFile(store_, std::string("etcd\0/x", 7)).ok());
  // The same through the store given by a relative path with a symlink in it.
  fs::create_directory_symlink(store_, base_ / "store-link");
  EXPECT_TRUE(OpenStoreFile(base_ / "store-link", "etcd/20240101T000001/results.json").ok());
  EXPECT_FALSE(OpenStoreFile(base_ / "store-link", "etcd/20240101T000001/escape.txt").ok());
}

}  // namespace
}  // namespace faultline::reports
