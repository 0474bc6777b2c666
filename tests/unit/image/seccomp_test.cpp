#include "image/seccomp.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace ctk;
using namespace ctk::image;

namespace {

Json docker_profile() { return parse_json(default_seccomp_profile(), "default"); }

SeccompTarget target(std::string arch, std::vector<std::string> caps, int major = 6, int minor = 1) {
    SeccompTarget t;
    t.arch = std::move(arch);
    t.kernel_major = major;
    t.kernel_minor = minor;
    t.capabilities = std::move(caps);
    return t;
}

// The rules allowing `name`.
std::vector<const oci::SeccompSyscall*> rules_for(const oci::Seccomp& s, const std::string& name) {
    std::vector<const oci::SeccompSyscall*> out;
    for (const auto& r : s.syscalls)
        if (std::find(r.names.begin(), r.names.end(), name) != r.names.end()) out.push_back(&r);
    return out;
}

} // namespace

TEST(Seccomp, DefaultProfileIsDockers) {
    Json p = docker_profile();
    EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_TRUE(p.contains("archMap"));
    EXPECT_GT(p["syscalls"].size(), 20u);
}

TEST(Seccomp, Amd64WithoutSysAdmin) {
    oci::Seccomp s = seccomp_for(docker_profile(), target("amd64", {"CAP_CHOWN", "CAP_KILL"}));
    EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(s.default_errno_ret, 1u);
    EXPECT_EQ(s.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
    EXPECT_FALSE(rules_for(s, "read").empty());
    EXPECT_FALSE(rules_for(s, "arch_prctl").empty());
    EXPECT_TRUE(rules_for(s, "mount").empty());
    EXPECT_TRUE(rules_for(s, "reboot").empty());
    EXPECT_TRUE(rules_for(s, "set_tls").empty()); // arm only
    // clone only without namespace flags; clone3 fails with ENOSYS so libc falls back
    auto clone = rules_for(s, "clone");
    ASSERT_EQ(clone.size(), 1u);
    ASSERT_EQ(clone[0]->args.size(), 1u);
    EXPECT_EQ(clone[0]->args[0].op, "SCMP_CMP_MASKED_EQ");
    auto clone3 = rules_for(s, "clone3");
    ASSERT_EQ(clone3.size(), 1u);
    EXPECT_EQ(clone3[0]->action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(clone3[0]->errno_ret, 38u);
    // ptrace needs kernel 4.8 (minKernel)
    EXPECT_FALSE(rules_for(s, "ptrace").empty());
    EXPECT_TRUE(rules_for(seccomp_for(docker_profile(), target("amd64", {}, 4, 4)), "ptrace").empty());
}

TEST(Seccomp, CapabilitiesWidenTheProfile) {
    oci::Seccomp s = seccomp_for(docker_profile(), target("amd64", {"CAP_SYS_ADMIN", "CAP_SYS_BOOT"}));
    EXPECT_FALSE(rules_for(s, "mount").empty());
    EXPECT_FALSE(rules_for(s, "reboot").empty());
    // with CAP_SYS_ADMIN clone and clone3 are allowed without conditions
    for (const auto* r : rules_for(s, "clone")) EXPECT_TRUE(r->args.empty());
    for (const auto* r : rules_for(s, "clone3")) EXPECT_EQ(r->action, "SCMP_ACT_ALLOW");
}

TEST(Seccomp, OtherArchitecture) {
    oci::Seccomp s = seccomp_for(docker_profile(), target("arm64", {}));
    EXPECT_EQ(s.architectures, (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
    EXPECT_TRUE(rules_for(s, "arch_prctl").empty());
    EXPECT_FALSE(rules_for(s, "set_tls").empty());
}

TEST(Seccomp, OciProfilesAndErrors) {
    Json oci = {{"defaultAction", "SCMP_ACT_ALLOW"},
                {"architectures", {"SCMP_ARCH_X86_64"}},
                {"syscalls", {{{"names", {"mount"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
    oci::Seccomp s = seccomp_for(oci, target("amd64", {}));
    EXPECT_EQ(s.default_action, "SCMP_ACT_ALLOW");
    ASSERT_EQ(s.syscalls.size(), 1u);
    EXPECT_EQ(s.syscalls[0].errno_ret, 1u);
    Json both = oci;
    both["archMap"] = Json::array({{{"architecture", "SCMP_ARCH_X86_64"}}});
    EXPECT_THROW(seccomp_for(both, target("amd64", {})), Error);
    EXPECT_THROW(seccomp_for(Json::object(), target("amd64", {})), Error);
    Json bad = oci;
    bad["syscalls"][0]["args"] = "nope";
    EXPECT_THROW(seccomp_for(bad, target("amd64", {})), Error);
}
