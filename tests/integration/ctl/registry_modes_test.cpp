// The registry verbs through ctl (pull, push, login, logout against the loopback
// registry), the network modes (host, container:ID, connect/disconnect) and the
// prune verbs, attach, --hostname and --restart.
#include <gtest/gtest.h>

#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlRegistry : public CtlTest {
protected:
    ToolResult ctl_docker_config(const std::vector<std::string>& args, const std::string& input = "") {
        return run("ctl", args, input, {"CTK_CONFIG=" + config_path(), "DOCKER_CONFIG=" + tmp() + "/docker"});
    }
};

class CtlModes : public CtlTest {
protected:
    void SetUp() override {
        CtlTest::SetUp();
        if (::geteuid() == 0) load_tiny();
    }
};

std::string last_line(const std::string& s) {
    auto lines = split(std::string(trim(s)), '\n');
    return lines.empty() ? "" : lines.back();
}
} // namespace

TEST_F(CtlRegistry, PullRunPushAndPullBack) {
    CTK_REQUIRE_ROOT();
    auto p = ctl({"pull", registry() + "/tiny"});
    ASSERT_EQ(p.status, 0) << p;
    EXPECT_EQ(last_line(p.out), tiny());
    EXPECT_NE(p.out.find("Digest: sha256:"), std::string::npos) << p.out;
    auto r = ctl({"run", "--rm", "--network", "none", registry() + "/tiny", "echo", "pulled"});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "pulled\n");
    std::string id(trim(ctl({"image", "inspect", "-f", "{{.Id}}", tiny()}).out));
    ASSERT_EQ(id.rfind("sha256:", 0), 0u) << id;

    // a repository of this test's own on the shared registry
    std::string repo = registry() + "/ctl-it-" + std::to_string(::getpid()) + "/tiny";
    ASSERT_EQ(ctl({"tag", tiny(), repo + ":v1"}).status, 0);
    auto push = ctl({"push", repo + ":v1"});
    ASSERT_EQ(push.status, 0) << push;
    EXPECT_EQ(push.out.rfind("The push refers to repository [" + repo + "]\nv1: digest: sha256:", 0), 0u) << push.out;
    ASSERT_EQ(ctl({"rmi", repo + ":v1"}).status, 0);
    EXPECT_NE(ctl({"image", "inspect", repo + ":v1"}).status, 0);
    auto back = ctl({"pull", "-q", repo + ":v1"});
    ASSERT_EQ(back.status, 0) << back;
    EXPECT_EQ(back.out, repo + ":v1\n");
    EXPECT_EQ(trim(ctl({"image", "inspect", "-f", "{{.Id}}", repo + ":v1"}).out), id);

    // what the registry does not have: not found, exit 1 like docker pull
    auto missing = ctl({"pull", registry() + "/ctl-it-none/nothing:here"});
    EXPECT_EQ(missing.status, 1) << missing;
    auto run_missing = ctl({"run", "--rm", registry() + "/ctl-it-none/nothing:here", "true"});
    EXPECT_EQ(run_missing.status, 125) << run_missing;
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
}

TEST_F(CtlRegistry, LoginAndLogoutKeepCredentialsInTheDockerConfig) {
    CTK_REQUIRE_ROOT();
    auto in = ctl_docker_config({"login", "-u", "someone", "--password-stdin", registry()}, "secret\n");
    ASSERT_EQ(in.status, 0) << in;
    EXPECT_NE(in.out.find("Login Succeeded"), std::string::npos) << in.out;
    Json cfg = read_json_file(tmp() + "/docker/config.json");
    ASSERT_TRUE(cfg["auths"].contains(registry())) << cfg.dump();
    auto out = ctl_docker_config({"logout", registry()});
    ASSERT_EQ(out.status, 0) << out;
    cfg = read_json_file(tmp() + "/docker/config.json");
    EXPECT_FALSE(cfg.value("auths", Json::object()).contains(registry())) << cfg.dump();
}

TEST_F(CtlModes, HostAndContainerNetworksAndHostname) {
    CTK_REQUIRE_ROOT();
    std::string host_net(trim(run_command({"readlink", "/proc/self/ns/net"}).out));
    auto h = ctl({"run", "--rm", "--network", "host", tiny(), "readlink", "/proc/self/ns/net"});
    EXPECT_EQ(h.status, 0) << h;
    EXPECT_EQ(trim(h.out), host_net);
    // and the host's UTS namespace, as docker's host mode
    char name[256] = {};
    ASSERT_EQ(::gethostname(name, sizeof name - 1), 0);
    EXPECT_EQ(ctl({"run", "--rm", "--network", "host", tiny(), "hostname"}).out, std::string(name) + "\n");
    // HOSTNAME says the same (docker's); it was the bundle directory's name
    EXPECT_EQ(ctl({"run", "--rm", "--network", "host", tiny(), "sh", "-c", "echo $HOSTNAME"}).out, std::string(name) + "\n");
    auto own = ctl({"run", "--rm", "--network", "none", "--hostname", "box-one", tiny(), "sh", "-c",
                    "hostname; readlink /proc/self/ns/net"});
    EXPECT_EQ(own.status, 0) << own;
    auto lines = split(std::string(trim(own.out)), '\n');
    ASSERT_EQ(lines.size(), 2u) << own.out;
    EXPECT_EQ(lines[0], "box-one");
    EXPECT_NE(lines[1], host_net);

    ASSERT_EQ(ctl({"run", "-d", "--name", "base", tiny(), "sleep", "60"}).status, 0);
    std::string ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "base"}).out));
    ASSERT_FALSE(ip.empty());
    auto joined = ctl({"run", "--rm", "--network", "container:base", tiny(), "ip", "-o", "-4", "addr"});
    EXPECT_EQ(joined.status, 0) << joined;
    EXPECT_NE(joined.out.find("inet " + ip + "/"), std::string::npos) << joined.out;
    auto gone = ctl({"run", "--rm", "--network", "container:nosuch", tiny(), "true"});
    EXPECT_EQ(gone.status, 125) << gone;
}

