// Checkers as values (checker/checker.h): Compose keeps each checker's result and takes the worst
// verdict; the registry (checker/registry.h) makes every kind by name and back from the
// description test.json records; the perf checker's figures and plots.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "checker/checker.h"
#include "checker/linearizable/linearizable.h"
#include "checker/registry.h"
#include "support/temp_folder.h"

namespace faultline {
namespace {

// A checker that answers what it is told, and records the context it was given.
class Scripted : public Checker {
 public:
  Scripted(std::string name, Verdict verdict, std::string text = "",
           std::vector<std::string> warnings = {}, Status error = {})
      : name_(std::move(name)),
        verdict_(verdict),
        text_(std::move(text)),
        warnings_(std::move(warnings)),
        error_(std::move(error)) {}
  std::string Name() const override { return name_; }
  Json Describe() const override { return {{"name", name_}}; }
  CheckResult Check(const History&, const CheckContext& context) const override {
    seen_directory_ = context.output_directory;
    return {
        verdict_, {{"valid", VerdictJson(verdict_)}, {"mine", name_}}, text_, warnings_, error_};
  }
  mutable std::filesystem::path seen_directory_;

 private:
  std::string name_;
  Verdict verdict_;
  std::string text_;
  std::vector<std::string> warnings_;
  Status error_;
};

class Throwing : public Checker {
 public:
  std::string Name() const override { return "throwing"; }
  Json Describe() const override { return {{"name", Name()}}; }
  CheckResult Check(const History&, const CheckContext&) const override {
    throw std::runtime_error("boom");
  }
};

// Appends an invoke and its completion at the given times (ns).
void Add(History& history, int64_t process, const std::string& f, Json value, OpType outcome,
         int64_t invoke_ns, int64_t complete_ns) {
  Op invoke;
  invoke.process = process;
  invoke.f = f;
  invoke.value = value;
  invoke.time_ns = invoke_ns;
  invoke.index = static_cast<int64_t>(history.ops.size());
  history.ops.push_back(invoke);
  Op completion = invoke;
  completion.type = outcome;
  completion.time_ns = complete_ns;
  completion.index = invoke.index + 1;
  history.ops.push_back(completion);
}

TEST(Compose, TheWorstVerdictWinsAndEachCheckerKeepsItsEntry) {
  auto first = std::make_shared<Scripted>("first", Verdict::kValid, "all good\n",
                                          std::vector<std::string>{"careful"});
  auto second = std::make_shared<Scripted>("second", Verdict::kUnknown, "not sure\n");
  auto third = std::make_shared<Scripted>("third", Verdict::kInvalid, "broken\n");
  CheckerPtr composed = Compose({first, second, third});
  CheckContext context;
  context.output_directory = "/run/folder/checker";
  CheckResult result = composed->Check(History{}, context);
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.json["valid"], false);
  EXPECT_EQ(result.json["checkers"]["first"]["mine"], "first");
  EXPECT_EQ(result.json["checkers"]["second"]["valid"], "unknown");
  EXPECT_EQ(result.json["checkers"]["third"]["valid"], false);
  EXPECT_EQ(result.text, "all good\nsecond: not sure\nthird: broken\n");
  EXPECT_EQ(result.warnings, (std::vector<std::string>{"first: careful"}));
  EXPECT_EQ(first->seen_directory_, "/run/folder/checker/first");
  EXPECT_EQ(third->seen_directory_, "/run/folder/checker/third");

