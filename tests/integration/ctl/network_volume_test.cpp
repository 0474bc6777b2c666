// Networks and volumes through ctl: containers reaching each other by name on a
// user network, a published port answering on 127.0.0.1, data in a volume
// outliving its container, failure paths that leave nothing behind.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlNetVol : public CtlTest {
protected:
    void SetUp() override {
        CtlTest::SetUp();
        if (::geteuid() == 0) load_tiny();
    }
    // an httpd serving one file, on the given ctl run arguments
    ToolResult httpd(std::vector<std::string> args, const std::string& body) {
        std::vector<std::string> a = {"run", "-d"};
        a.insert(a.end(), args.begin(), args.end());
        a.insert(a.end(), {tiny(), "sh", "-c", "mkdir -p /www && echo " + body + " > /www/index.html && exec httpd -f -p 80 -h /www"});
        return ctl(a);
    }
    std::string host_get(const std::string& url) {
        for (int i = 0; i < 50; i++) {
            auto r = run_command({"curl", "-fsS", "--noproxy", "*", "--max-time", "2", url});
            if (r.status == 0) return r.out;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return "";
    }
};
} // namespace

TEST_F(CtlNetVol, ContainersReachEachOtherByNameOnAUserNetwork) {
    CTK_REQUIRE_ROOT();
    auto n = ctl({"network", "create", "--subnet", "10.218.10.0/24", "n1"});
    ASSERT_EQ(n.status, 0) << n;
    EXPECT_EQ(trim(n.out).size(), 64u) << n.out;
    ASSERT_EQ(httpd({"--name", "web", "--network", "n1", "--network-alias", "www"}, "by-name").status, 0);
    std::string ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.Networks.n1.IPAddress}}", "web"}).out));
    EXPECT_EQ(ip.rfind("10.218.10.", 0), 0u) << ip;
    auto get = ctl({"run", "--rm", "--network", "n1", tiny(), "sh", "-c",
                    "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/ && break; sleep 0.2; done"});
    EXPECT_EQ(get.status, 0) << get;
    EXPECT_EQ(get.out, "by-name\n");
    auto alias = ctl({"run", "--rm", "--network", "n1", tiny(), "wget", "-qO-", "http://www/"});
    EXPECT_EQ(alias.out, "by-name\n") << alias;
    // resolv.conf names the network's DNS responder (the gateway), nothing outside
    auto resolv = ctl({"run", "--rm", "--network", "n1", tiny(), "cat", "/etc/resolv.conf"});
    EXPECT_NE(resolv.out.find("nameserver 10.218.10.1"), std::string::npos) << resolv.out;
    auto ls = ctl({"network", "ls", "--format", "{{.Name}} {{.Driver}}"});
    EXPECT_NE(ls.out.find("n1 bridge\n"), std::string::npos) << ls.out;
    auto insp = ctl({"network", "inspect", "n1"});
    ASSERT_EQ(insp.status, 0) << insp;
    Json j = insp.json()[0];
    EXPECT_EQ(j["IPAM"]["Config"][0]["Subnet"], "10.218.10.0/24");
    EXPECT_EQ(j["Containers"].size(), 1u);
    // in use: refused; after the container: removed
    EXPECT_NE(ctl({"network", "rm", "n1"}).status, 0);
    ASSERT_EQ(ctl({"rm", "-f", "web"}).status, 0);
    EXPECT_EQ(ctl({"network", "rm", "n1"}).status, 0);
    EXPECT_EQ(ctl({"network", "ls", "-q", "--filter", "name=n1"}).out, "");
}

