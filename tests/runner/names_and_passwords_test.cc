// The controller as root: test and node names cannot lead out of the run store, and the SSH
// password is never required on the command line (and is hidden there when given).
#include <fcntl.h>
#include <poll.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runner/cli/password.h"
#include "runner/store.h"
#include "support/command.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

const std::string kBinary = FAULTLINE_BINARY;

// A fresh, empty directory under the temporary directory, removed by the destructor.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& name)
      : path_(fs::temp_directory_path() / ("faultline_names_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TemporaryDirectory() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using testing::CommandOutput;
using testing::Faultline;

TEST(PathNames, SafeNamesPass) {
  for (const char* name : {"etcd-register", "etcd-register-partition+kill", "n1", "10.0.0.7",
                           "fe80::1", "db_1.example.org", "a..b"}) {
    EXPECT_TRUE(CheckPathName("test name", name).ok()) << name;
  }
}

TEST(PathNames, NamesThatLeaveTheirDirectoryAreRefused) {
  for (const char* name : {"", ".", "..", "../x", "../../x", "/etc", "a/b", ".hidden", "-rf",
                           "a b", "x\ny", "tab\t"}) {
    Status status = CheckPathName("test name", name);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(status.message().find("test name"), std::string::npos) << status.message();
  }
  EXPECT_FALSE(CheckPathName("node name", std::string(129, 'a')).ok());
  EXPECT_TRUE(CheckPathName("node name", std::string(128, 'a')).ok());
}

TEST(RunStore, ATestNameWithDotsIsRefusedAndNothingIsCreatedOutside) {
  TemporaryDirectory root("dots");
  fs::path store = root.path() / "a" / "store";
  Result<RunDirectory> run = CreateRunDirectory(store, "../../escaped");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root.path() / "escaped"));
}

TEST(RunStore, ASymlinkPlantedAtTheTestDirectoryIsNotFollowed) {
  TemporaryDirectory root("symlink");
  fs::path store = root.path() / "store";
  fs::path elsewhere = root.path() / "elsewhere";
  fs::create_directories(store);
  fs::create_directories(elsewhere);
  fs::create_directory_symlink(elsewhere, store / "etcd-register");
  Result<RunDirectory> run = CreateRunDirectory(store, "etcd-register");
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("outside the store"), std::string::npos)
      << run.status().message();
  EXPECT_TRUE(fs::is_empty(elsewhere));
}

TEST(RunStore, ARunDirectoryLiesInsideTheStore) {
  TemporaryDirectory root("inside");
  Result<RunDirectory> run = CreateRunDirectory(root.path() / "store", "fake-register");
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(fs::canonical(run->path).parent_path(),
            fs::canonical(root.path() / "store" / "fake-register"));
}

TEST(CliNames, ADotDotTestNameExits254BeforeAnythingRuns) {
  TemporaryDirectory root("cli");
  fs::path store = root.path() / "a" / "b" / "store";
  for (const std::string& name : {"../../x", "/etc", "..", "a/b"}) {
    CommandOutput run = Faultline("test --db fake --time-limit 1 --store " + store.string() +
                                  " --name '" + name + "'");
    EXPECT_EQ(run.exit_code, 254) << name << ": " << run.out;
    EXPECT_NE(run.out.find("--name \"" + name + "\""), std::string::npos) << run.out;
  }
  EXPECT_FALSE(fs::exists(root.path() / "a" / "x"));
  EXPECT_FALSE(fs::exists(store));  // refused before the store was touched
}

TEST(CliNames, ANodeNameWithASlashExits254) {
  TemporaryDirectory root("nodes");
  CommandOutput run = Faultline("test --db fake --time-limit 1 --store " +
                                root.path().string() + " --nodes n1,../../n2");
  EXPECT_EQ(run.exit_code, 254) << run.out;
  EXPECT_NE(run.out.find("node name \"../../n2\""), std::string::npos) << run.out;
}

// A password file written with `mode`; owned by this process's user unless chowned after.
fs::path WritePasswordFile(const fs::path& directory, const std::string& text, mode_t mode) {
  fs::path file = directory / "password";
  std::ofstream(file) << text;
  ::chmod(file.c_str(), mode);
  return file;
}

