#include "linux/seccomp.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"

namespace ctk::linux::seccomp {

namespace {

struct Named {
    const char* name;
    uint64_t value;
};

constexpr Named operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

constexpr Named flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1UL << 5},
};

constexpr const char* actions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
};

constexpr const char* architectures[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",      "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64",  "SCMP_ARCH_RISCV64",
};

uint32_t action(const std::string& name, std::optional<uint32_t> errno_ret) {
    uint32_t err = errno_ret.value_or(EPERM);
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(err);
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(err);
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    throw_invalid("seccomp: unknown action " + quote(name));
}

scmp_compare op(const std::string& name) {
    for (const auto& o : operators)
        if (name == o.name) return static_cast<scmp_compare>(o.value);
    throw_invalid("seccomp: unknown operator " + quote(name));
}

uint32_t arch(const std::string& name) {
    std::string n = name;
    if (n.rfind("SCMP_ARCH_", 0) == 0) n = n.substr(10);
    n = to_lower(n);
    uint32_t a = seccomp_arch_resolve_name(n.c_str());
    if (a == 0) throw_invalid("seccomp: unknown architecture " + quote(name));
    return a;
}

void check(int rc, const std::string& what) {
    if (rc < 0) throw_errno("seccomp: " + what, -rc);
}

} // namespace

Program compile(const oci::Seccomp& spec) {
    uint32_t def = action(spec.default_action, spec.default_errno_ret);
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx) throw Error("seccomp: cannot initialise a filter", ErrorKind::failed);
    struct Release {
        scmp_filter_ctx c;
        ~Release() { seccomp_release(c); }
    } release{ctx};

    Program program;
    for (const auto& f : spec.flags) {
        bool known = false;
        for (const auto& k : flags)
            if (f == k.name) {
                program.flags |= static_cast<unsigned>(k.value);
                known = true;
            }
        if (!known) throw_invalid("seccomp: unknown flag " + quote(f));
    }
    // no_new_privs is the runtime's decision (process.noNewPrivileges), not the filter's.
    check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "no_new_privs attribute");
    check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize attribute");
    for (const auto& a : spec.architectures) {
        int rc = seccomp_arch_add(ctx, arch(a));
        if (rc < 0 && rc != -EEXIST) check(rc, "add architecture " + a);
    }
    for (const auto& rule : spec.syscalls) {
        uint32_t act = action(rule.action, rule.errno_ret);
        if (rule.action == "SCMP_ACT_NOTIFY") program.notify = true;
        if (act == def) continue; // libseccomp refuses a rule that repeats the default
        std::vector<scmp_arg_cmp> cmps;
        bool same_index_twice = false;
        for (const auto& arg : rule.args) {
            if (arg.index > 5) throw_invalid("seccomp: argument index " + std::to_string(arg.index) + " > 5");
            for (const auto& c : cmps) same_index_twice |= c.arg == arg.index;
            cmps.push_back(scmp_arg_cmp{arg.index, op(arg.op), arg.value, arg.value_two});
        }
        for (const auto& name : rule.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                program.unknown.push_back(name);
                continue;
            }
            if (!same_index_twice) {
                check(seccomp_rule_add_array(ctx, act, nr, static_cast<unsigned>(cmps.size()),
                                             cmps.empty() ? nullptr : cmps.data()),
                      "rule for " + name);
            } else {
                // libseccomp takes one comparison per argument in a rule: two
                // conditions on one argument become two rules (either matches), as runc does.
                for (const auto& c : cmps)
                    check(seccomp_rule_add_array(ctx, act, nr, 1, &c), "rule for " + name);
            }
        }
    }
    if (program.notify) program.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;

    int raw = ::memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (raw < 0) throw_errno("memfd_create");
    UniqueFd mem(raw);
    check(seccomp_export_bpf(ctx, mem.get()), "export the filter");
    ::lseek(mem.get(), 0, SEEK_SET);
    std::string bytes = read_fd(mem.get(), 16u << 20);
    if (bytes.size() % sizeof(sock_filter) != 0) throw Error("seccomp: exported filter has a bad size");
    program.filter.resize(bytes.size() / sizeof(sock_filter));
    std::memcpy(program.filter.data(), bytes.data(), bytes.size());
    return program;
}

UniqueFd load(const Program& program) {
    if (program.empty()) return UniqueFd();
    sock_fprog prog {};
    prog.len = static_cast<unsigned short>(program.filter.size());
    prog.filter = const_cast<sock_filter*>(program.filter.data());
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog);
    if (rc < 0) throw_errno("load the seccomp filter");
    if (program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return UniqueFd(static_cast<int>(rc));
    return UniqueFd();
}

std::vector<std::string> known_actions() { return {std::begin(actions), std::end(actions)}; }
std::vector<std::string> known_operators() {
    std::vector<std::string> out;
    for (const auto& o : operators) out.push_back(o.name);
    return out;
}
std::vector<std::string> known_architectures() {
    return {std::begin(architectures), std::end(architectures)};
}
std::vector<std::string> known_flags() {
    std::vector<std::string> out;
    for (const auto& f : flags) out.push_back(f.name);
    return out;
}

} // namespace ctk::linux::seccomp