TEST_F(CtlNetVol, PublishedPortAnswersOnLoopbackAndAClashFailsCleanly) {
    CTK_REQUIRE_ROOT();
    auto r = httpd({"--name", "pub", "-p", "127.0.0.1:28081:80"}, "published");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(host_get("http://127.0.0.1:28081/"), "published\n");
    EXPECT_EQ(ctl({"port", "pub"}).out, "80/tcp -> 127.0.0.1:28081\n");
    EXPECT_EQ(ctl({"port", "pub", "80"}).out, "127.0.0.1:28081\n");
    EXPECT_EQ(ctl({"ps", "--format", "{{.Ports}}"}).out, "127.0.0.1:28081->80/tcp\n");
    // dockerd: publish= names the container port of a published mapping
    EXPECT_EQ(ctl({"ps", "-q", "--filter", "publish=80"}).out.size(), 13u);
    EXPECT_EQ(ctl({"ps", "-q", "--filter", "publish=28081"}).out, "");
    // the same host port again: ctl fails (125) and leaves no container behind
    auto clash = ctl({"run", "-d", "--name", "clash", "-p", "127.0.0.1:28081:80", tiny(), "sleep", "100"});
    EXPECT_EQ(clash.status, 125) << clash;
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}}"}).out, "pub\n");
    auto netns = run_command({"sh", "-c", "ls " + ctk_run() + "/netns | wc -l"});
    EXPECT_EQ(trim(netns.out), "1") << "a network namespace of the failed container is left";
    // the default network's container gets an address in the configured subnet
    std::string ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "pub"}).out));
    EXPECT_EQ(ip.rfind(default_subnet().substr(0, 7), 0), 0u) << ip;
}