TEST(PasswordFile, AnOwnerOnlyFileGivesItsFirstLine) {
  TemporaryDirectory root("password_ok");
  fs::path file = WritePasswordFile(root.path(), "s3cret word\r\nsecond line\n", 0600);
  Result<std::string> password = cli::ReadPasswordFile(file);
  ASSERT_TRUE(password.ok()) << password.status().message();
  EXPECT_EQ(*password, "s3cret word");
  ::chmod(file.c_str(), 0400);
  EXPECT_TRUE(cli::ReadPasswordFile(file).ok());
}

TEST(PasswordFile, AFileOthersCanReadIsRefused) {
  TemporaryDirectory root("password_mode");
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    fs::path file = WritePasswordFile(root.path(), "secret\n", mode);
    Result<std::string> password = cli::ReadPasswordFile(file);
    ASSERT_FALSE(password.ok()) << std::oct << mode;
    EXPECT_NE(password.status().message().find("chmod 600"), std::string::npos)
        << password.status().message();
  }
}

TEST(PasswordFile, ASymlinkAnEmptyFileAndAnotherUsersFileAreRefused) {
  TemporaryDirectory root("password_bad");
  fs::path file = WritePasswordFile(root.path(), "secret\n", 0600);
  fs::create_symlink(file, root.path() / "link");
  Result<std::string> linked = cli::ReadPasswordFile(root.path() / "link");
  ASSERT_FALSE(linked.ok());
  EXPECT_NE(linked.status().message().find("symlink"), std::string::npos);

  fs::path empty = root.path() / "empty";
  std::ofstream(empty) << "\n";
  ::chmod(empty.c_str(), 0600);
  EXPECT_FALSE(cli::ReadPasswordFile(empty).ok());
  EXPECT_FALSE(cli::ReadPasswordFile(root.path()).ok());  // a directory

  if (::geteuid() == 0) {  // only root can give a file away
    ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
    Result<std::string> foreign = cli::ReadPasswordFile(file);
    ASSERT_FALSE(foreign.ok());
    EXPECT_NE(foreign.status().message().find("owned by uid 65534"), std::string::npos)
        << foreign.status().message();
  }
}

// Sets an environment variable for one test and puts the old value back.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnvironment() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Passwords, TheEnvironmentGivesTheSshAndSudoPasswordWithoutAWarning) {
  ScopedEnvironment ssh(cli::kPasswordEnvironment, "from-env");
  ScopedEnvironment sudo(cli::kSudoPasswordEnvironment, nullptr);
  control::SshOptions options;
  std::ostringstream err;
  ASSERT_TRUE(cli::ResolvePasswords({}, options, err).ok());
  EXPECT_EQ(options.password, "from-env");
  EXPECT_EQ(options.sudo_password, "from-env");
  EXPECT_EQ(err.str(), "");
}

TEST(Passwords, ASeparateSudoPasswordComesFromItsOwnVariable) {
  ScopedEnvironment ssh(cli::kPasswordEnvironment, "ssh-one");
  ScopedEnvironment sudo(cli::kSudoPasswordEnvironment, "sudo-one");
  control::SshOptions options;
  std::ostringstream err;
  ASSERT_TRUE(cli::ResolvePasswords({}, options, err).ok());
  EXPECT_EQ(options.password, "ssh-one");
  EXPECT_EQ(options.sudo_password, "sudo-one");
}

