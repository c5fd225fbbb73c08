#include "clients/exec/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "core/descriptor.h"
#include "core/json_parser.h"
#include "core/parse_text.h"

extern char** environ;

namespace faultline::clients::exec {
namespace {

constexpr size_t kMaxLineBytes = size_t{64} << 20;  // a completion longer than this is garbage
constexpr size_t kStderrTailLines = 5;              // quoted in the error of a failed client
constexpr double kExitGraceS = 1;                   // after stdin closes, before SIGKILL
constexpr int64_t kExitWaitNs = 500'000'000;        // for the status of a client that exits

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string FormatSeconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

Op Completed(const Op& invoke, OpType type, Json value, Json error) {
  Op completion = invoke;
  completion.type = type;
  completion.value = std::move(value);
  completion.error = std::move(error);
  return completion;
}

}  // namespace

std::string Quoted(std::string_view text, size_t limit) {
  // Control bytes and invalid UTF-8 as \xNN: the error says exactly what came, and stays text.
  std::string shown = "\"" + text::Printable(text, limit) + "\"";
  if (text.size() > limit) shown += " (" + std::to_string(text.size()) + " bytes)";
  return shown;
}

Json HelloJson(const Test& test, const std::string& node, int64_t process) {
  const TestOptions& options = test.options;
  return {{"type", "hello"},
          {"protocol", kProtocolVersion},
          {"node", node},
          {"nodes", options.nodes},
          {"process", process},
          {"test",
           {{"name", options.name},
            {"workload", test.workload},
            {"concurrency", options.concurrency},
            {"seed", options.seed},
            {"time_limit_s", options.time_limit_s},
            {"operation_timeout_s", options.operation_timeout_s},
            {"node_addresses", options.node_addresses}}}};
}

Json InvocationJson(const Op& invoke) {
  Json line = {{"type", "invoke"}, {"f", invoke.f}, {"value", invoke.value},
               {"process", invoke.process}, {"index", invoke.index}};
  if (invoke.extra.is_object()) {
    for (const auto& [key, value] : invoke.extra.items()) {
      if (!line.contains(key)) line[key] = value;
    }
  }
  return line;
}

Result<Op> ParseCompletion(std::string_view line, const Op& invoke) {
  constexpr std::string_view kExpected =
      "a completion: a JSON object with \"type\" \"ok\", \"fail\" or \"info\"";
  Result<Json> parsed = ParseJson(line, "the client's answer");
  if (!parsed.ok() || !parsed->is_object()) {
    return Status::ParseError("expected " + std::string(kExpected) + ", found " + Quoted(line));
  }
  const Json& answer = *parsed;
  const auto type = answer.find("type");
  const std::optional<OpType> op_type =
      type != answer.end() && type->is_string() ? ParseOpType(type->get<std::string>())
                                                : std::nullopt;
  if (!op_type || *op_type == OpType::kInvoke) {
    return Status::ParseError("expected " + std::string(kExpected) + ", found " + Quoted(line));
  }
  const auto value = answer.find("value");
  const auto error = answer.find("error");
  return Completed(invoke, *op_type, value != answer.end() ? *value : invoke.value,
                   error != answer.end() ? *error : Json());
}

// The client process: /bin/sh -c COMMAND in a process group of its own, its stdin a socket
// (written with MSG_NOSIGNAL, so a client that has exited is an error, not a SIGPIPE), its stdout
// a pipe read a line at a time with a deadline, its stderr a pipe a thread copies to the run's
// log, keeping the last lines for errors.
class ExecClient::Child {
 public:
  using Log = std::function<void(const std::string&)>;

  static Result<std::unique_ptr<Child>> Start(const std::string& command, const std::string& label,
                                              Log log);
  ~Child() { Stop(); }

  // Why a write failed ("" when it did not).
  std::string WriteLine(const std::string& line);
  struct Read {
    enum Outcome { kLine, kTimedOut, kFailed } outcome = kLine;
    std::string text;  // the line (without its newline), or what went wrong
  };
  // The next line of stdout; kTimedOut when none came by the deadline, kFailed when the client
  // closed stdout (exited) or printed an endless line.
  Read ReadLine(int64_t deadline_ns);
  // Closes stdin, waits a moment for the exit, then kills the group; reaps; joins the reader.
  void Stop();
  // "exited with status 1" (waiting up to `wait_ns` for the exit), or "" while it runs; and the
  // last stderr lines.
  std::string Ending(int64_t wait_ns);

 private:
  Child() = default;
  void CopyStderr(Descriptor stderr_read, Log log, std::string label);

  // Whether the shell has exited (not reaped: see Stop); sets exit_text_.
  bool Exited();

