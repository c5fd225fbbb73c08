#include "reports/plots.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/command.h"
#include "support/junit_schema.h"
#include "support/skip.h"
#include "support/temp_folder.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMs = 1'000'000;
constexpr char kGnuplot[] = "/usr/bin/gnuplot";

// A fresh folder for one test, removed afterwards.
class PlotsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(folder_.empty()); }

  // Appends one op; `process` -1 is the nemesis.
  void Add(int64_t time_ms, OpType type, int64_t process, const std::string& f) {
    const auto index = static_cast<int64_t>(history_.ops.size());
    history_.ops.push_back({.index = index, .time_ns = time_ms * kMs, .type = type,
                            .process = process, .f = f, .value = nullptr, .error = nullptr,
                            .extra = nullptr, .line = 0});
  }
  void Call(int64_t invoke_ms, int64_t latency_ms, OpType outcome, int64_t process,
            const std::string& f) {
    Add(invoke_ms, OpType::kInvoke, process, f);
    Add(invoke_ms + latency_ms, outcome, process, f);
  }
  // Reads, writes and a cas over 5 s with every outcome, a partition from 1 s to 3 s.
  void SmallRun(const std::string& write_kind, const std::string& fault_kind) {
    Call(100, 2, OpType::kOk, 0, "read");
    Call(200, 5, OpType::kOk, 1, write_kind);
    Add(1000, OpType::kInvoke, kNemesisProcess, "start-" + fault_kind);
    Add(1010, OpType::kInfo, kNemesisProcess, "start-" + fault_kind);
    Call(1500, 1000, OpType::kInfo, 0, "read");
    Call(1600, 40, OpType::kFail, 1, write_kind);
    Call(2000, 0, OpType::kOk, 2, "cas");
    Add(3000, OpType::kInvoke, kNemesisProcess, "stop-" + fault_kind);
    Add(3005, OpType::kOk, kNemesisProcess, "stop-" + fault_kind);
    Call(3500, 3, OpType::kOk, 0, "read");
    Call(4000, 7, OpType::kOk, 1, write_kind);
    Add(4900, OpType::kInvoke, 3, "read");  // never completes: an info to the end
  }
  std::string Read(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  }
  std::vector<std::string> Written() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder_ / "plots")) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  testing::TempFolder temp_{"faultline_plots_"};  // removed with everything in it
  const fs::path& folder_ = temp_.path();
  History history_;
};

#define REQUIRE_GNUPLOT()          \
  if (!fs::exists(kGnuplot))       \
  FAULTLINE_SKIP() << kGnuplot << " is missing (Debian package gnuplot-nox, scripts/setup.sh)"

TEST_F(PlotsTest, WritesEveryPlotAsPngAndSvgWithTheKindsAndTheFaultInTheLegend) {
  REQUIRE_GNUPLOT();
  FAULTLINE_REQUIRE_XMLLINT();
  SmallRun("write", "partition");
  std::vector<std::string> warnings;
  Status status = WritePlots(history_, {.window_s = 1, .apdex_t_s = 0.01}, folder_ / "plots",
                             &warnings);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  // Only the plots: the script and data folder is gone.
  EXPECT_EQ(Written(), (std::vector<std::string>{
                           "availability.png", "availability.svg", "latency-quantiles.png",
                           "latency-quantiles.svg", "latency-raw.png", "latency-raw.svg",
                           "rate.png", "rate.svg"}));
  for (std::string_view name : kPlotNames) {
    const std::string png = Read(folder_ / "plots" / (std::string(name) + ".png"));
    EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n") << name;
    const fs::path svg_path = folder_ / "plots" / (std::string(name) + ".svg");
    testing::CommandOutput parsed = testing::RunCommand(
        std::string(testing::kXmllint) + " --noout '" + svg_path.string() + "'");
    EXPECT_EQ(parsed.exit_code, 0) << name << ": " << parsed.out;
    const std::string svg = Read(svg_path);
    EXPECT_NE(svg.find("<svg"), std::string::npos) << name;
    EXPECT_NE(svg.find(">partition</text>"), std::string::npos) << name << ": no fault legend";
  }
  const std::string raw = Read(folder_ / "plots" / "latency-raw.svg");
  for (const char* title : {"read ok", "read info", "write ok", "write fail", "cas ok"}) {
    EXPECT_NE(raw.find(std::string(">") + title + "</text>"), std::string::npos) << title;
  }
  const std::string quantiles = Read(folder_ / "plots" / "latency-quantiles.svg");
  for (const char* title : {"read p50", "write p99", "cas max"}) {
    EXPECT_NE(quantiles.find(std::string(">") + title + "</text>"), std::string::npos) << title;
  }
  EXPECT_NE(Read(folder_ / "plots" / "rate.svg").find(">fail</text>"), std::string::npos);
  EXPECT_NE(Read(folder_ / "plots" / "availability.svg").find(">Apdex (T = 0.01 s)</text>"),
            std::string::npos);
}

