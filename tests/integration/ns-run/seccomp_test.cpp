// linux.seccomp: the filter is loaded last before the program, with the
// spec's default action, architectures, argument conditions and errnoRet.
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Seccomp : public NsRunTest {};

Json profile(const std::string& default_action) {
    return {{"defaultAction", default_action},
            {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
            {"syscalls", Json::array()}};
}
} // namespace

TEST_F(Seccomp, FilterIsInPlaceAndDeniesWithErrnoRet) {
    Json c = shell_config("grep -E '^Seccomp' /proc/self/status; mkdir /tmp/x 2>&1; echo after");
    c["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    Json p = profile("SCMP_ACT_ALLOW");
    p["syscalls"].push_back({{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 28}});
    c["linux"]["seccomp"] = p;
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("Seccomp:\t2\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << "errnoRet 28 is ENOSPC: " << r.out;
    EXPECT_NE(r.out.find("after\n"), std::string::npos);
}

TEST_F(Seccomp, DenyOneSyscallWithEperm) {
    Json c = shell_config("echo allowed; mkdir /tmp/d 2>&1 || echo mkdir-denied");
    c["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    Json p = profile("SCMP_ACT_ALLOW");
    p["syscalls"].push_back({{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}});
    c["linux"]["seccomp"] = p;
    auto r = run_container(c);
    EXPECT_EQ(r.out, "allowed\nmkdir: can't create directory '/tmp/d': Operation not permitted\nmkdir-denied\n") << r;
}

TEST_F(Seccomp, ArgumentConditions) {
    // personality(0xffffffff) queries; anything else is denied.
    Json c = shell_config("busybox linux32 true && echo linux32-ran || echo linux32-denied; echo end");
    Json p = profile("SCMP_ACT_ALLOW");
    p["syscalls"].push_back({{"names", {"personality"}},
                             {"action", "SCMP_ACT_ERRNO"},
                             {"args", {{{"index", 0}, {"value", 0xffffffff}, {"op", "SCMP_CMP_NE"}}}}});
    c["linux"]["seccomp"] = p;
    auto r = run_container(c);
    EXPECT_EQ(r.out, "linux32-denied\nend\n") << r;
}

TEST_F(Seccomp, KillProcessAction) {
    Json c = shell_config("exec uname");
    Json p = profile("SCMP_ACT_ALLOW");
    p["syscalls"].push_back({{"names", {"uname"}}, {"action", "SCMP_ACT_KILL_PROCESS"}});
    c["linux"]["seccomp"] = p;
    auto r = run_container(c);
    EXPECT_EQ(r.status, 128 + 31) << "SIGSYS: " << r;
}

TEST_F(Seccomp, WithoutNoNewPrivileges) {
    // Loading a filter without no_new_privs needs CAP_SYS_ADMIN, which the
    // process does not keep: ns-run loads it before dropping it.
    Json c = shell_config("grep -E '^(Seccomp|NoNewPrivs|CapEff)' /proc/self/status; mkdir /x 2>&1 | grep -c denied");
    c["process"]["noNewPrivileges"] = false;
    Json p = profile("SCMP_ACT_ALLOW");
    p["syscalls"].push_back({{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 13}});
    c["linux"]["seccomp"] = p;
    auto r = run_container(c);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("NoNewPrivs:\t0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("CapEff:\t00000000200004"), std::string::npos) << "no CAP_SYS_ADMIN left: " << r.out;
    EXPECT_EQ(r.out.substr(r.out.size() - 2), "1\n") << "mkdir got the filter's EACCES: " << r.out;
}

TEST_F(Seccomp, ExecGetsTheContainersFilter) {
    Json c = shell_config("exec sleep 1000");
    c["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    Json p = profile("SCMP_ACT_ALLOW");
    p["syscalls"].push_back({{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}});
    c["linux"]["seccomp"] = p;
    std::string id = create_container(c, {}, true);
    auto r = ns({"exec", id, "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/d 2>&1"});
    EXPECT_EQ(r.out, "Seccomp:\t2\nmkdir: can't create directory '/tmp/d': Operation not permitted\n") << r;
}

TEST_F(Seccomp, BadProfileIsRefused) {
    Json c = base_config();
    c["linux"]["seccomp"] = profile("SCMP_ACT_DANCE");
    auto r = run_container(c);
    EXPECT_EQ(r.status, 3) << r;
}
