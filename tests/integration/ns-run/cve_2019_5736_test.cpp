// CVE-2019-5736: a container that gets the runtime's binary executed inside
// it (its /bin/sh is a link to /proc/self/exe) must not be able to write to
// that binary through /proc/PID/exe. ns-run runs every process that enters a
// container from a detached read-only bind mount of itself. The tests open
// the binary for writing with O_TRUNC, which checks the mount (EROFS) before
// "text file busy": the error names the protection, not the timing.
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Cve20195736 : public NsRunTest {
protected:
    std::string binary_hash() {
        auto r = run_command({"sha256sum", tool_path("ns-run")});
        EXPECT_EQ(r.status, 0) << r;
        return r.out.substr(0, 64);
    }
};

Json all_caps(Json c) {
    Json caps = Json::array();
    for (const char* cap : {"CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
                            "CAP_SYS_ADMIN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"})
        caps.push_back(cap);
    for (const char* set : {"bounding", "effective", "permitted"}) c["process"]["capabilities"][set] = caps;
    c["process"]["noNewPrivileges"] = false;
    return c;
}
} // namespace

// With --init, pid 1 of the container runs ns-run's code for the container's
// whole life: the clearest target. Even with CAP_SYS_PTRACE the container
// reads the binary but cannot write it.
TEST_F(Cve20195736, InitBinaryIsReadOnlyFromInside) {
    std::string before = binary_hash();
    auto r = run_container(all_caps(shell_config(
                               "busybox head -c 4 /proc/1/exe | busybox od -c | busybox head -1; "
                               "echo pwned > /proc/1/exe && echo WROTE; "
                               "busybox truncate -s 0 /proc/1/exe && echo TRUNCATED; exit 0")),
                           {"--init"});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("E   L   F"), std::string::npos) << "the container did reach the binary: " << r;
    EXPECT_EQ(r.out.find("WROTE"), std::string::npos) << r;
    EXPECT_EQ(r.out.find("TRUNCATED"), std::string::npos) << r;
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r;
    EXPECT_EQ(binary_hash(), before);
}

// The attack of the CVE: the image's /bin/sh is /proc/self/exe, an admin runs
// `exec ID /bin/sh`, the runtime binary runs inside the container and a
// process of the container opens it through /proc/PID/exe.
TEST_F(Cve20195736, ExecOfAShLinkedToProcSelfExe) {
    std::string before = binary_hash();
    std::string rootfs = copy_rootfs();
    ::unlink((rootfs + "/bin/sh").c_str());
    ASSERT_EQ(::symlink("/proc/self/exe", (rootfs + "/bin/sh").c_str()), 0);
    // A fake created container inside, so that the ns-run run there as
    // "/bin/sh --root /tmp/st start fake" keeps waiting for its start fifo.
    make_dirs(rootfs + "/tmp/st/fake");
    write_file_atomic(rootfs + "/tmp/st/fake/state.json",
                      R"({"id":"fake","pid":1,"pidStart":0,"created":"x","config":{"ociVersion":"1.0.0"}})");
    ASSERT_EQ(::mkfifo((rootfs + "/tmp/st/fake/exec.fifo").c_str(), 0600), 0);
    Json c = all_caps(base_config());
    c["root"]["path"] = rootfs;
    c["root"]["readonly"] = false;
    c["process"]["args"] = {"/bin/busybox", "sleep", "1000"};
    std::string id = create_container(c, {}, true);

    // The runtime binary does get executed inside the container:
    auto usage = ns({"exec", id, "/bin/sh"});
    EXPECT_EQ(usage.status, 2) << usage;
    EXPECT_NE(usage.err.find("ns-run"), std::string::npos) << usage;

    std::string pidfile = tmp() + "/victim.pid";
    auto victim = ns_detached({"exec", "-d", "--pid-file", pidfile, id, "/bin/sh", "--root", "/tmp/st", "start", "fake"});
    ASSERT_EQ(victim.status, 0) << victim;
    std::string host_pid = std::string(trim(read_file(pidfile)));
    std::string status = read_file("/proc/" + host_pid + "/status");
    auto at = status.find("NSpid:");
    ASSERT_NE(at, std::string::npos);
    auto fields = split(std::string(trim(status.substr(at + 6, status.find('\n', at) - at - 6))), '\t');
    std::string inner = fields.back();
    ASSERT_FALSE(inner.empty());
    auto attack = ns({"exec", id, "/bin/busybox", "sh", "-c",
                      "busybox tr '\\0' ' ' < /proc/" + inner + "/cmdline; echo; "
                      "busybox head -c 4 /proc/" + inner + "/exe | busybox od -c | busybox head -1; "
                      "echo pwned > /proc/" + inner + "/exe && echo WROTE; exit 0"});
    EXPECT_EQ(attack.status, 0) << attack;
    EXPECT_NE(attack.out.find("/bin/sh --root /tmp/st start fake"), std::string::npos) << attack;
    EXPECT_NE(attack.out.find("E   L   F"), std::string::npos) << attack;
    EXPECT_EQ(attack.out.find("WROTE"), std::string::npos) << attack;
    EXPECT_NE(attack.err.find("Read-only file system"), std::string::npos) << attack;
    EXPECT_EQ(binary_hash(), before);
}
