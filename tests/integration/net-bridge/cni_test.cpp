// net-bridge as a CNI plugin, beside the reference bridge + host-local
// plugins from /usr/lib/cni, on the same network configuration.
#include <set>

#include "core/fs.hpp"
#include "net_bridge_test.hpp"

namespace ctk::test {
namespace {

class Cni : public NetBridgeTest {
protected:
    void SetUp() override {
        NetBridgeTest::SetUp();
        CTK_REQUIRE_ROOT();
        ASSERT_TRUE(::access(reference.c_str(), X_OK) == 0) << "containernetworking-plugins missing";
        bridge = bridge_name("c");
        defer([this] { run_command({"ip", "link", "del", bridge}); });
    }

    std::string config(const std::string& subnet) const {
        Json c = {{"cniVersion", "1.0.0"},
                  {"name", "ctk-test-cni" + unique_},
                  {"type", "bridge"},
                  {"bridge", bridge},
                  {"isGateway", true},
                  {"ipMasq", false},
                  {"hairpinMode", true},
                  {"ipam",
                   {{"type", "host-local"},
                    {"subnet", subnet},
                    {"dataDir", tmp() + "/host-local"},
                    {"routes", Json::array({Json{{"dst", "0.0.0.0/0"}}})}}},
                  {"dns", {{"nameservers", Json::array({"10.201.0.1"})}}}};
        return c.dump();
    }

    ToolResult plugin(const std::string& exe, const std::string& command, const std::string& id,
                      const std::string& ns, const std::string& conf) {
        std::vector<std::string> env = {"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id,
                                        "CNI_NETNS=" + (ns.empty() ? "" : ns_path(ns)), "CNI_IFNAME=eth0",
                                        "CNI_PATH=/usr/lib/cni"};
        if (exe == "net-bridge") return nb({}, conf, env);
        return run_command({exe}, conf, env);
    }

    static std::set<std::string> keys(const Json& j) {
        std::set<std::string> k;
        for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
        return k;
    }

