// The container's process: everything decided before the clone (so errors are
// reported by the runtime, and seccomp is compiled ahead of time) and the last
// steps before execve that the container's first process (or an exec'd one)
// takes: rlimits, LSM labels, user, capabilities, no_new_privs, fds, seccomp.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "container/channel.hpp"
#include "linux/capability.hpp"
#include "linux/seccomp.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::container {

struct ProcessPlan {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> additional_gids;
    std::optional<mode_t> umask;
    std::optional<linux::CapSets> caps; // nullopt: keep what the process has
    bool no_new_privileges = false;
    std::vector<std::pair<int, rlimit>> rlimits;
    linux::seccomp::Program seccomp;
    std::string apparmor_profile;       // applied only when AppArmor is enabled
    std::string selinux_label;          // applied only when SELinux is enabled
    bool terminal = false;
    std::optional<oci::ConsoleSize> console_size;
    int preserve_fds = 0;               // fds 3 .. 3+n-1 stay open
    bool setgroups_allowed = true;      // false in a user namespace with setgroups denied
    std::string session_keyring;        // joined (made) before the program runs: "_ses.ID"; "" keeps the caller's
};

// Checks and converts the spec's process; warnings (unknown capabilities or
// syscalls, LSM fields on a host without that LSM) go through `warn`.
// The seccomp filter is compiled through the cache in `seccomp_cache` (see
// linux::seccomp::compile_cached; empty: no cache).
ProcessPlan plan_process(const oci::Process& p, const std::optional<oci::Seccomp>& seccomp,
                         const std::function<void(const std::string&)>& warn,
                         const std::string& seccomp_cache = {});

bool apparmor_enabled();
bool selinux_enabled();

// Signal dispositions to default, nothing blocked: what a fresh process has.
void reset_signals();

// The file execve will run: args[0] searched in the PATH of the process's
// environment when it has no '/'. Throws not_found / invalid with the reason.
std::string find_executable(const ProcessPlan& plan);
// The same check before the container is created, as runc's init makes it:
// a missing (not_found, ENOENT) or non-executable (invalid, EACCES) program
// fails `create`, whose callers print the reason. Names relative to the cwd
// are left to execve.
void check_executable(const ProcessPlan& plan);
// 127 or 126 for an error of check_executable/find_executable (a shell's
// statuses for "not found" and "cannot execute"), else 0.
int exec_failure_status(const Error& e);

// The last steps and execve. `proc_fd` is a verified procfs directory for the
// LSM attributes. On failure it reports through `channel` and exits 127
// (not found) or 126 (cannot execute), as a shell does.
// HOME is added when the environment has none (the user's home in the
// container's /etc/passwd, else "/"), as runc does.
[[noreturn]] void finalize_and_exec(const ProcessPlan& plan, Channel& channel, bool as_init);

// Container's cwd: resolved inside "/" without magic links (CVE-2024-21626:
// "/proc/self/fd/N" cannot lead out), then checked with getcwd.
void enter_cwd(const std::string& cwd);

} // namespace ctk::container
