// Root and mounts (config.md "Root", "Mounts"; config-linux.md masked and
// read-only paths, devices, propagation), observed from inside.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Mounts : public NsRunTest {};

// "mountpoint fstype options" lines of the container's own view.
std::string mounts_script() {
    return "while read -r id parent dev root mp opts rest; do "
           "  fs=${rest#*- }; echo \"$mp ${fs%% *} $opts\"; "
           "done < /proc/self/mountinfo";
}

std::string line_for(const std::string& table, const std::string& mount_point) {
    std::string found;
    for (const auto& l : split(table, '\n'))
        if (l.rfind(mount_point + " ", 0) == 0) found = l;
    return found;
}
} // namespace

TEST_F(Mounts, SpecMountsInOrder) {
    auto r = run_container(shell_config(mounts_script()));
    ASSERT_EQ(r.status, 0) << r;
    auto lines = split(r.out, '\n');
    std::vector<std::string> points;
    for (const auto& l : lines)
        if (!l.empty()) points.push_back(l.substr(0, l.find(' ')));
    std::vector<std::string> expected = {"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                                         "/sys/fs/cgroup"};
    ASSERT_GE(points.size(), expected.size()) << r.out;
    for (size_t i = 0; i < expected.size(); i++) EXPECT_EQ(points[i], expected[i]) << r.out;
    EXPECT_NE(line_for(r.out, "/").find(" ro,"), std::string::npos) << "root.readonly: " << r.out;
    EXPECT_NE(line_for(r.out, "/sys").find("sysfs ro,"), std::string::npos) << r.out;
    EXPECT_NE(line_for(r.out, "/dev/shm").find("nosuid,nodev,noexec"), std::string::npos) << r.out;
}

TEST_F(Mounts, BindReadOnlyAndRecursiveReadOnly) {
    std::string src = tmp() + "/src";
    make_dirs(src + "/sub");
    write_file_atomic(src + "/f", "data\n");
    ASSERT_EQ(::mount("tmpfs", (src + "/sub").c_str(), "tmpfs", 0, "size=64k"), 0);
    defer([src] { ::umount2((src + "/sub").c_str(), MNT_DETACH); });
    Json c = shell_config(
        "cat /ro/f; touch /ro/x 2>/dev/null || echo ro-top; touch /ro/sub/x && echo ro-sub-writable; "
        "touch /rro/sub/y 2>/dev/null || echo rro-sub; touch /rw/z && echo rw-ok");
    c["mounts"].push_back({{"destination", "/ro"}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "ro"}}});
    c["mounts"].push_back({{"destination", "/rro"}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "ro", "rro"}}});
    c["mounts"].push_back({{"destination", "/rw"}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "rw"}}});
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "data\nro-top\nro-sub-writable\nrro-sub\nrw-ok\n");
    EXPECT_TRUE(read_file_if_exists(src + "/z").has_value()) << "the rw bind writes to the host";
}

TEST_F(Mounts, RelativeBindSourceIsInTheBundle) {
    Json c = shell_config("cat /data/hello");
    c["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", "data"}, {"options", {"bind"}}});
    std::string b = bundle(c);
    make_dirs(b + "/data");
    write_file_atomic(b + "/data/hello", "from the bundle\n");
    std::string id = new_id();
    delete_at_end(id);
    auto r = ns({"run", "--bundle", b, id});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "from the bundle\n");
}

TEST_F(Mounts, TmpfsOptionsAndFileBind) {
    std::string file = tmp() + "/conf";
    write_file_atomic(file, "k=v\n");
    Json c = shell_config("stat -c %a /scratch; cat /etc/app.conf; " + mounts_script());
    c["mounts"].push_back({{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                           {"options", {"mode=1770", "size=1m", "noexec"}}});
    c["mounts"].push_back({{"destination", "/etc/app.conf"}, {"type", "bind"}, {"source", file}, {"options", {"bind", "ro"}}});
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out.substr(0, 9), "1770\nk=v\n");
    EXPECT_NE(line_for(r.out, "/scratch").find("noexec"), std::string::npos) << r.out;
    EXPECT_NE(line_for(r.out, "/etc/app.conf").find("ro,"), std::string::npos) << r.out;
}

