// seccomp filters from the runtime-spec's linux.seccomp, compiled with
// libseccomp into a classic BPF program ahead of time and loaded with the raw
// seccomp(2) call as the very last step before execve, so nothing the runtime
// itself does afterwards has to pass the filter.
#pragma once

#include <linux/filter.h>

#include <functional>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::linux::seccomp {

struct Program {
    std::vector<sock_filter> filter;
    unsigned flags = 0;    // SECCOMP_FILTER_FLAG_*
    bool notify = false;   // some rule uses SCMP_ACT_NOTIFY: loading returns a listener fd
    std::vector<std::string> unknown; // syscall names this libseccomp does not know, skipped
    bool empty() const { return filter.empty(); }
};

// Compiles the spec's filter for the host's architectures listed in it.
// Syscall names the host does not know are skipped (as runc does) and listed
// in Program::unknown: Docker's profile names syscalls newer than many hosts'
// libseccomp, so that is routine, not a warning.
Program compile(const oci::Seccomp& spec);

// Loads the program into the calling thread (needs no_new_privs or
// CAP_SYS_ADMIN). Returns the user-notification listener fd when the program
// asked for one.
UniqueFd load(const Program& program);

// The names and flags this build knows, for `ns-run features`.
std::vector<std::string> known_actions();
std::vector<std::string> known_operators();
std::vector<std::string> known_architectures();
std::vector<std::string> known_flags();

} // namespace ctk::linux::seccomp
