// Acceptance tests: every history under tests/data parses with format detection, each family
// passes a sanity check of its own, and chunked (parallel) parses equal serial ones, on the
// samples and on generated multi-megabyte inputs, errors included.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/history_io.h"
#include "core/history_readers.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

const fs::path kData = FAULTLINE_TEST_DATA;

std::vector<fs::path> FilesUnder(const fs::path& folder, std::string_view extension) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().extension() == extension) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

size_t Count(std::string_view text, std::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

Result<History> ReadFile(const fs::path& path) { return ReadHistoryFile(path.string()); }

bool SameOp(const Op& a, const Op& b) {
  return a.index == b.index && a.time_ns == b.time_ns && a.type == b.type &&
         a.process == b.process && a.f == b.f && a.line == b.line && a.value == b.value &&
         a.error == b.error && a.extra == b.extra;
}

// "" when two parses have the same outcome (the same error, or the same ops to the line), else
// what differs.
std::string Difference(const Result<History>& a, const Result<History>& b) {
  if (a.ok() != b.ok()) {
    return "one failed: " + (a.ok() ? b.status().message() : a.status().message());
  }
  if (!a.ok()) {
    return a.status().message() == b.status().message()
               ? ""
               : a.status().message() + " vs " + b.status().message();
  }
  if (a->header != b->header || a->source != b->source) return "header or source";
  if (a->ops.size() != b->ops.size()) {
    return std::to_string(a->ops.size()) + " vs " + std::to_string(b->ops.size()) + " ops";
  }
  for (size_t i = 0; i < a->ops.size(); ++i) {
    if (!SameOp(a->ops[i], b->ops[i])) {
      return "op " + std::to_string(i) + ": " + a->ops[i].ToJson().dump() + " line " +
             std::to_string(a->ops[i].line) + " vs " + b->ops[i].ToJson().dump() + " line " +
             std::to_string(b->ops[i].line);
    }
  }
  return "";
}

Result<History> ReadChunked(std::string_view text, int chunks) {
  return internal::ReadHistoryChunked(text, "gen", DetectFormat(text), chunks, 0);
}

Json ClientOps(const History& history) {
  Json ops = Json::array();
  for (const Op& op : history.ops) {
    if (op.is_nemesis()) continue;
    ops.push_back({op.process, ToString(op.type), op.f, op.value, op.error});
  }
  return ops;
}

TEST(HistorySamplesTest, PorcupineCleanLogs) {
  const auto files = FilesUnder(kData / "porcupine/jepsen", ".log");
  ASSERT_EQ(files.size(), 103u);
  for (const fs::path& file : files) {
    const std::string text = Slurp(file);
    Result<History> history = ReadFile(file);
    if (file.filename() == "etcd_095.log") {  // the run whose cluster never started: empty
      ASSERT_FALSE(history.ok());
      EXPECT_EQ(history.status().message(),
                file.string() + ":1:1: expected a history, found end of file");
      continue;
    }
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    EXPECT_EQ(DetectFormat(text), HistoryFormat::kJepsenLog) << file;
    EXPECT_EQ(history->ops.size(), Count(text, "\n")) << file;
    EXPECT_EQ(history->ops.back().line, static_cast<int64_t>(history->ops.size())) << file;
    for (const Op& op : history->ops) {
      ASSERT_FALSE(op.is_nemesis()) << file;
      ASSERT_TRUE(op.f == "read" || op.f == "write" || op.f == "cas") << file << ":" << op.line;
    }
  }
}

TEST(HistorySamplesTest, PorcupineRawLogsHoldTheCleanLogsOps) {
  const auto files = FilesUnder(kData / "porcupine/jepsen-raw-ahorn", ".log");
  ASSERT_EQ(files.size(), 103u);
  size_t nemesis_ops = 0;
  for (const fs::path& file : files) {
    Result<History> raw = ReadFile(file);
    if (file.filename() == "etcd_095.log") {  // setup failed: a log with no history lines
      ASSERT_FALSE(raw.ok());
      EXPECT_NE(raw.status().message().find(": expected a jepsen.util history line, found end "
                                            "of file"),
                std::string::npos);
      continue;
    }
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    Result<History> clean = ReadFile(kData / "porcupine/jepsen" / file.filename());
    ASSERT_TRUE(clean.ok()) << clean.status().ToString();
    EXPECT_EQ(ClientOps(*raw), ClientOps(*clean)) << file;
    nemesis_ops += std::count_if(raw->ops.begin(), raw->ops.end(),
                                 [](const Op& op) { return op.is_nemesis(); });
  }
  EXPECT_GT(nemesis_ops, 900u);
}

TEST(HistorySamplesTest, KnossosHistories) {
  const auto files = FilesUnder(kData / "knossos", ".edn");
  ASSERT_EQ(files.size(), 122u);
  for (const fs::path& file : files) {
    const std::string text = Slurp(file);
    Result<History> history = ReadFile(file);
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    EXPECT_EQ(DetectFormat(text), HistoryFormat::kEdn) << file;
    EXPECT_EQ(history->ops.size(), Count(text, ":type")) << file;
  }
  Result<History> cas = ReadFile(kData / "knossos/cas-register/bad/cas-failure.edn");
  ASSERT_TRUE(cas.ok());
  const Op& first = cas->ops.front();
  EXPECT_EQ(first.process, 70);
  EXPECT_EQ(first.type, OpType::kInvoke);
  EXPECT_EQ(first.f, "read");
  EXPECT_TRUE(first.value.is_null());
  EXPECT_EQ(first.index, 0);
  EXPECT_EQ(first.line, 1);

  Result<History> mutex = ReadFile(kData / "knossos/mutex/bad/etcd.edn");
  ASSERT_TRUE(mutex.ok());
  EXPECT_EQ(mutex->ops[1].error, Json("not-held"));
  EXPECT_EQ(mutex->ops[1].time_ns, 342667129);

  Result<History> minimal = ReadFile(kData / "knossos/cas-register/bad/rethink-fail-minimal.edn");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->ops[2].f, "read");
  EXPECT_EQ(minimal->ops[2].process, 1);
  EXPECT_EQ(minimal->ops[2].line, 4);  // after a comment line

  Result<History> multi = ReadFile(kData / "knossos/multi-register/good/multi-register.edn");
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->ops[1].value, Json::parse(R"([["read","x",null],["read","y",null]])"));
  EXPECT_EQ(multi->ops[1].line, 7);
}

