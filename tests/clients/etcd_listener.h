// Stand-ins for a node's HTTP port on 127.0.0.1, for the etcd client's and Db's tests: a
// Listener that answers (canned or per request), hangs or resets, and a ClosedPort.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace faultline::etcd::testing {

// One listening socket on 127.0.0.1 (a free port) and a thread serving each connection, one
// request per connection, as `mode` says: answer, hang, or reset. It records each request
// (headers and body).
class Listener {
 public:
  enum class Mode { kAnswer, kHang, kReset };
  struct Answer {
    Answer(int status, std::string body, bool with_length = true, std::string headers = "")
        : status(status),
          body(std::move(body)),
          with_length(with_length),
          headers(std::move(headers)) {}
    int status;
    std::string body;
    bool with_length;     // false: no Content-Length, the body ends when the connection does
    std::string headers;  // more header lines, each ending in \r\n
  };
  // What to answer to a request (its headers and body).
  using Responder = std::function<Answer(const std::string& request)>;

  // The first `answered_first` connections are answered whatever `mode` says.
  Listener(Mode mode, int status = 200, std::string body = "", int answered_first = 0)
      : Listener(
            mode,
            [status, body](const std::string&) {
              return Answer{status, body};
            },
            answered_first) {}
  // Answers every request with what `responder` gives.
  explicit Listener(Responder responder) : Listener(Mode::kAnswer, std::move(responder), 0) {}

  Listener(Mode mode, Responder responder, int answered_first)
      : mode_(mode), responder_(std::move(responder)), answered_first_(answered_first) {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    EXPECT_EQ(::listen(socket_, 16), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Listener() {
    stop_ = true;
    thread_.join();
    ::close(socket_);
  }

  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  bool Readable(int fd, int timeout_ms) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, timeout_ms) > 0;
  }

  // Reads headers and the Content-Length body.
  std::string ReadRequest(int fd) {
    std::string request;
    char buffer[4096];
    while (!stop_) {
      if (!Readable(fd, 20)) continue;
      ssize_t got = ::read(fd, buffer, sizeof(buffer));
      if (got <= 0) break;
      request.append(buffer, got);
      size_t end = request.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      size_t length_at = request.find("Content-Length: ");
      size_t length =
          length_at == std::string::npos ? 0 : std::stoul(request.substr(length_at + 16));
      if (request.size() >= end + 4 + length) break;
    }
    return request;
  }

  void Respond(int fd, const std::string& request) {
    Answer answer = responder_(request);
    std::string length =
        answer.with_length ? "Content-Length: " + std::to_string(answer.body.size()) + "\r\n" : "";
    std::string response = "HTTP/1.1 " + std::to_string(answer.status) +
                           " X\r\nContent-Type: application/json\r\n" + length + answer.headers +
                           "Connection: close\r\n\r\n" + answer.body;
    // A client that stops reading (a body over its cap) closes: no SIGPIPE, just stop.
    for (size_t sent = 0; sent < response.size();) {
      ssize_t wrote = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (wrote <= 0) return;
      sent += static_cast<size_t>(wrote);
    }
  }

  void Serve() {
    while (!stop_) {
      if (!Readable(socket_, 20)) continue;
      int fd = ::accept(socket_, nullptr, nullptr);
      if (fd < 0) continue;
      std::string request = ReadRequest(fd);
      Mode mode = mode_;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        if (static_cast<int>(requests_.size()) <= answered_first_) mode = Mode::kAnswer;
      }
      if (mode == Mode::kAnswer) Respond(fd, request);
      if (mode == Mode::kHang) {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (mode == Mode::kReset) {
        linger reset{1, 0};  // close with RST instead of FIN
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
      }
      ::close(fd);
    }
  }

  const Mode mode_;
  const Responder responder_;
  const int answered_first_;
  int socket_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

// A port on 127.0.0.1 that nothing listens on: bound (so no one else takes it) but not listening.
class ClosedPort {
 public:
  ClosedPort() {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~ClosedPort() { ::close(socket_); }
  int port() const { return port_; }

 private:
  int socket_ = -1;
  int port_ = 0;
};

}  // namespace faultline::etcd::testing