TEST_F(CtlNetVol, VolumeDataOutlivesItsContainer) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"volume", "create", "data"}).out, "data\n");
    auto w = ctl({"run", "--rm", "--network", "none", "-v", "data:/data", tiny(), "sh", "-c", "echo kept > /data/f"});
    ASSERT_EQ(w.status, 0) << w;
    auto r = ctl({"run", "--rm", "--network", "none", "-v", "data:/data:ro", tiny(), "cat", "/data/f"});
    EXPECT_EQ(r.out, "kept\n") << r;
    auto ro = ctl({"run", "--rm", "--network", "none", "-v", "data:/data:ro", tiny(), "touch", "/data/g"});
    EXPECT_NE(ro.status, 0) << "a :ro volume was writable";
    // in use: rm refused; --mount and tmpfs work too
    ASSERT_EQ(ctl({"run", "-d", "--name", "user", "--network", "none", "--mount", "type=volume,src=data,dst=/m",
                   "--tmpfs", "/t:size=1m", tiny(), "sleep", "1000"}).status, 0);
    EXPECT_EQ(ctl({"exec", "user", "cat", "/m/f"}).out, "kept\n");
    auto df = ctl({"exec", "user", "sh", "-c", "df -k /t | tail -1"});
    EXPECT_NE(df.out.find(" 1024 "), std::string::npos) << df.out;
    EXPECT_NE(ctl({"volume", "rm", "data"}).status, 0);
    auto insp = ctl({"inspect", "-f",
                     "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Type}}:{{.Name}}:{{.Destination}} {{end}}{{end}}", "user"});
    EXPECT_EQ(insp.out, "volume:data:/m \n") << insp;
    // a listing reads vol-mount's account of a container's mounts: also of one with only a tmpfs
    ASSERT_EQ(ctl({"run", "-d", "--name", "tonly", "--network", "none", "--tmpfs", "/only", tiny(), "sleep", "1000"}).status, 0);
    EXPECT_EQ(ctl({"ps", "--filter", "volume=/only", "--format", "{{.Names}}"}).out, "tonly\n");
    EXPECT_EQ(ctl({"ps", "--filter", "volume=/m", "--format", "{{.Names}}"}).out, "user\n");
    EXPECT_EQ(ctl({"ps", "--filter", "volume=data", "--format", "{{.Names}}"}).out, "user\n");
    ASSERT_EQ(ctl({"rm", "-f", "tonly"}).status, 0);
    ASSERT_EQ(ctl({"rm", "-f", "user"}).status, 0);
    EXPECT_EQ(ctl({"volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "data"}).out, "data local\n");
    EXPECT_EQ(ctl({"volume", "rm", "data"}).status, 0);
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "");
}

TEST_F(CtlNetVol, AnonymousVolumesGoWithRmAndBindsSeeTheHost) {
    CTK_REQUIRE_ROOT();
    auto r = ctl({"run", "--rm", "--network", "none", "-v", "/scratch", tiny(), "sh", "-c", "echo x > /scratch/f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "") << "--rm left its anonymous volume";
    make_dirs(tmp() + "/host");
    write_file_atomic(tmp() + "/host/in", "from the host\n");
    r = ctl({"run", "--rm", "--network", "none", "-v", tmp() + "/host:/h", tiny(), "sh", "-c", "cat /h/in; echo back > /h/out"});
    EXPECT_EQ(r.out, "from the host\n") << r;
    EXPECT_EQ(read_file(tmp() + "/host/out"), "back\n");
    ASSERT_EQ(ctl({"create", "--name", "anon", "--network", "none", "-v", "/scratch", tiny(), "true"}).status, 0);
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out.size(), 65u);
    ASSERT_EQ(ctl({"rm", "-v", "anon"}).status, 0);
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "");
}

// Subnets 10.238.0.0/16 (issue 16): a container on the default network
// connected to a user network resolves the names there through that
// network's DNS responder, and falls back when disconnected (dns [] in the
// test's configuration: no query leaves the host).
TEST_F(CtlNetVol, ConnectedContainerResolvesNamesOfItsNewNetwork) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"network", "create", "--subnet", "10.238.1.0/24", "n2"}).status, 0);
    ASSERT_EQ(ctl({"run", "-d", "--name", "other", "--network", "n2", tiny(), "sleep", "300"}).status, 0);
    ASSERT_EQ(ctl({"run", "-d", "--name", "cc", tiny(), "sleep", "300"}).status, 0);
    std::string other_ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.Networks.n2.IPAddress}}", "other"}).out));
    ASSERT_EQ(other_ip.rfind("10.238.1.", 0), 0u) << other_ip;
    EXPECT_EQ(ctl({"exec", "cc", "cat", "/etc/resolv.conf"}).out.find("10.238.1.1"), std::string::npos);

    auto conn = ctl({"network", "connect", "n2", "cc"});
    ASSERT_EQ(conn.status, 0) << conn;
    auto resolv = ctl({"exec", "cc", "cat", "/etc/resolv.conf"});
    EXPECT_NE(resolv.out.find("nameserver 10.238.1.1\n"), std::string::npos) << resolv;
    auto look = ctl({"exec", "cc", "busybox", "nslookup", "other"});
    EXPECT_EQ(look.status, 0) << look;
    EXPECT_NE(look.out.find("Address: " + other_ip + "\n"), std::string::npos) << look;
    // and the other way round, through the responder of the network both share
    std::string c_ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.Networks.n2.IPAddress}}", "cc"}).out));
    EXPECT_NE(ctl({"exec", "other", "busybox", "nslookup", "cc"}).out.find("Address: " + c_ip + "\n"), std::string::npos);

    auto disc = ctl({"network", "disconnect", "n2", "cc"});
    ASSERT_EQ(disc.status, 0) << disc;
    resolv = ctl({"exec", "cc", "cat", "/etc/resolv.conf"});
    EXPECT_EQ(resolv.status, 0) << resolv;
    EXPECT_EQ(resolv.out.find("10.238.1.1"), std::string::npos) << resolv;
    EXPECT_NE(ctl({"exec", "cc", "busybox", "nslookup", "other"}).status, 0);

    EXPECT_EQ(ctl({"rm", "-f", "cc", "other"}).status, 0);
    EXPECT_EQ(ctl({"network", "rm", "n2"}).status, 0);
}

TEST_F(CtlNetVol, NetworkMadeAgainWithTheSameSubnetTwentyTimes) {
    CTK_REQUIRE_ROOT();
    for (int i = 0; i < 20; ++i) {
        SCOPED_TRACE("round " + std::to_string(i));
        auto create = ctl({"network", "create", "--subnet", "10.238.2.0/24", "n3"});
        ASSERT_EQ(create.status, 0) << create;
        // the first attach starts the network's DNS responder on 10.238.2.1:53
        auto run = ctl({"run", "--rm", "--name", "rr", "--network", "n3", tiny(), "busybox", "nslookup", "rr"});
        EXPECT_EQ(run.status, 0) << run;
        EXPECT_NE(run.out.find("Address: 10.238.2.2\n"), std::string::npos) << run;
        auto rm = ctl({"network", "rm", "n3"});
        ASSERT_EQ(rm.status, 0) << rm;
    }
}

