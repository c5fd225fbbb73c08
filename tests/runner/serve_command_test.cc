// `faultline serve`: the real binary on 127.0.0.1 with a free port, queried with cpp-httplib's
// client: the index (order, pages, filters), files with their content types, every way out of
// the store answered 404, the run's archive, the address it binds, and a clean stop on SIGTERM
// and SIGINT.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/command.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using faultline::testing::RunCommand;

constexpr char kSecret[] = "TOPSECRET-outside-the-store";

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The order in which the page lists its runs, as "test/run".
std::vector<std::string> RowsOf(const std::string& html) {
  std::vector<std::string> rows;
  static const std::regex kRow(
      R"re(<tr class="run [^"]*" data-test="([^"]*)" data-run="([^"]*)")re");
  for (std::sregex_iterator match(html.begin(), html.end(), kRow), end; match != end; ++match) {
    rows.push_back((*match)[1].str() + "/" + (*match)[2].str());
  }
  return rows;
}

class ServeCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("faultline_serve_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(base_);
    store_ = base_ / "store";
    Write(base_ / "secret.txt", kSecret);
    fs::create_directories(base_ / "elsewhere");
    Write(base_ / "elsewhere" / "inner.txt", kSecret);

    const fs::path valid = store_ / "etcd-register" / "20240101T000001";
    Write(valid / "results.json",
          R"({"valid": true, "checkers": {"linearizable": {"valid": true}}})");
    Write(valid / "history.jsonl", "{\"faultline_history\":1}\n");
    Write(valid / "run.log", "2024-01-01T00:00:01Z INFO started\n");
    Write(valid / "test.json", "{}\n");
    Write(valid / "nodes" / "n1" / "etcd.log", "etcd says hello\n");
    Write(valid / "report" / "index.html", "<!DOCTYPE html><title>report</title>");
    Write(valid / "report" / "style.css", "body {}");
    Write(valid / "report" / "app.js", "let x = 1;");
    Write(valid / "report" / "latency-raw.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    Write(valid / "report" / "latency-raw.png", std::string("\x89PNG\r\n\x1a\n", 8));
    fs::create_symlink(base_ / "secret.txt", valid / "escape.txt");
    fs::create_symlink("../../../secret.txt", valid / "relative-escape.txt");
    fs::create_directory_symlink(base_ / "elsewhere", valid / "escape-folder");
    Write(store_ / "etcd-register" / "20240101T000002" / "results.json", R"({"valid": false})");
    Write(store_ / "fake-set" / "20240101T000003" / "results.json", R"({"valid": "unknown"})");
    fs::create_directories(store_ / "fake-set" / "20240101T000004" / "nodes");  // unfinished
    fs::create_directory_symlink("fake-set/20240101T000003", store_ / "latest");
    fs::create_directory_symlink("fake-set/20240101T000004", store_ / "current");
    fs::create_directory_symlink("20240101T000003", store_ / "fake-set" / "latest");
    fs::create_directory_symlink("..", store_ / "up");
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(base_);
  }

  // Starts `faultline serve` on 127.0.0.1 port 0 (a free one) and waits for the line naming it.
  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {FAULTLINE_BINARY, "serve",     "--store", store_.string(),
                                          "--host",         "127.0.0.1", "--port",  "0"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    output_ = base_ / "serve.out";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    ASSERT_EQ(::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    static const std::regex kListening(R"(http://127\.0\.0\.1:([0-9]+)/)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch match;
      const std::string text = ReadFile(output_);
      if (std::regex_search(text, match, kListening)) {
        port_ = std::stoi(match[1].str());
        client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
        client_->set_url_encode(false);  // paths go out exactly as written here
        return;
      }
      ASSERT_EQ(::waitpid(pid_, nullptr, WNOHANG), 0) << "serve exited: " << text;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "serve did not say where it listens: " << ReadFile(output_);
  }

  httplib::Result Get(const std::string& path) { return client_->Get(path); }

  // Sends `signal_number` and returns the exit status (-1 unless it exited by itself in 10 s).
  int StopWith(int signal_number) {
    ::kill(pid_, signal_number);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  fs::path base_;
  fs::path store_;
  fs::path output_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServeCommand, IndexNewestFirstPagedAndFiltered) {
  Start({"--page-size", "2"});
  httplib::Result first = Get("/");
  ASSERT_TRUE(first) << httplib::to_string(first.error());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(RowsOf(first->body),
            (std::vector<std::string>{"fake-set/20240101T000004", "fake-set/20240101T000003"}));
  EXPECT_TRUE(Has(first->body, "<tr class=\"run unknown unfinished\""));
  EXPECT_TRUE(Has(first->body, "rel=\"next\" href=\"/?page=2\""));

  httplib::Result second = Get("/?page=2");
  ASSERT_TRUE(second);
  EXPECT_EQ(RowsOf(second->body), (std::vector<std::string>{"etcd-register/20240101T000002",
                                                            "etcd-register/20240101T000001"}));
  EXPECT_TRUE(Has(second->body, "<tr class=\"run invalid\""));
  EXPECT_TRUE(Has(second->body, "<tr class=\"run valid\""));
  EXPECT_TRUE(Has(second->body,
                  "href=\"/store/etcd-register/20240101T000001/report/index.html\">report</a>"));
  EXPECT_FALSE(Has(second->body, "20240101T000002/report/index.html"));

  httplib::Result invalid = Get("/?verdict=invalid");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(RowsOf(invalid->body), (std::vector<std::string>{"etcd-register/20240101T000002"}));
  httplib::Result unknown = Get("/?verdict=unknown&test=FAKE");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(RowsOf(unknown->body),
            (std::vector<std::string>{"fake-set/20240101T000004", "fake-set/20240101T000003"}));
  httplib::Result named = Get("/?test=register&page=1");
  ASSERT_TRUE(named);
  EXPECT_EQ(RowsOf(named->body), (std::vector<std::string>{"etcd-register/20240101T000002",
                                                           "etcd-register/20240101T000001"}));

  httplib::Result bad = Get("/?verdict=maybe");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST_F(ServeCommand, FilesWithTheirContentTypes) {
  Start();
  const std::string run = "/store/etcd-register/20240101T000001/";
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"report/index.html", "text/html; charset=utf-8"},
      {"report/style.css", "text/css; charset=utf-8"},
      {"report/app.js", "text/javascript; charset=utf-8"},
      {"report/latency-raw.svg", "image/svg+xml"},
      {"report/latency-raw.png", "image/png"},
      {"results.json", "application/json"},
      {"history.jsonl", "text/plain; charset=utf-8"},
      {"run.log", "text/plain; charset=utf-8"},
      {"nodes/n1/etcd.log", "text/plain; charset=utf-8"},
  };
  for (const auto& [file, type] : expected) {
    httplib::Result got = Get(run + file);
    ASSERT_TRUE(got) << file;
    EXPECT_EQ(got->status, 200) << file;
    EXPECT_EQ(got->get_header_value("Content-Type"), type) << file;
    EXPECT_EQ(got->get_header_value("X-Content-Type-Options"), "nosniff") << file;
    EXPECT_EQ(got->body, ReadFile(store_ / "etcd-register" / "20240101T000001" / file)) << file;
  }
  // A folder is a listing; store/latest leads to the run it names.
  httplib::Result folder = Get(run);
  ASSERT_TRUE(folder);
  EXPECT_EQ(folder->status, 200);
  EXPECT_TRUE(Has(folder->body, "href=\"/store/etcd-register/20240101T000001/run.log\""));
  httplib::Result latest = Get("/store/latest/results.json");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->status, 200);
  EXPECT_EQ(latest->body, R"({"valid": "unknown"})");
}

TEST_F(ServeCommand, EveryWayOutOfTheStoreIs404) {
  Start();
  for (const std::string& path : std::vector<std::string>{
           "/store/../secret.txt",
           "/store/%2e%2e/secret.txt",
           "/store/%2E%2E/secret.txt",
           "/store/..%2Fsecret.txt",
           "/store/%2e%2e%2fsecret.txt",
           "/store/etcd-register%2F..%2F..%2Fsecret.txt",
           "/store/etcd-register/20240101T000001/..%2F..%2F..%2Fsecret.txt",
           "/store/%2F" + base_.relative_path().string() + "/secret.txt",
           "/store//" + base_.relative_path().string() + "/secret.txt",
           "/store/" + base_.string() + "/secret.txt",
           "/store/etcd-register/20240101T000001/escape.txt",
           "/store/etcd-register/20240101T000001/relative-escape.txt",
           "/store/etcd-register/20240101T000001/escape-folder/inner.txt",
           "/store/etcd-register/20240101T000001/escape-folder/",
           "/store/up/secret.txt",
           "/store/%252e%252e/secret.txt",
           "/store/",
           "/store/nothing-here",
           "/../secret.txt",
           "/%2e%2e/secret.txt",
           "/archive/..%2F..%2Fsecret/20240101T000001.tar.gz",
           "/archive/latest/20240101T000001.tar.gz",
           "/archive/up/20240101T000001.tar.gz",
           "/archive/etcd-register/escape-folder.tar.gz",
           "/archive/etcd-register/20991231T000000.tar.gz",
       }) {
    httplib::Result got = Get(path);
    ASSERT_TRUE(got) << path;
    EXPECT_EQ(got->status, 404) << path;
    EXPECT_FALSE(Has(got->body, kSecret)) << path;
  }
}

TEST_F(ServeCommand, ArchiveIsTheRunAsTarGzWithLinksKeptAsLinks) {
  Start();
  httplib::Result got = Get("/archive/etcd-register/20240101T000001.tar.gz");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->get_header_value("Content-Type"), "application/gzip");
  EXPECT_EQ(got->get_header_value("Content-Disposition"),
            "attachment; filename=\"etcd-register-20240101T000001.tar.gz\"");
  const fs::path archive = base_ / "run.tar.gz";
  Write(archive, got->body);
  faultline::testing::CommandOutput listing = RunCommand("tar -tzvf " + archive.string());
  ASSERT_EQ(listing.exit_code, 0) << listing.out;
  for (const char* member :
       {"20240101T000001/results.json", "20240101T000001/history.jsonl", "20240101T000001/run.log",
        "20240101T000001/nodes/n1/etcd.log", "20240101T000001/report/latency-raw.png"}) {
    EXPECT_TRUE(Has(listing.out, member)) << member << "\n" << listing.out;
  }
  EXPECT_TRUE(Has(listing.out, "20240101T000001/escape.txt -> " + (base_ / "secret.txt").string()))
      << listing.out;
  // Every file's bytes: the run's, never what its links point at.
  faultline::testing::CommandOutput contents = RunCommand("tar -xzOf " + archive.string());
  ASSERT_EQ(contents.exit_code, 0) << contents.out;
  EXPECT_TRUE(Has(contents.out, "etcd says hello"));
  EXPECT_FALSE(Has(contents.out, kSecret));
}

// Incompressible bytes, so that gzip neither shrinks nor hurries them.
std::string RandomBytes(size_t size) {
  std::mt19937_64 random(42);
  std::string bytes(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    const uint64_t word = random();
    std::memcpy(bytes.data() + i, &word, 8);
  }
  return bytes;
}

// The children (zombies included) of every thread of `pid`.
std::string ChildrenOf(pid_t pid) {
  std::string children;
  for (const fs::directory_entry& task :
       fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    children += ReadFile(task.path() / "children");
  }
  return children;
}

TEST_F(ServeCommand, LargeFilesStreamWhole) {
  const std::string bytes = RandomBytes(3 << 20);  // over the 1 MiB read at once
  Write(store_ / "etcd-register" / "20240101T000002" / "history.jsonl", bytes);
  Start();
  httplib::Result got = Get("/store/etcd-register/20240101T000002/history.jsonl");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->get_header_value("Content-Length"), std::to_string(bytes.size()));
  EXPECT_TRUE(got->body == bytes) << "the body differs from the file";
}

