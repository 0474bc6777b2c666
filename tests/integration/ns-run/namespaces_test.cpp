// Namespaces, new or joined by path; user namespaces with id mappings.
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Namespaces : public NsRunTest {};

std::string host_ns(const char* name) {
    char buf[128];
    ssize_t n = ::readlink((std::string("/proc/self/ns/") + name).c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}
} // namespace

TEST_F(Namespaces, NewNamespacesAreNew) {
    auto r = run_container(shell_config(
        "for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done; echo $$; hostname; ip link | grep -c '^[0-9]'"));
    ASSERT_EQ(r.status, 0) << r;
    auto lines = split(r.out, '\n');
    ASSERT_GE(lines.size(), 8u) << r.out;
    EXPECT_NE(lines[0], host_ns("pid"));
    EXPECT_NE(lines[1], host_ns("net"));
    EXPECT_NE(lines[2], host_ns("ipc"));
    EXPECT_NE(lines[3], host_ns("uts"));
    EXPECT_NE(lines[4], host_ns("mnt"));
    EXPECT_EQ(lines[5], "1") << "pid 1 of its pid namespace";
    EXPECT_EQ(lines[6], "runc") << "runc spec's hostname";
    EXPECT_EQ(lines[7], "1") << "only lo in a new network namespace";
}

TEST_F(Namespaces, HostnameAndDomainname) {
    Json c = shell_config("hostname; cat /proc/sys/kernel/domainname");
    c["hostname"] = "box";
    c["domainname"] = "example.test";
    auto r = run_container(c);
    EXPECT_EQ(r.out, "box\nexample.test\n") << r;
    Json no_uts = c;
    auto& list = no_uts["linux"]["namespaces"];
    for (size_t i = 0; i < list.size(); i++)
        if (list[i]["type"] == "uts") list.erase(i);
    auto refused = run_container(no_uts);
    EXPECT_EQ(refused.status, 3) << "a hostname without a uts namespace would rename the host: " << refused;
}

