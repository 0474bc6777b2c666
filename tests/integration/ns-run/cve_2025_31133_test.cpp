// CVE-2025-31133: masked files are covered with /dev/null; a /dev/null that
// is a symlink (to /proc/sys/kernel/core_pattern, say) or a plain file must
// not be bound in its place. ns-run checks the node through the fd it binds.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Cve202531133 : public NsRunTest {
protected:
    // A bundle whose /dev is a directory of the test's (bound, so ns-run makes
    // no devices of its own) holding `null` as the test sets it up.
    Json with_dev(const std::string& dev) {
        Json c = shell_config("echo RAN; cat /proc/timer_list | head -c 1");
        c["mounts"].push_back({{"destination", "/dev"}, {"type", "bind"}, {"source", dev}, {"options", {"rbind", "rw"}}});
        c["linux"]["maskedPaths"] = {"/proc/timer_list", "/proc/sysrq-trigger"};
        return c;
    }
};
} // namespace

TEST_F(Cve202531133, DevNullSymlinkIsRefused) {
    std::string before = read_file("/proc/sys/kernel/core_pattern");
    std::string dev = tmp() + "/dev";
    make_dirs(dev);
    ASSERT_EQ(::symlink("/proc/sys/kernel/core_pattern", (dev + "/null").c_str()), 0);
    auto r = run_container(with_dev(dev));
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos) << r;
    EXPECT_NE(r.err.find("/dev/null"), std::string::npos) << r;
    EXPECT_EQ(read_file("/proc/sys/kernel/core_pattern"), before);
}

TEST_F(Cve202531133, DevNullPlainFileIsRefused) {
    std::string dev = tmp() + "/dev";
    make_dirs(dev);
    write_file_atomic(dev + "/null", "not a device\n");
    auto r = run_container(with_dev(dev));
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos) << r;
}

TEST_F(Cve202531133, RealDevNullMasks) {
    std::string dev = tmp() + "/dev";
    make_dirs(dev);
    ASSERT_EQ(::mknod((dev + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    auto r = run_container(with_dev(dev));
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "RAN\n") << "the masked file reads empty";
}