  EXPECT_EQ(Compose({first, second})->Check(History{}, {}).verdict, Verdict::kUnknown);
  CheckResult valid = Compose({first})->Check(History{}, {});
  EXPECT_EQ(valid.verdict, Verdict::kValid);
  EXPECT_EQ(valid.json["valid"], true);
  EXPECT_TRUE(first->seen_directory_.empty()) << "no output directory, no files";
}

TEST(Compose, ACheckerThatFailsOrThrowsIsUnknownAndTheOthersStillRun) {
  auto refusing =
      std::make_shared<Scripted>("refusing", Verdict::kUnknown, "", std::vector<std::string>{},
                                 Status::InvalidArgument("line 3: not an op"));
  auto after = std::make_shared<Scripted>("after", Verdict::kValid);
  CheckResult result =
      Compose({refusing, std::make_shared<Throwing>(), after})->Check(History{}, {});
  EXPECT_EQ(result.verdict, Verdict::kUnknown);
  EXPECT_EQ(result.error.message(), "line 3: not an op");
  EXPECT_EQ(result.json["checkers"]["throwing"]["valid"], "unknown");
  EXPECT_NE(result.json["checkers"]["throwing"]["error"].get<std::string>().find("boom"),
            std::string::npos);
  EXPECT_EQ(result.json["checkers"]["after"]["valid"], true);
}

TEST(Registry, MakesEveryKindAndRebuildsItFromItsDescription) {
  const Json settings = {{"model", {{"name", "register"}, {"initial_value", 0}}},
                         {"consistency_model", "snapshot-isolation"},
                         {"apdex_t_s", 0.25},
                         {"window_s", 5}};
  for (const std::string& name : CheckerNames()) {
    Result<CheckerPtr> checker = MakeChecker(name, settings);
    ASSERT_TRUE(checker.ok()) << name << ": " << checker.status().message();
    EXPECT_EQ((*checker)->Name(), name);
    Result<CheckerPtr> again = MakeCheckerFromDescription((*checker)->Describe());
    ASSERT_TRUE(again.ok()) << name;
    EXPECT_EQ((*again)->Describe(), (*checker)->Describe()) << name;
  }
  EXPECT_EQ((*MakeChecker("linearizable", settings))->Describe()["model"]["name"], "register");
  EXPECT_EQ((*MakeChecker("list-append", settings))->Describe()["consistency_model"],
            "snapshot-isolation");
  EXPECT_EQ((*MakeChecker("perf", settings))->Describe()["apdex_t_s"], 0.25);
}

TEST(Registry, RefusesUnknownNamesAndBadSettingsByName) {
  Result<CheckerPtr> unknown = MakeChecker("serializable-ish", Json::object());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("linearizable, list-append"), std::string::npos);
  Result<CheckerPtr> model = MakeChecker("linearizable", {{"model", {{"name", "queue-ish"}}}});
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("unknown model queue-ish"), std::string::npos);
  EXPECT_FALSE(MakeChecker("rw-register", {{"consistency_model", "strong-ish"}}).ok());
  Result<CheckerPtr> apdex = MakeChecker("perf", {{"apdex_t_s", -1}});
  ASSERT_FALSE(apdex.ok());
  EXPECT_NE(apdex.status().message().find("apdex_t_s"), std::string::npos);
  EXPECT_FALSE(MakeCheckerFromDescription({{"checkers", Json::array()}}).ok());
  EXPECT_FALSE(MakeCheckerFromDescription(
                   {{"name", "compose"}, {"checkers", {{{"name", "stats"}}, {{"name", "stats"}}}}})
                   .ok());
}

