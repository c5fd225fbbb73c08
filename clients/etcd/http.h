// HTTP through libcurl for the etcd client and the health probe: one exchange on a fresh
// connection, bounded by a timeout, classified by how far the request got.
//
// Connections are never reused: on a reused connection that the server closed, libcurl resends
// the request on a new one, and a server that applied the first copy and died before answering
// would then look like a refused connection (fail) although the write happened. For the same
// reason only plain HTTP to the URL's host is spoken: no proxy (http_proxy and the like in the
// environment are ignored), no redirect, no other protocol.
//
// A response body is read up to kMaxResponseBytes; a longer one ends the exchange as kNoResponse
// with `too_large` set (the request did reach the node).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "clients/etcd/etcd.h"
#include "clients/etcd/gateway.h"

namespace faultline::etcd {

// Far above any etcd answer to the client's requests (a range of one key, a Txn's puts).
constexpr size_t kMaxResponseBytes = 4 << 20;

// curl_global_init once per process (it is not thread-safe to call concurrently).
void InitCurlOnce();

// A new easy handle (InitCurlOnce done); aborts when libcurl cannot make one.
CURL* NewCurlHandle();

// POSTs `body` (JSON) to `url`, or GETs it when `body` is empty. Never throws.
HttpExchange HttpExchangeOnce(CURL* curl, const std::string& url, const std::string& body,
                              int64_t timeout_ms);

}  // namespace faultline::etcd
