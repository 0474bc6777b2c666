#include <gtest/gtest.h>

#include "core/error.hpp"
#include "network/address.hpp"

using namespace ctk;
using namespace ctk::network;

static std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        return e.what();
    }
    return "no error";
}

TEST(Subnet, ParsesAndFormats) {
    Subnet s = Subnet::parse("10.200.1.0/24");
    EXPECT_EQ(s.str(), "10.200.1.0/24");
    EXPECT_EQ(format_address(s.first_host()), "10.200.1.1");
    EXPECT_EQ(format_address(s.last_host()), "10.200.1.254");
    EXPECT_EQ(format_address(s.broadcast()), "10.200.1.255");
    EXPECT_EQ(s.size(), 256u);
    EXPECT_TRUE(s.contains(parse_address("10.200.1.77")));
    EXPECT_FALSE(s.contains(parse_address("10.200.2.1")));
}

TEST(Subnet, RefusesWhatIsNotACidr) {
    EXPECT_EQ(error_of([] { Subnet::parse("10.0.0.0"); }), "invalid CIDR \"10.0.0.0\": expected ADDRESS/PREFIX");
    EXPECT_EQ(error_of([] { Subnet::parse("10.0.0.0/x"); }), "invalid CIDR \"10.0.0.0/x\": prefix length must be 0-32");
    EXPECT_EQ(error_of([] { Subnet::parse("10.0.0/8"); }), "invalid CIDR \"10.0.0/8\": \"10.0.0\" is not an IPv4 address");
    EXPECT_EQ(error_of([] { Subnet::parse("10.0.0.0/31"); }),
              "invalid CIDR \"10.0.0.0/31\": prefix length must be 8-30 for a bridge network");
    EXPECT_EQ(error_of([] { Subnet::parse("10.1.2.3/16"); }),
              "invalid CIDR \"10.1.2.3/16\": host bits set (did you mean 10.1.0.0/16?)");
}

// Issue 16: loopback, multicast, link-local, reserved/broadcast and 0/8 are not for bridges.
TEST(Subnet, ReservedRangesAreNotAssignable) {
    auto check = [](const char* cidr) { return error_of([&] { Subnet::parse(cidr).check_assignable(); }); };
    EXPECT_EQ(check("127.0.0.0/8"),
              "invalid subnet 127.0.0.0/8: it overlaps the loopback (127.0.0.0/8) range, whose addresses cannot be given to hosts");
    EXPECT_EQ(check("224.0.0.0/24"),
              "invalid subnet 224.0.0.0/24: it overlaps the multicast (224.0.0.0/4) range, whose addresses cannot be given to hosts");
    EXPECT_NE(check("239.255.0.0/16").find("multicast"), std::string::npos);
    EXPECT_NE(check("169.254.1.0/24").find("link-local (169.254.0.0/16)"), std::string::npos);
    EXPECT_NE(check("240.0.0.0/8").find("reserved and broadcast (240.0.0.0/4)"), std::string::npos);
    EXPECT_NE(check("255.255.255.0/24").find("reserved and broadcast"), std::string::npos);
    EXPECT_NE(check("0.0.0.0/8").find("\"this network\" (0.0.0.0/8)"), std::string::npos);
    EXPECT_NE(check("0.1.0.0/16").find("0.0.0.0/8"), std::string::npos);
    for (const char* ok : {"10.235.0.0/16", "172.17.0.0/16", "192.168.1.0/24", "126.0.0.0/8", "128.0.0.0/8",
                           "169.253.0.0/16", "169.255.0.0/16", "223.255.255.0/24", "1.0.0.0/8"})
        EXPECT_EQ(check(ok), "no error") << ok;
}

TEST(Subnet, Overlaps) {
    auto a = Subnet::parse("10.200.0.0/16");
    EXPECT_TRUE(a.overlaps(Subnet::parse("10.200.5.0/24")));
    EXPECT_TRUE(Subnet::parse("10.200.5.0/24").overlaps(a));
    EXPECT_FALSE(a.overlaps(Subnet::parse("10.201.0.0/16")));
    EXPECT_FALSE(Subnet::parse("10.200.1.0/25").overlaps(Subnet::parse("10.200.1.128/25")));
}

TEST(PortMapping, DockerSyntax) {
    auto p = PortMapping::parse("8080:80");
    EXPECT_EQ(p.host_ip, "");
    EXPECT_EQ(p.host_port, 8080);
    EXPECT_EQ(p.container_port, 80);
    EXPECT_EQ(p.protocol, "tcp");
    auto q = PortMapping::parse("127.0.0.1:5353:53/UDP");
    EXPECT_EQ(q.host_ip, "127.0.0.1");
    EXPECT_EQ(q.protocol, "udp");
    EXPECT_EQ(q.str(), "127.0.0.1:5353:53/udp");
    EXPECT_EQ(PortMapping::parse("0.0.0.0:1:2").host_ip, "");
    EXPECT_TRUE(p.same_host_side(PortMapping::parse("127.0.0.1:8080:81")));
    EXPECT_FALSE(p.same_host_side(PortMapping::parse("8080:80/udp")));
    EXPECT_EQ(error_of([] { PortMapping::parse("80"); }),
              "invalid published port \"80\": expected [HOSTIP:]HOSTPORT:PORT[/PROTO]");
    EXPECT_EQ(error_of([] { PortMapping::parse("70000:80"); }),
              "invalid published port \"70000:80\": \"70000\" is not a port number");
    EXPECT_EQ(error_of([] { PortMapping::parse("1:2/sctp"); }),
              "invalid published port \"1:2/sctp\": protocol must be tcp or udp");
    EXPECT_EQ(error_of([] { PortMapping::parse("host:1:2"); }),
              "invalid published port \"host:1:2\": \"host\" is not an IPv4 address");
}
