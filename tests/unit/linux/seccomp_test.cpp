#include <gtest/gtest.h>

#include <linux/seccomp.h>

#include "core/error.hpp"
#include "linux/seccomp.hpp"

using namespace ctk;
using namespace ctk::linux;

namespace {
oci::Seccomp profile() {
    oci::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    oci::SeccompSyscall deny;
    deny.names = {"mkdir", "mkdirat", "no_such_syscall_here"};
    deny.action = "SCMP_ACT_ERRNO";
    deny.errno_ret = 38;
    s.syscalls.push_back(deny);
    oci::SeccompSyscall personality;
    personality.names = {"personality"};
    personality.action = "SCMP_ACT_ERRNO";
    personality.args = {{0, 0x0008, 0, "SCMP_CMP_NE"}, {0, 0xffffffff, 0, "SCMP_CMP_NE"}};
    s.syscalls.push_back(personality);
    return s;
}
} // namespace

TEST(Seccomp, CompilesToABpfProgram) {
    auto p = seccomp::compile(profile());
    EXPECT_GT(p.filter.size(), 10u);
    EXPECT_FALSE(p.notify);
    EXPECT_EQ(p.flags, 0u);
    EXPECT_EQ(p.unknown, std::vector<std::string>{"no_such_syscall_here"}) << "skipped and listed";
}

TEST(Seccomp, FlagsAndNotify) {
    auto s = profile();
    s.flags = {"SECCOMP_FILTER_FLAG_LOG"};
    oci::SeccompSyscall n;
    n.names = {"chmod"};
    n.action = "SCMP_ACT_NOTIFY";
    s.syscalls.push_back(n);
    auto p = seccomp::compile(s);
    EXPECT_TRUE(p.notify);
    EXPECT_EQ(p.flags, static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_NEW_LISTENER));
}

TEST(Seccomp, BadProfilesAreInvalid) {
    auto bad_action = profile();
    bad_action.default_action = "SCMP_ACT_EXPLODE";
    EXPECT_THROW(seccomp::compile(bad_action), Error);
    auto bad_arch = profile();
    bad_arch.architectures = {"SCMP_ARCH_VAX"};
    EXPECT_THROW(seccomp::compile(bad_arch), Error);
    auto bad_op = profile();
    bad_op.syscalls[1].args[0].op = "SCMP_CMP_ABOUT";
    EXPECT_THROW(seccomp::compile(bad_op), Error);
}
