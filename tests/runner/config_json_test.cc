// `--config FILE` (runner/cli/config_json.h): the file's flags in place of the flag, and a run
// described by a file as a CI job keeps it.
#include "runner/cli/config_json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/command.h"
#include "support/temp_folder.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;

class ConfigJsonTest : public ::testing::Test {
 protected:
  std::string File(const std::string& name, const std::string& text) {
    const fs::path file = temp_.path() / name;
    std::ofstream(file) << text;
    return file.string();
  }
  testing::TempFolder temp_{"faultline_config_"};
};

TEST_F(ConfigJsonTest, TheFilesFlagsTakeItsPlace) {
  const std::string file = File("test.json", R"({"db": "exec", "time-limit": 2.5, "local": true,
      "checker": ["linearizable", "session"], "client-command": "python3 c.py --x 'a b'"})");
  Result<std::vector<std::string>> expanded =
      ExpandConfigFiles({"test", "--seed", "3", "--config", file, "--time-limit", "9"});
  ASSERT_TRUE(expanded.ok()) << expanded.status().message();
  EXPECT_EQ(*expanded, (std::vector<std::string>{
                           "test", "--seed", "3", "--checker=linearizable", "--checker=session",
                           "--client-command=python3 c.py --x 'a b'", "--db=exec", "--local=true",
                           "--time-limit=2.5", "--time-limit", "9"}));
  Result<std::vector<std::string>> equals = ExpandConfigFiles({"test", "--config=" + file});
  ASSERT_TRUE(equals.ok());
  EXPECT_EQ(equals->size(), 7u);
}

TEST_F(ConfigJsonTest, BadFilesAreErrorsNamingTheFileAndWhere) {
  EXPECT_EQ(ExpandConfigFiles({"test", "--config", File("a.json", "{\"db\": \n")})
                .status()
                .message(),
            (temp_.path() / "a.json").string() + ":2:1: expected a JSON value, found end of file");
  EXPECT_EQ(ExpandConfigFiles({"test", "--config", File("b.json", "[1]")}).status().message(),
            (temp_.path() / "b.json").string() + ": expected a JSON object of flags, found array");
  EXPECT_EQ(ExpandConfigFiles({"test", "--config", File("c.json", R"({"nodes": [["n1"]]})")})
                .status()
                .message(),
            (temp_.path() / "c.json").string() +
                ": \"nodes\": expected a string, number, boolean or an array of them, found "
                "[[\"n1\"]]");
  EXPECT_EQ(ExpandConfigFiles({"test", "--config"}).status().message(), "--config needs a file");
  EXPECT_EQ(ExpandConfigFiles({"test", "--config", "/nonexistent.json"}).status().code(),
            StatusCode::kIoError);
}

// The whole command: a fake-db run described by a file, a flag after it overriding the file,
// and an unknown key refused like an unknown flag (exit 254).
TEST_F(ConfigJsonTest, ARunDescribedByAFile) {
  const std::string store = (temp_.path() / "store").string();
  const std::string file = File("run.json", R"({"db": "fake", "fake-bug": "stale-reads",
      "time-limit": 1, "concurrency": 2, "store": ")" + store + R"("})");
  testing::CommandOutput run = testing::Faultline("test --config " + file);
  EXPECT_EQ(run.exit_code, 1) << run.out;  // the stale reads are found
  testing::CommandOutput fixed = testing::Faultline("test --config " + file + " --fake-bug none");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
  testing::CommandOutput unknown =
      testing::Faultline("test --config " + File("bad.json", R"({"no-such-flag": 1})"));
  EXPECT_EQ(unknown.exit_code, 254) << unknown.out;
  EXPECT_NE(unknown.out.find("--no-such-flag=1"), std::string::npos) << unknown.out;
}

}  // namespace
}  // namespace faultline::cli
