#include <gtest/gtest.h>

#include <linux/capability.h>

#include "linux/capability.hpp"

using namespace ctk;
using namespace ctk::linux;

TEST(Capabilities, NamesAndSets) {
    EXPECT_EQ(parse_capability("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    EXPECT_EQ(parse_capability("cap_chown"), CAP_CHOWN);
    EXPECT_FALSE(parse_capability("CAP_NOPE"));
    EXPECT_EQ(capability_name(CAP_NET_RAW), "CAP_NET_RAW");
    EXPECT_GE(last_capability(), CAP_BPF);
    oci::Capabilities c;
    c.bounding = {"CAP_KILL", "CAP_CHOWN"};
    c.effective = {"CAP_KILL", "CAP_FROM_THE_FUTURE"};
    std::vector<std::string> warnings;
    CapSets s = cap_sets(c, [&](const std::string& w) { warnings.push_back(w); });
    EXPECT_EQ(s.bounding, (uint64_t{1} << CAP_KILL) | (uint64_t{1} << CAP_CHOWN));
    EXPECT_EQ(s.effective, uint64_t{1} << CAP_KILL);
    EXPECT_EQ(s.ambient, 0u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("CAP_FROM_THE_FUTURE"), std::string::npos);
}
