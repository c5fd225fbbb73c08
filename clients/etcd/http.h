// HTTP through libcurl for the etcd client and the health probe: one exchange on a fresh
// connection, bounded by a timeout, classified by how far the request got.
//
// Connections are never reused: on a reused connection that the server closed, libcurl resends
// the request on a new one, and a server that applied the first copy and died before answering
// would then look like a refused connection (fail) although the write happened.
#pragma once

#include <cstdint>
#include <string>

#include "clients/etcd/etcd.h"
#include "clients/etcd/gateway.h"

namespace faultline::etcd {

// curl_global_init once per process (it is not thread-safe to call concurrently).
void InitCurlOnce();

// A new easy handle (InitCurlOnce done); aborts when libcurl cannot make one.
CURL* NewCurlHandle();

// POSTs `body` (JSON) to `url`, or GETs it when `body` is empty.
HttpExchange HttpExchangeOnce(CURL* curl, const std::string& url, const std::string& body,
                              int64_t timeout_ms);

}  // namespace faultline::etcd