TEST(HistorySamplesTest, ElleCases) {
  const auto files = FilesUnder(kData / "elle/cases", ".edn");
  ASSERT_EQ(files.size(), 39u);
  for (const fs::path& file : files) {
    const std::string text = Slurp(file);
    Result<History> history = ReadFile(file);
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    EXPECT_EQ(DetectFormat(text), HistoryFormat::kEdn) << file;
    EXPECT_EQ(history->ops.size(), Count(text, ":type")) << file;
  }
  Result<History> g0 = ReadFile(kData / "elle/cases/la-G0.edn");
  ASSERT_TRUE(g0.ok());
  ASSERT_EQ(g0->ops.size(), 3u);
  EXPECT_EQ(g0->ops[0].f, "txn");
  EXPECT_EQ(g0->ops[0].value, Json::parse(R"([["append","x",1],["append","y",1]])"));
  EXPECT_EQ(g0->ops[2].value, Json::parse(R"([["r","x",[1,2]],["r","y",[2,1]]])"));
  EXPECT_EQ(g0->ops[2].index, 2);
  EXPECT_EQ(g0->ops[0].line, 6);
}

TEST(HistorySamplesTest, EverySampleWritesAsOpToJsonAndReadsBack) {
  for (const char* folder : {"porcupine/jepsen-raw-ahorn", "knossos", "elle/cases"}) {
    for (const fs::path& file : FilesUnder(kData / folder, folder[0] == 'p' ? ".log" : ".edn")) {
      Result<History> history = ReadFile(file);
      if (!history.ok()) continue;  // etcd_095, checked above
      std::ostringstream out;
      WriteJsonl(*history, out);
      const std::string text = out.str();
      size_t line_start = text.find('\n') + 1;
      for (const Op& op : history->ops) {
        const size_t line_end = text.find('\n', line_start);
        ASSERT_EQ(text.substr(line_start, line_end - line_start), op.ToJson().dump()) << file;
        line_start = line_end + 1;
      }
      Result<History> back = ReadHistoryText(text, "back");
      ASSERT_TRUE(back.ok()) << back.status().message();
      ASSERT_EQ(back->ops.size(), history->ops.size());
      for (size_t i = 0; i < back->ops.size(); ++i) {
        Op expected = history->ops[i];
        expected.line = static_cast<int64_t>(i) + 2;
        ASSERT_TRUE(SameOp(back->ops[i], expected)) << file << " op " << i;
      }
    }
  }
}

