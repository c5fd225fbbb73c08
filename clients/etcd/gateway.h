// The register ops and list-append transactions as etcd v3 JSON gateway requests, and gateway
// responses as completions. Pure functions (no I/O): the client sends what these build and hands
// back what came.
//
// The gateway (etcd 3.4: /v3/kv/range, /v3/kv/put, /v3/kv/txn) speaks protobuf's JSON mapping:
// keys and values are base64, int64 fields are strings, and fields at their default value are
// left out (a txn whose compare failed has no "succeeded"; a range that found nothing has no
// "kvs"). A register's value is stored as its JSON text, so any JSON value round-trips.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A range of one key: /v3/kv/range {"key"} (+ "serializable": true when asked).
GatewayRequest BuildRangeRequest(const std::string& etcd_key, ReadConsistency consistency);

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
  bool too_large = false;  // kNoResponse: the body was longer than the client reads
  long status = 0;         // HTTP status (kResponded)
  std::string body;
};

// The completion of `invoke` given the exchange: ok, fail or info with an error.
Op Complete(const Op& invoke, const RegisterOp& op, const HttpExchange& exchange);

// The completion of an exchange that brought no 200 response, the same for every request: fail
// when nothing can have happened (nothing sent, refused before proposing, or a request that
// `writes` nothing), info otherwise. nullopt for a 200 response: the caller reads its body.
std::optional<Op> CompleteUnanswered(const Op& invoke, bool writes, const HttpExchange& exchange);

// One list-append transaction (f "txn", value [["append",k,v],["r",k,null],...]), understood.
// Each distinct key is stored under key_prefix + key as the JSON text of an array; an absent key
// is the empty list.
struct ListAppendTxn {
  struct Key {
    Json key;
    std::string etcd_key;
    bool appended = false;  // the txn appends to it: the Txn puts its new list
  };
  struct MicroOp {
    bool append = false;  // else a read
    size_t key = 0;       // index into keys
    Json value;           // append: the element
  };
  std::vector<Key> keys;  // distinct, in the order the txn first touches them
  std::vector<MicroOp> mops;
  bool writes() const;  // some micro-op appends
};

// InvalidArgument for an op that is not a txn of append and r micro-ops.
Result<ListAppendTxn> ParseListAppendTxn(const Op& invoke, const std::string& key_prefix);

// One key as a range found it: its list (null when absent) and mod_revision (0 when absent).
struct KeyVersion {
  Json list;
  int64_t mod_revision = 0;
};

// Reads the range exchange of one key into `version`: nullopt when it did, else the txn's
// completion, always fail (a range changes nothing): the exchange failed, or its body is not a
// range response, or the key holds something that is not a list.
std::optional<Op> ReadKeyVersion(const Op& invoke, const HttpExchange& exchange,
                                 KeyVersion* version);

// The one Txn: compares require every key's mod_revision to be what its range found (0: still
// absent); the success branch puts each appended key's list with the txn's appends on top.
// `versions` are the keys' versions, index for index.
GatewayRequest BuildTxnRequest(const ListAppendTxn& txn, const std::vector<KeyVersion>& versions);

// The txn's completion given the Txn exchange: ok with every read filled in (a read sees the
// version the ranges found plus this txn's earlier appends to the key; null for a key absent and
// not yet appended to), fail when a compare failed (etcd applied nothing), else as
// CompleteUnanswered with `writes` = txn.writes(); a read-only txn never changed anything.
Op CompleteTxn(const Op& invoke, const ListAppendTxn& txn, const std::vector<KeyVersion>& versions,
               const HttpExchange& exchange);

// What GET /health answered: true for 200 {"health":"true"}; false for not (yet) healthy (no
// answer, another status, {"health":"false"}); an error, with an excerpt of the answer, for a 200
// that is not etcd's health response (a node that is not etcd) or a body over the cap.
Result<bool> ReadHealth(const HttpExchange& exchange);

// The start of a body a node sent, as a JSON string (quoted, escaped, at most about 200 bytes):
// for error messages, whatever the bytes.
std::string BodyExcerpt(const std::string& body);

// Whether a gateway error body ({"error", "message", "code"}) proves etcd did not apply the
// request: it was rejected before being proposed to raft.
bool ProvesNothingHappened(const Json& error_body);

}  // namespace faultline::etcd
