#include "image/seccomp.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/error.hpp"

namespace ctk::image {

namespace {

// Docker's native architecture names (libseccomp's) from uname's machine.
std::string native_arch(std::string_view machine) {
    static const std::map<std::string_view, std::string_view> names = {
        {"x86_64", "amd64"},   {"i386", "x86"},         {"i686", "x86"},
        {"aarch64", "arm64"},  {"armv7l", "arm"},       {"armv6l", "arm"},
        {"ppc64le", "ppc64le"}, {"ppc64", "ppc64"},     {"s390x", "s390x"},
        {"riscv64", "riscv64"}, {"loongarch64", "loong64"}, {"mips64", "mips64"},
    };
    auto it = names.find(machine);
    return std::string(it == names.end() ? machine : it->second);
}

// native name -> SCMP_ARCH_* (moby seccomp_linux.go nativeToSeccomp)
std::string scmp_arch(std::string_view native) {
    static const std::map<std::string_view, std::string_view> names = {
        {"x86", "SCMP_ARCH_X86"},         {"amd64", "SCMP_ARCH_X86_64"},
        {"arm", "SCMP_ARCH_ARM"},         {"arm64", "SCMP_ARCH_AARCH64"},
        {"loong64", "SCMP_ARCH_LOONGARCH64"}, {"mips64", "SCMP_ARCH_MIPS64"},
        {"mips64n32", "SCMP_ARCH_MIPS64N32"}, {"mipsel64", "SCMP_ARCH_MIPSEL64"},
        {"mipsel64n32", "SCMP_ARCH_MIPSEL64N32"}, {"mipsle", "SCMP_ARCH_MIPSEL"},
        {"ppc", "SCMP_ARCH_PPC"},         {"ppc64", "SCMP_ARCH_PPC64"},
        {"ppc64le", "SCMP_ARCH_PPC64LE"}, {"riscv64", "SCMP_ARCH_RISCV64"},
        {"s390", "SCMP_ARCH_S390"},       {"s390x", "SCMP_ARCH_S390X"},
    };
    auto it = names.find(native);
    return it == names.end() ? "" : std::string(it->second);
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// j[key] into `out` (an optional's value) where it is present and not null.
template <typename T> void read_if_set(const Json& j, const char* key, T& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if constexpr (requires { out.has_value(); }) out = it->template get<typename T::value_type>();
    else out = it->template get<T>();
}

struct Condition {
    std::vector<std::string> arches, caps;
    std::optional<std::pair<int, int>> min_kernel;
};

Condition read_condition(const Json& j, const std::string& what) {
    Condition c;
    if (!j.is_object()) throw_invalid(what + ": expected an object");
    if (j.contains("arches")) c.arches = j["arches"].get<std::vector<std::string>>();
    if (j.contains("caps")) c.caps = j["caps"].get<std::vector<std::string>>();
    if (j.contains("minKernel") && !j["minKernel"].is_null()) {
        std::string v = j["minKernel"].get<std::string>();
        int major = 0, minor = 0;
        if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) < 1)
            throw_invalid(what + ": minKernel " + quote(v) + " is not a kernel version");
        c.min_kernel = std::pair{major, minor};
    }
    return c;
}

} // namespace

SeccompTarget SeccompTarget::host(std::vector<std::string> capabilities) {
    struct utsname u;
    ::uname(&u);
    SeccompTarget t;
    t.arch = native_arch(u.machine);
    std::sscanf(u.release, "%d.%d", &t.kernel_major, &t.kernel_minor);
    t.capabilities = std::move(capabilities);
    return t;
}

oci::Seccomp seccomp_for(const Json& profile, const SeccompTarget& target, std::string_view what_) {
    std::string what(what_);
    if (!profile.is_object()) throw_invalid(what + ": expected a JSON object");
    oci::Seccomp out;
    try {
        out.default_action = profile.value("defaultAction", "");
        if (out.default_action.empty()) throw_invalid(what + ": no defaultAction");
        read_if_set(profile, "defaultErrnoRet", out.default_errno_ret);
        read_if_set(profile, "flags", out.flags);
        out.listener_path = profile.value("listenerPath", "");
        out.listener_metadata = profile.value("listenerMetadata", "");
        bool has_arches = profile.contains("architectures") && !profile["architectures"].empty();
        bool has_map = profile.contains("archMap") && !profile["archMap"].empty();
        if (has_arches && has_map)
            throw_invalid(what + ": both \"architectures\" and \"archMap\" are given");
        if (has_arches) out.architectures = profile["architectures"].get<std::vector<std::string>>();
        if (has_map) {
            std::string native = scmp_arch(target.arch);
            for (const auto& m : profile["archMap"]) {
                if (m.value("architecture", "") != native) continue;
                out.architectures.push_back(native);
                if (m.contains("subArchitectures") && !m["subArchitectures"].is_null())
                    for (const auto& sub : m["subArchitectures"]) out.architectures.push_back(sub);
                break;
            }
        }
        auto kernel_at_least = [&](std::pair<int, int> v) {
            return std::pair{target.kernel_major, target.kernel_minor} >= v;
        };
        if (profile.contains("syscalls") && !profile["syscalls"].is_null()) {
            for (const auto& call : profile["syscalls"]) {
                oci::SeccompSyscall s;
                if (call.contains("name") && !call["name"].get<std::string>().empty()) {
                    if (call.contains("names") && !call["names"].empty())
                        throw_invalid(what + ": a rule has both \"name\" and \"names\"");
                    s.names = {call["name"].get<std::string>()};
                } else {
                    s.names = call.value("names", std::vector<std::string>{});
                }
                if (call.contains("excludes") && !call["excludes"].is_null()) {
                    Condition c = read_condition(call["excludes"], what);
                    if (contains(c.arches, target.arch)) continue;
                    if (std::any_of(c.caps.begin(), c.caps.end(),
                                    [&](const std::string& cap) { return contains(target.capabilities, cap); }))
                        continue;
                    if (c.min_kernel && kernel_at_least(*c.min_kernel)) continue;
                }
                if (call.contains("includes") && !call["includes"].is_null()) {
                    Condition c = read_condition(call["includes"], what);
                    if (!c.arches.empty() && !contains(c.arches, target.arch)) continue;
                    if (!std::all_of(c.caps.begin(), c.caps.end(),
                                     [&](const std::string& cap) { return contains(target.capabilities, cap); }))
                        continue;
                    if (c.min_kernel && !kernel_at_least(*c.min_kernel)) continue;
                }
                s.action = call.value("action", "");
                if (s.action.empty()) throw_invalid(what + ": a rule has no action");
                read_if_set(call, "errnoRet", s.errno_ret);
                read_if_set(call, "args", s.args);
                out.syscalls.push_back(std::move(s));
            }
        }
    } catch (const Json::exception& e) {
        throw_invalid(what + ": " + e.what());
    }
    return out;
}

} // namespace ctk::image
