#include "linux/device_filter.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"

namespace ctk::linux::cgroup {

namespace {
constexpr int all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

int access_bits(const std::string& access) {
    if (access.empty()) return all;
    int bits = 0;
    for (char c : access) {
        if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
        else if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
        else if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
        else throw_invalid("device rule: unknown access " + quote(access));
    }
    return bits;
}

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i {};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

// One rule's test: jumps past itself (to the next rule) on any mismatch,
// otherwise returns the rule's verdict.
std::vector<bpf_insn> rule_block(const oci::DeviceCgroup& r) {
    std::vector<bpf_insn> checks;
    // Registers (set up by the prologue): r2 device type, r3 access, r4 major, r5 minor.
    if (!r.type.empty() && r.type != "a") {
        int type = r.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
        checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, type));
    }
    if (r.major && *r.major >= 0)
        checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, static_cast<int32_t>(*r.major)));
    if (r.minor && *r.minor >= 0)
        checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, static_cast<int32_t>(*r.minor)));
    int access = access_bits(r.access);
    if (access != all) {
        // allow: every requested bit is granted; deny: any requested bit is denied.
        checks.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
        if (r.allow) {
            checks.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, ~access & all));
            checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, 0, 0));
        } else {
            checks.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, access));
            checks.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 0, 0));
        }
    }
    std::vector<bpf_insn> block = checks;
    block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
    block.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    // Each jump leaves the block: its offset is the distance to the block's end.
    for (size_t i = 0; i < checks.size(); i++)
        if (BPF_CLASS(block[i].code) == BPF_JMP) block[i].off = static_cast<int16_t>(block.size() - i - 1);
    return block;
}
} // namespace

std::vector<bpf_insn> device_filter_program(const std::vector<oci::DeviceCgroup>& rules) {
    std::vector<bpf_insn> prog = {
        // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
        // access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),
        insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0),
        insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff),
        insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),
    };
    // The last matching rule wins: test them from the last to the first.
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
        auto block = rule_block(*it);
        prog.insert(prog.end(), block.begin(), block.end());
        // A rule for every device of every type ends the search.
        if ((it->type.empty() || it->type == "a") && !(it->major && *it->major >= 0) &&
            !(it->minor && *it->minor >= 0) && access_bits(it->access) == all)
            return prog;
    }
    prog.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
    prog.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return prog;
}

UniqueFd load_device_filter(const std::vector<bpf_insn>& program) {
    static char log[16384];
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = reinterpret_cast<uint64_t>(program.data());
    attr.insn_cnt = static_cast<uint32_t>(program.size());
    attr.license = reinterpret_cast<uint64_t>("Apache-2.0");
    long fd = ::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (fd < 0 && (errno == EACCES || errno == EINVAL)) {
        // Ask the verifier why (the log is only allowed with a log level).
        int err = errno;
        attr.log_buf = reinterpret_cast<uint64_t>(log);
        attr.log_size = sizeof log;
        attr.log_level = 1;
        log[0] = 0;
        ::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
        std::string why(log);
        while (!why.empty() && why.back() == '\n') why.pop_back();
        auto nl = why.rfind('\n');
        if (nl != std::string::npos) why = why.substr(nl + 1);
        throw Error("load the device filter: " + errno_text(err) + ": " + why, ErrorKind::failed, err);
    }
    if (fd < 0) throw_errno("load the device filter");
    return UniqueFd(static_cast<int>(fd));
}

void attach_device_filter(int cgroup_fd, int program_fd) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(program_fd);
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) < 0)
        throw_errno("attach the device filter");
}

} // namespace ctk::linux::cgroup