TEST(HistorySamplesTest, ChunkedParsesOfEverySampleEqualTheSerialOne) {
  std::vector<fs::path> files;
  for (const char* folder :
       {"porcupine/jepsen", "porcupine/jepsen-raw-ahorn", "knossos", "elle/cases"}) {
    for (const char* extension : {".log", ".edn"}) {
      const auto found = FilesUnder(kData / folder, extension);
      files.insert(files.end(), found.begin(), found.end());
    }
  }
  for (const fs::path& file : files) {
    const std::string text = Slurp(file);
    const Result<History> serial = ReadChunked(text, 1);
    for (int chunks : {2, 3, 7}) {
      ASSERT_EQ(Difference(ReadChunked(text, chunks), serial), "") << file << " in " << chunks;
    }
  }
}

// --- Generated inputs, big enough for ReadHistoryText's own threshold -------------------------

std::string RaftKvLine(int i) {
  return "{:process " + std::to_string(i % 40) + ", :type " + (i % 2 ? ":ok" : ":invoke") +
         ", :f :append, :key \"" + std::to_string(i % 997) + "\", :value \"x " + std::to_string(i) +
         " y\"}\n";
}

std::string Generate(std::string_view kind, size_t min_bytes) {
  std::string text;
  if (kind == "jsonl") text = "{\"faultline_history\":1,\"test\":\"gen\"}\n";
  if (kind == "edn-vector" || kind == "elle") text = "[";
  for (int i = 0; text.size() < min_bytes; ++i) {
    const std::string process = std::to_string(i % 40);
    const std::string type = i % 2 ? "ok" : "invoke";
    if (kind == "edn") {
      text += RaftKvLine(i);
    } else if (kind == "edn-vector") {
      // Multi-line maps, comments and strings holding brackets: boundaries must be chosen well.
      text += "{:process " + process + ",\n :type :" + type + ",\n :f :txn, ; note {\n :value [[" +
              ":append :x " + std::to_string(i) + "]], :note \"}]\\n{\"}\n";
    } else if (kind == "edn-tricky") {
      // A string whose second line looks like an op: a boundary guessed there must not matter.
      text += "{:process " + process + ", :type :" + type + ", :f :r, :value \"a\n{:process 1, " +
              ":type :ok}\"}\n";
    } else if (kind == "jsonl") {
      text += "{\"type\":\"" + type + "\",\"process\":" + process +
              ",\"f\":\"write\",\"value\":" + std::to_string(i) + "}\n";
    } else if (kind == "elle") {
      text += (i ? ",\n" : "") + std::string("{\"type\":\"") + type + "\",\"process\":" + process +
              ",\"f\":\"txn\",\"value\":[[\"append\",\"x\"," + std::to_string(i) + "]]}";
    } else {
      text += "INFO  jepsen.util - " + process + "\t:" + type + "\t:write\t" + std::to_string(i) +
              "\nINFO  jepsen.core - noise\n";
    }
  }
  if (kind == "edn-vector") text += "]\n";
  if (kind == "elle") text += "\n]\n";
  return text;
}

