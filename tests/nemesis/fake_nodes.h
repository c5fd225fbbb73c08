// Test doubles for the nemesis tests: FakeRemotes that behave like nodes with a firewall (a
// small iptables model, one for iptables and one for ip6tables, answering exactly the commands
// nemesis/ sends, with real errors for wrong ones), a resolver and IPv6 interface addresses, and
// a Db that records its process-fault calls.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runner/control/fake_remote.h"
#include "runner/test.h"

namespace faultline::nemesis::fakes {

// The iptables filter table of one node: chains in creation order, each with its rules as
// `iptables -S` prints them ("-A INPUT -j FAULTLINE").
class IptablesModel {
 public:
  IptablesModel() {
    for (const char* chain : {"INPUT", "FORWARD", "OUTPUT"}) chains_.push_back({chain, {}});
  }

  control::CommandResult Run(const std::vector<std::string>& argv) {
    std::vector<std::string> args(argv.begin() + 2, argv.end());  // past "iptables -w"
    if (argv.at(1) != "-w") return Error("faultline must wait for the xtables lock (-w)");
    const std::string& action = args.at(0);
    if (action == "-S") return {0, Listing(), ""};
    const std::string chain = args.size() > 1 ? args[1] : "";
    auto found = Find(chain);
    if (action == "-N") {
      if (found != chains_.end()) return Error("iptables: Chain already exists.");
      chains_.push_back({chain, {}});
      return {};
    }
    if (found == chains_.end()) return Error("iptables: No chain/target/match by that name.");
    std::string rule = "-A " + chain + RuleText(args);
    if (action == "-A" || action == "-I") {
      if (!Jumpable(args)) return Error("iptables: Couldn't load target.");
      auto& rules = found->second;
      rules.insert(action == "-A" ? rules.end() : rules.begin(), rule);
      return {};
    }
    if (action == "-D") {
      auto& rules = found->second;
      auto match = std::find(rules.begin(), rules.end(), rule);
      if (match == rules.end()) return Error("iptables: Bad rule (does a matching rule exist?).");
      rules.erase(match);
      return {};
    }
    if (action == "-F") {
      found->second.clear();
      return {};
    }
    if (action == "-X") {
      if (!found->second.empty() || Referenced(chain))
        return Error("iptables: Directory not empty.");
      chains_.erase(found);
      return {};
    }
    return Error("iptables: unknown action " + action);
  }

  std::string Listing() const {
    std::string out;
    for (const auto& [chain, rules] : chains_) {
      out += IsBuiltin(chain) ? "-P " + chain + " ACCEPT\n" : "-N " + chain + "\n";
    }
    for (const auto& [chain, rules] : chains_) {
      for (const std::string& rule : rules) out += rule + "\n";
    }
    return out;
  }
  bool HasChain(const std::string& chain) const { return Find(chain) != chains_.end(); }
  std::vector<std::string> Rules(const std::string& chain) const {
    auto found = Find(chain);
    return found == chains_.end() ? std::vector<std::string>{} : found->second;
  }
  // Adds a rule of another program's, which faultline must leave alone.
  void AddForeign(const std::string& chain, const std::string& rule) {
    auto found = Find(chain);
    if (found == chains_.end()) {
      chains_.push_back({chain, {}});
      found = Find(chain);
    }
    found->second.push_back(rule);
  }

 private:
  using Chains = std::vector<std::pair<std::string, std::vector<std::string>>>;
  static bool IsBuiltin(const std::string& chain) {
    return chain == "INPUT" || chain == "FORWARD" || chain == "OUTPUT";
  }
  static control::CommandResult Error(std::string message) { return {1, "", message + "\n"}; }
  static std::string RuleText(const std::vector<std::string>& args) {
    std::string text;
    for (size_t i = 2; i < args.size(); ++i) {
      text += " " + args[i];
      if ((args[i - 1] == "-s" || args[i - 1] == "-d") && args[i].find('/') == std::string::npos) {
        text += args[i].find(':') == std::string::npos ? "/32" : "/128";
      }
    }
    return text;
  }
  Chains::iterator Find(const std::string& chain) {
    return std::find_if(chains_.begin(), chains_.end(),
                        [&](const auto& entry) { return entry.first == chain; });
  }
  Chains::const_iterator Find(const std::string& chain) const {
    return std::find_if(chains_.begin(), chains_.end(),
                        [&](const auto& entry) { return entry.first == chain; });
  }
  bool Jumpable(const std::vector<std::string>& args) const {
    auto jump = std::find(args.begin(), args.end(), "-j");
    if (jump == args.end() || jump + 1 == args.end()) return false;
    const std::string& target = *(jump + 1);
    return target == "DROP" || target == "ACCEPT" || target == "RETURN" || target == "NFQUEUE" ||
           HasChain(target);
  }
  bool Referenced(const std::string& chain) const {
    for (const auto& [name, rules] : chains_) {
      for (const std::string& rule : rules) {
        if (rule.size() >= chain.size() + 4 &&
            rule.compare(rule.size() - chain.size() - 4, std::string::npos, " -j " + chain) == 0)
          return true;
      }
    }
    return false;
  }

