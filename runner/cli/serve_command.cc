#include "runner/cli/serve_command.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>
#include <thread>
#include <utility>

#include "checker/verdict.h"
#include "reports/browser.h"

extern char** environ;

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kTextType[] = "text/plain; charset=utf-8";
constexpr char kHtmlType[] = "text/html; charset=utf-8";
// Our own pages need nothing but their inline style and a GET form to themselves.
constexpr char kPagePolicy[] =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";
constexpr size_t kWholeFileBytes = 1 << 20;  // smaller files are read at once, larger streamed

void NotFound(httplib::Response& response) {
  response.status = 404;
  response.set_content("not found\n", kTextType);
}

void SendPage(httplib::Response& response, std::string html) {
  response.set_header("Content-Security-Policy", kPagePolicy);
  response.set_content(std::move(html), kHtmlType);
}

void ServeIndex(const fs::path& store, size_t page_size, const httplib::Request& request,
                httplib::Response& response) {
  Result<reports::IndexQuery> query =
      reports::ParseIndexQuery(request.get_param_value("verdict"), request.get_param_value("test"),
                               request.get_param_value("page"));
  if (!query.ok()) {
    response.status = 400;
    response.set_content(query.status().message() + "\n", kTextType);
    return;
  }
  Result<std::vector<reports::RunEntry>> runs = reports::ScanStore(store);
  if (!runs.ok()) {
    response.status = 500;
    response.set_content(runs.status().message() + "\n", kTextType);
    return;
  }
  reports::RunPage page = reports::SelectPage(*runs, *query, page_size);
  SendPage(response, reports::IndexHtml(page, *query, store.string()));
}

// All of `file` (a small one); shorter if it shrank meanwhile.
std::string ReadWhole(const reports::StoreFile& file) {
  std::string text;
  text.resize(file.size_bytes());
  size_t done = 0;
  while (done < text.size()) {
    ssize_t got =
        ::pread(file.fd(), text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  text.resize(done);
  return text;
}

void ServeStoreFile(const fs::path& store, const httplib::Request& request,
                    httplib::Response& response) {
  Result<reports::StoreFile> opened = reports::OpenStoreFile(store, request.matches[1].str());
  if (!opened.ok()) return NotFound(response);
  if (opened->is_directory()) {
    Result<std::vector<reports::ListingEntry>> entries = reports::ListFolder(*opened);
    if (!entries.ok()) return NotFound(response);
    return SendPage(response, reports::ListingHtml(opened->relative(), *entries));
  }
  const std::string type = reports::ContentTypeFor(opened->relative());
  if (opened->size_bytes() <= kWholeFileBytes) {
    response.set_content(ReadWhole(*opened), type);
    return;
  }
  auto file = std::make_shared<reports::StoreFile>(std::move(opened).value());
  response.set_content_provider(
      file->size_bytes(), type, [file](size_t offset, size_t length, httplib::DataSink& sink) {
        char buffer[1 << 16];
        ssize_t got = ::pread(file->fd(), buffer, std::min(length, sizeof buffer),
                              static_cast<off_t>(offset));
        // A file that shrank while being sent: the connection is dropped rather than the
        // response completed with bytes that are not the file's.
        return got > 0 && sink.write(buffer, static_cast<size_t>(got));
      });
}

// A `tar` writing a gzipped archive into a pipe. Killed (if still running) and reaped when the
// last response holding it goes, so a client that hangs up leaves no process behind.
class ArchiveProcess {
 public:
  ArchiveProcess(pid_t pid, int output) : pid_(pid), output_(output) {}
  ArchiveProcess(const ArchiveProcess&) = delete;
  ArchiveProcess& operator=(const ArchiveProcess&) = delete;
  ~ArchiveProcess() {
    ::close(output_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  int output() const { return output_; }
  // Reaps tar; whether it succeeded. GNU tar's 1 ("some files changed as we read them": a run
  // still being written) still leaves a whole archive.
  bool Wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) break;
    }
    pid_ = -1;
    return WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1);
  }

 private:
  pid_t pid_;
  int output_;
};

// Starts `tar --create --gzip --file=- -- RUN` in `test_folder` (an open descriptor: tar starts
// there by fchdir, no path is looked up again). tar archives symlinks as links, never what they
// point at. Its stdout is the returned pipe; no shell is involved.
Result<std::unique_ptr<ArchiveProcess>> StartArchive(const reports::StoreFile& test_folder,
                                                     const std::string& run) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::IoError(std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addfchdir_np(&actions, test_folder.fd());
  // Descriptors other threads opened without close-on-exec must not leak into tar.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The server blocks SIGINT and SIGTERM in its threads; tar must get them (and SIGPIPE when the
  // client goes) with their default effect.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int signal_number : {SIGINT, SIGTERM, SIGPIPE}) sigaddset(&defaults, signal_number);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string program = "tar";
  std::string create = "--create", gzip = "--gzip", file = "--file=-", end = "--", name = run;
  char* argv[] = {program.data(), create.data(), gzip.data(), file.data(),
                  end.data(),     name.data(),   nullptr};
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, program.c_str(), &actions, &attributes, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return Status::IoError(std::string("cannot run tar: ") + std::strerror(spawned));
  }
  return std::make_unique<ArchiveProcess>(pid, pipe_fds[0]);
}

// A file name for Content-Disposition: only characters that need no quoting in it.
std::string DownloadName(const std::string& test, const std::string& run) {
  std::string name = test + "-" + run + ".tar.gz";
  for (char& c : name) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '+';
    if (!plain) c = '_';
  }
  return name;
}