TEST(Passwords, TheCommandLineWorksButWarns) {
  ScopedEnvironment ssh(cli::kPasswordEnvironment, "from-env");
  control::SshOptions options;
  std::ostringstream err;
  cli::PasswordSources sources;
  sources.command_line = "typed";
  ASSERT_TRUE(cli::ResolvePasswords(sources, options, err).ok());
  EXPECT_EQ(options.password, "typed");  // a flag beats the environment
  EXPECT_NE(err.str().find("warning: --password shows in `ps`"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("--password-file"), std::string::npos) << err.str();
}

TEST(Passwords, TwoSourcesAreBadArgumentsAndABadFileIsTooNotAnEmptyPassword) {
  TemporaryDirectory root("sources");
  fs::path file = WritePasswordFile(root.path(), "secret\n", 0644);
  control::SshOptions options;
  std::ostringstream err;
  cli::PasswordSources both;
  both.command_line = "typed";
  both.file = file;
  EXPECT_EQ(cli::ResolvePasswords(both, options, err).code(), StatusCode::kInvalidArgument);
  cli::PasswordSources loose;
  loose.file = file;
  EXPECT_EQ(cli::ResolvePasswords(loose, options, err).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(options.password, "");
}

// Types `answer` on the controller side of a pty once `prompt` was shown there (input typed
// earlier would be discarded: the prompt flushes typeahead, as getpass does), and keeps what the
// terminal showed until `done`. Gives up waiting for the prompt after 10 s and types anyway, so
// a broken prompt fails the test instead of hanging it.
class Typist {
 public:
  Typist(int controller, std::string prompt, std::string answer)
      : thread_([this, controller, prompt, answer] { Run(controller, prompt, answer); }) {}
  std::string Finish() {
    done_ = true;
    thread_.join();
    return shown_;
  }

 private:
  void Run(int controller, const std::string& prompt, const std::string& answer) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool typed = false;
    while (!done_) {
      struct pollfd readable {controller, POLLIN, 0};
      char buffer[256];
      if (::poll(&readable, 1, 50) > 0) {
        ssize_t n = ::read(controller, buffer, sizeof buffer);
        if (n > 0) shown_.append(buffer, static_cast<size_t>(n));
      }
      bool prompted = shown_.find(prompt) != std::string::npos;
      if (!typed && (prompted || std::chrono::steady_clock::now() > deadline)) {
        typed = ::write(controller, answer.data(), answer.size()) ==
                static_cast<ssize_t>(answer.size());
      }
    }
  }

  std::atomic<bool> done_{false};
  std::string shown_;
  std::thread thread_;
};

TEST(Passwords, ThePromptReadsALineWithEchoOff) {
  int controller = -1;
  int terminal = -1;
  ASSERT_EQ(::openpty(&controller, &terminal, nullptr, nullptr, nullptr), 0);
  Typist typist(controller, "Password: ", "pa ss\n");
  Result<std::string> secret = cli::ReadSecretFromTerminal(terminal, "Password: ");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let any echo arrive
  std::string shown = typist.Finish();
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(*secret, "pa ss");
  EXPECT_NE(shown.find("Password: "), std::string::npos) << shown;
  EXPECT_EQ(shown.find("pa ss"), std::string::npos) << "echoed: " << shown;
  struct termios after {};
  ASSERT_EQ(::tcgetattr(terminal, &after), 0);
  EXPECT_NE(after.c_lflag & ECHO, 0u);  // the terminal's settings are back
  ::close(controller);
  ::close(terminal);
}

TEST(Passwords, HidingOverwritesBothFlagForms) {
  std::string program = "faultline", a = "--password", b = "hunter2", c = "--password=swordfish",
              d = "--password-file", e = "keep";
  std::vector<char*> argv = {program.data(), a.data(), b.data(), c.data(), d.data(), e.data()};
  cli::HidePasswordArguments(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(b, "*******");
  EXPECT_EQ(c, "--password=*********");
  EXPECT_EQ(e, "keep");
}

// The running binary's /proc/<pid>/cmdline no longer holds the password.
TEST(Passwords, PsDoesNotShowAPasswordGivenOnTheCommandLine) {
  TemporaryDirectory root("ps");
  std::string store = root.path() / "store";
  std::vector<std::string> arguments = {kBinary,       "test",        "--db",    "fake",
                                        "--time-limit", "3",          "--store", store,
                                        "--password",   "hunter2-ps"};
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, kBinary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_NE(cmdline.find("--password"), std::string::npos) << "the run ended too early";
  EXPECT_EQ(cmdline.find("hunter2-ps"), std::string::npos);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace faultline