TEST_F(CtlModes, ConnectDisconnectAndPrune) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "multi", "--network", "none", tiny(), "sleep", "60"}).status, 0);
    ASSERT_EQ(ctl({"run", "-d", "--name", "plain", tiny(), "sleep", "60"}).status, 0);
    ASSERT_EQ(ctl({"network", "create", "--subnet", "10.219.20.0/24", "side"}).status, 0);
    auto c = ctl({"network", "connect", "side", "plain"});
    ASSERT_EQ(c.status, 0) << c;
    std::string ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.Networks.side.IPAddress}}", "plain"}).out));
    EXPECT_EQ(ip.rfind("10.219.20.", 0), 0u) << ip;
    auto addr = ctl({"exec", "plain", "ip", "-o", "-4", "addr"});
    EXPECT_NE(addr.out.find("inet " + ip + "/24"), std::string::npos) << addr.out;
    // in use: neither rm nor prune takes it
    EXPECT_NE(ctl({"network", "rm", "side"}).status, 0);
    EXPECT_EQ(ctl({"network", "prune", "-f"}).out.find("side"), std::string::npos);
    auto d = ctl({"network", "disconnect", "side", "plain"});
    ASSERT_EQ(d.status, 0) << d;
    addr = ctl({"exec", "plain", "ip", "-o", "-4", "addr"});
    EXPECT_EQ(addr.out.find("inet " + ip + "/"), std::string::npos) << addr.out;
    EXPECT_EQ(ctl({"inspect", "-f", "{{.NetworkSettings.Networks.side.IPAddress}}", "plain"}).out, "<no value>\n");
    auto pr = ctl({"network", "prune", "-f"});
    ASSERT_EQ(pr.status, 0) << pr;
    EXPECT_NE(pr.out.find("side\n"), std::string::npos) << pr.out;
    EXPECT_EQ(ctl({"network", "ls", "-q", "--filter", "name=side"}).out, "");

    ASSERT_EQ(ctl({"volume", "create", "spare"}).status, 0);
    ASSERT_EQ(ctl({"run", "-d", "--name", "user", "-v", "kept:/data", tiny(), "sleep", "60"}).status, 0);
    auto vp = ctl({"volume", "prune", "-f", "-a"});
    ASSERT_EQ(vp.status, 0) << vp;
    EXPECT_NE(vp.out.find("spare\n"), std::string::npos) << vp.out;
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "kept\n");

    ASSERT_EQ(ctl({"stop", "-t", "1", "multi"}).status, 0);
    auto cp = ctl({"container", "prune", "-f"});
    ASSERT_EQ(cp.status, 0) << cp;
    EXPECT_NE(ctl({"ps", "-a", "--format", "{{.Names}}"}).out.find("plain"), std::string::npos);
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}}"}).out.find("multi"), std::string::npos);
}

TEST_F(CtlModes, AttachSeesLaterOutputAndRestartPolicyNo) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "late", "--network", "none", tiny(), "sh", "-c",
                   "sleep 2; echo later; exit 3"})
                  .status,
              0);
    auto a = ctl({"attach", "late"});
    EXPECT_EQ(a.status, 3) << a;
    EXPECT_EQ(a.out, "later\n");
    auto no = ctl({"run", "--rm", "--restart", "no", "--network", "none", tiny(), "true"});
    EXPECT_EQ(no.status, 0) << no;
    auto always = ctl({"run", "--rm", "--restart", "always", "--network", "none", tiny(), "true"});
    EXPECT_EQ(always.status, 125) << always;
    EXPECT_EQ(ctl({"ps", "-aq", "--filter", "status=created"}).out, "");
}

TEST_F(CtlModes, LogsFollowAndJsonListings) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "talker", "--network", "none", tiny(), "sh", "-c",
                   "echo first; sleep 1; echo second"})
                  .status,
              0);
    // follows until the container ends
    auto f = ctl({"logs", "-f", "talker"});
    EXPECT_EQ(f.status, 0) << f;
    EXPECT_EQ(f.out, "first\nsecond\n");
    // --format json: one object a line, for jq
    auto ps = ctl({"ps", "-a", "--format", "json"});
    ASSERT_EQ(ps.status, 0) << ps;
    Json c = Json::parse(ps.out);
    EXPECT_EQ(c["Names"], "talker");
    EXPECT_EQ(c["State"], "exited");
    EXPECT_EQ(c["ID"].get<std::string>().size(), 12u);
    auto im = ctl({"images", "--format", "json"});
    ASSERT_EQ(im.status, 0) << im;
    Json i = Json::parse(im.out);
    EXPECT_EQ(i["Repository"], registry() + "/tiny");
    EXPECT_EQ(i["Tag"], "latest");
    ASSERT_EQ(ctl({"volume", "create", "listed"}).status, 0);
    auto vl = ctl({"volume", "ls", "--format", "json"});
    ASSERT_EQ(vl.status, 0) << vl;
    EXPECT_EQ(Json::parse(vl.out)["Name"], "listed");
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}} {{.State}}"}).out, "talker exited\n");
}
