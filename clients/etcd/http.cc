#include "clients/etcd/http.h"

#include <curl/curl.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace faultline::etcd {
namespace {

// The body read so far, and whether the node sent more than kMaxResponseBytes.
struct Reception {
  std::string* body;
  bool too_large = false;
};

size_t Append(char* data, size_t size, size_t count, void* target) {
  auto* reception = static_cast<Reception*>(target);
  if (reception->body->size() + size * count > kMaxResponseBytes) {
    reception->too_large = true;
    return 0;  // less than given: libcurl ends the transfer with CURLE_WRITE_ERROR
  }
  reception->body->append(data, size * count);
  return size * count;
}

// Codes for which libcurl sent nothing: the server cannot have seen the request.
bool NeverConnected(CURLcode code) {
  return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
         code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL;
}

// Whether the connection was established: from then on the request may have reached the server
// (a few hundred bytes fit any socket buffer), so a failure is no proof that nothing happened.
bool Connected(CURL* curl) {
  long request_bytes = 0;  // counted only once libcurl has sent the request
  curl_off_t connect_us = 0;
  curl_off_t pretransfer_us = 0;
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
  return request_bytes > 0 || connect_us > 0 || pretransfer_us > 0;
}

void Configure(CURL* curl, const std::string& url, const std::string& body, int64_t timeout_ms,
               Reception* reception) {
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // Plain HTTP straight to the node: a proxy from http_proxy in the environment may resend a
  // request (see http.h), and a redirect would send it again elsewhere.
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP));
#endif
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxResponseBytes));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);  // see http.h: never resend on a new one
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, reception);
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
}

}  // namespace

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      std::fprintf(stderr, "libcurl: curl_global_init failed\n");
      std::abort();
    }
  });
}

CURL* NewCurlHandle() {
  InitCurlOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    std::fprintf(stderr, "libcurl: curl_easy_init failed\n");
    std::abort();
  }
  return curl;
}

HttpExchange HttpExchangeOnce(CURL* curl, const std::string& url, const std::string& body,
                              int64_t timeout_ms) {
  HttpExchange exchange;
  Reception reception{&exchange.body};
  Configure(curl, url, body, timeout_ms, &reception);
  CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    exchange.stage = HttpExchange::Stage::kResponded;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &exchange.status);
    return exchange;
  }
  exchange.body.clear();
  exchange.timed_out = code == CURLE_OPERATION_TIMEDOUT;
  exchange.error = curl_easy_strerror(code);
  // An answer too large to read: the request reached the node, whatever it did with it.
  exchange.too_large = reception.too_large || code == CURLE_FILESIZE_EXCEEDED;
  if (exchange.too_large) {
    exchange.error = "response body over " + std::to_string(kMaxResponseBytes) + " bytes";
    exchange.stage = HttpExchange::Stage::kNoResponse;
    return exchange;
  }
  bool sent = !NeverConnected(code) && Connected(curl);
  exchange.stage = sent ? HttpExchange::Stage::kNoResponse : HttpExchange::Stage::kNotSent;
  return exchange;
}

}  // namespace faultline::etcd
