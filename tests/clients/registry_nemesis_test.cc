// The registry's nemesis wiring: a non-root SSH user's faults go through sudo, root's do not.
#include <gtest/gtest.h>

#include "clients/registry.h"
#include "nemesis/fake_nodes.h"

namespace faultline::clients {
namespace {

// Sets the nemesis of an etcd test with partitions up and tears it down on fake nodes, and
// returns whether each iptables command the nodes received ran through sudo.
std::vector<bool> IptablesSudo(bool nemesis_sudo) {
  nemesis::fakes::FakeCluster cluster(3);
  TestOptions options;
  options.nodes = cluster.names();
  options.concurrency = 3;
  WorkloadOptions workload;
  workload.db = "etcd";
  workload.nemesis = "partition";
  workload.nemesis_sudo = nemesis_sudo;
  Result<Test> test = BuildTest(options, workload);
  EXPECT_TRUE(test.ok()) << test.status().message();
  if (!test.ok() || !test->nemesis) return {};
  Status setup = test->nemesis->Setup(*test, cluster.remotes());
  EXPECT_TRUE(setup.ok()) << setup.message();
  Status teardown = test->nemesis->Teardown(*test);
  EXPECT_TRUE(teardown.ok()) << teardown.message();
  std::vector<bool> sudo;
  for (size_t i = 0; i < cluster.names().size(); ++i) {
    for (const control::FakeRemote::Record& record : cluster.node(i).remote().records()) {
      if (!record.command.argv.empty() && record.command.argv[0] == "iptables") {
        sudo.push_back(record.command.sudo);
      }
    }
  }
  return sudo;
}

TEST(RegistryNemesis, ANonRootUsersFaultsRunThroughSudo) {
  std::vector<bool> sudo = IptablesSudo(true);
  ASSERT_FALSE(sudo.empty()) << "teardown sent no iptables command";
  for (bool each : sudo) EXPECT_TRUE(each);
}

TEST(RegistryNemesis, RootsFaultsRunWithoutSudo) {
  std::vector<bool> sudo = IptablesSudo(false);
  ASSERT_FALSE(sudo.empty()) << "teardown sent no iptables command";
  for (bool each : sudo) EXPECT_FALSE(each);
}

}  // namespace
}  // namespace faultline::clients
