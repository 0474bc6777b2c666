#include "net_bridge_test.hpp"

#include <unistd.h>

#include <fstream>

#include "core/fs.hpp"
#include "core/lock.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

namespace ctk::test {

static int counter = 0;

void NetBridgeTest::SetUp() {
    ToolTest::SetUp();
    if (::geteuid() != 0) return;
    // One run of this suite at a time on the machine (worktrees build and test
    // side by side): its subnets are fixed, and two bridges with one subnet
    // would make each other's routes ambiguous. Held until the process ends.
    static FileLock* suite_lock = new FileLock("/run/ctk-test-net-bridge.lock");
    (void)suite_lock;
    unique_ = random_hex(2);
    default_bridge_ = "ctk-test-d" + unique_;
    claim_names("ctk-test-" + unique_ + "-"); // netns(): for the leak check
    claim_names(default_bridge_);
    // The default network of this test: its own bridge and a subnet no other
    // test uses at the same time (this suite runs its tests one after another).
    write_file_atomic(config_path(), R"({"network":{"default_subnet":"10.209.0.0/24","default_bridge":")" +
                                         default_bridge_ + R"(","dns":[]}})");
    defer([this] {
        // Detach every endpoint and remove every network the test left.
        std::string dir = ctk_root() + "/networks";
        auto list = nb({"ls"});
        for (const auto& line : list.json_lines()) {
            std::string name = line.value("name", "");
            auto text = read_file_if_exists(dir + "/" + name + ".json");
            if (!text) continue;
            Json n = Json::parse(*text);
            for (const auto& e : n["endpoints"]) {
                std::string id = e.value("container_id", "");
                if (!id.empty()) {
                    nb({"detach", name, "--id", id});
                } else {
                    nb({"detach", name, "--netns", e.value("netns", "")});
                }
            }
            nb({"rm", name});
            run_command({"ip", "link", "del", n.value("bridge", "")});
        }
        run_command({"ip", "link", "del", default_bridge_});
    });
}

ToolResult NetBridgeTest::nb(const std::vector<std::string>& args, const std::string& input,
                             const std::vector<std::string>& env) {
    std::vector<std::string> e = {"CTK_CONFIG=" + config_path()};
    e.insert(e.end(), env.begin(), env.end());
    return run("net-bridge", args, input, e);
}

std::string NetBridgeTest::sh(const std::string& script) {
    auto r = run_command({"sh", "-c", script});
    EXPECT_EQ(r.status, 0) << script << "\n" << r;
    return r.out;
}

int NetBridgeTest::sh_status(const std::string& script) {
    return run_command({"sh", "-c", script + " >/dev/null 2>&1"}).status;
}

std::string NetBridgeTest::netns(const std::string& tag) {
    std::string name = "ctk-test-" + unique_ + "-" + tag;
    auto r = run_command({"ip", "netns", "add", name});
    EXPECT_EQ(r.status, 0) << r;
    defer([this, name] {
        // The processes this test started inside (httpd, iperf3), by pid.
        auto pids = run_command({"ip", "netns", "pids", name});
        for (const auto& p : split(pids.out, '\n'))
            if (auto pid = parse_uint(trim(p))) ::kill(static_cast<pid_t>(*pid), SIGKILL);
        run_command({"ip", "netns", "del", name});
        remove_tree("/etc/netns/" + name);
    });
    return name;
}

std::string NetBridgeTest::bridge_name(const std::string& tag) {
    return "ctk-test-" + tag + unique_.substr(0, 2) + std::to_string(counter++ % 100);
}

std::string NetBridgeTest::create_network(const std::string& name, const std::string& subnet,
                                          const std::vector<std::string>& extra) {
    std::string bridge = bridge_name("b");
    std::vector<std::string> args = {"create", name, "--subnet", subnet, "--bridge", bridge};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = nb(args);
    EXPECT_EQ(r.status, 0) << r;
    defer([this, bridge] { run_command({"ip", "link", "del", bridge}); });
    return bridge;
}

void NetBridgeTest::install_resolv_conf(const std::string& ns, const std::string& path) {
    make_dirs("/etc/netns/" + ns);
    write_file_atomic("/etc/netns/" + ns + "/resolv.conf", read_file(path));
}

void NetBridgeTest::serve_http(const std::string& ns, const std::string& text) {
    std::string dir = tmp() + "/www-" + ns;
    make_dirs(dir);
    write_file_atomic(dir + "/index.html", text);
    auto r = run_command({"ip", "netns", "exec", ns, "busybox", "httpd", "-p", "80", "-h", dir});
    ASSERT_EQ(r.status, 0) << r;
    // httpd has bound port 80 before it daemonises: no wait is needed.
}

int NetBridgeTest::count_rules(const std::string& comment) {
    auto r = run_command({"nft", "-a", "list", "table", "ip", "ctk"});
    int n = 0;
    for (const auto& line : split(r.out, '\n'))
        if (line.find("comment \"" + comment) != std::string::npos) ++n;
    return n;
}

} // namespace ctk::test
