// ctl as a client of ctld: -H, CTK_HOST and named contexts send ctl's verbs
// to the daemon, and what ctl and ctld make is one store's.
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

class Remote : public CtldTest {
protected:
    ToolResult rctl(const std::vector<std::string>& args, const std::string& input = "") {
        std::vector<std::string> a = {"-H", host()};
        a.insert(a.end(), args.begin(), args.end());
        return ctl(a, input);
    }
};

TEST_F(Remote, ContainersThroughTheDaemon) {
    std::string img = tiny();
    auto run = rctl({"run", "--rm", "tiny", "sh", "-c", "echo via-ctld; echo err >&2; exit 4"});
    EXPECT_EQ(run.status, 4) << run;
    EXPECT_EQ(run.out, "via-ctld\n");
    EXPECT_EQ(run.err, "err\n");
    auto in = rctl({"run", "--rm", "-i", "tiny", "cat"}, "piped\n");
    EXPECT_EQ(in.out, "piped\n") << in;
    auto d = rctl({"run", "-d", "--name", "rc", "tiny", "sh", "-c", "echo hello; sleep 1000"});
    ASSERT_EQ(d.status, 0) << d;
    EXPECT_EQ(trim(d.out).size(), 64u);
    auto ps = rctl({"ps", "--format", "{{.Names}} {{.Image}} {{.State}}"});
    EXPECT_EQ(ps.out, "rc tiny running\n") << ps;
    EXPECT_EQ(rctl({"ps", "-q"}).out, std::string(trim(d.out).substr(0, 12)) + "\n");
    std::string logs;
    for (int i = 0; i < 50 && logs != "hello\n"; i++) {
        logs = rctl({"logs", "rc"}).out;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(logs, "hello\n");
    auto ex = rctl({"exec", "rc", "sh", "-c", "echo in-exec; exit 2"});
    EXPECT_EQ(ex.status, 2);
    EXPECT_EQ(ex.out, "in-exec\n");
    EXPECT_EQ(rctl({"inspect", "-f", "{{.State.Running}}", "rc"}).out, "true\n");
    EXPECT_NE(rctl({"top", "rc"}).out.find("sleep 1000"), std::string::npos);
    std::string f = tmp() + "/copy-me.txt";
    write_file_atomic(f, "copied\n");
    ASSERT_EQ(rctl({"cp", f, "rc:/tmp/"}).status, 0);
    EXPECT_EQ(docker({"exec", "rc", "cat", "/tmp/copy-me.txt"}).out, "copied\n");
    ASSERT_EQ(rctl({"cp", "rc:/tmp/copy-me.txt", tmp() + "/back.txt"}).status, 0);
    EXPECT_EQ(read_file(tmp() + "/back.txt"), "copied\n");
    ASSERT_EQ(rctl({"stop", "-t", "1", "rc"}).out, "rc\n");
    EXPECT_EQ(rctl({"wait", "rc"}).out, "137\n");
    // what ctld made, ctl sees locally, and the other way round
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}} {{.State}}"}).out, "rc exited\n");
    ASSERT_EQ(rctl({"rm", "rc"}).out, "rc\n");
    auto missing = rctl({"logs", "rc"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("No such container: rc"), std::string::npos) << missing;
}

TEST_F(Remote, ImagesNetworksVolumesAndContexts) {
    std::string img = tiny();
    auto images = rctl({"images", "--format", "{{.Repository}}:{{.Tag}}"});
    EXPECT_NE(images.out.find(img), std::string::npos) << images;
    ASSERT_EQ(rctl({"tag", "tiny", "tiny:second"}).status, 0);
    EXPECT_NE(docker({"images"}).out.find("second"), std::string::npos);
    EXPECT_NE(rctl({"rmi", "tiny:second"}).out.find("Untagged: tiny:second"), std::string::npos);
    ASSERT_EQ(rctl({"network", "create", "rn"}).status, 0);
    EXPECT_NE(rctl({"network", "ls", "--format", "{{.Name}}"}).out.find("rn\n"), std::string::npos);
    EXPECT_EQ(rctl({"network", "inspect", "-f", "{{.Name}}", "rn"}).out, "rn\n");
    ASSERT_EQ(rctl({"volume", "create", "rv"}).out, "rv\n");
    EXPECT_EQ(rctl({"volume", "ls", "-q"}).out, "rv\n");
    auto on = rctl({"run", "--rm", "--network", "rn", "-v", "rv:/d", "tiny", "sh", "-c", "echo x > /d/f; ls /d"});
    EXPECT_EQ(on.out, "f\n") << on;
    ASSERT_EQ(rctl({"volume", "rm", "rv"}).out, "rv\n");
    ASSERT_EQ(rctl({"network", "rm", "rn"}).out, "rn\n");
    // CTK_HOST and a named context reach the same daemon
    auto env = run("ctl", {"ps", "-a", "-q"}, "", {"CTK_CONFIG=" + config_path(), "CTK_HOST=" + host()});
    EXPECT_EQ(env.status, 0) << env;
    Json cfg = Json::parse(read_file(config_path()));
    cfg["ctl"] = {{"contexts", {{"here", {{"host", host()}}}}}};
    write_file_atomic(config_path(), cfg.dump());
    auto listed = ctl({"--context", "here", "images", "-q"});
    EXPECT_EQ(listed.status, 0) << listed;
    EXPECT_FALSE(listed.out.empty());
    auto unknown = ctl({"--context", "nowhere", "ps"});
    EXPECT_NE(unknown.status, 0);
    EXPECT_NE(unknown.err.find("context \"nowhere\""), std::string::npos) << unknown;
    // without -H ctl works on the store itself: the same containers
    ASSERT_EQ(docker({"create", "--name", "both", "tiny", "true"}).status, 0);
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}}"}).out, "both\n");
}

} // namespace
} // namespace ctk::test
