// Seccomp profiles for config.json.
//
// Docker's default profile (moby/profiles seccomp/default.json, Apache-2.0,
// kept verbatim as data/seccomp-default.json and compiled in) is written in
// Docker's extended format: syscall rules may depend on the architecture,
// the container's capabilities and the kernel version ("includes" and
// "excludes"), and "archMap" lists the architectures per native one. The OCI
// runtime-spec has no such conditions, so a profile is turned into the OCI
// form for one host and one capability set, as dockerd does when it creates
// a container (allowing, for example, mount(2) only with CAP_SYS_ADMIN).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::image {

// The text of Docker's default profile.
std::string_view default_seccomp_profile();

struct SeccompTarget {
    std::string arch;   // Docker's native names: amd64, arm64, x86, arm, s390x, ...
    int kernel_major = 0;
    int kernel_minor = 0;
    std::vector<std::string> capabilities; // the bounding set ("CAP_SYS_ADMIN", ...)

    // This machine (uname) with the given capabilities.
    static SeccompTarget host(std::vector<std::string> capabilities);
};

// Converts a profile in Docker's format (or already in the OCI form) for
// `target`. Throws ErrorKind::invalid naming `what` for a malformed profile.
oci::Seccomp seccomp_for(const Json& profile, const SeccompTarget& target,
                         std::string_view what = "seccomp profile");

} // namespace ctk::image
