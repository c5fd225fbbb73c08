#include "clients/etcd/gateway.h"

#include <array>
#include <charconv>
#include <map>
#include <set>
#include <system_error>

#include "core/op_values.h"

namespace faultline::etcd {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // '-' and '_': the URL-safe alphabet
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string KeyText(const Json& key) {
  return key.is_string() ? key.get<std::string>() : key.dump();
}

// The stored bytes back as the register's value: its JSON text, or the raw text when another
// writer stored something that is not JSON. Bytes that are not UTF-8 become U+FFFD: every later
// dump() of the op (messages, checkers, reports) would throw on them.
Json DecodeValue(const std::string& bytes) {
  Json value = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded()) return value;
  return Json::parse(Json(bytes).dump(-1, ' ', false, Json::error_handler_t::replace));
}

Op WithType(const Op& invoke, OpType type, Json error = Json()) {
  Op completion = invoke;
  completion.type = type;
  completion.error = std::move(error);
  return completion;
}

// Every gateway response to kv requests has a header. Each field read below is checked for its
// type first: a node answering something else gets an op with an error, never an exception.
bool IsGatewayResponse(const Json& body) {
  if (!body.is_object()) return false;
  auto header = body.find("header");
  return header != body.end() && header->is_object();
}

constexpr char kNotGateway[] = "not an etcd gateway response (no header object)";

// A txn response's "succeeded": true or false, left out when false (protobuf's default).
Result<bool> Succeeded(const Json& body) {
  auto succeeded = body.find("succeeded");
  if (succeeded == body.end()) return false;
  if (!succeeded->is_boolean()) return Status::ParseError("\"succeeded\" is not true or false");
  return succeeded->get<bool>();
}

// A 200 body that is not the response asked for: the request may have been applied when it
// writes.
Op UnexpectedResponse(const Op& invoke, bool writes, const std::string& reason) {
  return WithType(invoke, writes ? OpType::kInfo : OpType::kFail, "unexpected response: " + reason);
}

// A range response that is not one: fail, a range changes nothing.
Op UnexpectedRange(const Op& invoke, const std::string& reason) {
  return WithType(invoke, OpType::kFail, "unexpected range response: " + reason);
}

// The range response's first kv ({} when the key is absent), or why the response is not a range
// response.
Result<Json> FirstKv(const Json& body) {
  if (!IsGatewayResponse(body)) return Status::ParseError(kNotGateway);
  auto kvs = body.find("kvs");
  if (kvs == body.end()) return Json::object();
  if (!kvs->is_array()) return Status::ParseError("\"kvs\" is not a list");
  if (kvs->empty()) return Json::object();
  if (!(*kvs)[0].is_object() || (*kvs)[0].empty()) {
    return Status::ParseError("\"kvs\" holds something that is not a key-value");
  }
  return (*kvs)[0];
}

// The stored value of a kv of FirstKv (nil when absent), or why it is not one: "value" must be
// a base64 string, left out when empty (protobuf's default).
Result<Json> KvValue(const Json& kv) {
  if (kv.empty()) return Json();
  auto value = kv.find("value");
  if (value != kv.end() && !value->is_string()) {
    return Status::ParseError("a key-value's \"value\" is not a string");
  }
  std::optional<std::string> bytes =
      Base64Decode(value == kv.end() ? "" : value->get_ref<const std::string&>());
  if (!bytes) return Status::ParseError("a key-value's \"value\" is not base64");
  return DecodeValue(*bytes);
}