TEST_F(ServeCommand, AnArchiveAbandonedByItsClientLeavesNoProcess) {
  Write(store_ / "etcd-register" / "20240101T000002" / "nodes" / "n1" / "big.log",
        RandomBytes(32 << 20));
  Start();
  size_t received = 0;
  httplib::Result got = client_->Get("/archive/etcd-register/20240101T000002.tar.gz",
                                     [&](const char*, size_t length) {
                                       received += length;
                                       return received < (1 << 20);  // hang up after 1 MiB
                                     });
  EXPECT_FALSE(got) << "the download was meant to be cut short";
  EXPECT_GE(received, size_t{1} << 20);
  // tar is killed and reaped: no child, not even a zombie, once the response is dropped.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string children = ChildrenOf(pid_);
  while (!children.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    children = ChildrenOf(pid_);
  }
  EXPECT_EQ(children, "");
  // And the server still serves.
  httplib::Result index = Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
}

TEST_F(ServeCommand, ListensOnlyOnTheGivenHost) {
  Start();
  // /proc/net/tcp: the listening socket (state 0A) on our port is bound to 127.0.0.1 only.
  char port_hex[8];
  std::snprintf(port_hex, sizeof port_hex, "%04X", port_);
  std::vector<std::string> listening;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(ReadFile(table));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state == "0A" && local.size() > 5 && local.substr(local.size() - 4) == port_hex) {
        listening.push_back(local);
      }
    }
  }
  EXPECT_EQ(listening, (std::vector<std::string>{"0100007F:" + std::string(port_hex)}));
}

