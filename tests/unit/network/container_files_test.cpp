#include <gtest/gtest.h>

#include "network/container_files.hpp"

using namespace ctk::network;

using Strings = std::vector<std::string>;

TEST(ResolvConfRules, LoopbackResolversAreReplacedAsDockerDoes) {
    EXPECT_EQ(usable_nameservers("nameserver 10.0.0.2\nnameserver 127.0.0.53\n", ""), Strings{"10.0.0.2"});
    // systemd-resolved's stub only: its upstreams instead.
    EXPECT_EQ(usable_nameservers("# stub\nnameserver 127.0.0.53\noptions edns0\n", "nameserver 10.1.1.1\nnameserver ::1\n"),
              Strings{"10.1.1.1"});
    EXPECT_TRUE(usable_nameservers("nameserver 127.0.0.1\n", "").empty());
    EXPECT_TRUE(usable_nameservers("", "nameserver 10.1.1.1\n").empty());
    EXPECT_EQ(usable_nameservers("nameserver fd00::1\nnameserver 10.0.0.3", ""), Strings{"10.0.0.3"});
    EXPECT_EQ(usable_nameservers("nameserver\t10.0.0.4\n", ""), Strings{"10.0.0.4"});
}

TEST(ResolvConfRules, UpstreamsAreTheConfiguredOnesElseTheHostsElseDockersDefaults) {
    // configured: exactly those, an empty list included (tests rely on it: nothing outside)
    EXPECT_EQ(upstream_nameservers(Strings{}, "nameserver 10.0.0.2\n", ""), Strings{});
    EXPECT_EQ(upstream_nameservers(Strings{"10.9.9.9"}, "nameserver 10.0.0.2\n", ""), Strings{"10.9.9.9"});
    EXPECT_EQ(upstream_nameservers(std::nullopt, "nameserver 10.0.0.2\nnameserver 127.0.0.1\n", ""), Strings{"10.0.0.2"});
    // moby resolvconf: nothing usable left -> 8.8.8.8, 8.8.4.4
    EXPECT_EQ(upstream_nameservers(std::nullopt, "nameserver 127.0.0.1\n", ""), (Strings{"8.8.8.8", "8.8.4.4"}));
    EXPECT_EQ(upstream_nameservers(std::nullopt, "", ""), (Strings{"8.8.8.8", "8.8.4.4"}));
}

namespace {
const char* host = "# host\nnameserver 127.0.0.53\nsearch a.example b.example\noptions edns0 trust-ad\n";
}

TEST(ResolvConfRules, DefaultNetworkTakesTheUpstreamsAndTheHostsSearchAndOptions) {
    ResolvSettings s;
    s.host_text = host;
    s.upstreams = {"10.0.0.2"};
    EXPECT_EQ(container_resolv_conf(s).text(), "nameserver 10.0.0.2\nsearch a.example b.example\noptions edns0 trust-ad\n");
    s.upstreams.clear(); // an internal network, or dns: [] in the configuration
    EXPECT_EQ(container_resolv_conf(s).text(), "search a.example b.example\noptions edns0 trust-ad\n");
}

TEST(ResolvConfRules, UserNetworksNameTheirResponder) {
    ResolvSettings s;
    s.host_text = host;
    s.upstreams = {"10.0.0.2"}; // the responder's, not the container's
    s.responder = "10.218.10.1";
    ResolvConf r = container_resolv_conf(s);
    EXPECT_EQ(r.nameservers, Strings{"10.218.10.1"});
    EXPECT_EQ(r.text(), "nameserver 10.218.10.1\nsearch a.example b.example\noptions edns0 trust-ad ndots:0\n");
    s.overrides.options = {"ndots:2"};
    EXPECT_EQ(container_resolv_conf(s).options, Strings{"ndots:2"});
}

TEST(ResolvConfRules, DnsFlagsOverrideEachPart) {
    ResolvSettings s;
    s.host_text = host;
    s.upstreams = {"10.0.0.2"};
    s.overrides.servers = {"10.1.2.3"};
    EXPECT_EQ(container_resolv_conf(s).text(), "nameserver 10.1.2.3\nsearch a.example b.example\noptions edns0 trust-ad\n");
    s.overrides.search = {"c.example"};
    s.overrides.options = {"timeout:1"};
    EXPECT_EQ(container_resolv_conf(s).text(), "nameserver 10.1.2.3\nsearch c.example\noptions timeout:1\n");
    s.overrides.servers.clear();
    EXPECT_EQ(container_resolv_conf(s).nameservers, Strings{"10.0.0.2"});
}

TEST(ResolvConfRules, HostNetworkKeepsTheHostsFile) {
    ResolvSettings s;
    s.host_text = host;
    s.host_network = true;
    s.upstreams = {"10.0.0.2"};
    EXPECT_EQ(container_resolv_conf(s).text(), host);
    s.overrides.search = {"c.example"};
    // its own loopback resolver is reachable from the host's namespace
    EXPECT_EQ(container_resolv_conf(s).text(), "nameserver 127.0.0.53\nsearch c.example\noptions edns0 trust-ad\n");
}

TEST(ResolvConfRules, LastSearchAndOptionsLinesWin) {
    ResolvConf r = ResolvConf::parse("search a\nsearch b c\noptions x\noptions y\n; comment\nnameserver 1.1.1.1 extra\n");
    EXPECT_EQ(r.search, (Strings{"b", "c"}));
    EXPECT_EQ(r.options, Strings{"y"});
    EXPECT_EQ(r.nameservers, Strings{"1.1.1.1"});
}

TEST(HostsRules, LocalhostLinesExtraHostsThenTheContainer) {
    HostsSettings s;
    s.extra.push_back(*extra_host_entry("db:10.0.0.9"));
    s.extra.push_back(*extra_host_entry("v6:[fd00::1]"));
    s.address = "10.218.10.2";
    s.names = {"web"};
    EXPECT_EQ(container_hosts(s),
              "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
              "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
              "10.0.0.9\tdb\nfd00::1\tv6\n10.218.10.2\tweb\n");
    EXPECT_EQ(extra_host_entry("h:::1")->address, "::1");
    EXPECT_FALSE(extra_host_entry("nohost"));
}

TEST(HostsRules, NoAddressNoLineOfItsOwnAndTheHostsFileOnTheHostNetwork) {
    HostsSettings s;
    s.names = {"web"};
    std::string text = container_hosts(s);
    EXPECT_EQ(text.find("web"), std::string::npos);
    s.base = "127.0.0.1 localhost\n10.1.1.1 myhost";
    s.extra.push_back({"10.0.0.9", {"db"}});
    EXPECT_EQ(container_hosts(s), "127.0.0.1 localhost\n10.1.1.1 myhost\n10.0.0.9\tdb\n");
}