// docker-compose's order for every service: create, disconnect from the network,
// connect again (with aliases), start. Docker binds published ports on the
// container's networks when it starts, whatever was connected before.
TEST_F(CtlNetVol, PublishedPortSurvivesDisconnectAndConnectBeforeStart) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"network", "create", "--subnet", "10.250.7.0/24", "pn"}).status, 0);
    auto c = ctl({"create", "--name", "wa", "--network", "pn", "-p", "127.0.0.1:18248:80", tiny(), "sh", "-c",
                  "mkdir -p /www && echo reconnected > /www/index.html && exec httpd -f -p 80 -h /www"});
    ASSERT_EQ(c.status, 0) << c;
    ASSERT_EQ(ctl({"network", "disconnect", "pn", "wa"}).status, 0);
    auto conn = ctl({"network", "connect", "--alias", "web", "pn", "wa"});
    ASSERT_EQ(conn.status, 0) << conn;
    ASSERT_EQ(ctl({"start", "wa"}).status, 0);
    EXPECT_EQ(host_get("http://127.0.0.1:18248/"), "reconnected\n");
    EXPECT_EQ(ctl({"port", "wa"}).out, "80/tcp -> 127.0.0.1:18248\n");
    // disconnected while running: the port goes with its network; connected again, it is back
    ASSERT_EQ(ctl({"network", "disconnect", "pn", "wa"}).status, 0);
    EXPECT_EQ(run_command({"curl", "-fsS", "--noproxy", "*", "--max-time", "2", "http://127.0.0.1:18248/"}).out, "");
    ASSERT_EQ(ctl({"network", "connect", "pn", "wa"}).status, 0);
    EXPECT_EQ(host_get("http://127.0.0.1:18248/"), "reconnected\n");

    ASSERT_EQ(ctl({"rm", "-f", "wa"}).status, 0);
    ASSERT_EQ(ctl({"network", "rm", "pn"}).status, 0);
    EXPECT_EQ(run_command({"sh", "-c", "nft list ruleset | grep -c 18248"}).out, "0\n");
    EXPECT_EQ(LeakScope::describe(leak_report()), "");
}

// /etc/resolv.conf and /etc/hosts follow Docker's rules, the same net-bridge
// follows (network/container_files): --dns-search and --dns-option replace the
// host's lines but a user network's DNS responder stays the nameserver (with
// ndots:0, as Docker's embedded DNS); --add-host entries come before the
// container's own line; with --network none there is no line of its own and
// no nameserver here (the test configuration's "dns": []).
TEST_F(CtlNetVol, DnsFlagsAndExtraHostsFollowDockersRules) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"network", "create", "--subnet", "10.218.12.0/24", "n12"}).status, 0);
    auto r = ctl({"run", "--rm", "--network", "n12", "--hostname", "box", "--dns-search", "x.example",
                  "--dns-option", "timeout:1", "--add-host", "db:10.218.12.99", tiny(), "sh", "-c",
                  "cat /etc/resolv.conf; echo ---; cat /etc/hosts"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("nameserver 10.218.12.1\nsearch x.example\noptions timeout:1 ndots:0\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ff02::2\tip6-allrouters\n10.218.12.99\tdb\n10.218.12."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\tbox\n"), std::string::npos) << r.out;
    auto plain = ctl({"run", "--rm", "--network", "n12", tiny(), "cat", "/etc/resolv.conf"});
    EXPECT_NE(plain.out.find("nameserver 10.218.12.1\n"), std::string::npos) << plain;
    EXPECT_NE(plain.out.find("ndots:0"), std::string::npos) << plain;
    auto none = ctl({"run", "--rm", "--network", "none", "--hostname", "box", "--add-host", "db:10.218.12.99", tiny(),
                     "sh", "-c", "cat /etc/resolv.conf; echo ---; cat /etc/hosts"});
    ASSERT_EQ(none.status, 0) << none;
    EXPECT_EQ(none.out.find("nameserver"), std::string::npos) << none.out;
    EXPECT_NE(none.out.find("10.218.12.99\tdb\n"), std::string::npos) << none.out;
    EXPECT_EQ(none.out.find("\tbox\n"), std::string::npos) << none.out;
    EXPECT_EQ(ctl({"network", "rm", "n12"}).status, 0);
}