  Chains chains_;
};

// A node: a FakeRemote whose iptables, ip6tables, getent, printenv and /proc/net/if_inet6
// behave as on a real node. Names resolve through `hosts` (a value may list several addresses,
// space-separated, IPv6 ones too); $SSH_CLIENT names `controller` (empty: unset). The node has
// ip6tables and, on its interfaces, only loopback and link-local IPv6 addresses until told
// otherwise.
class FakeNode {
 public:
  FakeNode(std::string name, std::map<std::string, std::string> hosts, std::string controller)
      : remote_(std::make_shared<control::FakeRemote>(name)),
        hosts_(std::move(hosts)),
        controller_(std::move(controller)) {
    remote_->SetResponder(
        [this](const control::Command& command, const std::string&) { return Respond(command); });
  }
  FakeNode(const FakeNode&) = delete;

  control::FakeRemote& remote() { return *remote_; }
  IptablesModel& iptables() { return iptables_; }
  IptablesModel& ip6tables() { return ip6tables_; }
  // Puts an IPv6 address on an interface, with the kernel's scope (0 global, 0x20 link).
  void AddInterfaceAddress(const std::string& address, int scope = 0) {
    in6_addr parsed{};
    if (inet_pton(AF_INET6, address.c_str(), &parsed) != 1) std::abort();
    std::string line;
    char hex[3];
    for (uint8_t byte : parsed.s6_addr) {
      std::snprintf(hex, sizeof hex, "%02x", byte);
      line += hex;
    }
    std::snprintf(hex, sizeof hex, "%02x", scope);
    if_inet6_ += line + " 02 40 " + hex + " 80     eth0\n";
  }
  void SetHasIp6tables(bool present) { has_ip6tables_ = present; }
  // Answers the commands `handler` knows (it returns nullopt for the others), before the node's
  // own models: for faults that run more than iptables (tc, their scripts).
  using Handler =
      std::function<std::optional<control::CommandResult>(const std::vector<std::string>& argv)>;
  void SetHandler(Handler handler) { handler_ = std::move(handler); }
  // Makes every iptables command whose arguments contain `text` exit 1.
  void FailIptablesWith(std::string text) { fail_with_ = std::move(text); }
  // The argv of every iptables (or ip6tables) command after "iptables -w", space-joined, in
  // order.
  std::vector<std::string> IptablesCalls(const std::string& program = "iptables") const {
    std::vector<std::string> calls;
    for (const control::FakeRemote::Record& record : remote_->records()) {
      const std::vector<std::string>& argv = record.command.argv;
      if (argv.empty() || argv[0] != program) continue;
      std::string call;
      for (size_t i = 2; i < argv.size(); ++i) call += (i > 2 ? " " : "") + argv[i];
      calls.push_back(call);
    }
    return calls;
  }