Result<History> ReadWithThreads(std::string_view text, int threads) {
  ReadOptions options;
  options.threads = threads;
  return ReadHistoryText(text, "gen", options);
}

TEST(HistorySamplesTest, WellFormedMegabytesReallyParseInChunks) {
  // A boundary guessed inside a string ("edn-tricky") may fall back to the serial parse; the
  // others must not, or the threads would buy nothing.
  for (std::string_view kind : {"edn", "edn-vector", "jsonl", "elle", "log"}) {
    const std::string text = Generate(kind, size_t{2} << 20);
    bool parsed_in_chunks = false;
    const Result<History> history =
        internal::ReadHistoryChunked(text, "gen", DetectFormat(text), 8, 0, 2, &parsed_in_chunks);
    ASSERT_TRUE(history.ok()) << kind << ": " << history.status().message();
    EXPECT_TRUE(parsed_in_chunks) << kind;
    EXPECT_EQ(Difference(history, ReadChunked(text, 1)), "") << kind;
  }
}

TEST(HistorySamplesTest, ParallelParseEqualsSerialOnMegabytes) {
  for (std::string_view kind : {"edn", "edn-vector", "edn-tricky", "jsonl", "elle", "log"}) {
    const std::string text = Generate(kind, size_t{6} << 20);
    const Result<History> serial = ReadChunked(text, 1);
    ASSERT_TRUE(serial.ok()) << kind << ": " << serial.status().message();
    EXPECT_EQ(Difference(ReadWithThreads(text, 1), serial), "") << kind;
    EXPECT_EQ(Difference(ReadWithThreads(text, 2), serial), "") << kind;
    EXPECT_GT(serial->ops.size(), 40000u) << kind;
    EXPECT_EQ(Difference(ReadWithThreads(text, 4), serial), "") << kind;
    EXPECT_EQ(Difference(ReadWithThreads(text, 0), serial), "") << kind;
  }
}

struct Breakage {
  std::string_view anchor;
  size_t offset;
  char byte;
};

TEST(HistorySamplesTest, ChunkedParseReportsTheFirstErrorLikeSerial) {
  for (std::string_view kind : {"edn", "edn-vector", "edn-tricky", "jsonl", "elle", "log"}) {
    const std::string text = Generate(kind, size_t{1} << 20);
    // Break the text near its start, middle and end, then in a second place too.
    for (double where : {0.1, 0.5, 0.97}) {
      std::string broken = text;
      // Each anchor occurs outside strings only.
      const auto [anchor, offset, byte] = kind == "log"          ? Breakage{":write", 0, '('}
                                          : kind == "edn-tricky" ? Breakage{":f :r", 3, '}'}
                                                                 : Breakage{"ype", 1, '#'};
      const size_t at = broken.find(anchor, broken.size() * where);
      ASSERT_NE(at, std::string::npos);
      broken[at + offset] = byte;
      const Result<History> serial = ReadChunked(broken, 1);
      ASSERT_FALSE(serial.ok()) << kind << " " << where;
      EXPECT_EQ(Difference(ReadChunked(broken, 4), serial), "") << kind << " " << where;
      broken[broken.size() * 4 / 5] = '"';
      EXPECT_EQ(Difference(ReadChunked(broken, 3), ReadChunked(broken, 1)), "")
          << kind << " " << where;
    }
    const std::string truncated = text.substr(0, text.size() * 2 / 3);
    EXPECT_EQ(Difference(ReadChunked(truncated, 4), ReadChunked(truncated, 1)), "") << kind;
  }
}

}  // namespace
}  // namespace faultline