  pid_t pid_ = -1;  // -1 once reaped
  bool exited_ = false;
  std::string exit_text_;  // "exited with status 3", "killed by signal 9"
  Descriptor stdin_;
  Descriptor stdout_;
  std::string buffer_;  // stdout read past the last line returned
  std::thread stderr_reader_;
  std::mutex tail_mutex_;
  std::deque<std::string> stderr_tail_;  // guarded by tail_mutex_
  std::atomic<bool> stderr_done_{false};  // the reader saw the end of stderr
};

Result<std::unique_ptr<ExecClient::Child>> ExecClient::Child::Start(const std::string& command,
                                                                    const std::string& label,
                                                                    Log log) {
  int stdin_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0)
    return Status::IoError(ErrnoText("socketpair"));
  Descriptor stdin_parent(stdin_pair[0]), stdin_child(stdin_pair[1]);
  int stdout_pipe[2], stderr_pipe[2];
  if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) return Status::IoError(ErrnoText("pipe"));
  Descriptor stdout_read(stdout_pipe[0]), stdout_write(stdout_pipe[1]);
  if (::pipe2(stderr_pipe, O_CLOEXEC) != 0) return Status::IoError(ErrnoText("pipe"));
  Descriptor stderr_read(stderr_pipe[0]), stderr_write(stderr_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_child.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_write.get(), 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group: killed whole, children included
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : {SIGPIPE, SIGINT, SIGTERM}) sigaddset(&defaults, signal_number);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  std::unique_ptr<Child> child(new Child());
  const int spawned = ::posix_spawn(&child->pid_, "/bin/sh", &actions, &attributes,
                                    const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    child->pid_ = -1;
    return Status::IoError("cannot start /bin/sh: " + std::string(std::strerror(spawned)));
  }
  child->stdin_ = std::move(stdin_parent);
  child->stdout_ = std::move(stdout_read);
  child->stderr_reader_ = std::thread(&Child::CopyStderr, child.get(), std::move(stderr_read),
                                      std::move(log), label);
  return child;
}

void ExecClient::Child::CopyStderr(Descriptor stderr_read, Log log, std::string label) {
  std::string pending;
  char chunk[4096];
  auto emit = [&](std::string line) {
    if (log) log(label + ": " + line);
    std::lock_guard lock(tail_mutex_);
    stderr_tail_.push_back(std::move(line));
    if (stderr_tail_.size() > kStderrTailLines) stderr_tail_.pop_front();
  };
  while (true) {
    const ssize_t got = ::read(stderr_read.get(), chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    pending.append(chunk, static_cast<size_t>(got));
    for (size_t newline; (newline = pending.find('\n')) != std::string::npos;) {
      emit(pending.substr(0, newline));
      pending.erase(0, newline + 1);
    }
    if (pending.size() > kMaxLineBytes) {
      emit(pending);
      pending.clear();
    }
  }
  if (!pending.empty()) emit(pending);
  stderr_done_.store(true);
}

std::string ExecClient::Child::WriteLine(const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t sent = ::send(stdin_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return ErrnoText("cannot write to the client");
    rest.remove_prefix(static_cast<size_t>(sent));
  }
  return "";
}

ExecClient::Child::Read ExecClient::Child::ReadLine(int64_t deadline_ns) {
  while (true) {
    if (const size_t newline = buffer_.find('\n'); newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return {Read::kLine, std::move(line)};
    }
    if (buffer_.size() > kMaxLineBytes) {
      return {Read::kFailed, "the client printed a line longer than " +
                                 std::to_string(kMaxLineBytes >> 20) + " MiB: " + Quoted(buffer_)};
    }
    const int64_t left_ns = deadline_ns - NowNs();
    if (left_ns <= 0) return {Read::kTimedOut, ""};
    pollfd wait{stdout_.get(), POLLIN, 0};
    const auto wait_ms = static_cast<int>(std::min<int64_t>(left_ns / 1'000'000 + 1, 1000));
    const int ready = ::poll(&wait, 1, wait_ms);
    if (ready < 0 && errno != EINTR) return {Read::kFailed, ErrnoText("poll")};
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t got = ::read(stdout_.get(), chunk, sizeof chunk);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return {Read::kFailed, ErrnoText("cannot read from the client")};
    if (got == 0) {
      return {Read::kFailed, buffer_.empty() ? "the client closed its output"
                                             : "the client closed its output after " +
                                                   Quoted(buffer_)};
    }
    buffer_.append(chunk, static_cast<size_t>(got));
  }
}

bool ExecClient::Child::Exited() {
  if (pid_ <= 0) return false;
  if (exited_) return true;
  // WNOWAIT: the exited shell stays a zombie, unreaped, so that its process group id cannot be
  // reused by anyone else until Stop has killed the group (the shell's own children included).
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid_) {
    return false;
  }
  exited_ = true;
  exit_text_ = info.si_code == CLD_EXITED ? "exited with status " + std::to_string(info.si_status)
                                          : "killed by signal " + std::to_string(info.si_status);
  return true;
}