Op CompleteResponse(const Op& invoke, const RegisterOp& op, const Json& body) {
  if (!IsGatewayResponse(body)) {
    return UnexpectedResponse(invoke, op.kind != RegisterOp::Kind::kRead, kNotGateway);
  }
  switch (op.kind) {
    case RegisterOp::Kind::kRead: {
      Result<Json> kv = FirstKv(body);
      Result<Json> value = kv.ok() ? KvValue(*kv) : kv;
      if (!value.ok()) return UnexpectedRange(invoke, value.status().message());
      Op completion = WithType(invoke, OpType::kOk);
      completion.value = op.keyed ? KeyedValue(op.key, std::move(*value)) : std::move(*value);
      return completion;
    }
    case RegisterOp::Kind::kWrite:
      return WithType(invoke, OpType::kOk);
    case RegisterOp::Kind::kCas: {
      Result<bool> succeeded = Succeeded(body);
      if (!succeeded.ok()) {
        return UnexpectedResponse(invoke, /*writes=*/true, succeeded.status().message());
      }
      if (*succeeded) return WithType(invoke, OpType::kOk);
      return WithType(invoke, OpType::kFail, "compare failed");
    }
  }
  return WithType(invoke, OpType::kInfo, "unreachable");
}

Op CompleteErrorResponse(const Op& invoke, bool writes, const HttpExchange& exchange) {
  Json body = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
  std::string message = body.is_object() && body.contains("message") && body["message"].is_string()
                            ? body["message"].get<std::string>()
                            : "HTTP " + std::to_string(exchange.status);
  bool definite = !writes || ProvesNothingHappened(body);
  return WithType(invoke, definite ? OpType::kFail : OpType::kInfo, message);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<uint8_t>(bytes[i + 2]);
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    text += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return text;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string bytes;
  uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    int sextet = Sextet(c);
    if (sextet < 0) return std::nullopt;
    group = (group << 6) | static_cast<uint32_t>(sextet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((group >> bits) & 0xff);
    }
  }
  return bytes;
}

Result<RegisterOp> ParseRegisterOp(const Op& invoke, const std::string& key_prefix) {
  std::optional<RegisterF> f = ParseRegisterF(invoke.f);
  if (!f) return Status::InvalidArgument("unknown op " + invoke.f);
  RegisterOp op;
  op.kind = *f == RegisterF::kRead    ? RegisterOp::Kind::kRead
            : *f == RegisterF::kWrite ? RegisterOp::Kind::kWrite
                                      : RegisterOp::Kind::kCas;
  op.keyed = IsKeyedRegisterValue(invoke.f, invoke.value);
  const RegisterValue value = *SplitRegisterValue(invoke.value, op.keyed);
  op.key = op.keyed ? *value.key : Json();
  op.argument = *value.argument;
  op.etcd_key = key_prefix + (op.keyed ? KeyText(op.key) : "register");
  if (op.kind == RegisterOp::Kind::kCas) {
    Result<CasArgument> cas = ParseCasArgument(op.argument);
    if (!cas.ok()) return cas.status();
  }
  return op;
}

GatewayRequest BuildRangeRequest(const std::string& etcd_key, ReadConsistency consistency) {
  Json body = {{"key", Base64Encode(etcd_key)}};
  if (consistency == ReadConsistency::kSerializable) body["serializable"] = true;
  return {"/v3/kv/range", body};
}

GatewayRequest BuildRequest(const RegisterOp& op, ReadConsistency consistency) {
  std::string key = Base64Encode(op.etcd_key);
  switch (op.kind) {
    case RegisterOp::Kind::kRead:
      return BuildRangeRequest(op.etcd_key, consistency);
    case RegisterOp::Kind::kWrite:
      return {"/v3/kv/put", {{"key", key}, {"value", Base64Encode(op.argument.dump())}}};
    case RegisterOp::Kind::kCas: {
      Json compare = {{"key", key},
                      {"target", "VALUE"},
                      {"result", "EQUAL"},
                      {"value", Base64Encode(op.argument[0].dump())}};
      Json put = {{"key", key}, {"value", Base64Encode(op.argument[1].dump())}};
      return {"/v3/kv/txn",
              {{"compare", Json::array({compare})},
               {"success", Json::array({{{"request_put", put}}})}}};
    }
  }
  return {};
}

