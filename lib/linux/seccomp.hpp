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

// compile() through a cache of compiled programs in `cache_dir` (made 0700
// when missing): Docker's default profile takes libseccomp ~20 ms to compile,
// more than the rest of a container start. An entry holds the filter's JSON
// text and is used only when that text, the libseccomp version, the kernel's
// seccomp API level and the native architecture all match and the file is
// the caller's own and writable by nobody else; otherwise the filter is
// compiled and the entry (re)written (temporary file, rename). An empty
// cache_dir compiles every time.
Program compile_cached(const oci::Seccomp& spec, const std::string& cache_dir);

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