TEST_F(Mounts, MaskedAndReadonlyPaths) {
    Json c = shell_config(
        "cat /proc/timer_list | wc -c; ls /proc/acpi | wc -l; "
        "echo 1 > /proc/sysrq-trigger 2>/dev/null || echo sysrq-ro; "
        "echo 100 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sys-ro; "
        "ls /proc/kcore >/dev/null 2>&1; echo done");
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "0\n0\nsysrq-ro\nsys-ro\ndone\n");
}

TEST_F(Mounts, DefaultDevicesAndLinks) {
    Json c = shell_config(
        "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; "
        "readlink /dev/ptmx; readlink /dev/fd; readlink /dev/stdin; head -c 3 /dev/zero | wc -c; echo x > /dev/full || echo full");
    c["linux"]["devices"] = {{{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"fileMode", 0600}}};
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out,
              "/dev/null character special file 1:3 666\n"
              "/dev/zero character special file 1:5 666\n"
              "/dev/full character special file 1:7 666\n"
              "/dev/random character special file 1:8 666\n"
              "/dev/urandom character special file 1:9 666\n"
              "/dev/tty character special file 5:0 666\n"
              "pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n3\nfull\n");
    Json d = shell_config("stat -c '%t:%T %a' /dev/fuse; cat /dev/fuse 2>&1 | grep -c 'Operation not permitted'");
    d["linux"]["devices"] = c["linux"]["devices"];
    auto fuse = run_container(d);
    EXPECT_EQ(fuse.out.substr(0, 9), "a:e5 600\n") << fuse;
}

TEST_F(Mounts, DeviceCgroupDeniesOtherDevices) {
    // A node the container can see (bound in from the test) but the device
    // rules do not allow: /dev/mem.
    std::string devs = tmp() + "/devs";
    make_dirs(devs);
    // A tmpfs of our own: the test's directory may be on a nodev mount (the
    // /dev/shm systemd makes), where every node is EACCES whatever the rules.
    ASSERT_EQ(::mount("tmpfs", devs.c_str(), "tmpfs", 0, "mode=0755"), 0) << devs;
    defer([devs] { ::umount2(devs.c_str(), MNT_DETACH); });
    ASSERT_EQ(::mknod((devs + "/mem").c_str(), S_IFCHR | 0600, makedev(1, 1)), 0);
    ASSERT_EQ(::mknod((devs + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    Json c = shell_config("head -c 1 /devs/mem 2>&1; head -c 1 /devs/null && echo null-ok; true");
    c["mounts"].push_back({{"destination", "/devs"}, {"type", "bind"}, {"source", devs}, {"options", {"rbind"}}});
    auto r = run_container(c);
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r;
    EXPECT_NE(r.out.find("null-ok"), std::string::npos) << r;
}

TEST_F(Mounts, PropagationIsPrivateByDefault) {
    auto r = run_container(shell_config("grep -c shared: /proc/self/mountinfo; true"));
    EXPECT_EQ(r.out, "0\n") << r;
}

TEST_F(Mounts, WritableRootWhenNotReadonly) {
    Json c = shell_config("echo hi > /written && cat /written");
    c["root"]["path"] = copy_rootfs();
    c["root"]["readonly"] = false;
    auto r = run_container(c);
    EXPECT_EQ(r.out, "hi\n") << r;
    auto ro = run_container(shell_config("echo hi > /written 2>/dev/null || echo read-only"));
    EXPECT_EQ(ro.out, "read-only\n") << ro;
}

TEST_F(Mounts, CgroupMountShowsTheContainersOwnCgroup) {
    // v1: a directory per hierarchy; pure v2: the container's own cgroup2
    // directory (its controllers' files only for what its resources enabled: pids).
    bool v2 = v2_only();
    Json c = shell_config(v2 ? "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids.max"
                             : "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max");
    c["linux"]["resources"]["pids"] = {{"limit", 77}};
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find(v2 ? "cgroup.controllers\n" : "memory\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("77\n"), std::string::npos) << r.out;
}