std::string BodyExcerpt(const std::string& body) {
  constexpr size_t kMaxBytes = 200;
  std::string excerpt = body.size() > kMaxBytes ? body.substr(0, kMaxBytes) + "..." : body;
  return Json(excerpt).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<bool> ReadHealth(const HttpExchange& exchange) {
  if (exchange.too_large) return Status::IoError("answered with " + exchange.error);
  if (exchange.stage != HttpExchange::Stage::kResponded || exchange.status != 200) return false;
  Json body = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
  auto health = body.is_object() ? body.find("health") : body.end();
  if (!body.is_object() || health == body.end() || !health->is_string() ||
      (*health != "true" && *health != "false")) {
    return Status::IoError("answered " + BodyExcerpt(exchange.body) +
                           ", which is not etcd's health response ({\"health\":\"true\"} or "
                           "\"false\"): is this node running etcd 3.4 or later?");
  }
  return *health == "true";
}

bool ProvesNothingHappened(const Json& error_body) {
  // gRPC codes etcd returns only for requests it refused before proposing them.
  static const std::set<int> kRefusedCodes = {3 /* InvalidArgument */, 7 /* PermissionDenied */,
                                              8 /* ResourceExhausted */, 16 /* Unauthenticated */};
  // Unavailable (14) is also "leader changed" or "request timed out": only these texts are sure.
  static const std::set<std::string> kRefusedMessages = {
      "etcdserver: no leader", "etcdserver: too many requests", "etcdserver: request is too large",
      "etcdserver: not capable", "raft proposal dropped"};
  if (!error_body.is_object()) return false;
  auto code = error_body.find("code");
  if (code != error_body.end() && code->is_number_integer() &&
      kRefusedCodes.count(code->get<int>()))
    return true;
  auto message = error_body.find("message");
  return message != error_body.end() && message->is_string() &&
         kRefusedMessages.count(message->get<std::string>()) > 0;
}

std::optional<Op> CompleteUnanswered(const Op& invoke, bool writes, const HttpExchange& exchange) {
  switch (exchange.stage) {
    case HttpExchange::Stage::kNotSent:
      return WithType(invoke, OpType::kFail, exchange.error);
    case HttpExchange::Stage::kNoResponse:
      // A read has no effect: whether or not etcd saw it, it did not happen.
      return WithType(invoke, writes ? OpType::kInfo : OpType::kFail,
                      exchange.timed_out ? "timeout" : exchange.error);
    case HttpExchange::Stage::kResponded:
      break;
  }
  if (exchange.status != 200) return CompleteErrorResponse(invoke, writes, exchange);
  return std::nullopt;
}

Op Complete(const Op& invoke, const RegisterOp& op, const HttpExchange& exchange) {
  if (std::optional<Op> unanswered =
          CompleteUnanswered(invoke, op.kind != RegisterOp::Kind::kRead, exchange)) {
    return *unanswered;
  }
  Json body = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
  return CompleteResponse(invoke, op, body);
}

bool ListAppendTxn::writes() const {
  for (const Key& key : keys) {
    if (key.appended) return true;
  }
  return false;
}

Result<ListAppendTxn> ParseListAppendTxn(const Op& invoke, const std::string& key_prefix) {
  if (invoke.f != "txn") {
    return Status::InvalidArgument("a list-append txn is f txn with a list of micro-ops, not f " +
                                   invoke.f);
  }
  ListAppendTxn txn;
  std::map<std::string, size_t> indexes;  // etcd key -> index into txn.keys
  Status status = ForEachMicroOp(
      invoke.value, TxnKind::kListAppend, [&](size_t, const MicroOp& micro_op) {
        std::string etcd_key = key_prefix + KeyText(*micro_op.key);
        auto [at, added] = indexes.emplace(etcd_key, txn.keys.size());
        if (added) txn.keys.push_back({*micro_op.key, etcd_key, false});
        bool append = micro_op.kind == MicroOpKind::kAppend;
        if (append) txn.keys[at->second].appended = true;
        txn.mops.push_back({append, at->second, append ? *micro_op.value : Json()});
        return Status::Ok();
      });
  if (!status.ok()) return Status::InvalidArgument("a list-append txn: " + status.message());
  return txn;
}

std::optional<Op> ReadKeyVersion(const Op& invoke, const HttpExchange& exchange,
                                 KeyVersion* version) {
  if (std::optional<Op> unanswered = CompleteUnanswered(invoke, /*writes=*/false, exchange)) {
    return unanswered;
  }
  Json body = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
  Result<Json> kv = FirstKv(body);
  Result<Json> list = kv.ok() ? KvValue(*kv) : kv;
  if (!list.ok()) return UnexpectedRange(invoke, list.status().message());
  if (!list->is_null() && !list->is_array()) {
    return WithType(invoke, OpType::kFail, "key holds " + list->dump() + ", not a list");
  }
  // protobuf's JSON writes int64 as a string; a number is accepted too.
  const Json revision = kv->value("mod_revision", Json("0"));
  int64_t mod_revision = -1;
  if (revision.is_number_integer()) mod_revision = revision.get<int64_t>();
  if (revision.is_string()) {
    const std::string& text = revision.get_ref<const std::string&>();
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), mod_revision);
    if (error != std::errc() || end != text.data() + text.size()) mod_revision = -1;
  }
  if (mod_revision < 0) {
    return UnexpectedRange(invoke, "a key-value's \"mod_revision\" is not a revision");
  }
  if ((mod_revision == 0) != list->is_null()) {
    return UnexpectedRange(invoke, "a key-value's \"mod_revision\" and \"value\" disagree");
  }
  version->list = std::move(*list);
  version->mod_revision = mod_revision;
  return std::nullopt;
}

