// The five capability sets of a process (capabilities(7)), set with libcap.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace ctk::linux {

struct CapSets {
    uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// "CAP_SYS_ADMIN" -> 21; nullopt when libcap does not know the name.
std::optional<int> parse_capability(const std::string& name);
std::string capability_name(int cap);
// The highest capability the running kernel knows.
int last_capability();
// Every capability name the running kernel knows, "CAP_CHOWN" ...
std::vector<std::string> known_capabilities();

// The spec's sets as bit masks. Names unknown to this kernel are skipped and
// reported through `warn` (as runc does); an absent set is empty.
CapSets cap_sets(const oci::Capabilities& caps, const std::function<void(const std::string&)>& warn);

// Drops everything outside the bounding set (needs CAP_SETPCAP: do it before
// switching to the process's user).
void drop_bounding(const CapSets& sets);
// Sets effective, permitted, inheritable and the ambient set.
// extra_effective is kept in effective and permitted for a last privileged step
// (loading seccomp without no_new_privs); drop it with drop_extra() afterwards.
void apply_capabilities(const CapSets& sets, uint64_t extra_effective = 0);
void drop_extra(const CapSets& sets);

// Keeps the permitted set across setuid() away from 0 (PR_SET_KEEPCAPS).
void keep_capabilities(bool keep);

} // namespace ctk::linux
