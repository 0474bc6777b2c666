// The container's process (config.md "Process"): args, env, cwd, user,
// capabilities, no_new_privs, rlimits, umask, oomScoreAdj, sysctl.
#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Process : public NsRunTest {};

std::string status_field(const std::string& status, const std::string& key) {
    for (const auto& l : split(status, '\n'))
        if (l.rfind(key + ":", 0) == 0) return std::string(trim(l.substr(key.size() + 1)));
    return "";
}
} // namespace

TEST_F(Process, ArgsEnvCwd) {
    Json c = base_config();
    c["process"]["args"] = {"/bin/sh", "-c", "echo \"$1|$GREETING|$(pwd)\"", "sh", "arg one"};
    c["process"]["env"] = {"PATH=/bin", "GREETING=hello world"};
    c["process"]["cwd"] = "/etc";
    auto r = run_container(c);
    EXPECT_EQ(r.out, "arg one|hello world|/etc\n") << r;
    auto env = run_container(shell_config("env | sort"));
    EXPECT_EQ(env.out,
              "HOME=/root\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nPWD=/\nSHLVL=1\nTERM=xterm\n")
        << "only the spec's environment (HOME from /etc/passwd, as runc adds it), nothing of the runtime's";
}

TEST_F(Process, MissingCwdIsCreated) {
    Json c = shell_config("pwd");
    c["process"]["cwd"] = "/work/dir";
    c["root"]["path"] = copy_rootfs();
    auto r = run_container(c);
    EXPECT_EQ(r.out, "/work/dir\n") << r;
}

TEST_F(Process, UserGroupsAndUmask) {
    Json c = shell_config("id; umask; touch /tmp/f; stat -c %a /tmp/f");
    c["process"]["user"] = {{"uid", 1000}, {"gid", 1001}, {"additionalGids", {5, 6}}, {"umask", 027}};
    c["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"mode=1777"}}});
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    auto lines = split(r.out, '\n');
    EXPECT_NE(lines[0].find("uid=1000 gid=1001"), std::string::npos) << r.out;
    EXPECT_NE(lines[0].find("groups=5,6"), std::string::npos) << r.out;
    EXPECT_EQ(lines[1], "0027");
    EXPECT_EQ(lines[2], "640");
}

TEST_F(Process, CapabilitySetsAndNoNewPrivs) {
    Json c = shell_config("grep -E '^(Cap|NoNewPrivs)' /proc/self/status");
    c["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}},
                                    {"effective", {"CAP_CHOWN", "CAP_KILL"}},
                                    {"permitted", {"CAP_CHOWN", "CAP_KILL"}},
                                    {"inheritable", {"CAP_KILL"}},
                                    {"ambient", {"CAP_KILL"}}};
    c["process"]["noNewPrivileges"] = true;
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(status_field(r.out, "CapBnd"), "0000000000002021");
    EXPECT_EQ(status_field(r.out, "CapEff"), "0000000000000021");
    EXPECT_EQ(status_field(r.out, "CapPrm"), "0000000000000021");
    EXPECT_EQ(status_field(r.out, "CapInh"), "0000000000000020");
    EXPECT_EQ(status_field(r.out, "CapAmb"), "0000000000000020");
    EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "1");
    c["process"]["noNewPrivileges"] = false;
    EXPECT_EQ(status_field(run_container(c).out, "NoNewPrivs"), "0");
}

TEST_F(Process, NonRootKeepsAmbientCapabilities) {
    Json c = shell_config("grep -E '^Cap(Eff|Amb)' /proc/self/status");
    c["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    c["process"]["capabilities"] = {{"bounding", {"CAP_NET_BIND_SERVICE"}},
                                    {"effective", {"CAP_NET_BIND_SERVICE"}},
                                    {"permitted", {"CAP_NET_BIND_SERVICE"}},
                                    {"inheritable", {"CAP_NET_BIND_SERVICE"}},
                                    {"ambient", {"CAP_NET_BIND_SERVICE"}}};
    auto r = run_container(c);
    EXPECT_EQ(status_field(r.out, "CapEff"), "0000000000000400") << r;
    EXPECT_EQ(status_field(r.out, "CapAmb"), "0000000000000400") << r;
}