void ExecClient::Child::Stop() {
  stdin_.Close();  // a well-behaved client ends at the end of its input
  if (pid_ > 0) {
    const int64_t give_up = NowNs() + static_cast<int64_t>(kExitGraceS * 1e9);
    while (!Exited() && NowNs() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::kill(-pid_, SIGKILL);  // the group is still ours: its leader is not reaped yet
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (stderr_reader_.joinable()) stderr_reader_.join();
  stdout_.Close();
}

std::string ExecClient::Child::Ending(int64_t wait_ns) {
  const int64_t give_up = NowNs() + wait_ns;
  while (!Exited() && NowNs() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  // An exited client's last stderr lines may still be on their way to the reader.
  while (exited_ && !stderr_done_.load() && NowNs() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::string text = exited_ ? exit_text_ : "";
  std::lock_guard lock(tail_mutex_);
  if (!stderr_tail_.empty()) {
    text += text.empty() ? "its stderr ended:" : "; its stderr ended:";
    for (const std::string& line : stderr_tail_) text += " " + Quoted(line);
  }
  return text;
}

ExecClient::ExecClient(ExecOptions options) : options_(std::move(options)) {}

ExecClient::~ExecClient() = default;  // ~Child stops the process

Status ExecClient::Open(const Test& test, const std::string& node) {
  node_ = node;
  return Start(test);
}

Status ExecClient::Start(const Test& test) {
  greeted_ = false;
  Result<std::unique_ptr<Child>> child =
      Child::Start(options_.command, "client on " + (node_.empty() ? std::string("-") : node_),
                   test.log);
  if (!child.ok()) return child.status();
  child_ = std::move(*child);
  return Status::Ok();
}

std::string ExecClient::Failure(const std::string& what, bool exiting) {
  // A client whose output closed is exiting: its status is worth a moment's wait.
  const std::string ending = child_ ? child_->Ending(exiting ? kExitWaitNs : 0) : "";
  return what + (ending.empty() ? "" : " (" + ending + ")");
}

std::string ExecClient::Greet(const Test& test, int64_t process) {
  // The hello needs the process, which only the first invocation brings.
  const std::string unsent = child_->WriteLine(HelloJson(test, node_, process).dump() + "\n");
  if (!unsent.empty()) return Failure(unsent, true);
  const Child::Read answer =
      child_->ReadLine(NowNs() + static_cast<int64_t>(options_.start_timeout_s * 1e9));
  if (answer.outcome == Child::Read::kTimedOut) {
    return Failure("the client did not answer the hello within " +
                   FormatSeconds(options_.start_timeout_s));
  }
  if (answer.outcome == Child::Read::kFailed) return Failure(answer.text, true);
  Result<Json> ready = ParseJson(answer.text);
  const Json type = ready.ok() && ready->is_object() ? ready->value("type", Json()) : Json();
  if (type == "ready") {
    greeted_ = true;
    return "";
  }
  if (type == "error") {
    return Failure("the client refused the hello: " + ready->value("error", Json()).dump());
  }
  return Failure("expected {\"type\":\"ready\"} in answer to the hello, found " +
                 Quoted(answer.text));
}

Op ExecClient::Invoke(const Test& test, const Op& invoke) {
  // Until the client is ready the invocation is not sent: whatever goes wrong, it did not
  // happen (fail); the process goes on, and its next invocation starts a new client.
  if (!child_) {
    if (Status started = Start(test); !started.ok())
      return Completed(invoke, OpType::kFail, invoke.value, started.message());
  }
  if (!greeted_) {
    if (std::string refused = Greet(test, invoke.process); !refused.empty()) {
      child_.reset();
      return Completed(invoke, OpType::kFail, invoke.value, refused);
    }
  }
  const double timeout_s =
      options_.op_timeout_s > 0 ? options_.op_timeout_s : test.options.operation_timeout_s;
  // Once any byte of the invocation may have reached the client, its outcome is unknown.
  const std::string unsent = child_->WriteLine(InvocationJson(invoke).dump() + "\n");
  if (!unsent.empty())
    return Completed(invoke, OpType::kInfo, invoke.value, Failure(unsent, true));
  const Child::Read answer = child_->ReadLine(NowNs() + static_cast<int64_t>(timeout_s * 1e9));
  if (answer.outcome == Child::Read::kTimedOut) {
    return Completed(invoke, OpType::kInfo, invoke.value,
                     Failure("no answer within " + FormatSeconds(timeout_s)));
  }
  if (answer.outcome == Child::Read::kFailed)
    return Completed(invoke, OpType::kInfo, invoke.value, Failure(answer.text, true));
  Result<Op> completion = ParseCompletion(answer.text, invoke);
  if (!completion.ok()) {
    return Completed(invoke, OpType::kInfo, invoke.value, Failure(completion.status().message()));
  }
  return *completion;
}

void ExecClient::Close(const Test&) { child_.reset(); }

}  // namespace faultline::clients::exec