TEST(Registry, ARunComposesItsCheckersWithStatsAndPerfOnce) {
  Result<CheckerPtr> run = MakeRunChecker({"linearizable", "session"}, Json::object());
  ASSERT_TRUE(run.ok());
  Json description = (*run)->Describe();
  EXPECT_EQ(description["name"], "compose");
  std::vector<std::string> names;
  for (const Json& component : description["checkers"]) names.push_back(component["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"linearizable", "session", "stats", "perf"}));
  Result<CheckerPtr> named = MakeRunChecker({"perf", "stats", "session"}, Json::object());
  ASSERT_TRUE(named.ok());
  EXPECT_EQ((*named)->Describe()["checkers"].size(), 3u);
  EXPECT_FALSE(MakeRunChecker({"session", "session"}, Json::object()).ok());
  EXPECT_FALSE(MakeRunChecker({}, Json::object()).ok());
}

// A run stored before checkers were values recorded {"checker": {"name", "consistency_model"}}
// and the model beside it; analyze must still judge it the same way.
TEST(Registry, ReadsTheTestJsonOfOlderRuns) {
  Json old = {{"checker", {{"name", "linearizable"}, {"consistency_model", "strict-serializable"}}},
              {"model", {{"name", "register"}, {"initial_value", 3}}}};
  Result<CheckerPtr> checker = CheckerOfTestJson(old);
  ASSERT_TRUE(checker.ok()) << checker.status().message();
  Json components = (*checker)->Describe()["checkers"];
  ASSERT_EQ(components.size(), 3u);
  EXPECT_EQ(components[0]["model"]["name"], "register");
  EXPECT_EQ(components[0]["model"]["initial_value"], 3);
  EXPECT_EQ(components[1]["name"], "stats");
  Result<CheckerPtr> current = CheckerOfTestJson({{"checker", (*checker)->Describe()}});
  ASSERT_TRUE(current.ok());
  EXPECT_EQ((*current)->Describe(), (*checker)->Describe());
}

// Several consistency checkers on one history: a register history with a stale read is not
// linearizable but keeps every session guarantee; each verdict is its own entry.
TEST(Registry, SeveralCheckersJudgeOneHistoryEachWithItsOwnEntry) {
  History history;
  Add(history, 0, "write", 1, OpType::kOk, 0, 10);
  Add(history, 1, "read", nullptr, OpType::kOk, 20, 30);  // nil after the write completed
  Result<CheckerPtr> run =
      MakeRunChecker({"linearizable", "session"}, {{"model", {{"name", "register"}}}});
  ASSERT_TRUE(run.ok());
  CheckResult result = (*run)->Check(history, {});
  ASSERT_TRUE(result.error.ok()) << result.error.message();
  EXPECT_EQ(result.verdict, Verdict::kInvalid);
  EXPECT_EQ(result.json["checkers"]["linearizable"]["valid"], false);
  EXPECT_EQ(result.json["checkers"]["session"]["valid"], true);
  EXPECT_EQ(result.json["checkers"]["stats"]["valid"], true);
  EXPECT_EQ(result.json["checkers"]["perf"]["valid"], true);
}

// Every write failed: nothing for the register checker to find wrong, but the run tested nothing.
TEST(Registry, StatsInARunTurnsARunWithoutASuccessfulWriteUnknown) {
  History history;
  for (int i = 0; i < 3; ++i) Add(history, i, "write", i, OpType::kFail, i * 10, i * 10 + 5);
  Add(history, 0, "read", nullptr, OpType::kOk, 50, 60);
  CheckResult result = (*MakeRunChecker({"linearizable"}, Json::object()))->Check(history, {});
  EXPECT_EQ(result.json["checkers"]["linearizable"]["valid"], true);
  EXPECT_EQ(result.verdict, Verdict::kUnknown);
  EXPECT_NE(result.text.find("stats: "), std::string::npos);
  EXPECT_NE(result.text.find("write"), std::string::npos);
}

// Hand-computed: three ok reads of 1, 2 and 4 ms and two failed ops, over 1 s; a partition from
// 0.2 s to 0.5 s. Apdex with T = 1.5 ms: 1 satisfied, 2 tolerating (<= 6 ms), the fails
// frustrated: (1 + 2/2) / 5 = 0.4.
TEST(Perf, FiguresOfTheWholeRunAndItsFaults) {
  History history;
  Add(history, 0, "read", nullptr, OpType::kOk, 0, 1'000'000);
  Add(history, 1, "read", nullptr, OpType::kOk, 100'000'000, 102'000'000);
  Add(history, 2, "read", nullptr, OpType::kOk, 300'000'000, 304'000'000);
  Add(history, 3, "write", 1, OpType::kFail, 400'000'000, 401'000'000);
  Add(history, kNemesisProcess, "start-partition", Json{{"n1", {"n2"}}}, OpType::kInfo, 200'000'000,
      200'000'000);
  Add(history, kNemesisProcess, "stop-partition", nullptr, OpType::kOk, 500'000'000, 500'000'000);
  Add(history, 0, "read", nullptr, OpType::kFail, 999'000'000, 1'000'000'000);
  Result<CheckerPtr> perf = MakeChecker("perf", {{"apdex_t_s", 0.0015}});
  ASSERT_TRUE(perf.ok());
  CheckResult result = (*perf)->Check(history, {});
  EXPECT_EQ(result.verdict, Verdict::kValid);
  const Json& json = result.json;
  EXPECT_EQ(json["operations"], 5);
  EXPECT_DOUBLE_EQ(json["duration_s"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["availability"].get<double>(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(json["apdex"].get<double>(), (1 + 2 / 2.0) / 5);
  EXPECT_DOUBLE_EQ(json["ok_per_s"].get<double>(), 3.0);
  EXPECT_EQ(json["latency_ms"]["read"]["count"], 3);
  EXPECT_DOUBLE_EQ(json["latency_ms"]["read"]["p50"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(json["latency_ms"]["read"]["max"].get<double>(), 4.0);
  EXPECT_EQ(json["latency_ms"]["write"]["count"], 0);
  ASSERT_EQ(json["faults"].size(), 1u);
  EXPECT_EQ(json["faults"][0]["kind"], "partition");
  EXPECT_DOUBLE_EQ(json["faults"][0]["start_s"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(json["faults"][0]["stop_s"].get<double>(), 0.5);
  EXPECT_EQ(json["faults"][0]["value"]["n1"][0], "n2");
  EXPECT_TRUE(json["plots"].empty()) << "no output directory, no plots";
}

TEST(Perf, DrawsItsPlotsIntoItsOutputDirectory) {
  History history;
  Add(history, 0, "read", nullptr, OpType::kOk, 0, 1'000'000);
  Add(history, 1, "write", 2, OpType::kOk, 5'000'000, 9'000'000);
  testing::TempFolder temp("faultline_perf_");
  ASSERT_FALSE(temp.path().empty());
  const std::filesystem::path& directory = temp.path();
  CheckContext context;
  context.output_directory = directory / "checker";
  CheckResult result = (*MakeRunChecker({"stats"}, Json::object()))->Check(history, context);
  const Json& perf = result.json["checkers"]["perf"];
  if (std::system("command -v gnuplot >/dev/null") != 0) {
    EXPECT_EQ(result.warnings.size(), 1u);
  } else {
    EXPECT_TRUE(result.warnings.empty()) << result.warnings.front();
    EXPECT_EQ(perf["plots"].size(), 8u);
    EXPECT_TRUE(std::filesystem::is_regular_file(directory / "checker/perf/latency-raw.svg"));
    EXPECT_TRUE(std::filesystem::is_regular_file(directory / "checker/perf/availability.png"));
  }
}

// A long check says how far it got: the linearizability checker reports each partition decided,
// and ThrottledProgress passes on only what comes a while after the first message.
TEST(Progress, LinearizableReportsPartitionsAndThrottlingKeepsShortChecksQuiet) {
  History history;
  for (int key = 0; key < 3; ++key) {
    Add(history, key, "write", Json::array({key, 1}), OpType::kOk, key * 10, key * 10 + 5);
  }
  std::vector<std::string> heard;
  CheckContext context;
  context.threads = 2;
  context.progress = [&heard](const std::string& step) { heard.push_back(step); };
  CheckResult result =
      MakeLinearizableChecker({"cas-register", Json()})->Check(history, context);
  EXPECT_EQ(result.verdict, Verdict::kValid);
  ASSERT_EQ(heard.size(), 4u);
  EXPECT_EQ(heard.front(), "linearizable: searching cas-register");
  EXPECT_EQ(heard.back(), "linearizable: 3 of 3 partitions decided");

  std::vector<std::string> passed;
  auto throttled =
      ThrottledProgress([&passed](const std::string& step) { passed.push_back(step); }, 0.2);
  throttled("first");
  throttled("soon after");
  EXPECT_TRUE(passed.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  throttled("later");
  throttled("right after");
  EXPECT_EQ(passed, (std::vector<std::string>{"later"}));
}

}  // namespace
}  // namespace faultline