TEST_F(Namespaces, JoinANetworkNamespaceByPath) {
    std::string name = "ctkt" + std::to_string(::getpid());
    ASSERT_EQ(run_command({"ip", "netns", "add", name}).status, 0);
    defer([this, name] { run_command({"ip", "netns", "del", name}); });
    ASSERT_EQ(run_command({"ip", "-n", name, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"}).status, 0);
    Json c = shell_config("ip -o link | grep -c probe; readlink /proc/self/ns/net");
    for (auto& n : c["linux"]["namespaces"])
        if (n["type"] == "network") n["path"] = "/var/run/netns/" + name;
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    struct stat st {};
    ASSERT_EQ(::stat(("/var/run/netns/" + name).c_str(), &st), 0);
    EXPECT_EQ(r.out, "2\nnet:[" + std::to_string(st.st_ino) + "]\n") << "the veth pair made in it";
}

// As a pod's containers share the sandbox's namespaces: paths of another
// container's /proc/PID/ns/*.
TEST_F(Namespaces, JoinAnotherContainersNamespaces) {
    // sleep itself, not a shell that execs it: `run -d` returns once the
    // first program runs, so pid 1's cmdline is stable from then on.
    Json first = base_config();
    first["process"]["args"] = {"/bin/sleep", "1000"};
    first["hostname"] = "first";
    std::string a = create_container(first, {}, true);
    std::string pid = std::to_string(state(a)["pid"].get<int>());
    Json c = shell_config("for n in pid ipc uts net; do readlink /proc/self/ns/$n; done; hostname; "
                          "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$");
    c.erase("hostname");
    for (auto& n : c["linux"]["namespaces"])
        if (n["type"] != "mount") n["path"] = "/proc/" + pid + "/ns/" + (n["type"] == "network" ? "net" : n["type"].get<std::string>());
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    auto lines = split(r.out, '\n');
    ASSERT_GE(lines.size(), 7u) << r.out;
    const char* kinds[] = {"pid", "ipc", "uts", "net"};
    for (int i = 0; i < 4; i++) {
        char buf[128];
        ssize_t n = ::readlink(("/proc/" + pid + "/ns/" + kinds[i]).c_str(), buf, sizeof buf);
        ASSERT_GT(n, 0);
        EXPECT_EQ(lines[static_cast<size_t>(i)], std::string(buf, static_cast<size_t>(n))) << kinds[i];
    }
    EXPECT_EQ(lines[4], "first") << "the first container's uts namespace";
    EXPECT_EQ(lines[5], "/bin/sleep 1000 ") << "pid 1 of the shared pid namespace is the first container's";
    EXPECT_NE(lines[6], "1");
    EXPECT_EQ(state(a)["status"], "running") << "the first container is untouched";
}

TEST_F(Namespaces, WrongNamespaceTypeIsRefused) {
    Json c = base_config();
    for (auto& n : c["linux"]["namespaces"])
        if (n["type"] == "network") n["path"] = "/proc/self/ns/uts";
    auto r = run_container(c);
    EXPECT_EQ(r.status, 3) << r;
}

TEST_F(Namespaces, SharedHostNamespaces) {
    Json c = shell_config("readlink /proc/self/ns/net; readlink /proc/self/ns/ipc");
    auto& list = c["linux"]["namespaces"];
    for (size_t i = list.size(); i-- > 0;)
        if (list[i]["type"] == "network" || list[i]["type"] == "ipc") list.erase(i);
    auto r = run_container(c);
    EXPECT_EQ(r.out, host_ns("net") + "\n" + host_ns("ipc") + "\n") << r;
}

TEST_F(Namespaces, CgroupNamespace) {
    // v1: the pids hierarchy's line; pure v2: the unified one ("0::/").
    bool v2 = v2_only();
    Json c = shell_config(v2 ? "cat /proc/self/cgroup" : "cat /proc/self/cgroup | grep -E '^[0-9]+:pids:'");
    bool listed = false; // runc spec lists it on a v2 host
    for (const auto& n : c["linux"]["namespaces"]) listed |= n["type"] == "cgroup";
    if (!listed) c["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    auto r = run_container(c);
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find(v2 ? "0::/\n" : ":pids:/\n"), std::string::npos)
        << "rooted at the container's own cgroup: " << r.out;
}

TEST_F(Namespaces, UserNamespaceWithMappings) {
    // The rootfs belongs to the container's root: host uid 100000, who must
    // also be able to reach it.
    ASSERT_EQ(::chmod(tmp().c_str(), 0755), 0);
    std::string rootfs = copy_rootfs();
    ASSERT_EQ(run_command({"chown", "-R", "-h", "100000:100000", rootfs}).status, 0);
    std::string shared = tmp() + "/shared";
    make_dirs(shared);
    ASSERT_EQ(::chown(shared.c_str(), 100000, 100000), 0);
    // Devices cannot be made in a user namespace: they are bind-mounted from the host.
    Json c = shell_config("id -u; id -g; cat /proc/self/uid_map; touch /shared/made; ls -ln /bin/busybox | "
                          "while read m l u g rest; do echo $u:$g; done; stat -c '%t:%T' /dev/null /dev/fuse; "
                          "echo x > /dev/null && head -c 2 /dev/zero | wc -c");
    c["linux"]["devices"] = {{{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"fileMode", 0600}}};
    c["root"]["path"] = rootfs;
    c["linux"]["namespaces"].push_back({{"type", "user"}});
    c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    c["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    c["mounts"].push_back({{"destination", "/shared"}, {"type", "bind"}, {"source", shared}, {"options", {"rbind"}}});
    // sysfs needs the network namespace to belong to the user namespace: it does (both new).
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    auto lines = split(r.out, '\n');
    ASSERT_GE(lines.size(), 4u) << r.out;
    EXPECT_EQ(lines[0], "0");
    EXPECT_EQ(lines[1], "0");
    auto map = split(std::string(trim(lines[2])), ' ');
    std::erase(map, "");
    EXPECT_EQ(map, (std::vector<std::string>{"0", "100000", "65536"}));
    EXPECT_EQ(lines[3], "0:0") << "the rootfs's owner is root inside";
    ASSERT_GE(lines.size(), 7u) << r.out;
    EXPECT_EQ(lines[4], "1:3");
    EXPECT_EQ(lines[5], "a:e5") << "the spec's device too";
    EXPECT_EQ(lines[6], "2") << "the bound /dev/zero reads";
    struct stat st {};
    ASSERT_EQ(::stat((shared + "/made").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 100000u) << "a file made by root inside belongs to host uid 100000";
}

TEST_F(Namespaces, UserNamespaceNeedsMappings) {
    Json c = base_config();
    c["linux"]["namespaces"].push_back({{"type", "user"}});
    auto r = run_container(c);
    EXPECT_EQ(r.status, 3) << r;
}