 private:
  Result<control::CommandResult> Respond(const control::Command& command) {
    const std::vector<std::string>& argv = command.argv;
    if (handler_) {
      if (std::optional<control::CommandResult> handled = handler_(argv)) return *handled;
    }
    if (argv.at(0) == "iptables" || argv.at(0) == "ip6tables") {
      const bool ipv6 = argv[0] == "ip6tables";
      if (ipv6 && !has_ip6tables_) return control::CommandResult{127, "", "not found\n"};
      std::string joined;
      for (const std::string& word : argv) joined += word + " ";
      if (!fail_with_.empty() && joined.find(fail_with_) != std::string::npos) {
        return control::CommandResult{1, "", "iptables: simulated failure\n"};
      }
      return (ipv6 ? ip6tables_ : iptables_).Run(argv);
    }
    if (argv.at(0) == "sh" && argv.size() == 3 && argv[2] == "command -v ip6tables") {
      if (!has_ip6tables_) return control::CommandResult{1, "", ""};
      return control::CommandResult{0, "/usr/sbin/ip6tables\n", ""};
    }
    if (argv.at(0) == "cat" && argv.size() == 2 && argv[1] == "/proc/net/if_inet6") {
      return control::CommandResult{0, if_inet6_, ""};
    }
    if (argv.at(0) == "getent") {
      if (argv.at(1) != "ahosts") return control::CommandResult{1, "", "unknown database\n"};
      auto found = hosts_.find(argv.at(2));
      if (found == hosts_.end()) return control::CommandResult{2, "", ""};
      // As glibc prints it: each address once per socket type, the name after the first.
      std::string out;
      std::istringstream addresses(found->second);
      for (std::string address; addresses >> address;) {
        out += address + "  STREAM " + argv[2] + "\n" + address + "  DGRAM  \n";
      }
      return control::CommandResult{0, out, ""};
    }
    if (argv.at(0) == "printenv") {
      if (controller_.empty()) return control::CommandResult{1, "", ""};
      return control::CommandResult{0, controller_ + " 40000 22\n", ""};
    }
    return control::CommandResult{};
  }

  std::shared_ptr<control::FakeRemote> remote_;
  std::map<std::string, std::string> hosts_;
  std::string controller_;
  IptablesModel iptables_;
  IptablesModel ip6tables_;
  bool has_ip6tables_ = true;
  std::string if_inet6_ =
      "00000000000000000000000000000001 01 80 10 80       lo\n"
      "fe8000000000000000fc00fffe000001 02 40 20 80     eth0\n";
  std::string fail_with_;
  Handler handler_;
};

// n1..nN at 10.0.0.1..10.0.0.N, the controller at 10.0.0.100.
class FakeCluster {
 public:
  explicit FakeCluster(size_t count, std::string controller = "10.0.0.100") {
    std::map<std::string, std::string> hosts;
    for (size_t i = 1; i <= count; ++i) {
      names_.push_back("n" + std::to_string(i));
      hosts[names_.back()] = Address(i);
    }
    for (const std::string& name : names_) {
      nodes_.push_back(std::make_unique<FakeNode>(name, hosts, controller));
    }
  }
  static std::string Address(size_t i) { return "10.0.0." + std::to_string(i); }
  const std::vector<std::string>& names() const { return names_; }
  FakeNode& node(size_t i) { return *nodes_.at(i); }
  NodeRemotes remotes() {
    NodeRemotes remotes;
    for (auto& node : nodes_) remotes.push_back(&node->remote());
    return remotes;
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<FakeNode>> nodes_;
};

// A Db that records "kill n1", "start n1", "pause n2", "resume n2", "wipe n3" and can fail some
// calls.
class RecordingDb : public Db {
 public:
  Status Setup(const Test&, const std::string&, control::Remote&) override { return Status::Ok(); }
  Status Teardown(const Test&, const std::string&, control::Remote&) override {
    return Status::Ok();
  }
  Status Kill(const Test&, const std::string& node, control::Remote&) override {
    return Record("kill", node);
  }
  Status Start(const Test&, const std::string& node, control::Remote&) override {
    return Record("start", node);
  }
  Status Pause(const Test&, const std::string& node, control::Remote&) override {
    return Record("pause", node);
  }
  Status Resume(const Test&, const std::string& node, control::Remote&) override {
    return Record("resume", node);
  }
  bool CanWipe() const override { return true; }
  Status Wipe(const Test&, const std::string& node, control::Remote&) override {
    return Record("wipe", node);
  }

  // Makes `call` ("kill n2") fail with an IoError from now on.
  void Fail(const std::string& call) {
    std::lock_guard lock(mutex_);
    failing_.insert(call);
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // The calls, sorted (the nodes of one fault are called in parallel).
  std::vector<std::string> SortedCalls() const {
    std::vector<std::string> sorted = calls();
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    calls_.clear();
  }

 private:
  Status Record(const std::string& action, const std::string& node) {
    std::lock_guard lock(mutex_);
    std::string call = action + " " + node;
    calls_.push_back(call);
    if (failing_.count(call)) return Status::IoError(node + ": `" + action + "` failed");
    return Status::Ok();
  }

  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
  std::set<std::string> failing_;
};

}  // namespace faultline::nemesis::fakes
