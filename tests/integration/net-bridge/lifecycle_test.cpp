// net-bridge networks that come and go: a subnet used again right after its
// network was removed (also when a crashed tool removed it only in part),
// the rules of networks that are gone, an address that changes hands.
// Subnets: 10.236.0.0/16 and 10.237.0.0/16.
#include <signal.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "net_bridge_test.hpp"

namespace ctk::test {
namespace {

class NetworkLifecycle : public NetBridgeTest {
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
    // busybox nslookup NAME SERVER inside ns: the addresses it printed after the server's.
    std::string lookup(const std::string& ns, const std::string& name, const std::string& server) {
        auto r = run_command({"ip", "netns", "exec", ns, "timeout", "5", "busybox", "nslookup", name, server});
        std::string out;
        bool answer = false;
        for (const auto& line : split(r.out, '\n')) {
            if (line.rfind("Name:", 0) == 0) answer = true;
            if (answer && line.rfind("Address:", 0) == 0) out += std::string(trim(line.substr(8))) + "\n";
        }
        return out;
    }
    bool alive(int pid) { return read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline").value_or("") != ""; }
};

TEST_F(NetworkLifecycle, SameSubnetTwentyTimesOverRemoveAndCreate) {
    auto a = netns("a"), b = netns("b");
    for (int i = 0; i < 20; ++i) {
        SCOPED_TRACE("round " + std::to_string(i));
        create_network("again", "10.236.1.0/24");
        attach({"again", "--netns", ns_path(a), "--name", "first"});
        attach({"again", "--netns", ns_path(b), "--name", "second"});
        EXPECT_EQ(lookup(b, "first", "10.236.1.1"), "10.236.1.2\n");
        ASSERT_EQ(nb({"detach", "again", "--netns", ns_path(a)}).status, 0);
        ASSERT_EQ(nb({"detach", "again", "--netns", ns_path(b)}).status, 0);
        auto rm = nb({"rm", "again"});
        ASSERT_EQ(rm.status, 0) << rm;
    }
}

// A tool that crashed (or a person) removed the network's file, run
// directory and bridge, and nothing else: its DNS responder still holds
// gateway:53 and its rules are still in table ip ctk. A new network of the
// same subnet collects both.
TEST_F(NetworkLifecycle, NetworkRemovedByHandLeavesNeitherItsPortNorItsRules) {
    std::string bridge = create_network("hand", "10.236.2.0/24");
    auto a = netns("a");
    Json r = attach({"hand", "--netns", ns_path(a), "--name", "old", "-p", "127.0.0.1:18236:80"});
    Json inspected = nb({"inspect", "hand"}).json();
    int old_pid = inspected["dns_responder"]["pid"];
    std::string net_tag = "ctk network " + inspected["id"].get<std::string>().substr(0, 12);
    std::string ep_tag = "ctk endpoint " + r["ctk"]["endpoint"].get<std::string>().substr(0, 12);
    ASSERT_GT(count_rules(net_tag), 0);
    ASSERT_GT(count_rules(ep_tag), 0);

    ASSERT_EQ(::unlink((ctk_root() + "/networks/hand.json").c_str()), 0);
    remove_tree(ctk_run() + "/networks/hand");
    sh("ip link del " + bridge + " && ip -n " + a + " link del eth0");

    create_network("hand", "10.236.2.0/24");
    EXPECT_EQ(count_rules(net_tag), 0) << "rules of the network that is gone";
    EXPECT_EQ(count_rules(ep_tag), 0) << "published port of the network that is gone";
    EXPECT_EQ(sh("nft list set ip ctk bridges").find(bridge), std::string::npos);

    auto b = netns("b");
    attach({"hand", "--netns", ns_path(b), "--name", "new"});
    EXPECT_FALSE(alive(old_pid)) << "the old responder still runs";
    EXPECT_EQ(lookup(b, "new", "10.236.2.1"), "10.236.2.2\n");
}

TEST_F(NetworkLifecycle, GcCollectsTheRulesOfABridgeDeletedByHand) {
    std::string bridge = create_network("gc", "10.236.3.0/24");
    std::string kept = create_network("kept", "10.236.4.0/24");
    auto a = netns("a");
    Json r = attach({"gc", "--netns", ns_path(a), "-p", "127.0.0.1:18237:80"});
    std::string net_tag = "ctk network " + nb({"inspect", "gc"}).json()["id"].get<std::string>().substr(0, 12);
    std::string kept_tag = "ctk network " + nb({"inspect", "kept"}).json()["id"].get<std::string>().substr(0, 12);
    std::string ep_tag = "ctk endpoint " + r["ctk"]["endpoint"].get<std::string>().substr(0, 12);
    int ours = count_rules(net_tag) + count_rules(ep_tag);
    int kept_rules = count_rules(kept_tag);
    ASSERT_GT(ours, 0);
    ASSERT_GT(kept_rules, 0);

    sh("ip link del " + bridge);
    auto gc = nb({"gc"});
    ASSERT_EQ(gc.status, 0) << gc;
    EXPECT_EQ(gc.json()["rules_deleted"], ours);
    EXPECT_EQ(count_rules(net_tag), 0);
    EXPECT_EQ(count_rules(ep_tag), 0);
    EXPECT_EQ(count_rules(kept_tag), kept_rules) << "a network whose bridge exists keeps its rules";
    std::string set = sh("nft list set ip ctk bridges");
    EXPECT_EQ(set.find(bridge), std::string::npos) << set;
    EXPECT_NE(set.find(kept), std::string::npos) << set;
    EXPECT_EQ(nb({"gc"}).json()["rules_deleted"], 0);
}

// Two namespaces talk; one goes and a new one takes its address with another
// MAC: the peer's cached neighbour entry would keep sending to the old MAC
// (loss until it goes stale) unless the new owner announces itself.
TEST_F(NetworkLifecycle, ReusedAddressIsReachableAtOnce) {
    create_network("arp", "10.237.1.0/24");
    auto a = netns("a"), b = netns("b");
    Json ra = attach({"arp", "--netns", ns_path(a), "--ip", "10.237.1.10"});
    attach({"arp", "--netns", ns_path(b)});
    ASSERT_EQ(sh_status("ip netns exec " + b + " busybox ping -c1 -W1 10.237.1.10"), 0);
    std::string old_mac = ra["interfaces"][2]["mac"];
    EXPECT_NE(sh("ip -n " + b + " neigh show 10.237.1.10").find(old_mac), std::string::npos);

    ASSERT_EQ(nb({"detach", "arp", "--netns", ns_path(a)}).status, 0);
    auto a2 = netns("a2");
    Json ra2 = attach({"arp", "--netns", ns_path(a2), "--ip", "10.237.1.10"});
    std::string new_mac = ra2["interfaces"][2]["mac"];
    ASSERT_NE(new_mac, old_mac);
    EXPECT_NE(sh("ip -n " + b + " neigh show 10.237.1.10").find(new_mac), std::string::npos)
        << "the peer did not learn the new MAC";
    EXPECT_EQ(sh_status("ip netns exec " + b + " busybox ping -c1 -W1 10.237.1.10"), 0);
}

// A namespace on two user networks asks the responder its resolv.conf names
// (the first network's) for a name on the second: answered, as Docker's
// embedded DNS answers for every network of the container. A namespace that
// is only on the first network does not learn names of the second.
TEST_F(NetworkLifecycle, ResponderAnswersNamesOfTheAskersOtherNetworks) {
    create_network("one", "10.237.2.0/24");
    create_network("two", "10.237.3.0/24");
    auto both = netns("both"), far = netns("far"), only = netns("only");
    attach({"one", "--netns", ns_path(both), "--name", "both"});
    attach({"two", "--netns", ns_path(both), "--name", "both"});
    attach({"two", "--netns", ns_path(far), "--name", "far"});
    attach({"one", "--netns", ns_path(only), "--name", "only"});
    EXPECT_EQ(lookup(both, "far", "10.237.2.1"), "10.237.3.3\n");
    EXPECT_EQ(lookup(both, "only", "10.237.2.1"), "10.237.2.3\n");
    EXPECT_EQ(lookup(only, "far", "10.237.2.1"), "");
}

} // namespace
} // namespace ctk::test
