#include "clients/etcd/gateway.h"

#include <array>
#include <set>

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

bool IsTuple(const Json& value) { return value.is_array() && value.size() == 2; }

std::string KeyText(const Json& key) {
  return key.is_string() ? key.get<std::string>() : key.dump();
}

// The stored bytes back as the register's value: its JSON text, or the raw text when another
// writer stored something that is not JSON.
Json DecodeValue(const std::string& bytes) {
  Json value = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? Json(bytes) : value;
}

Op WithType(const Op& invoke, OpType type, Json error = Json()) {
  Op completion = invoke;
  completion.type = type;
  completion.error = std::move(error);
  return completion;
}

// The value of the range response's first kv (nil when there is none), or nullopt when the
// response is not a range response.
std::optional<Json> RangeValue(const Json& body) {
  if (!body.is_object() || !body.contains("header")) return std::nullopt;
  auto kvs = body.find("kvs");
  if (kvs == body.end() || kvs->empty()) return Json();
  if (!kvs->is_array() || !(*kvs)[0].is_object()) return std::nullopt;
  std::optional<std::string> bytes = Base64Decode((*kvs)[0].value("value", ""));
  if (!bytes) return std::nullopt;
  return DecodeValue(*bytes);
}

Op CompleteResponse(const Op& invoke, const RegisterOp& op, const Json& body) {
  if (!body.is_object() || !body.contains("header")) {
    bool read = op.kind == RegisterOp::Kind::kRead;
    return WithType(invoke, read ? OpType::kFail : OpType::kInfo, "unexpected response");
  }
  switch (op.kind) {
    case RegisterOp::Kind::kRead: {
      std::optional<Json> value = RangeValue(body);
      if (!value) return WithType(invoke, OpType::kFail, "unexpected range response");
      Op completion = WithType(invoke, OpType::kOk);
      completion.value = op.keyed ? Json::array({op.key, *value}) : *value;
      return completion;
    }
    case RegisterOp::Kind::kWrite:
      return WithType(invoke, OpType::kOk);
    case RegisterOp::Kind::kCas:
      // A failed compare leaves "succeeded" out (false is protobuf's default).
      if (body.value("succeeded", false)) return WithType(invoke, OpType::kOk);
      return WithType(invoke, OpType::kFail, "compare failed");
  }
  return WithType(invoke, OpType::kInfo, "unreachable");
}

Op CompleteErrorResponse(const Op& invoke, const RegisterOp& op, const HttpExchange& exchange) {
  Json body = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
  std::string message = body.is_object() && body.contains("message") && body["message"].is_string()
                            ? body["message"].get<std::string>()
                            : "HTTP " + std::to_string(exchange.status);
  bool definite = op.kind == RegisterOp::Kind::kRead || ProvesNothingHappened(body);
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
  RegisterOp op;
  if (invoke.f == "read") {
    op.kind = RegisterOp::Kind::kRead;
  } else if (invoke.f == "write") {
    op.kind = RegisterOp::Kind::kWrite;
  } else if (invoke.f == "cas") {
    op.kind = RegisterOp::Kind::kCas;
  } else {
    return Status::InvalidArgument("unknown op " + invoke.f);
  }
  // As clients/fake: a tuple is [key value], except that a bare cas value is itself a pair.
  op.keyed =
      IsTuple(invoke.value) && (op.kind != RegisterOp::Kind::kCas || IsTuple(invoke.value[1]));
  op.key = op.keyed ? invoke.value[0] : Json();
  op.argument = op.keyed ? invoke.value[1] : invoke.value;
  op.etcd_key = key_prefix + (op.keyed ? KeyText(op.key) : "register");
  if (op.kind == RegisterOp::Kind::kCas && !IsTuple(op.argument)) {
    return Status::InvalidArgument("cas needs [expected new], got " + invoke.value.dump());
  }
  return op;
}

GatewayRequest BuildRequest(const RegisterOp& op, ReadConsistency consistency) {
  std::string key = Base64Encode(op.etcd_key);
  switch (op.kind) {
    case RegisterOp::Kind::kRead: {
      Json body = {{"key", key}};
      if (consistency == ReadConsistency::kSerializable) body["serializable"] = true;
      return {"/v3/kv/range", body};
    }
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

Op Complete(const Op& invoke, const RegisterOp& op, const HttpExchange& exchange) {
  switch (exchange.stage) {
    case HttpExchange::Stage::kNotSent:
      return WithType(invoke, OpType::kFail, exchange.error);
    case HttpExchange::Stage::kNoResponse: {
      // A read has no effect: whether or not etcd saw it, it did not happen.
      bool read = op.kind == RegisterOp::Kind::kRead;
      return WithType(invoke, read ? OpType::kFail : OpType::kInfo,
                      exchange.timed_out ? "timeout" : exchange.error);
    }
    case HttpExchange::Stage::kResponded:
      break;
  }
  if (exchange.status != 200) return CompleteErrorResponse(invoke, op, exchange);
  Json body = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
  return CompleteResponse(invoke, op, body);
}

}  // namespace faultline::etcd
