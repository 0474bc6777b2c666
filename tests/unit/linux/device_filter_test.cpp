// The cgroup v2 device filter, run through a small interpreter of the eBPF
// instructions it uses, so its verdicts are checked without a kernel.
#include <gtest/gtest.h>

#include "linux/cgroup.hpp"
#include "linux/device_filter.hpp"

using namespace ctk;
using namespace ctk::linux::cgroup;

namespace {

// bpf_cgroup_dev_ctx: access_type = (access << 16) | type, major, minor
// (include/uapi/linux/bpf.h).
bool run(const std::vector<bpf_insn>& prog, int type, int access, uint32_t major, uint32_t minor) {
    uint32_t ctx[3] = {static_cast<uint32_t>(access << 16 | type), major, minor};
    uint64_t r[11] = {};
    r[1] = 0; // the context "pointer": loads read ctx[off / 4]
    for (size_t pc = 0; pc < prog.size(); pc++) {
        const bpf_insn& i = prog[pc];
        switch (i.code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            EXPECT_EQ(i.src_reg, BPF_REG_1) << "only the context is read";
            r[i.dst_reg] = ctx[i.off / 4];
            break;
        case BPF_ALU64 | BPF_MOV | BPF_X: r[i.dst_reg] = r[i.src_reg]; break;
        case BPF_ALU64 | BPF_MOV | BPF_K: r[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm)); break;
        case BPF_ALU64 | BPF_AND | BPF_K: r[i.dst_reg] &= static_cast<uint64_t>(static_cast<int64_t>(i.imm)); break;
        case BPF_ALU64 | BPF_RSH | BPF_K: r[i.dst_reg] >>= i.imm; break;
        case BPF_JMP | BPF_JNE | BPF_K:
            if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            if (r[i.dst_reg] == static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
            break;
        case BPF_JMP | BPF_EXIT: return r[0] == 1;
        default: ADD_FAILURE() << "unexpected instruction " << int(i.code); return false;
        }
        EXPECT_LT(pc, prog.size()) << "jump out of the program";
    }
    ADD_FAILURE() << "fell off the end";
    return false;
}

oci::DeviceCgroup rule(bool allow, std::string type, int64_t major, int64_t minor, std::string access) {
    oci::DeviceCgroup d;
    d.allow = allow;
    d.type = std::move(type);
    if (major >= 0) d.major = major;
    if (minor >= 0) d.minor = minor;
    d.access = std::move(access);
    return d;
}

constexpr int C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr int R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

} // namespace

TEST(DeviceFilter, RuncDefaultsDenyAllButTheStandardNodes) {
    std::vector<oci::DeviceCgroup> rules = {rule(false, "a", -1, -1, "rwm")};
    for (const auto& d : default_device_rules()) rules.push_back(d);
    auto prog = device_filter_program(rules);
    EXPECT_TRUE(run(prog, C, R | W, 1, 3)) << "/dev/null";
    EXPECT_TRUE(run(prog, C, R, 1, 9)) << "/dev/urandom";
    EXPECT_TRUE(run(prog, C, R | W, 136, 4)) << "/dev/pts/4";
    EXPECT_TRUE(run(prog, C, M, 8, 0)) << "mknod of anything";
    EXPECT_TRUE(run(prog, B, M, 8, 0)) << "mknod of anything";
    EXPECT_FALSE(run(prog, B, R, 8, 0)) << "/dev/sda";
    EXPECT_FALSE(run(prog, C, R | W, 10, 200)) << "/dev/net/tun";
    EXPECT_FALSE(run(prog, C, R, 1, 1)) << "/dev/mem";
}

TEST(DeviceFilter, LastMatchingRuleWins) {
    auto prog = device_filter_program({rule(true, "a", -1, -1, "rwm"), rule(false, "c", 1, 3, "rwm")});
    EXPECT_FALSE(run(prog, C, R, 1, 3));
    EXPECT_TRUE(run(prog, C, R, 1, 5));
    EXPECT_TRUE(run(prog, B, W, 8, 1));
    auto again = device_filter_program({rule(false, "c", 1, 3, "rwm"), rule(true, "a", -1, -1, "rwm")});
    EXPECT_TRUE(run(again, C, R, 1, 3)) << "a later allow-all overrides";
}

TEST(DeviceFilter, PartialAccess) {
    auto prog = device_filter_program({rule(true, "c", 1, 3, "r")});
    EXPECT_TRUE(run(prog, C, R, 1, 3));
    EXPECT_FALSE(run(prog, C, R | W, 1, 3)) << "read is granted, write is not";
    EXPECT_FALSE(run(prog, C, W, 1, 3));
    auto deny_w = device_filter_program({rule(true, "a", -1, -1, "rwm"), rule(false, "c", 1, 3, "w")});
    EXPECT_TRUE(run(deny_w, C, R, 1, 3));
    EXPECT_FALSE(run(deny_w, C, R | W, 1, 3));
}

TEST(DeviceFilter, WildcardMinorAndNoRules) {
    auto prog = device_filter_program({rule(true, "c", 136, -1, "rw")});
    EXPECT_TRUE(run(prog, C, R, 136, 0));
    EXPECT_TRUE(run(prog, C, W, 136, 77));
    EXPECT_FALSE(run(prog, B, R, 136, 0)) << "type matters";
    EXPECT_FALSE(run(device_filter_program({}), C, R, 1, 3)) << "no rule: deny";
}
