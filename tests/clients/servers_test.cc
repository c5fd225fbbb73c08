// clients/servers: what the real databases share.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "clients/servers/server_support.h"

namespace faultline::clients {
namespace {

TEST(ProgramVersion, TheNumberInEachServersVersionLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"postgres (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)\n", "15.10"},
      {"Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=c4fc1\n",
       "7.0.15"},
      {"/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64\n",
       "10.11.19"},
      {"etcd Version: 3.4.23\nGit SHA: Not provided (use ./build instead of go build)\n",
       "3.4.23"},
      {"tool 2 of build x86_64, release 1.2.\n", "1.2"},
  };
  for (const auto& [output, version] : cases) {
    Result<std::string> found = ProgramVersion(output);
    ASSERT_TRUE(found.ok()) << output << found.status().message();
    EXPECT_EQ(*found, version) << output;
  }
}

TEST(ProgramVersion, OutputWithoutADottedNumberIsAParseErrorQuotingIt) {
  Result<std::string> found = ProgramVersion("sh: 1: etcd: not found 127\nmore");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kParseError);
  EXPECT_EQ(found.status().message(), "no version number in 'sh: 1: etcd: not found 127'");
}

}  // namespace
}  // namespace faultline::clients
