// net-bridge networks: reachability by address and name, isolation, several
// networks per namespace, published ports, clean detach and rm.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/netlink.hpp"
#include "net_bridge_test.hpp"

namespace ctk::test {
namespace {

class Network : public NetBridgeTest {
protected:
    void SetUp() override {
        NetBridgeTest::SetUp();
        CTK_REQUIRE_ROOT();
        ASSERT_TRUE(have_program("busybox") && have_program("nft") && have_program("ip"));
    }

    Json attach(const std::vector<std::string>& args) {
        std::vector<std::string> a = {"attach"};
        a.insert(a.end(), args.begin(), args.end());
        auto r = nb(a);
        EXPECT_EQ(r.status, 0) << r;
        return r.status == 0 ? r.json() : Json::object();
    }
    bool ping(const std::string& ns, const std::string& target) {
        return sh_status("ip netns exec " + ns + " busybox ping -c1 -W1 " + target) == 0;
    }
    std::string wget(const std::string& ns, const std::string& url) {
        std::string prefix = ns.empty() ? "" : "ip netns exec " + ns + " ";
        // busybox 1.35's wget -T crashes: timeout(1) bounds it instead.
        auto r = run_command({"sh", "-c", prefix + "timeout 3 busybox wget -q -O- " + url});
        return r.status == 0 ? r.out : "<exit " + std::to_string(r.status) + "> " + r.err;
    }
};

TEST_F(Network, TwoNamespacesReachEachOtherByAddressNameAndAlias) {
    create_network("front", "10.200.1.0/24");
    auto a = netns("a"), b = netns("b");
    Json ra = attach({"front", "--netns", ns_path(a), "--name", "web1", "--alias", "www", "--id", "cid-a"});
    Json rb = attach({"front", "--netns", ns_path(b), "--name", "client"});

    // The CNI result: bridge, host veth, container interface in the sandbox.
    ASSERT_EQ(ra["interfaces"].size(), 3u);
    EXPECT_EQ(ra["interfaces"][2]["name"], "eth0");
    EXPECT_EQ(ra["interfaces"][2]["sandbox"], ns_path(a));
    EXPECT_EQ(ra["ips"][0]["address"], "10.200.1.2/24");
    EXPECT_EQ(ra["ips"][0]["gateway"], "10.200.1.1");
    EXPECT_EQ(ra["ips"][0]["interface"], 2);
    EXPECT_EQ(ra["routes"][0]["dst"], "0.0.0.0/0");
    EXPECT_EQ(rb["ips"][0]["address"], "10.200.1.3/24");
    EXPECT_EQ(ra["dns"]["nameservers"], Json::array({"10.200.1.1"}));
    std::string resolv = rb["ctk"]["resolv_conf"];
    EXPECT_NE(read_file(resolv).find("nameserver 10.200.1.1\n"), std::string::npos);
    EXPECT_NE(read_file(ra["ctk"]["hosts"].get<std::string>()).find("10.200.1.2\tweb1"), std::string::npos);

    // Inside: lo up, eth0 with its address and MTU, default route via the gateway.
    std::string addr = sh("ip -n " + a + " -o -4 addr show dev eth0");
    EXPECT_NE(addr.find("10.200.1.2/24"), std::string::npos) << addr;
    EXPECT_NE(sh("ip -n " + a + " link show lo").find("UP"), std::string::npos);
    EXPECT_NE(sh("ip -n " + a + " link show eth0").find("mtu 1500"), std::string::npos);
    EXPECT_NE(sh("ip -n " + a + " route show default").find("default via 10.200.1.1 dev eth0"), std::string::npos);
    // Host side: on the bridge, hairpin on.
    std::string host_if = ra["interfaces"][1]["name"];
    EXPECT_NE(sh("ip -d link show " + host_if).find("hairpin on"), std::string::npos);

    install_resolv_conf(b, resolv);
    serve_http(a, "hello from web1\n");
    EXPECT_TRUE(ping(b, "10.200.1.2"));
    EXPECT_TRUE(ping(a, "10.200.1.3"));
    EXPECT_TRUE(ping(b, "web1"));
    EXPECT_TRUE(ping(b, "www"));
    EXPECT_TRUE(ping(b, "cid-a"));
    EXPECT_EQ(wget(b, "http://web1/"), "hello from web1\n");
    EXPECT_EQ(wget(b, "http://www/"), "hello from web1\n");
    // An unknown name is not forwarded anywhere (dns []): it fails.
    EXPECT_FALSE(ping(b, "nosuchname"));
}

TEST_F(Network, NetworksAreIsolatedUnlessAttachedToBoth) {
    create_network("neta", "10.200.2.0/24");
    create_network("netb", "10.200.3.0/24");
    auto a = netns("a"), b = netns("b");
    attach({"neta", "--netns", ns_path(a), "--name", "srv"});
    attach({"netb", "--netns", ns_path(b), "--name", "cli"});
    serve_http(a, "only neta\n");
    EXPECT_FALSE(ping(b, "10.200.2.2"));
    EXPECT_FALSE(ping(a, "10.200.3.2"));
    EXPECT_NE(wget(b, "http://10.200.2.2/"), "only neta\n");

    // Attached to both while both run: b gets eth1 on neta (by --pid) and reaches srv.
    serve_http(b, "b\n");
    std::string pid = std::string(trim(split(sh("ip netns pids " + b), '\n')[0]));
    Json r = attach({"neta", "--pid", pid, "--name", "both"});
    EXPECT_EQ(r["interfaces"][2]["name"], "eth1");
    EXPECT_EQ(r["ips"][0]["address"], "10.200.2.3/24");
    EXPECT_TRUE(r["routes"].empty()) << "the namespace keeps its first default route";
    EXPECT_TRUE(ping(b, "10.200.2.2"));
    EXPECT_EQ(wget(b, "http://10.200.2.2/"), "only neta\n");
    // ... and only b: a still cannot reach netb.
    EXPECT_FALSE(ping(a, "10.200.3.2"));

    // Detach from neta: b loses eth1 and the way to a, keeps eth0.
    auto d = nb({"detach", "neta", "--pid", pid});
    ASSERT_EQ(d.status, 0) << d;
    EXPECT_NE(sh_status("ip -n " + b + " link show eth1"), 0);
    EXPECT_EQ(sh_status("ip -n " + b + " link show eth0"), 0);
    EXPECT_FALSE(ping(b, "10.200.2.2"));
}

TEST_F(Network, PublishedPortAnswersOnLoopback) {
    create_network("pub", "10.200.4.0/24");
    auto a = netns("a");
    int port = 20000 + static_cast<int>(std::stoul(unique_, nullptr, 16) % 20000);
    Json r = attach({"pub", "--netns", ns_path(a), "--publish", std::to_string(port) + ":80",
                     "--publish", "127.0.0.1:" + std::to_string(port + 1) + ":80/tcp"});
    std::string ep = r["ctk"]["endpoint"].get<std::string>().substr(0, 12);
    EXPECT_EQ(count_rules("ctk endpoint " + ep), 4); // prerouting + output for each port
    serve_http(a, "published\n");
    EXPECT_EQ(wget("", "http://127.0.0.1:" + std::to_string(port) + "/"), "published\n");
    EXPECT_EQ(wget("", "http://127.0.0.1:" + std::to_string(port + 1) + "/"), "published\n");
    // From the same network through the gateway (hairpin), also back to itself.
    auto b = netns("b");
    attach({"pub", "--netns", ns_path(b)});
    EXPECT_EQ(wget(b, "http://10.200.4.1:" + std::to_string(port) + "/"), "published\n");
    EXPECT_EQ(wget(a, "http://10.200.4.1:" + std::to_string(port) + "/"), "published\n");
    // Bound to 127.0.0.1 only: not on the gateway address.
    EXPECT_NE(wget(b, "http://10.200.4.1:" + std::to_string(port + 1) + "/"), "published\n");
    // A second endpoint cannot publish the same host port.
    auto c = netns("c");
    auto clash = nb({"attach", "pub", "--netns", ns_path(c), "-p", std::to_string(port) + ":81"});
    EXPECT_EQ(clash.status, 5) << clash;
    EXPECT_NE(clash.err.find("already published"), std::string::npos) << clash;

    ASSERT_EQ(nb({"detach", "pub", "--netns", ns_path(a)}).status, 0);
    EXPECT_EQ(count_rules("ctk endpoint " + ep), 0);
    EXPECT_NE(wget("", "http://127.0.0.1:" + std::to_string(port) + "/"), "published\n");
}

TEST_F(Network, DetachAndRmLeaveNothingBehind) {
    std::string bridge = create_network("gone", "10.200.5.0/24");
    Json net = nb({"inspect", "gone"}).json();
    std::string net_tag = "ctk network " + net["id"].get<std::string>().substr(0, 12);
    EXPECT_GT(count_rules(net_tag), 0);
    auto a = netns("a");
    Json r = attach({"gone", "--netns", ns_path(a), "--name", "x", "-p", "127.0.0.1:18555:80"});
    std::string host_if = r["interfaces"][1]["name"];
    std::string ep = r["ctk"]["endpoint"].get<std::string>().substr(0, 12);
    Json inspected = nb({"inspect", "gone"}).json();
    ASSERT_EQ(inspected["endpoints"].size(), 1u);
    int dns_pid = inspected["dns_responder"]["pid"];
    EXPECT_EQ(::kill(dns_pid, 0), 0);

    auto d = nb({"detach", "gone", "--netns", ns_path(a)});
    ASSERT_EQ(d.status, 0) << d;
    EXPECT_EQ(d.json()["address"], "10.200.5.2");
    EXPECT_NE(sh_status("ip link show " + host_if), 0) << "host veth left";
    EXPECT_NE(sh_status("ip -n " + a + " link show eth0"), 0) << "container interface left";
    EXPECT_EQ(sh("ip -n " + a + " -4 addr show scope global"), "");
    EXPECT_EQ(sh("ip -n " + a + " route show"), "");
    EXPECT_EQ(sh("ip -n " + a + " link show lo").find(",UP"), std::string::npos) << "attach set lo up, detach sets it down";
    EXPECT_EQ(count_rules("ctk endpoint " + ep), 0);
    EXPECT_TRUE(nb({"inspect", "gone"}).json()["endpoints"].empty());
    EXPECT_FALSE(read_file_if_exists(r["ctk"]["resolv_conf"].get<std::string>()));
    EXPECT_FALSE(read_file_if_exists("/proc/" + std::to_string(dns_pid) + "/cmdline").value_or("").size())
        << "DNS responder still runs after the last detach";

    auto rm = nb({"rm", "gone"});
    ASSERT_EQ(rm.status, 0) << rm;
    EXPECT_NE(sh_status("ip link show " + bridge), 0) << "bridge left";
    EXPECT_EQ(count_rules(net_tag), 0);
    EXPECT_EQ(sh("nft list set ip ctk bridges").find(bridge), std::string::npos);
    EXPECT_FALSE(read_file_if_exists(ctk_root() + "/networks/gone.json"));
    EXPECT_FALSE(read_file_if_exists(ctk_run() + "/networks/gone/dns.pid"));
    EXPECT_EQ(nb({"inspect", "gone"}).status, 4);
}

TEST_F(Network, TwentyParallelAttachesGetDistinctAddresses) {
    std::string bridge = create_network("many", "10.200.6.0/24");
    std::vector<std::string> spaces;
    for (int i = 0; i < 20; ++i) spaces.push_back(netns("p" + std::to_string(i)));
    std::vector<ToolResult> results(20);
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; ++i)
        threads.emplace_back([&, i] { results[i] = nb({"attach", "many", "--netns", ns_path(spaces[i])}); });
    for (auto& t : threads) t.join();
    std::set<std::string> addresses;
    for (const auto& r : results) {
        ASSERT_EQ(r.status, 0) << r;
        addresses.insert(r.json()["ips"][0]["address"].get<std::string>());
    }
    EXPECT_EQ(addresses.size(), 20u);
    EXPECT_EQ(nb({"inspect", "many"}).json()["endpoints"].size(), 20u);
    // A detached address is free again: the next attach takes it.
    ASSERT_EQ(nb({"detach", "many", "--netns", ns_path(spaces[4])}).status, 0);
    std::string freed = results[4].json()["ips"][0]["address"];
    Json again = attach({"many", "--netns", ns_path(spaces[4])});
    EXPECT_EQ(again["ips"][0]["address"], freed);
}

TEST_F(Network, ExhaustedSubnetIsAClearError) {
    std::string bridge = create_network("tiny", "10.200.7.0/29"); // 6 hosts: gateway + 5
    for (int i = 0; i < 5; ++i) attach({"tiny", "--netns", ns_path(netns("t" + std::to_string(i)))});
    auto last = netns("t5");
    auto r = nb({"attach", "tiny", "--netns", ns_path(last)});
    EXPECT_EQ(r.status, 5) << r;
    EXPECT_EQ(r.err, "net-bridge: network \"tiny\": no free address left in subnet 10.200.7.0/29 (5 endpoints)\n");
    EXPECT_NE(sh_status("ip -n " + last + " link show eth0"), 0);
    EXPECT_EQ(sh("ip -o link show master " + bridge + " | wc -l"), "5\n");
}

TEST_F(Network, FailedAttachLeavesNothingBehind) {
    std::string bridge = create_network("fail", "10.200.8.0/24");
    // Something else holds the gateway's DNS port: the responder cannot start,
    // which is the last step of the first attach, after the veth, the address,
    // the route and the published-port rules.
    UniqueFd blocker(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(blocker);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    sa.sin_addr.s_addr = htonl(0x0ac80801); // 10.200.8.1
    ASSERT_EQ(::bind(blocker.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);

    auto a = netns("a");
    auto r = nb({"attach", "fail", "--netns", ns_path(a), "--name", "f", "-p", "18666:80"});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("10.200.8.1:53"), std::string::npos) << r;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r;
    EXPECT_EQ(sh("ip -o link show master " + bridge), "");
    EXPECT_NE(sh_status("ip -n " + a + " link show eth0"), 0);
    EXPECT_EQ(count_rules("ctk endpoint"), 0);
    EXPECT_TRUE(nb({"inspect", "fail"}).json()["endpoints"].empty());
    EXPECT_EQ(sh("ls " + ctk_run() + "/networks/fail 2>/dev/null | grep -v dns.log || true"), "");

    // Once the port is free, the same attach works.
    blocker.reset();
    Json ok = attach({"fail", "--netns", ns_path(a), "--name", "f", "-p", "18666:80"});
    EXPECT_EQ(ok["ips"][0]["address"], "10.200.8.2/24");
}

TEST_F(Network, ErrorsAreOneLineWithTheirExitCodes) {
    create_network("err", "10.200.9.0/24");
    auto a = netns("a");
    struct Case {
        std::vector<std::string> args;
        int status;
        std::string message;
    } cases[] = {
        {{"create", "bad", "--subnet", "10.200.10.0/33"}, 3, "net-bridge: invalid CIDR \"10.200.10.0/33\": prefix length must be 0-32\n"},
        {{"create", "bad", "--subnet", "ten/8"}, 3, "net-bridge: invalid CIDR \"ten/8\": \"ten\" is not an IPv4 address\n"},
        {{"create", "bad", "--subnet", "10.200.9.7/24"}, 3, "net-bridge: invalid CIDR \"10.200.9.7/24\": host bits set (did you mean 10.200.9.0/24?)\n"},
        {{"create", "err", "--subnet", "10.200.11.0/24"}, 5, "net-bridge: network \"err\": a network with this name already exists\n"},
        {{"create", "other", "--subnet", "10.200.9.128/25"}, 5, "net-bridge: network \"other\": subnet 10.200.9.128/25 overlaps 10.200.9.0/24 of network \"err\"\n"},
        {{"detach", "err", "--netns", ns_path(a)}, 4, "net-bridge: network \"err\": network namespace \"" + ns_path(a) + "\" is not attached\n"},
        {{"detach", "err", "--id", "nobody"}, 4, "net-bridge: network \"err\": container \"nobody\" is not attached\n"},
        {{"attach", "err", "--netns", "/var/run/netns/ctk-test-missing"}, 4, "net-bridge: open network namespace \"/var/run/netns/ctk-test-missing\": ENOENT (No such file or directory)\n"},
        {{"attach", "nonet", "--netns", ns_path(a)}, 4, "net-bridge: network \"nonet\": no such network\n"},
        {{"attach", "err", "--netns", ns_path(a), "--ip", "10.200.12.2"}, 3, "net-bridge: network \"err\": address 10.200.12.2 is not in subnet 10.200.9.0/24\n"},
        {{"attach", "err", "--netns", ns_path(a), "-p", "80"}, 3, "net-bridge: invalid published port \"80\": expected [HOSTIP:]HOSTPORT:PORT[/PROTO]\n"},
        {{"rm", "nonet"}, 4, "net-bridge: network \"nonet\": no such network\n"},
        {{"attach", "err", "--netns", "/etc/hostname"}, 3, "net-bridge: \"/etc/hostname\" is not a network namespace (ENOTTY (Inappropriate ioctl for device))\n"},
    };
    for (const auto& c : cases) {
        auto r = nb(c.args);
        EXPECT_EQ(r.status, c.status) << join(c.args, " ") << "\n" << r;
        EXPECT_EQ(r.err, c.message) << join(c.args, " ");
    }
    Json first = attach({"err", "--netns", ns_path(a), "--name", "dup"});
    auto b = netns("b");
    auto clash = nb({"attach", "err", "--netns", ns_path(b), "--name", "dup"});
    EXPECT_EQ(clash.status, 5);
    EXPECT_EQ(clash.err, "net-bridge: network \"err\": the name \"dup\" is already used by endpoint " +
                             first["ctk"]["endpoint"].get<std::string>().substr(0, 12) + "\n");
    auto twice = nb({"attach", "err", "--netns", ns_path(a)});
    EXPECT_EQ(twice.status, 5);
    EXPECT_EQ(twice.err, "net-bridge: network \"err\": network namespace \"" + ns_path(a) + "\" is already attached\n");
    auto busy = nb({"rm", "err"});
    EXPECT_EQ(busy.status, 5);
    EXPECT_EQ(busy.err, "net-bridge: network \"err\" has 1 active endpoint(s); detach them first\n");
    // A namespace that is gone: detach still cleans its record up.
    sh("ip netns del " + a);
    auto d = nb({"detach", "err", "--netns", ns_path(a)});
    EXPECT_EQ(d.status, 0) << d;
    EXPECT_TRUE(nb({"inspect", "err"}).json()["endpoints"].empty());
}

// Issue 16: 127.0.0.0/8 made a bridge holding 127.0.0.1/8 on the host. Ranges
// that are not for hosts on a link are refused before anything is made.
TEST_F(Network, ReservedSubnetsAreRefused) {
    for (std::string subnet : {"127.0.0.0/8", "127.1.0.0/16", "224.0.0.0/24", "239.1.0.0/16", "169.254.0.0/16",
                               "240.0.0.0/8", "255.255.255.0/24", "0.0.0.0/8"}) {
        defer([this] { nb({"rm", "ctk-test-reserved"}); });
        auto r = nb({"create", "ctk-test-reserved", "--subnet", subnet});
        EXPECT_EQ(r.status, 3) << subnet << "\n" << r;
        EXPECT_EQ(r.err.rfind("net-bridge: invalid subnet " + subnet + ": it overlaps the ", 0), 0u) << r;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r;
        EXPECT_EQ(nb({"inspect", "ctk-test-reserved"}).status, 4) << subnet << ": no network was recorded";
    }
    auto cni = nb({}, R"({"cniVersion":"1.0.0","name":"ctk-test-reserved","type":"net-bridge","ipam":{"subnet":"127.0.0.0/8"}})",
                  {"CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=/x", "CNI_IFNAME=eth0", "CNI_PATH=/nonexistent"});
    EXPECT_NE(cni.status, 0) << cni;
    EXPECT_NE(cni.json()["msg"].get<std::string>().find("overlaps the loopback (127.0.0.0/8) range"), std::string::npos) << cni;
    EXPECT_EQ(nb({"inspect", "ctk-test-reserved"}).status, 4);
    // a private range next to them is fine
    create_network("ctk-test-near", "10.235.0.0/16");
}

TEST_F(Network, DefaultNetworkIsMadeOnFirstUseFromTheConfiguration) {
    auto a = netns("a");
    Json r = attach({"--netns", ns_path(a)});
    EXPECT_EQ(r["ctk"]["network"], "bridge");
    EXPECT_EQ(r["ips"][0]["address"], "10.209.0.2/24");
    EXPECT_EQ(r["interfaces"][0]["name"], default_bridge_);
    // dns [] in the configuration: no nameserver at all, nothing goes outside.
    EXPECT_EQ(r["dns"], Json::object());
    EXPECT_EQ(read_file(r["ctk"]["resolv_conf"].get<std::string>()).find("nameserver"), std::string::npos);
    Json n = nb({"inspect", "bridge"}).json();
    EXPECT_EQ(n["subnet"], "10.209.0.0/24");
    EXPECT_EQ(n["bridge"], default_bridge_);
    EXPECT_TRUE(n["dns_responder"].is_null() || !n.contains("dns_responder"));
    // Outbound NAT and forwarding for a non-internal network.
    EXPECT_NE(sh("nft list chain ip ctk postrouting").find("ip saddr 10.209.0.0/24 oifname != \"" + default_bridge_ +
                                                           "\" masquerade"),
              std::string::npos);
    EXPECT_EQ(sh("cat /proc/sys/net/ipv4/ip_forward"), "1\n");
    EXPECT_EQ(sh("cat /proc/sys/net/ipv4/conf/" + default_bridge_ + "/route_localnet"), "1\n");
    ASSERT_EQ(nb({"detach", "--netns", ns_path(a)}).status, 0);
    EXPECT_EQ(nb({"rm", "bridge"}).status, 0);
}

TEST_F(Network, InternalNetworkHasNoWayOut) {
    std::string bridge = create_network("inner", "10.200.10.0/24", {"--internal", "--label", "tier=db"});
    Json n = nb({"inspect", "inner"}).json();
    EXPECT_EQ(n["internal"], true);
    EXPECT_EQ(n["labels"]["tier"], "db");
    std::string fwd = sh("nft list chain ip ctk forward");
    EXPECT_NE(fwd.find("iifname \"" + bridge + "\" oifname != \"" + bridge + "\" drop"), std::string::npos) << fwd;
    EXPECT_NE(fwd.find("oifname \"" + bridge + "\" iifname != \"" + bridge + "\" drop"), std::string::npos) << fwd;
    EXPECT_EQ(sh("nft list chain ip ctk postrouting").find("10.200.10.0/24 oifname"), std::string::npos);
    // Names still work inside an internal network.
    auto a = netns("a"), b = netns("b");
    attach({"inner", "--netns", ns_path(a), "--name", "db"});
    Json rb = attach({"inner", "--netns", ns_path(b)});
    install_resolv_conf(b, rb["ctk"]["resolv_conf"]);
    EXPECT_TRUE(ping(b, "db"));
}

TEST_F(Network, AddressMacAndMtuAsAsked) {
    std::string bridge = create_network("jumbo", "10.200.13.0/24", {"--mtu", "9000", "--gateway", "10.200.13.254"});
    auto a = netns("a");
    Json r = attach({"jumbo", "--netns", ns_path(a), "--ip", "10.200.13.77", "--mac", "02:42:0a:c8:0d:4d",
                     "--ifname", "net0"});
    EXPECT_EQ(r["ips"][0]["address"], "10.200.13.77/24");
    EXPECT_EQ(r["ips"][0]["gateway"], "10.200.13.254");
    EXPECT_EQ(r["interfaces"][2]["name"], "net0");
    EXPECT_EQ(r["interfaces"][2]["mac"], "02:42:0a:c8:0d:4d");
    std::string inside = sh("ip -n " + a + " link show net0");
    EXPECT_NE(inside.find("mtu 9000"), std::string::npos) << inside;
    EXPECT_NE(inside.find("link/ether 02:42:0a:c8:0d:4d"), std::string::npos) << inside;
    EXPECT_NE(sh("ip link show " + bridge).find("mtu 9000"), std::string::npos);
    EXPECT_NE(sh("ip link show " + r["interfaces"][1]["name"].get<std::string>()).find("mtu 9000"), std::string::npos);
    EXPECT_NE(sh("ip -n " + a + " route show default").find("via 10.200.13.254 dev net0"), std::string::npos);
    EXPECT_TRUE(ping(a, "10.200.13.254"));
    // The next automatic address skips the gateway and the taken one.
    Json r2 = attach({"jumbo", "--netns", ns_path(netns("b"))});
    EXPECT_EQ(r2["ips"][0]["address"], "10.200.13.1/24");
}

// The bridge has a MAC of its own ("set", locally administered), which the
// kernel keeps as ports come and go: the gateway MAC cached in a container
// stays valid. Without it a Linux bridge takes its lowest port MAC.
TEST_F(Network, BridgeKeepsItsOwnMac) {
    std::string bridge = create_network("mac", "10.200.15.0/24");
    std::string sys = "/sys/class/net/" + bridge;
    EXPECT_EQ(trim(read_file(sys + "/addr_assign_type")), "3"); // NET_ADDR_SET
    std::string mac(trim(read_file(sys + "/address")));
    ASSERT_EQ(mac.size(), 17u);
    unsigned first = std::stoul(mac.substr(0, 2), nullptr, 16);
    EXPECT_EQ(first & 0x03, 0x02u) << mac; // locally administered, unicast
    // Two ports join, then both leave.
    auto a = netns("a"), b = netns("b");
    attach({"mac", "--netns", ns_path(a)});
    Json rb = attach({"mac", "--netns", ns_path(b)});
    EXPECT_EQ(trim(read_file(sys + "/address")), mac);
    EXPECT_EQ(rb["interfaces"][0]["mac"], mac);
    EXPECT_EQ(nb({"detach", "mac", "--netns", ns_path(a)}).status, 0);
    EXPECT_EQ(nb({"detach", "mac", "--netns", ns_path(b)}).status, 0);
    EXPECT_EQ(trim(read_file(sys + "/address")), mac);
}

// IPv4 BIG TCP (Linux 6.3+): both veth ends and the bridge take 192 KiB
// segments; between two namespaces the traffic still flows.
TEST_F(Network, BigTcpOnTheVethPairAndTheBridge) {
    std::string bridge = create_network("bigtcp", "10.200.14.0/24");
    auto a = netns("a"), b = netns("b");
    Json ra = attach({"bigtcp", "--netns", ns_path(a)});
    attach({"bigtcp", "--netns", ns_path(b)});
    linux::RouteSocket host;
    auto br = host.link(bridge);
    auto veth = host.link(ra["interfaces"][1]["name"].get<std::string>());
    linux::RouteSocket inside = linux::RouteSocket::in_netns(linux::Netns::open(ns_path(a)));
    auto eth0 = inside.link("eth0");
    ASSERT_TRUE(br && veth && eth0);
    if (eth0->gso_ipv4_max_size == 0) GTEST_SKIP() << "this kernel does not report gso_ipv4_max_size (before 6.3)";
    EXPECT_EQ(eth0->gso_ipv4_max_size, 196608u);
    EXPECT_EQ(veth->gso_ipv4_max_size, 196608u);
    EXPECT_EQ(br->gso_ipv4_max_size, 196608u);
    std::string addr = ra["ips"][0]["address"].get<std::string>();
    EXPECT_TRUE(ping(b, addr.substr(0, addr.find('/'))));
}

TEST_F(Network, LsAndPrune) {
    create_network("keep", "10.200.11.0/24");
    create_network("drop1", "10.200.12.0/24");
    auto a = netns("a");
    attach({"keep", "--netns", ns_path(a)});
    auto ls = nb({"ls"});
    ASSERT_EQ(ls.status, 0) << ls;
    auto lines = ls.json_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["name"], "drop1");
    EXPECT_EQ(lines[1]["name"], "keep");
    EXPECT_EQ(lines[1]["endpoints"], 1);
    auto pr = nb({"prune"});
    ASSERT_EQ(pr.status, 0) << pr;
    EXPECT_EQ(pr.json()["removed"], Json::array({"drop1"}));
    EXPECT_EQ(nb({"ls"}).json_lines().size(), 1u);
}

} // namespace
} // namespace ctk::test