    const std::string reference = "/usr/lib/cni/bridge";
    std::string bridge;
};

TEST_F(Cni, SideBySideWithTheReferenceBridgePlugin) {
    std::string conf = config("10.201.0.0/24");
    auto a = netns("a"), b = netns("b");

    auto ref = plugin(reference, "ADD", "ref-a", a, conf);
    ASSERT_EQ(ref.status, 0) << ref;
    Json rj = ref.json();
    EXPECT_EQ(sh("ip -n " + a + " -o -4 addr show dev eth0").find("10.201.0.2/24") != std::string::npos, true);
    auto ref_del = plugin(reference, "DEL", "ref-a", a, conf);
    ASSERT_EQ(ref_del.status, 0) << ref_del;

    auto ours = plugin("net-bridge", "ADD", "ours-b", b, conf);
    ASSERT_EQ(ours.status, 0) << ours;
    Json oj = ours.json();
    EXPECT_EQ(sh("ip -n " + b + " -o -4 addr show dev eth0").find("10.201.0.2/24") != std::string::npos, true);
    EXPECT_NE(sh("ip -n " + b + " route show default").find("via 10.201.0.1"), std::string::npos);

    // Results shaped alike: the same fields, the same three interfaces in the
    // same order, the address on interface 2, the same gateway, routes and dns.
    EXPECT_EQ(keys(rj), keys(oj));
    ASSERT_EQ(rj["interfaces"].size(), 3u);
    ASSERT_EQ(oj["interfaces"].size(), 3u);
    EXPECT_EQ(rj["interfaces"][0]["name"], oj["interfaces"][0]["name"]);
    EXPECT_EQ(oj["interfaces"][2]["name"], "eth0");
    EXPECT_EQ(rj["interfaces"][2]["sandbox"], ns_path(a));
    EXPECT_EQ(oj["interfaces"][2]["sandbox"], ns_path(b));
    for (const auto& j : {rj, oj}) {
        EXPECT_EQ(j["cniVersion"], "1.0.0");
        EXPECT_EQ(j["ips"][0]["address"], "10.201.0.2/24");
        EXPECT_EQ(j["ips"][0]["gateway"], "10.201.0.1");
        EXPECT_EQ(j["ips"][0]["interface"], 2);
        EXPECT_EQ(j["routes"][0]["dst"], "0.0.0.0/0");
        EXPECT_EQ(j["dns"]["nameservers"], Json::array({"10.201.0.1"}));
        for (const auto& i : j["interfaces"]) EXPECT_EQ(i["mac"].get<std::string>().size(), 17u);
    }

    auto check = plugin("net-bridge", "CHECK", "ours-b", b, conf);
    EXPECT_EQ(check.status, 0) << check;
    auto del = plugin("net-bridge", "DEL", "ours-b", b, conf);
    ASSERT_EQ(del.status, 0) << del;
    EXPECT_EQ(del.out, "");
    EXPECT_NE(sh_status("ip -n " + b + " link show eth0"), 0);
    // DEL is idempotent (CNI spec), also without a namespace.
    EXPECT_EQ(plugin("net-bridge", "DEL", "ours-b", "", conf).status, 0);
    EXPECT_EQ(plugin(reference, "DEL", "ref-a", "", conf).status, 0);
    // CHECK of a container that is not there: a CNI error object.
    auto gone = plugin("net-bridge", "CHECK", "ours-b", b, conf);
    EXPECT_NE(gone.status, 0);
    EXPECT_EQ(gone.json()["code"], 3);
    EXPECT_EQ(nb({"rm", "ctk-test-cni" + unique_}).status, 0);
}

TEST_F(Cni, TwoContainersOnOnePluginNetworkTalk) {
    std::string conf = config("10.201.1.0/24");
    auto a = netns("a"), b = netns("b");
    auto ra = plugin("net-bridge", "ADD", "c-a", a, conf);
    auto rb = plugin("net-bridge", "ADD", "c-b", b, conf);
    ASSERT_EQ(ra.status, 0) << ra;
    ASSERT_EQ(rb.status, 0) << rb;
    EXPECT_EQ(rb.json()["ips"][0]["address"], "10.201.1.3/24");
    EXPECT_EQ(sh_status("ip netns exec " + b + " busybox ping -c1 -W2 10.201.1.2"), 0);
    // A fixed address through CNI_ARGS, as host-local's IP=.
    auto c = netns("c");
    auto rc = nb({}, conf,
                 {"CNI_COMMAND=ADD", "CNI_CONTAINERID=c-c", "CNI_NETNS=" + ns_path(c), "CNI_IFNAME=eth0",
                  "CNI_ARGS=IgnoreUnknown=1;IP=10.201.1.77"});
    ASSERT_EQ(rc.status, 0) << rc;
    EXPECT_EQ(rc.json()["ips"][0]["address"], "10.201.1.77/24");
    for (const char* id : {"c-a", "c-b"}) EXPECT_EQ(plugin("net-bridge", "DEL", id, "", conf).status, 0);
    EXPECT_EQ(plugin("net-bridge", "DEL", "c-c", c, conf).status, 0);
    EXPECT_EQ(nb({"rm", "ctk-test-cni" + unique_}).status, 0);
}

TEST_F(Cni, PortMappingsFromRuntimeConfig) {
    Json conf = Json::parse(config("10.201.3.0/24"));
    conf["runtimeConfig"] = {{"portMappings", Json::array({Json{{"hostPort", 18777}, {"containerPort", 80},
                                                                   {"protocol", "tcp"}, {"hostIP", "127.0.0.1"}}})}};
    auto a = netns("a");
    auto r = plugin("net-bridge", "ADD", "pm-a", a, conf.dump());
    ASSERT_EQ(r.status, 0) << r;
    std::string dir = tmp() + "/www";
    make_dirs(dir);
    write_file_atomic(dir + "/index.html", "mapped\n");
    ASSERT_EQ(run_command({"ip", "netns", "exec", a, "busybox", "httpd", "-p", "80", "-h", dir}).status, 0);
    auto w = run_command({"timeout", "3", "busybox", "wget", "-q", "-O-", "http://127.0.0.1:18777/"});
    EXPECT_EQ(w.out, "mapped\n") << w;
    EXPECT_EQ(plugin("net-bridge", "DEL", "pm-a", a, conf.dump()).status, 0);
    EXPECT_EQ(count_rules("ctk endpoint"), 0);
    EXPECT_EQ(nb({"rm", "ctk-test-cni" + unique_}).status, 0);
}

TEST_F(Cni, VersionAndErrorsInTheSpecShape) {
    auto v = nb({}, "", {"CNI_COMMAND=VERSION"});
    ASSERT_EQ(v.status, 0) << v;
    EXPECT_EQ(v.json()["supportedVersions"], Json::array({"0.3.0", "0.3.1", "0.4.0", "1.0.0"}));
    auto bad = nb({}, "{not json", {"CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=/x", "CNI_IFNAME=eth0"});
    EXPECT_NE(bad.status, 0);
    EXPECT_EQ(bad.json()["code"], 6);
    auto ver = nb({}, R"({"cniVersion":"9.9.9","name":"n","ipam":{"subnet":"10.201.2.0/24"}})",
                  {"CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=/x", "CNI_IFNAME=eth0"});
    EXPECT_EQ(ver.json()["code"], 1);
    auto env = nb({}, config("10.201.2.0/24"), {"CNI_COMMAND=ADD", "CNI_IFNAME=eth0"});
    EXPECT_EQ(env.json()["code"], 4);
    EXPECT_EQ(env.json()["msg"], "environment variable CNI_CONTAINERID is not set");
}

} // namespace
} // namespace ctk::test
