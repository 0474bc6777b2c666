// --explain: the printed script, run by hand, makes the same container that
// ctl makes; and explaining changes nothing.
#include <gtest/gtest.h>

#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlExplain : public CtlTest {
protected:
    void SetUp() override {
        CtlTest::SetUp();
        if (::geteuid() == 0) load_tiny();
    }
    // config.json with this container's own names replaced, for comparison
    Json normalized_config(const std::string& name) {
        std::string id(trim(ctl({"inspect", "-f", "{{.Id}}", name}).out));
        std::string text = read_file(ctk_root() + "/containers/" + id + "/bundle/config.json");
        for (size_t p; (p = text.find(id)) != std::string::npos;) text.replace(p, id.size(), "ID");
        for (size_t p; (p = text.find(id.substr(0, 12))) != std::string::npos;) text.replace(p, 12, "ID12");
        return Json::parse(text);
    }
};
} // namespace

TEST_F(CtlExplain, TheScriptMakesTheSameContainer) {
    CTK_REQUIRE_ROOT();
    std::vector<std::string> args = {"-e", "A=1", "-w", "/tmp", "-m", "64m", "--pids-limit", "50",
                                     "--cap-drop", "MKNOD", "-v", "exdata:/data", "-p", "127.0.0.1:28082:80",
                                     tiny(), "sh", "-c", "echo $A $(pwd) $(cat /etc/hostname); exec sleep 1000"};
    std::vector<std::string> ex = {"--explain", "run", "-d", "--name", "by-script"};
    ex.insert(ex.end(), args.begin(), args.end());
    auto script = ctl(ex);
    ASSERT_EQ(script.status, 0) << script;
    EXPECT_EQ(script.out.rfind("#!/bin/sh\n", 0), 0u);
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "") << "--explain made something";
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "") << "--explain made a volume";
    write_file_atomic(tmp() + "/run.sh", script.out);
    auto ran = sh("sh " + tmp() + "/run.sh");
    ASSERT_EQ(ran.status, 0) << ran << script.out;

    std::vector<std::string> direct = {"run", "-d", "--name", "by-ctl", "-p", "127.0.0.1:28083:80"};
    for (size_t i = 0; i < args.size(); i++) {
        if (args[i] == "-p") {
            i++;
            continue;
        }
        direct.push_back(args[i]);
    }
    ASSERT_EQ(ctl(direct).status, 0);

    // ctl sees the script's container like its own, and both run the same way
    auto ps = ctl({"ps", "--format", "{{.Names}} {{.State}}"});
    EXPECT_NE(ps.out.find("by-script running"), std::string::npos) << ps.out;
    EXPECT_NE(ps.out.find("by-ctl running"), std::string::npos) << ps.out;
    std::string id12(trim(ctl({"inspect", "-f", "{{.Config.Hostname}}", "by-script"}).out));
    EXPECT_EQ(ctl({"logs", "by-script"}).out, "1 /tmp " + id12 + "\n");
    Json a = normalized_config("by-script"), b = normalized_config("by-ctl");
    EXPECT_EQ(a["process"], b["process"]);
    EXPECT_EQ(a["linux"]["resources"], b["linux"]["resources"]);
    EXPECT_EQ(a["linux"]["namespaces"], b["linux"]["namespaces"]);
    EXPECT_EQ(a["mounts"].size(), b["mounts"].size());
    EXPECT_EQ(a["hostname"], "ID12");
    // both in the network, both removable by ctl
    std::string ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "by-script"}).out));
    EXPECT_FALSE(ip.empty());
    EXPECT_EQ(ctl({"rm", "-f", "by-script", "by-ctl"}).status, 0);
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
}

TEST_F(CtlExplain, AForegroundRunScriptReturnsTheStatusAndCleansUp) {
    CTK_REQUIRE_ROOT();
    auto script = ctl({"--explain", "run", "--rm", tiny(), "sh", "-c", "echo from the script; exit 6"});
    ASSERT_EQ(script.status, 0) << script;
    for (const char* tool : {"img-unpack --image", "unshare --net=", "net-bridge attach bridge", "ns-run --root",
                             "net-bridge detach bridge", "img-unpack --release"})
        EXPECT_NE(script.out.find(tool), std::string::npos) << tool << "\n" << script.out;
    write_file_atomic(tmp() + "/run.sh", script.out);
    auto ran = sh("sh " + tmp() + "/run.sh");
    EXPECT_EQ(ran.status, 6) << ran;
    EXPECT_EQ(ran.out, "from the script\n");
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
    auto left = run_command({"sh", "-c", "ls " + ctk_root() + "/containers; ls " + ctk_run() + "/netns"});
    EXPECT_EQ(trim(left.out), "") << left;
}

TEST_F(CtlExplain, EveryStateChangingVerbExplains) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "e1", "--network", "none", tiny(), "sleep", "1000"}).status, 0);
    struct Case {
        std::vector<std::string> args;
        std::string expect;
    } cases[] = {
        {{"stop", "e1"}, " kill "},
        {{"kill", "e1"}, " kill "},
        {{"pause", "e1"}, " pause "},
        {{"rm", "-f", "e1"}, " delete --force "},
        {{"exec", "e1", "true"}, " exec "},
        {{"pull", tiny()}, "reg-fetch pull"},
        {{"network", "create", "nx"}, "net-bridge create nx"},
        {{"volume", "create", "vx"}, "vol-mount create vx"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> a = {"--explain"};
        a.insert(a.end(), c.args.begin(), c.args.end());
        auto r = ctl(a);
        EXPECT_EQ(r.status, 0) << r;
        EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.expect << "\n" << r.out;
    }
    EXPECT_EQ(ctl({"inspect", "-f", "{{.State.Status}}", "e1"}).out, "running\n");
    EXPECT_EQ(ctl({"network", "ls", "-q", "--filter", "name=nx"}).out, "");
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "");
}
