// CVE-2019-16884: a rootfs whose /proc is a symlink, or a mount that puts
// something other than procfs on /proc, is refused: the runtime writes
// security attributes through /proc and must not be fooled.
#include <unistd.h>

#include "core/fs.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Cve201916884 : public NsRunTest {};
} // namespace

TEST_F(Cve201916884, ProcAsASymlinkIsRefused) {
    std::string rootfs = copy_rootfs();
    ASSERT_EQ(::rmdir((rootfs + "/proc").c_str()), 0);
    make_dirs(rootfs + "/fakeproc/self/attr");
    ASSERT_EQ(::symlink("fakeproc", (rootfs + "/proc").c_str()), 0);
    Json c = shell_config("echo RAN");
    c["root"]["path"] = rootfs;
    auto r = run_container(c);
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos) << r;
    EXPECT_NE(r.err.find("symlink"), std::string::npos) << r;
}

TEST_F(Cve201916884, FakeProcMountIsRefused) {
    std::string fake = tmp() + "/fakeproc";
    make_dirs(fake + "/self/attr");
    write_file_atomic(fake + "/self/attr/exec", "");
    Json c = shell_config("echo RAN");
    c["mounts"].push_back({{"destination", "/proc"}, {"type", "bind"}, {"source", fake}, {"options", {"rbind"}}});
    auto r = run_container(c);
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos) << r;
    EXPECT_NE(r.err.find("procfs"), std::string::npos) << r;
}

TEST_F(Cve201916884, MountsInsideProcOnlyWhereLxcfsGoes) {
    std::string file = tmp() + "/uptime";
    write_file_atomic(file, "1.00 2.00\n");
    Json ok = shell_config("cat /proc/uptime");
    ok["mounts"].push_back({{"destination", "/proc/uptime"}, {"type", "bind"}, {"source", file}, {"options", {"bind", "ro"}}});
    auto r = run_container(ok);
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "1.00 2.00\n");

    Json bad = shell_config("echo RAN");
    bad["mounts"].push_back({{"destination", "/proc/sys/kernel"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    auto refused = run_container(bad);
    EXPECT_EQ(refused.status, 3) << refused;
    EXPECT_EQ(refused.out.find("RAN"), std::string::npos);
}

TEST_F(Cve201916884, ProcfsOnlyOnProc) {
    Json c = shell_config("echo RAN");
    c["mounts"].push_back({{"destination", "/tmp/proc2"}, {"type", "proc"}, {"source", "proc"}});
    c["root"]["readonly"] = false;
    c["root"]["path"] = copy_rootfs();
    auto r = run_container(c);
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos);
}
