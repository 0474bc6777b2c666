#include "linux/seccomp.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
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

namespace {

// What else a compiled program depends on besides the filter's text.
Json compile_context() {
    const scmp_version* v = seccomp_version();
    return Json{{"format", 1},
                {"libseccomp", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                   std::to_string(v->micro)},
                {"api", seccomp_api_get()},
                {"arch", seccomp_arch_native()}};
}

// FNV-1a, 64 bits: only names the entry; the entry is checked against the
// whole text before it is used.
std::string entry_name(const std::string& text) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return std::string(buf) + ".json";
}

std::optional<Program> read_entry(const std::string& path, const Json& context, const std::string& text) {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f) return std::nullopt;
    struct stat st {};
    if (::fstat(f.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return std::nullopt;
    try {
        Json j = parse_json_text(read_fd(f.get(), 8u << 20), "seccomp cache");
        if (j.at("context") != context || j.at("source").get<std::string>() != text) return std::nullopt;
        Program p;
        p.flags = j.at("flags").get<unsigned>();
        p.notify = j.at("notify").get<bool>();
        p.unknown = j.at("unknown").get<std::vector<std::string>>();
        for (const auto& ins : j.at("filter")) {
            if (!ins.is_array() || ins.size() != 4) return std::nullopt;
            p.filter.push_back(sock_filter{ins[0].get<uint16_t>(), ins[1].get<uint8_t>(), ins[2].get<uint8_t>(),
                                           ins[3].get<uint32_t>()});
        }
        if (p.filter.empty() || p.filter.size() > BPF_MAXINSNS) return std::nullopt;
        return p;
    } catch (const std::exception&) {
        return std::nullopt; // a torn or foreign file: compile again
    }
}

void write_entry(const std::string& dir, const std::string& path, const Json& context, const std::string& text,
                 const Program& p) {
    Json filter = Json::array();
    for (const auto& ins : p.filter) filter.push_back(Json::array({ins.code, ins.jt, ins.jf, ins.k}));
    Json j{{"context", context}, {"source", text}, {"flags", p.flags}, {"notify", p.notify},
           {"unknown", p.unknown}, {"filter", std::move(filter)}};
    try {
        if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return;
        write_file_atomic(path, j.dump(), 0600);
    } catch (const std::exception&) {
        // a cache that cannot be written only costs the next start the compile
    }
}

} // namespace

Program compile_cached(const oci::Seccomp& spec, const std::string& cache_dir) {
    if (cache_dir.empty()) return compile(spec);
    Json source = spec;
    std::string text = source.dump();
    Json context = compile_context();
    std::string path = cache_dir + "/" + entry_name(text);
    if (auto p = read_entry(path, context, text)) return *p;
    Program p = compile(spec);
    write_entry(cache_dir, path, context, text, p);
    return p;
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
