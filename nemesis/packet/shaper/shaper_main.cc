// faultline-shaper: the packet fault's userspace shaper for kernels without tc netem
// (nemesis/packet/packet.h, docs/nemesis.md). It takes the packets that an iptables rule of the
// fault sends to its NFQUEUE queue and gives each its verdict later: a `loss` fraction is
// dropped (silently: the sender's send succeeded, as on a wire; an iptables DROP in OUTPUT would
// fail the send with EPERM instead); the others after the delay, plus or minus a uniform jitter; a `reorder` fraction of them at once (so they overtake the delayed
// ones, as netem's reorder does); a `duplicate` fraction is sent a second time through a raw
// socket, with a mark the fault's chain lets through, so the copy is not queued again.
//
//   faultline-shaper --queue N --run-id ID [--delay-ms D] [--jitter-ms J] [--loss P]
//                    [--duplicate P] [--reorder P] [--mark M]
//
// Prints "ready" once it is bound to the queue (the fault waits for it before it adds the rule).
// The rule carries --queue-bypass: when this program is not bound (killed, crashed), the kernel
// lets the packets through instead of dropping them. On SIGTERM or SIGINT it accepts every packet
// it still holds and exits 0. The run id is only carried on the command line, so the fault can
// tell its own shaper from any other process before it kills one.
#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int queue = -1;
  std::string run_id;
  double delay_ms = 0;
  double jitter_ms = 0;
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;
  uint32_t mark = 0xfa17;
};

// A packet waiting for its verdict, and the copy to send with it when it is duplicated.
struct Held {
  Clock::time_point release;
  uint32_t id = 0;
  std::vector<unsigned char> copy;
  bool operator>(const Held& other) const { return release > other.release; }
};

volatile std::sig_atomic_t stopping = 0;
void OnSignal(int) { stopping = 1; }

struct Shaper {
  Options options;
  nfq_q_handle* queue = nullptr;
  int raw_socket = -1;
  std::mt19937_64 rng{std::random_device{}()};
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held;
  uint64_t received = 0, dropped = 0, duplicated = 0, failed_copies = 0;

  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  void Release(const Held& packet) {
    nfq_set_verdict(queue, packet.id, NF_ACCEPT, 0, nullptr);
    if (packet.copy.size() < sizeof(iphdr)) return;
    const auto* header = reinterpret_cast<const iphdr*>(packet.copy.data());
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = header->daddr;
    if (::sendto(raw_socket, packet.copy.data(), packet.copy.size(), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
      ++failed_copies;  // a segment larger than the MTU: the original still went
    } else {
      ++duplicated;
    }
  }

  void OnPacket(nfq_data* data) {
    const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
    if (header == nullptr) return;
    ++received;
    Held packet;
    packet.id = ntohl(header->packet_id);
    if (options.loss > 0 && Uniform() < options.loss) {
      nfq_set_verdict(queue, packet.id, NF_DROP, 0, nullptr);
      ++dropped;
      return;
    }
    if (options.duplicate > 0 && Uniform() < options.duplicate) {
      unsigned char* payload = nullptr;
      const int length = nfq_get_payload(data, &payload);
      if (length > 0) packet.copy.assign(payload, payload + length);
    }
    double delay_ms = options.delay_ms;
    if (options.jitter_ms > 0) delay_ms += options.jitter_ms * (2 * Uniform() - 1);
    if (options.reorder > 0 && Uniform() < options.reorder) delay_ms = 0;
    if (delay_ms <= 0) {
      Release(packet);
      return;
    }
    packet.release =
        Clock::now() + std::chrono::microseconds(static_cast<int64_t>(delay_ms * 1000));
    held.push(std::move(packet));
  }

  void ReleaseDue(bool all) {
    const Clock::time_point now = Clock::now();
    while (!held.empty() && (all || held.top().release <= now)) {
      Release(held.top());
      held.pop();
    }
  }

  int PollTimeoutMs() const {
    if (held.empty()) return 200;  // wakes up now and then to notice a signal
    const auto wait =
        std::chrono::duration_cast<std::chrono::microseconds>(held.top().release - Clock::now());
    if (wait.count() <= 0) return 0;
    return static_cast<int>((wait.count() + 999) / 1000);
  }
};

int OnQueuedPacket(nfq_q_handle*, nfgenmsg*, nfq_data* data, void* shaper) {
  static_cast<Shaper*>(shaper)->OnPacket(data);
  return 0;
}

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "faultline-shaper: %s\nusage: faultline-shaper --queue N --run-id ID "
               "[--delay-ms D] [--jitter-ms J] [--loss P] [--duplicate P] [--reorder P] [--mark M]\n",
               why);
  std::exit(2);
}