TEST_F(Process, Rlimits) {
    Json c = shell_config("ulimit -n; ulimit -Hn; ulimit -c");
    c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 321}, {"hard", 654}},
                               {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}};
    auto r = run_container(c);
    EXPECT_EQ(r.out, "321\n654\n0\n") << r;
    c["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"soft", 1}, {"hard", 1}}};
    EXPECT_EQ(run_container(c).status, 3);
}

TEST_F(Process, OomScoreAdj) {
    Json c = shell_config("cat /proc/self/oom_score_adj");
    c["process"]["oomScoreAdj"] = 345;
    EXPECT_EQ(run_container(c).out, "345\n");
}

TEST_F(Process, NamespacedSysctls) {
    Json c = shell_config("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni");
    c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmni", "1234"}};
    auto r = run_container(c);
    EXPECT_EQ(r.out, "1\n1234\n") << r;
    Json host = base_config();
    host["linux"]["sysctl"] = {{"kernel.core_pattern", "|/tmp/pwn"}};
    auto refused = run_container(host);
    EXPECT_EQ(refused.status, 3) << refused;
    EXPECT_NE(read_file("/proc/sys/kernel/core_pattern"), "|/tmp/pwn\n");
}

TEST_F(Process, ExecUsesTheContainersProcessWithOverrides) {
    Json c = shell_config("exec sleep 1000");
    c["process"]["env"] = {"PATH=/bin", "A=from-config"};
    std::string id = create_container(c, {}, true);
    auto r = ns({"exec", "-e", "B=from-exec", "--cwd", "/etc", "-u", "1000:1000", id, "sh", "-c",
                 "echo $A $B $(pwd) $(id -u):$(id -g)"});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "from-config from-exec /etc 1000:1000\n");
    EXPECT_EQ(ns({"exec", id, "sh", "-c", "exit 9"}).status, 9);
    EXPECT_EQ(ns({"exec", id, "/nope"}).status, 127);
    std::string proc = tmp() + "/process.json";
    write_json_file(proc, Json{{"args", {"/bin/sh", "-c", "echo via-process $$"}}, {"cwd", "/"},
                               {"user", {{"uid", 0}, {"gid", 0}}}, {"env", {"PATH=/bin"}}});
    auto p = ns({"exec", "--process", proc, id});
    EXPECT_EQ(p.status, 0) << p;
    EXPECT_EQ(p.out.rfind("via-process ", 0), 0u) << p.out;
    EXPECT_NE(p.out, "via-process 1\n") << "a new process, not pid 1";
}

TEST_F(Process, ExecIntoStoppedOrPausedContainerFails) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    ASSERT_EQ(ns({"pause", id}).status, 0);
    EXPECT_EQ(ns({"exec", id, "true"}).status, 5);
    ASSERT_EQ(ns({"resume", id}).status, 0);
    ASSERT_EQ(ns({"kill", id, "KILL"}).status, 0);
    wait_stopped(id);
    EXPECT_EQ(ns({"exec", id, "true"}).status, 5);
}

// AppArmor and SELinux are applied when the host has them; without them the
// fields are ignored with a warning rather than failing every docker-made config.
TEST_F(Process, SecurityLabelsWithoutTheLsmAreAWarning) {
    Json c = shell_config("echo ran");
    c["process"]["apparmorProfile"] = "ctk-test-no-such-profile";
    c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
    auto r = run_container(c);
    auto enabled = read_file_if_exists("/sys/module/apparmor/parameters/enabled", 64);
    bool apparmor = enabled && enabled->rfind("Y", 0) == 0;
    bool selinux = ::access("/sys/fs/selinux/enforce", F_OK) == 0;
    if (apparmor || selinux) {
        EXPECT_NE(r.status, 0) << "a profile/label that the host does not know cannot be applied: " << r;
        return;
    }
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "ran\n");
    EXPECT_NE(r.err.find("warning"), std::string::npos) << r;
    EXPECT_NE(r.err.find("AppArmor is not enabled"), std::string::npos) << r;
    EXPECT_NE(r.err.find("SELinux is not enabled"), std::string::npos) << r;
}