// The x axis spans the history, not a window: a 4.9 s run with the default 10 s windows is drawn
// across the plot (ticks every 0.5 s), not squeezed into the left half of a 0-10 s axis.
TEST_F(PlotsTest, TheTimeAxisSpansTheHistoryEvenWhenShorterThanAWindow) {
  REQUIRE_GNUPLOT();
  SmallRun("write", "partition");
  std::vector<std::string> warnings;
  ASSERT_TRUE(WritePlots(history_, {.window_s = 10}, folder_ / "plots", &warnings).ok());
  const std::string svg = Read(folder_ / "plots" / "availability.svg");
  EXPECT_NE(svg.find("<text> 4.5</text>"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("<text> 8</text>"), std::string::npos) << "x axis runs past the history";
}

TEST_F(PlotsTest, EachFaultKindHasItsOwnColourAndLegendEntry) {
  REQUIRE_GNUPLOT();
  SmallRun("write", "partition");
  Add(4100, OpType::kInvoke, kNemesisProcess, "start-kill");
  Add(4200, OpType::kOk, kNemesisProcess, "start-kill");
  std::vector<std::string> warnings;
  ASSERT_TRUE(WritePlots(history_, {.window_s = 1, .png = false}, folder_ / "plots", &warnings)
                  .ok());
  EXPECT_TRUE(warnings.empty());
  const std::string svg = Read(folder_ / "plots" / "rate.svg");
  EXPECT_NE(svg.find(">partition</text>"), std::string::npos);
  EXPECT_NE(svg.find(">kill</text>"), std::string::npos);
  // Set1's first two colours, by kind name: kill #e41a1c, partition #377eb8, each filling its
  // interval and its legend box.
  for (const char* fill : {"fill = 'rgb(228,  26,  28)'", "fill = 'rgb( 55, 126, 184)'"}) {
    size_t count = 0;
    for (size_t at = svg.find(fill); at != std::string::npos; at = svg.find(fill, at + 1)) {
      ++count;
    }
    EXPECT_EQ(count, 2u) << fill;
  }
  EXPECT_FALSE(fs::exists(folder_ / "plots" / "rate.png"));
}

TEST_F(PlotsTest, MissingGnuplotIsOneWarningAndNoPlots) {
  SmallRun("write", "partition");
  for (const char* command : {"/nonexistent/gnuplot", "faultline-no-such-gnuplot"}) {
    std::vector<std::string> warnings;
    Status status = WritePlots(history_, {.window_s = 1, .gnuplot_command = command},
                               folder_ / "plots", &warnings);
    EXPECT_TRUE(status.ok()) << status.ToString();
    ASSERT_EQ(warnings.size(), 1u) << command;
    EXPECT_NE(warnings[0].find("cannot run gnuplot"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find(command), std::string::npos) << warnings[0];
    EXPECT_TRUE(Written().empty()) << command;
  }
}

TEST_F(PlotsTest, KindsAreTextNeverGnuplotCommands) {
  REQUIRE_GNUPLOT();
  const fs::path marker = folder_ / "injected";
  // Each would run `touch marker` if it reached the script unquoted, double-quoted, or through
  // gnuplot's backquote substitution.
  const std::string single = "w'; system 'touch " + marker.string() + "'; x='";
  const std::string dual = "f\"; system \"touch " + marker.string() + "\"; x=\"";
  const std::string backquoted = "`touch " + marker.string() + "`";
  SmallRun(single, dual);
  Call(4500, 1, OpType::kOk, 2, backquoted);
  std::vector<std::string> warnings;
  ASSERT_TRUE(WritePlots(history_, {.window_s = 1}, folder_ / "plots", &warnings).ok());
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_FALSE(fs::exists(marker));
  const std::string raw = Read(folder_ / "plots" / "latency-raw.svg");
  EXPECT_NE(raw.find(">" + single + " ok</text>"), std::string::npos) << raw;
  EXPECT_NE(raw.find(">" + backquoted + " ok</text>"), std::string::npos);
  EXPECT_NE(raw.find(">" + dual + "</text>"), std::string::npos);
}

TEST_F(PlotsTest, AHistoryWithoutTimedClientOpsIsOneWarning) {
  Add(1000, OpType::kInvoke, kNemesisProcess, "start-partition");
  std::vector<std::string> warnings;
  ASSERT_TRUE(WritePlots(history_, {}, folder_ / "plots", &warnings).ok());
  EXPECT_EQ(warnings.size(), 1u);
  EXPECT_FALSE(fs::exists(folder_ / "plots"));
}

TEST_F(PlotsTest, AnInvalidWindowIsAnError) {
  SmallRun("write", "partition");
  std::vector<std::string> warnings;
  EXPECT_EQ(WritePlots(history_, {.window_s = 0}, folder_ / "plots", &warnings).code(),
            StatusCode::kInvalidArgument);
}

TEST(GnuplotQuotedTest, DoublesQuotesAndReplacesControlsAndBadUtf8) {
  EXPECT_EQ(GnuplotQuoted("it's"), "'it''s'");
  EXPECT_EQ(GnuplotQuoted("a\nb\x7f"), "'a\xEF\xBF\xBD" "b\xEF\xBF\xBD'");
  EXPECT_EQ(GnuplotQuoted("\xff"), "'\xEF\xBF\xBD'");
  EXPECT_EQ(GnuplotQuoted("é `x` @y \"z\""), "'é `x` @y \"z\"'");
}

// latency-raw draws every op of a small run; of a big one, one per kind, outcome and grid cell:
// 300,000 reads all at 1 ms over 10 s fill at most 501 cells, and the one failed op among them
// and the one slow read are still drawn.
TEST(RawPointsDrawn, EveryPointOfASmallRunAndOnePerCellOfABigOne) {
  LatencyPoints small;
  small.fs = {"read"};
  for (int i = 0; i < 20'000; ++i) {
    small.points.push_back({.invoke_ns = i, .latency_ns = 1'000'000, .f = 0});
  }
  small.end_ns = 20'000;
  std::vector<bool> all = RawPointsDrawn(small);
  EXPECT_EQ(std::count(all.begin(), all.end(), true), 20'000);

  LatencyPoints big;
  big.fs = {"read", "write"};
  const int64_t count = 300'000;
  for (int64_t i = 0; i < count; ++i) {
    big.points.push_back({.invoke_ns = i * 10'000'000'000 / count, .latency_ns = 1'000'000, .f = 0});
  }
  big.points[1000].outcome = OpType::kFail;
  big.points[2000].latency_ns = 900'000'000;
  big.points[3000].f = 1;
  big.end_ns = 10'000'000'000;
  std::vector<bool> drawn = RawPointsDrawn(big);
  ASSERT_EQ(drawn.size(), big.points.size());
  const auto kept = std::count(drawn.begin(), drawn.end(), true);
  EXPECT_GT(kept, 450);
  EXPECT_LE(kept, 501 + 3);
  EXPECT_TRUE(drawn[1000]);
  EXPECT_TRUE(drawn[2000]);
  EXPECT_TRUE(drawn[3000]);
  EXPECT_TRUE(drawn[0]);
}

}  // namespace
}  // namespace faultline::reports