namespace {

// What a serializable txn sees of each key as it goes: the versions read, its own appends on top.
class TxnView {
 public:
  explicit TxnView(const std::vector<KeyVersion>& versions) {
    for (const KeyVersion& version : versions) lists_.push_back(version.list);
  }
  void Append(size_t key, const Json& element) {
    if (lists_[key].is_null()) lists_[key] = Json::array();
    lists_[key].push_back(element);
  }
  const Json& List(size_t key) const { return lists_[key]; }

 private:
  std::vector<Json> lists_;
};

}  // namespace

GatewayRequest BuildTxnRequest(const ListAppendTxn& txn, const std::vector<KeyVersion>& versions) {
  TxnView view(versions);
  for (const ListAppendTxn::MicroOp& mop : txn.mops) {
    if (mop.append) view.Append(mop.key, mop.value);
  }
  Json compares = Json::array();
  Json puts = Json::array();
  for (size_t i = 0; i < txn.keys.size(); ++i) {
    std::string key = Base64Encode(txn.keys[i].etcd_key);
    compares.push_back({{"key", key},
                        {"target", "MOD"},
                        {"result", "EQUAL"},
                        {"mod_revision", std::to_string(versions[i].mod_revision)}});
    if (txn.keys[i].appended) {
      puts.push_back(
          {{"request_put", {{"key", key}, {"value", Base64Encode(view.List(i).dump())}}}});
    }
  }
  return {"/v3/kv/txn", {{"compare", compares}, {"success", puts}}};
}

Op CompleteTxn(const Op& invoke, const ListAppendTxn& txn, const std::vector<KeyVersion>& versions,
               const HttpExchange& exchange) {
  if (std::optional<Op> unanswered = CompleteUnanswered(invoke, txn.writes(), exchange)) {
    return *unanswered;
  }
  Json body = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
  if (!IsGatewayResponse(body)) return UnexpectedResponse(invoke, txn.writes(), kNotGateway);
  Result<bool> succeeded = Succeeded(body);
  if (!succeeded.ok()) {
    return UnexpectedResponse(invoke, txn.writes(), succeeded.status().message());
  }
  // A failed compare: nothing was put.
  if (!*succeeded) return WithType(invoke, OpType::kFail, "compare failed");
  Op completion = WithType(invoke, OpType::kOk);
  TxnView view(versions);
  for (size_t i = 0; i < txn.mops.size(); ++i) {
    const ListAppendTxn::MicroOp& mop = txn.mops[i];
    if (mop.append) {
      view.Append(mop.key, mop.value);
    } else {
      completion.value[i] =
          MicroOpJson(MicroOpKind::kRead, txn.keys[mop.key].key, view.List(mop.key));
    }
  }
  return completion;
}

}  // namespace faultline::etcd
