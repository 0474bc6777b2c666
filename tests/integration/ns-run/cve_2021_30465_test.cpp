// CVE-2021-30465: mount destinations are resolved inside the rootfs, through
// fds, so neither a symlink in the image nor one swapped into a shared volume
// while the container starts can put a mount (or a new directory) on the host.
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Cve202130465 : public NsRunTest {
protected:
    bool host_has(const std::string& p) {
        struct stat st {};
        return ::lstat(p.c_str(), &st) == 0;
    }
};
} // namespace

TEST_F(Cve202130465, AbsoluteSymlinkDestinationStaysInside) {
    // A host directory outside anything the container mounts (not under /dev).
    TempDir host_tmp("ctk-30465", "/tmp");
    std::string host_dir = host_tmp.path() + "/host-target";
    make_dirs(host_dir);
    write_file_atomic(host_dir + "/marker", "host\n");
    std::string rootfs = copy_rootfs();
    make_dirs(rootfs + "/mnt");
    ASSERT_EQ(::symlink(host_dir.c_str(), (rootfs + "/mnt/link").c_str()), 0);
    Json c = shell_config("ls -a /mnt/link; grep -c ' " + host_dir + " ' /proc/self/mountinfo");
    c["root"]["path"] = rootfs;
    c["mounts"].push_back({{"destination", "/mnt/link"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, ".\n..\n1\n") << "the tmpfs sits at the in-root place the link names";
    EXPECT_TRUE(host_has(rootfs + host_dir)) << "made inside the rootfs";
    EXPECT_EQ(read_file(host_dir + "/marker"), "host\n");
}

TEST_F(Cve202130465, DotDotDestinationStaysInside) {
    std::string name = "ctk-30465-" + std::to_string(::getpid());
    Json c = shell_config("test -d /" + name + " && echo INSIDE");
    std::string rootfs = copy_rootfs();
    c["root"]["path"] = rootfs;
    c["mounts"].push_back(
        {{"destination", "/../../../../../../" + name}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "INSIDE\n");
    EXPECT_FALSE(host_has("/" + name));
}

// A container swaps a directory of a shared volume for a symlink to "/" and
// back, as fast as it can, while another one starts with a mount below it.
TEST_F(Cve202130465, SymlinkSwapRaceInASharedVolume) {
    std::string volume = tmp() + "/volume";
    make_dirs(volume + "/t");
    std::string name = "ctk-30465-race-" + std::to_string(::getpid());
    Json attacker = shell_config(
        "cd /vol; while :; do rm -rf t; ln -s / t; rm -f t; mkdir t; done");
    attacker["mounts"].push_back({{"destination", "/vol"}, {"type", "bind"}, {"source", volume}, {"options", {"rbind", "rw"}}});
    std::string aid = create_container(attacker, {}, true);
    for (int i = 0; i < 25; i++) {
        Json victim = shell_config("true");
        victim["root"]["path"] = shared_rootfs();
        victim["mounts"].push_back({{"destination", "/vol"}, {"type", "bind"}, {"source", volume}, {"options", {"rbind", "rw"}}});
        victim["mounts"].push_back({{"destination", "/vol/t/" + name}, {"type", "tmpfs"}, {"source", "tmpfs"}});
        auto r = run_container(victim);
        // Either outcome of the race is fine (the mount landed in the volume,
        // or the run failed on a changing path); the host must stay untouched.
        EXPECT_TRUE(r.status == 0 || r.status == 1 || r.status == 3 || r.status == 4) << r;
        ASSERT_FALSE(host_has("/" + name)) << "iteration " << i << " created a directory on the host";
    }
    ns({"kill", aid, "KILL"});
    EXPECT_FALSE(host_has("/" + name));
}
