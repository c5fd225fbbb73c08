// The register ops as etcd v3 JSON gateway requests, and gateway responses as completions.
// Pure functions (no I/O): the client sends what these build and hands back what came.
//
// The gateway (etcd 3.4: /v3/kv/range, /v3/kv/put, /v3/kv/txn) speaks protobuf's JSON mapping:
// keys and values are base64, int64 fields are strings, and fields at their default value are
// left out (a txn whose compare failed has no "succeeded"; a range that found nothing has no
// "kvs"). A register's value is stored as its JSON text, so any JSON value round-trips.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "clients/etcd/etcd.h"
#include "core/op.h"

namespace faultline::etcd {

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);  // nullopt: not base64

// One op of the register workload, understood.
struct RegisterOp {
  enum class Kind { kRead, kWrite, kCas };
  Kind kind = Kind::kRead;
  bool keyed = false;  // the op's value is a [key value] tuple
  Json key;            // the tuple's key (null when not keyed)
  std::string etcd_key;
  Json argument;  // write: the value; cas: [expected new]; read: unused
};

// InvalidArgument for an op that is not read, write or cas [expected new].
Result<RegisterOp> ParseRegisterOp(const Op& invoke, const std::string& key_prefix);

struct GatewayRequest {
  std::string path;  // "/v3/kv/range", ...
  Json body;
};

GatewayRequest BuildRequest(const RegisterOp& op, ReadConsistency consistency);

// What happened to one HTTP exchange, as far as the client can tell.
struct HttpExchange {
  enum class Stage {
    kNotSent,     // no byte of the request left: refused, unreachable, connect timeout
    kNoResponse,  // the request (or part of it) left and no complete answer came
    kResponded,   // a complete HTTP response
  };
  Stage stage = Stage::kNotSent;
  std::string error;  // transport error text (kNotSent, kNoResponse)
  bool timed_out = false;
  long status = 0;  // HTTP status (kResponded)
  std::string body;
};

// The completion of `invoke` given the exchange: ok, fail or info with an error.
Op Complete(const Op& invoke, const RegisterOp& op, const HttpExchange& exchange);

// Whether a gateway error body ({"error", "message", "code"}) proves etcd did not apply the
// request: it was rejected before being proposed to raft.
bool ProvesNothingHappened(const Json& error_body);

}  // namespace faultline::etcd