double Number(const char* text, const char* flag, double low, double high) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value >= low && value <= high)) {
    Usage((std::string(flag) + " wants a number in [" + std::to_string(low) + ", " +
           std::to_string(high) + "], got " + text)
              .c_str());
  }
  return value;
}

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("no value after " + flag).c_str());
    const char* value = argv[i + 1];
    if (flag == "--queue") {
      options.queue = static_cast<int>(Number(value, "--queue", 0, 65535));
    } else if (flag == "--run-id") {
      options.run_id = value;
    } else if (flag == "--delay-ms") {
      options.delay_ms = Number(value, "--delay-ms", 0, 600'000);
    } else if (flag == "--jitter-ms") {
      options.jitter_ms = Number(value, "--jitter-ms", 0, 600'000);
    } else if (flag == "--loss") {
      options.loss = Number(value, "--loss", 0, 1);
    } else if (flag == "--duplicate") {
      options.duplicate = Number(value, "--duplicate", 0, 1);
    } else if (flag == "--reorder") {
      options.reorder = Number(value, "--reorder", 0, 1);
    } else if (flag == "--mark") {
      options.mark = static_cast<uint32_t>(Number(value, "--mark", 1, 4294967295.0));
    } else {
      Usage(("unknown flag " + flag).c_str());
    }
  }
  if (options.queue < 0) Usage("--queue is required");
  if (options.run_id.empty()) Usage("--run-id is required");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Shaper shaper;
  shaper.options = Parse(argc, argv);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  nfq_handle* handle = nfq_open();
  if (handle == nullptr) {
    std::perror("faultline-shaper: nfq_open");
    return 1;
  }
  shaper.queue = nfq_create_queue(handle, static_cast<uint16_t>(shaper.options.queue),
                                  &OnQueuedPacket, &shaper);
  if (shaper.queue == nullptr) {
    std::fprintf(stderr, "faultline-shaper: cannot bind queue %d (another program holds it?): %s\n",
                 shaper.options.queue, std::strerror(errno));
    nfq_close(handle);
    return 1;
  }
  const bool copies = shaper.options.duplicate > 0;
  nfq_set_mode(shaper.queue, copies ? NFQNL_COPY_PACKET : NFQNL_COPY_META, 0xffff);
  nfq_set_queue_maxlen(shaper.queue, 20'000);
  if (copies) {
    shaper.raw_socket = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    const uint32_t mark = shaper.options.mark;
    if (shaper.raw_socket < 0 ||
        ::setsockopt(shaper.raw_socket, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
      std::perror("faultline-shaper: raw socket for duplicates");
      nfq_destroy_queue(shaper.queue);
      nfq_close(handle);
      return 1;
    }
  }
  const int fd = nfq_fd(handle);
  std::printf("ready\n");
  std::fflush(stdout);

  std::vector<char> buffer(1 << 18);
  while (!stopping) {
    pollfd readable{fd, POLLIN, 0};
    const int ready = ::poll(&readable, 1, shaper.PollTimeoutMs());
    if (ready > 0) {
      const ssize_t length = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (length > 0) {
        nfq_handle_packet(handle, buffer.data(), static_cast<int>(length));
      } else if (length < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
        std::perror("faultline-shaper: recv");
        break;
      }
    }
    shaper.ReleaseDue(false);
  }
  shaper.ReleaseDue(true);  // what it still holds goes now, not lost
  std::printf("stopped: %llu packets, %llu dropped, %llu duplicated, %llu copies failed\n",
              static_cast<unsigned long long>(shaper.received),
              static_cast<unsigned long long>(shaper.dropped),
              static_cast<unsigned long long>(shaper.duplicated),
              static_cast<unsigned long long>(shaper.failed_copies));
  nfq_destroy_queue(shaper.queue);
  nfq_close(handle);
  if (shaper.raw_socket >= 0) ::close(shaper.raw_socket);
  return 0;
}
