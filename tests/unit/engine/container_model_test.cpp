#include <gtest/gtest.h>

#include "engine/container_model.hpp"

using namespace ctk::engine;

TEST(NetworkModeTest, DefaultAndBridgeAreTheDefaultNetwork) {
    for (const char* s : {"", "default", "bridge"}) {
        NetworkMode m = NetworkMode::parse(s);
        EXPECT_TRUE(m.is_default()) << s;
        EXPECT_TRUE(m.attaches()) << s;
        EXPECT_FALSE(m.is_user() || m.is_host() || m.is_none() || m.is_container()) << s;
        EXPECT_EQ(m.network_name(), "bridge") << s;
        EXPECT_EQ(m.container(), "") << s;
    }
    EXPECT_EQ(NetworkMode::parse("").str(), "default");
    EXPECT_EQ(NetworkMode().str(), "default");
    EXPECT_EQ(NetworkMode::parse("bridge").str(), "bridge"); // kept as written
}

TEST(NetworkModeTest, HostNoneAndContainerHaveNoNetworkOfTheirOwn) {
    NetworkMode h = NetworkMode::parse("host"), n = NetworkMode::parse("none"), c = NetworkMode::parse("container:web");
    EXPECT_TRUE(h.is_host());
    EXPECT_TRUE(n.is_none());
    EXPECT_TRUE(c.is_container());
    for (const auto& m : {h, n, c}) {
        EXPECT_FALSE(m.attaches()) << m.str();
        EXPECT_EQ(m.network_name(), "") << m.str();
    }
    EXPECT_EQ(c.container(), "web");
    EXPECT_EQ(c.str(), "container:web");
    EXPECT_EQ(h.container(), "");
}

TEST(NetworkModeTest, AnyOtherNameIsAUserNetwork) {
    for (const char* s : {"n1", "hosts", "nonet", "my-container:x"}) {
        NetworkMode m = NetworkMode::parse(s);
        EXPECT_TRUE(m.is_user()) << s;
        EXPECT_TRUE(m.attaches()) << s;
        EXPECT_EQ(m.network_name(), s);
        EXPECT_EQ(m.str(), s);
    }
}
