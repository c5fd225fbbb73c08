// Each database's own flags (clients/db_kind.h DbFlag): declared by its kind, checked and given
// their defaults by BuildTest, refused for another --db with the owner's name.
#include "clients/db_kind.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "clients/commands/commands.h"
#include "clients/etcd/etcd.h"

namespace faultline::clients {
namespace {

TestOptions ThreeNodes() {
  TestOptions options;
  options.nodes = {"n1", "n2", "n3"};
  options.concurrency = 3;
  return options;
}

WorkloadOptions Workload(const std::string& db) {
  WorkloadOptions workload;
  workload.db = db;
  if (db == "exec") workload.client_command = "true";
  return workload;
}

const etcd::EtcdDb& EtcdOf(const faultline::Test& test) {
  return dynamic_cast<const etcd::EtcdDb&>(*test.db);
}

TEST(DbKindTest, AFlagReachesItsKindAndOneNotGivenHasItsDefault) {
  WorkloadOptions workload = Workload("etcd");
  Result<faultline::Test> plain = BuildTest(ThreeNodes(), workload);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(EtcdOf(*plain).options().read_consistency, etcd::ReadConsistency::kLinearizable);
  // Given twice (a script's default, then the user's flag): the last one wins.
  workload.db_flags["read-consistency"] = {"linearizable", "serializable"};
  Result<faultline::Test> serializable = BuildTest(ThreeNodes(), workload);
  ASSERT_TRUE(serializable.ok()) << serializable.status().message();
  EXPECT_EQ(EtcdOf(*serializable).options().read_consistency, etcd::ReadConsistency::kSerializable);
}

TEST(DbKindTest, ARepeatableFlagKeepsEveryValue) {
  WorkloadOptions workload = Workload("exec");
  workload.db_flags["db-logs"] = {"/var/log/{node}.log", "/tmp/second.log"};
  Result<faultline::Test> test = BuildTest(ThreeNodes(), workload);
  ASSERT_TRUE(test.ok()) << test.status().message();
  ASSERT_NE(test->db, nullptr);
  EXPECT_EQ(test->db->LogFiles(*test, "n2"),
            (std::vector<std::string>{"/var/log/n2.log", "/tmp/second.log"}));
}

TEST(DbKindTest, AnotherDatabasesFlagIsRefusedNamingItsOwner) {
  WorkloadOptions fake = Workload("fake");
  fake.db_flags["read-consistency"] = {"serializable"};
  EXPECT_EQ(BuildTest(ThreeNodes(), fake).status().message(),
            "--read-consistency applies to --db etcd, not --db fake");
  WorkloadOptions etcd = Workload("etcd");
  etcd.db_flags["fake-bug"] = {"stale-reads"};
  EXPECT_EQ(BuildTest(ThreeNodes(), etcd).status().message(),
            "--fake-bug applies to --db fake, not --db etcd");
  WorkloadOptions exec = Workload("exec");
  exec.db_flags["frobnicate"] = {"1"};
  EXPECT_EQ(BuildTest(ThreeNodes(), exec).status().message(), "unknown database flag --frobnicate");
  // An empty list is a flag not given (the CLI's storage for every kind's flags).
  WorkloadOptions quiet = Workload("fake");
  quiet.db_flags["read-consistency"] = {};
  EXPECT_TRUE(BuildTest(ThreeNodes(), quiet).ok());
}

TEST(DbKindTest, AValueOutsideTheChoicesIsRefusedListingThem) {
  WorkloadOptions workload = Workload("etcd");
  workload.db_flags["read-consistency"] = {"eventual"};
  EXPECT_EQ(BuildTest(ThreeNodes(), workload).status().message(),
            "--read-consistency: expected linearizable or serializable, found \"eventual\"");
}

TEST(DbKindTest, AWorkloadTheKindDoesNotRunIsRefusedListingThoseItRuns) {
  WorkloadOptions workload = Workload("etcd");
  workload.workload = "counter";
  EXPECT_EQ(BuildTest(ThreeNodes(), workload).status().message(),
            "--db etcd runs the register and list-append workloads, not counter");
  workload.db = "exec";
  workload.client_command = "true";
  EXPECT_TRUE(BuildTest(ThreeNodes(), workload).ok());  // exec runs every workload
}

// Flags are one namespace on `faultline test`: two kinds may share a flag (--isolation) as one
// option, repeatable in both or in neither (the CLI declares it once; its help names each kind's
// values and default when they differ); each flag has a help line and a default among its choices.
TEST(DbKindTest, SharedFlagsAgreeOnRepeatingAndEveryFlagIsDescribed) {
  std::map<std::string, const DbFlag*> first;
  for (const DbKind& kind : DbKinds()) {
    for (const DbFlag& flag : kind.flags) {
      EXPECT_FALSE(flag.help.empty()) << flag.name;
      auto [earlier, added] = first.emplace(flag.name, &flag);
      if (!added) {
        EXPECT_EQ(earlier->second->repeatable, flag.repeatable) << flag.name << " in " << kind.name;
      }
      if (!flag.choices.empty() && !flag.repeatable) {
        EXPECT_NE(std::find(flag.choices.begin(), flag.choices.end(), flag.default_value),
                  flag.choices.end())
            << flag.name << "'s default is not one of its choices";
      }
    }
  }
  EXPECT_NE(first.count("db-kill"), 0u);
  EXPECT_NE(first.count("fake-isolation"), 0u);
}

}  // namespace
}  // namespace faultline::clients
