#include "linux/capability.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cstring>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::linux {

std::optional<int> parse_capability(const std::string& name) {
    cap_value_t v;
    std::string lower = to_lower(name);
    if (cap_from_name(lower.c_str(), &v) != 0) return std::nullopt;
    return static_cast<int>(v);
}

std::string capability_name(int cap) {
    char* n = cap_to_name(static_cast<cap_value_t>(cap));
    std::string out = n ? n : "cap_" + std::to_string(cap);
    cap_free(n);
    for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    return out;
}

int last_capability() { return static_cast<int>(cap_max_bits()) - 1; }

std::vector<std::string> known_capabilities() {
    std::vector<std::string> out;
    for (int c = 0; c <= last_capability(); c++) out.push_back(capability_name(c));
    return out;
}

CapSets cap_sets(const oci::Capabilities& caps, const std::function<void(const std::string&)>& warn) {
    int last = last_capability();
    auto mask = [&](const std::optional<std::vector<std::string>>& names) {
        uint64_t m = 0;
        if (!names) return m;
        for (const auto& n : *names) {
            auto c = parse_capability(n);
            if (!c || *c > last) {
                warn("capability " + quote(n) + " is unknown to this kernel: ignored");
                continue;
            }
            m |= uint64_t{1} << *c;
        }
        return m;
    };
    CapSets s;
    s.bounding = mask(caps.bounding);
    s.effective = mask(caps.effective);
    s.inheritable = mask(caps.inheritable);
    s.permitted = mask(caps.permitted);
    s.ambient = mask(caps.ambient);
    return s;
}

static void set_proc(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    cap_t c = cap_init();
    if (!c) throw_errno("cap_init");
    int last = last_capability();
    for (int i = 0; i <= last; i++) {
        cap_value_t v = i;
        if (effective & (uint64_t{1} << i)) cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
        if (permitted & (uint64_t{1} << i)) cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET);
        if (inheritable & (uint64_t{1} << i)) cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET);
    }
    int rc = cap_set_proc(c);
    int err = errno;
    cap_free(c);
    if (rc < 0) throw_errno("set capabilities", err);
}

void drop_bounding(const CapSets& s) {
    int last = last_capability();
    for (int i = 0; i <= last; i++) {
        if (s.bounding & (uint64_t{1} << i)) continue;
        if (cap_drop_bound(static_cast<cap_value_t>(i)) < 0 && errno != EINVAL)
            throw_errno("drop " + capability_name(i) + " from the bounding set");
    }
}

void apply_capabilities(const CapSets& s, uint64_t extra) {
    int last = last_capability();
    set_proc(s.effective | extra, s.permitted | extra, s.inheritable);
    if (cap_reset_ambient() < 0 && errno != EINVAL) throw_errno("reset the ambient capabilities");
    for (int i = 0; i <= last; i++) {
        if (!(s.ambient & (uint64_t{1} << i))) continue;
        // A capability can be ambient only when it is permitted and inheritable;
        // like runc, one that is not is left out rather than failing the container.
        if (cap_set_ambient(static_cast<cap_value_t>(i), CAP_SET) < 0 && errno != EPERM)
            throw_errno("raise ambient " + capability_name(i));
    }
}

void drop_extra(const CapSets& s) { set_proc(s.effective, s.permitted, s.inheritable); }

void keep_capabilities(bool keep) {
    if (::prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0) throw_errno("prctl PR_SET_KEEPCAPS");
}

} // namespace ctk::linux
