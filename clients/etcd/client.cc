// EtcdClient, the options and BuildEtcdTest.
#include <curl/curl.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>
#include <vector>

#include "clients/etcd/etcd.h"
#include "clients/etcd/gateway.h"
#include "clients/etcd/http.h"

namespace faultline::etcd {

Result<ReadConsistency> ParseReadConsistency(std::string_view text) {
  if (text == "linearizable") return ReadConsistency::kLinearizable;
  if (text == "serializable") return ReadConsistency::kSerializable;
  return Status::InvalidArgument("read consistency must be linearizable or serializable, not " +
                                 std::string(text));
}

std::string ToString(ReadConsistency consistency) {
  return consistency == ReadConsistency::kSerializable ? "serializable" : "linearizable";
}

std::string PidFile(const EtcdOptions& options) { return options.directory + "/etcd.pid"; }

Status ValidateOptions(const EtcdOptions& options) {
  auto bad_port = [](int port) { return port <= 0 || port > 65535; };
  if (bad_port(options.client_port) || bad_port(options.peer_port) ||
      options.client_port == options.peer_port) {
    return Status::InvalidArgument("etcd ports must be two different ports in 1..65535");
  }
  if (options.heartbeat_interval_ms <= 0 ||
      options.election_timeout_ms < 5 * options.heartbeat_interval_ms) {
    return Status::InvalidArgument(
        "etcd election timeout must be at least 5 heartbeat intervals (etcd refuses less)");
  }
  if (!(options.start_timeout_s > 0)) {
    return Status::InvalidArgument("etcd start timeout must be positive");
  }
  const std::string& directory = options.directory;
  if (directory.empty() || directory.find_first_not_of("/.") == std::string::npos ||
      directory.find("..") != std::string::npos) {
    return Status::InvalidArgument("etcd directory '" + directory +
                                   "' is not a directory Teardown may remove");
  }
  return Status::Ok();
}

std::string ClientUrl(const TestOptions& test, const std::string& node, int port) {
  const std::string& address = NodeAddress(test, node);
  bool ipv6 = address.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {}

EtcdClient::~EtcdClient() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
}

Status EtcdClient::Open(const Test& test, const std::string& node) {
  base_url_ = ClientUrl(test.options, node, options_.client_port);
  if (curl_ == nullptr) curl_ = NewCurlHandle();
  return Status::Ok();
}

namespace {

// An op the client cannot run: fail, nothing sent.
Op Refused(const Op& invoke, const Status& status) {
  Op completion = invoke;
  completion.type = OpType::kFail;
  completion.error = status.message();
  return completion;
}

}  // namespace

HttpExchange EtcdClient::Send(const Test& test, const GatewayRequest& request) {
  // Open is the worker's first call; a client used without it is a programmer error.
  assert(curl_ != nullptr);
  auto timeout_ms = std::max<int64_t>(1, test.options.operation_timeout_s * 1000);
  return HttpExchangeOnce(curl_, base_url_ + request.path, request.body.dump(), timeout_ms);
}

Op EtcdClient::Invoke(const Test& test, const Op& invoke) {
  if (invoke.f == "txn") return InvokeListAppend(test, invoke);
  Result<RegisterOp> op = ParseRegisterOp(invoke, options_.key_prefix);
  if (!op.ok()) return Refused(invoke, op.status());
  return Complete(invoke, *op, Send(test, BuildRequest(*op, options_.read_consistency)));
}

Op EtcdClient::InvokeListAppend(const Test& test, const Op& invoke) {
  Result<ListAppendTxn> txn = ParseListAppendTxn(invoke, options_.key_prefix);
  if (!txn.ok()) return Refused(invoke, txn.status());
  std::vector<KeyVersion> versions(txn->keys.size());
  for (size_t i = 0; i < txn->keys.size(); ++i) {
    HttpExchange range =
        Send(test, BuildRangeRequest(txn->keys[i].etcd_key, options_.read_consistency));
    if (std::optional<Op> failed = ReadKeyVersion(invoke, range, &versions[i])) return *failed;
  }
  return CompleteTxn(invoke, *txn, versions, Send(test, BuildTxnRequest(*txn, versions)));
}

void EtcdClient::Close(const Test&) {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
  curl_ = nullptr;
}

Result<Test> BuildEtcdTest(const TestOptions& options, EtcdOptions etcd,
                           const std::string& workload) {
  if (workload != "register" && workload != "list-append") {
    return Status::InvalidArgument("etcd has no workload " + workload +
                                   " (only register and list-append)");
  }
  if (options.nodes.empty()) return Status::InvalidArgument("etcd needs at least one node");
  if (Status valid = ValidateOptions(etcd); !valid.ok()) return valid;
  if (etcd.key_prefix.empty()) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    etcd.key_prefix =
        "faultline/" +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) + "/";
  }
  Test test;
  test.options = options;
  test.workload = workload;
  test.db = std::make_shared<EtcdDb>(etcd);
  test.new_client = [etcd] { return std::make_unique<EtcdClient>(etcd); };
  return test;
}

}  // namespace faultline::etcd