TEST_F(ServeCommand, StopsCleanlyOnSigtermAndSigint) {
  Start();
  ASSERT_TRUE(Get("/"));
  EXPECT_EQ(StopWith(SIGTERM), 0) << ReadFile(output_);
  EXPECT_TRUE(Has(ReadFile(output_), "stopped (SIGTERM)"));
  Start();
  ASSERT_TRUE(Get("/"));
  EXPECT_EQ(StopWith(SIGINT), 0) << ReadFile(output_);
  EXPECT_TRUE(Has(ReadFile(output_), "stopped (SIGINT)"));
}

TEST_F(ServeCommand, RefusesAStoreThatIsNotAFolderAndABusyPort) {
  faultline::testing::CommandOutput missing =
      faultline::testing::Faultline("serve --port 0 --store " + (base_ / "no-such-store").string());
  EXPECT_EQ(missing.exit_code, 254) << missing.out;
  EXPECT_TRUE(Has(missing.out, "not a folder")) << missing.out;
  Start();
  faultline::testing::CommandOutput busy = faultline::testing::Faultline(
      "serve --host 127.0.0.1 --port " + std::to_string(port_) + " --store " + store_.string());
  EXPECT_EQ(busy.exit_code, 254) << busy.out;
  EXPECT_TRUE(Has(busy.out, "cannot listen")) << busy.out;
}

}  // namespace
