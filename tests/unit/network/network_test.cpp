#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "network/network.hpp"

using namespace ctk;
using namespace ctk::network;

namespace {

Network sample() {
    Network n;
    n.name = "front";
    n.id = std::string(64, 'a');
    n.bridge = "ctk-test-x";
    n.subnet = Subnet::parse("10.200.1.0/29");
    n.gateway = parse_address("10.200.1.1");
    n.source = "ctk";
    return n;
}

Endpoint endpoint(const std::string& addr) {
    Endpoint e;
    e.id = std::string(64, 'b');
    e.netns = "/var/run/netns/x";
    e.netns_key = "4:" + addr;
    e.ifname = "eth0";
    e.host_ifname = "vethbbbbbbbb";
    e.address = parse_address(addr);
    return e;
}

} // namespace

TEST(Ipam, LowestFreeAddressSkippingTheGateway) {
    Network n = sample();
    EXPECT_EQ(format_address(allocate_address(n, std::nullopt)), "10.200.1.2");
    n.endpoints.push_back(endpoint("10.200.1.2"));
    n.endpoints.push_back(endpoint("10.200.1.4"));
    EXPECT_EQ(format_address(allocate_address(n, std::nullopt)), "10.200.1.3");
}

TEST(Ipam, RequestedAddress) {
    Network n = sample();
    n.endpoints.push_back(endpoint("10.200.1.2"));
    EXPECT_EQ(format_address(allocate_address(n, parse_address("10.200.1.6"))), "10.200.1.6");
    try {
        allocate_address(n, parse_address("10.200.1.2"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict);
        EXPECT_STREQ(e.what(), "network \"front\": address 10.200.1.2 is already in use");
    }
    EXPECT_THROW(allocate_address(n, parse_address("10.200.1.1")), Error);
    EXPECT_THROW(allocate_address(n, parse_address("10.200.1.7")), Error); // broadcast
    EXPECT_THROW(allocate_address(n, parse_address("10.200.2.2")), Error);
}

TEST(Ipam, ExhaustedSubnet) {
    Network n = sample(); // /29: .1 gateway, .2-.6 hosts
    for (const char* a : {"10.200.1.2", "10.200.1.3", "10.200.1.4", "10.200.1.5", "10.200.1.6"})
        n.endpoints.push_back(endpoint(a));
    try {
        allocate_address(n, std::nullopt);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict);
        EXPECT_STREQ(e.what(), "network \"front\": no free address left in subnet 10.200.1.0/29 (5 endpoints)");
    }
}

TEST(NetworkFile, RoundTripKeepsUnknownFields) {
    Network n = sample();
    n.labels["tier"] = "web";
    Endpoint e = endpoint("10.200.1.3");
    e.name = "web1";
    e.aliases = {"www"};
    e.ports.push_back(PortMapping::parse("127.0.0.1:8080:80"));
    n.endpoints.push_back(e);
    Json j = to_json(n);
    j["future"] = 1;
    j["endpoints"][0]["future"] = 2;
    Network back = network_from_json(j, "test");
    EXPECT_EQ(back.subnet.str(), "10.200.1.0/29");
    EXPECT_EQ(back.labels.at("tier"), "web");
    ASSERT_EQ(back.endpoints.size(), 1u);
    EXPECT_EQ(back.endpoints[0].aliases, std::vector<std::string>{"www"});
    EXPECT_EQ(back.endpoints[0].ports[0].str(), "127.0.0.1:8080:80/tcp");
    Json again = to_json(back);
    EXPECT_EQ(again["future"], 1);
    EXPECT_EQ(again["endpoints"][0]["future"], 2);
    EXPECT_EQ(again, j);
}

TEST(NetworkNames, DockerRules) {
    EXPECT_NO_THROW(check_network_name("my-net_1.x"));
    EXPECT_THROW(check_network_name("-x"), Error);
    EXPECT_THROW(check_network_name("a/b"), Error);
    EXPECT_THROW(check_network_name(""), Error);
    EXPECT_NO_THROW(check_ifname("eth0"));
    EXPECT_THROW(check_ifname("a-name-that-is-too-long"), Error);
    EXPECT_THROW(check_ifname("a/b"), Error);
}

TEST(NetworkStore, MakeRefusesOverlapsAndNameClashes) {
    TempDir dir("ctk-unit-net");
    store::Paths paths{dir.path() + "/root", dir.path() + "/run"};
    NetworkStore store(paths);
    Network a = store.make("a", std::string("10.200.0.0/16"), std::nullopt, "ctk-test-a");
    EXPECT_EQ(format_address(a.gateway), "10.200.0.1");
    store.save(a);
    try {
        store.make("b", std::string("10.200.3.0/24"), std::nullopt, "");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict);
        EXPECT_STREQ(e.what(), "network \"b\": subnet 10.200.3.0/24 overlaps 10.200.0.0/16 of network \"a\"");
    }
    EXPECT_THROW(store.make("a", std::string("10.201.0.0/16"), std::nullopt, ""), Error);
    EXPECT_THROW(store.make("c", std::string("10.201.0.0/16"), std::nullopt, "ctk-test-a"), Error);
    EXPECT_THROW(store.make("c", std::string("10.201.0.0/16"), std::string("10.202.0.1"), ""), Error);
    Network c = store.make("c", std::nullopt, std::nullopt, "");
    EXPECT_EQ(c.subnet.str(), "172.18.0.0/16");
    EXPECT_EQ(c.bridge, "ctk-" + c.id.substr(0, 11));
    auto list = store.list();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].name, "a");
    try {
        store.load("zzz");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
}

TEST(NetworkConfig, SectionOfTheConfigFile) {
    TempDir dir("ctk-unit-net");
    std::string path = dir.path() + "/ctk.json";
    write_file_atomic(path, R"({"network":{"default_subnet":"10.209.0.0/24","default_bridge":"ctk-test-d","dns":["10.209.0.53"]}})");
    ::setenv("CTK_CONFIG", path.c_str(), 1);
    NetworkConfig c = NetworkConfig::load();
    EXPECT_EQ(c.default_subnet.str(), "10.209.0.0/24");
    EXPECT_EQ(c.default_bridge, "ctk-test-d");
    EXPECT_EQ(c.dns, std::vector<std::string>{"10.209.0.53"});
    write_file_atomic(path, R"({"network":{"default_subnet":"10.209.0.1/24"}})");
    EXPECT_THROW(NetworkConfig::load(), Error);
    write_file_atomic(path, R"({})");
    c = NetworkConfig::load();
    EXPECT_EQ(c.default_subnet.str(), "172.17.0.0/16");
    EXPECT_EQ(c.default_bridge, "ctk0");
    for (const auto& ns : c.dns) EXPECT_NE(ns.rfind("127.", 0), 0u) << "loopback resolvers are useless in a namespace";
    ::unsetenv("CTK_CONFIG");
}