void ServeArchive(const fs::path& store, const httplib::Request& request,
                  httplib::Response& response) {
  const std::string test = request.matches[1].str();
  const std::string run = request.matches[2].str();
  if (!reports::IsRunName(run)) return NotFound(response);
  // Both the test's folder and the run's must be real folders of the store, not links to one
  // (store/latest is not a test; a link planted for a run is not archived).
  Result<reports::StoreFile> test_folder = reports::OpenStoreFile(store, test);
  Result<reports::StoreFile> run_folder = reports::OpenStoreFile(store, test + "/" + run);
  if (!test_folder.ok() || !test_folder->is_directory() || test_folder->relative() != test ||
      !run_folder.ok() || !run_folder->is_directory() ||
      run_folder->relative() != test + "/" + run) {
    return NotFound(response);
  }
  Result<std::unique_ptr<ArchiveProcess>> started = StartArchive(*test_folder, run);
  if (!started.ok()) {
    response.status = 500;
    response.set_content(started.status().message() + "\n", kTextType);
    return;
  }
  std::shared_ptr<ArchiveProcess> archive = std::move(started).value();
  response.set_header("Content-Disposition",
                      "attachment; filename=\"" + DownloadName(test, run) + "\"");
  response.set_chunked_content_provider(
      "application/gzip", [archive](size_t, httplib::DataSink& sink) {
        char buffer[1 << 16];
        ssize_t got = ::read(archive->output(), buffer, sizeof buffer);
        while (got < 0 && errno == EINTR) got = ::read(archive->output(), buffer, sizeof buffer);
        if (got > 0) return sink.write(buffer, static_cast<size_t>(got));
        // End of tar's output: a failed tar drops the connection instead of ending the chunked
        // body, so the client never takes a cut archive for a whole one.
        if (got < 0 || !archive->Wait()) return false;
        sink.done();
        return true;
      });
}

// Only SO_REUSEADDR (a restart may bind while old connections linger), never SO_REUSEPORT: a
// second server on the same port must fail to bind, not share it.
void ReuseAddressOnly(socket_t socket_fd) {
  int yes = 1;
  ::setsockopt(socket_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

}  // namespace

CLI::App* AddServeCommand(CLI::App& app, ServeArguments& arguments) {
  CLI::App* serve = app.add_subcommand(
      "serve", "Browse the stored runs over HTTP: verdicts, reports, files, archives");
  serve->add_option("--store", arguments.store, "Directory of stored runs")->capture_default_str();
  serve->add_option("--host", arguments.host, "Address to listen on (only this one)")
      ->capture_default_str();
  serve->add_option("--port", arguments.port, "Port to listen on; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve->add_option("--page-size", arguments.page_size, "Runs per page")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  return serve;
}

int RunServeCommand(const ServeArguments& arguments, std::ostream& out, std::ostream& err) {
  std::error_code error;
  const fs::path store = fs::canonical(arguments.store, error);
  if (error || !fs::is_directory(store, error)) {
    err << "faultline serve: --store " << arguments.store << ": not a folder"
        << (error ? " (" + error.message() + ")" : "") << "\n";
    return kExitBadInput;
  }
  if (arguments.host.empty()) {
    err << "faultline serve: --host must name an address (an empty one would listen on all)\n";
    return kExitBadInput;
  }
  // Blocked here before any thread starts, so every server thread inherits the mask and the
  // signals reach only the sigwait below.
  sigset_t stop_signals, previous_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous_mask);

  httplib::Server server;
  server.set_socket_options(ReuseAddressOnly);
  server.set_default_headers({{"X-Content-Type-Options", "nosniff"}});
  const size_t page_size = arguments.page_size;
  server.Get("/",
             [&store, page_size](const httplib::Request& request, httplib::Response& response) {
               ServeIndex(store, page_size, request, response);
             });
  server.Get("/store/(.*)", [&store](const httplib::Request& request, httplib::Response& response) {
    ServeStoreFile(store, request, response);
  });
  server.Get("/archive/([^/]+)/([^/]+)\\.tar\\.gz",
             [&store](const httplib::Request& request, httplib::Response& response) {
               ServeArchive(store, request, response);
             });
  server.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.body.empty()) {
      response.set_content(std::to_string(response.status) + "\n", kTextType);
    }
  });

  int port = arguments.port;
  const bool bound = port == 0 ? (port = server.bind_to_any_port(arguments.host)) > 0
                               : server.bind_to_port(arguments.host, port);
  if (!bound) {
    pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    err << "faultline serve: cannot listen on " << arguments.host << " port " << arguments.port
        << " (in use, or not an address of this machine)\n";
    return kExitBadInput;
  }
  const bool ipv6 = arguments.host.find(':') != std::string::npos;
  out << "faultline serve: http://" << (ipv6 ? "[" + arguments.host + "]" : arguments.host) << ":"
      << port << "/ (store " << store.string() << "); Ctrl-C stops" << std::endl;

  std::atomic<bool> stopping = false;
  const pthread_t main_thread = pthread_self();
  bool listened = true;
  std::thread listener([&] {
    listened = server.listen_after_bind();
    // Stopped by itself (not by us): wake the sigwait below.
    if (!stopping.load()) pthread_kill(main_thread, SIGTERM);
  });
  int received = 0;
  sigwait(&stop_signals, &received);
  stopping = true;
  server.stop();
  listener.join();
  // A second Ctrl-C while stopping is consumed here, not delivered once the mask is restored.
  timespec no_wait{};
  while (sigtimedwait(&stop_signals, nullptr, &no_wait) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  if (!listened) {
    err << "faultline serve: the server stopped on an error\n";
    return kExitInternalError;
  }
  out << "faultline serve: stopped (" << (received == SIGINT ? "SIGINT" : "SIGTERM") << ")"
      << std::endl;
  return 0;
}

}  // namespace faultline::cli
