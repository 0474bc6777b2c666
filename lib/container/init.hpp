// The container's first process, from the clone to the user's program, and
// the process `ns-run exec` puts into a running container. Both run the
// runtime's code inside the container's namespaces and talk to the runtime
// over a Channel; neither returns.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "container/channel.hpp"
#include "container/process.hpp"
#include "core/fd.hpp"
#include "linux/cgroup.hpp"
#include "linux/namespace.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::container {

struct InitConfig {
    const oci::Spec* spec = nullptr;
    std::string id, bundle, rootfs;
    ProcessPlan process;

    std::vector<std::pair<linux::Namespace, int>> joins; // namespace fds to setns, user first
    uint64_t unshare_flags = 0;  // namespaces this process creates itself (a joined user namespace)
    bool wait_for_maps = false;  // new user namespace: the runtime writes the id maps first
    bool user_namespace = false; // in a user namespace (new or joined)
    bool new_cgroup_ns = false;  // unshared right before the program, once the cgroups are joined
    bool mount_namespace = true;
    const linux::cgroup::Cgroup* cgroup = nullptr;
    std::vector<int> cgroup_tasks; // v1 `tasks` files: joined first thing (join_v1_tasks)

    int host_proc = -1;          // the host's /proc, kept across pivot_root for /proc/self/fd
    int fifo = -1;               // create: exec.fifo (O_PATH); opening it for writing waits for start
    int console_socket = -1;     // --console-socket, connected
    int stdout_fd = -1, stderr_fd = -1; // --stdio-log pipes
    bool init = false;           // --init: a minimal pid 1 runs the program
    bool no_pivot = false;       // --no-pivot: MS_MOVE + chroot instead of pivot_root
    bool hooks_in_runtime = false; // prestart/createRuntime hooks: stop and let the runtime run them
};

[[noreturn]] void container_init(const InitConfig& cfg, Channel& channel);

struct ExecConfig {
    ProcessPlan process;
    int pidfd = -1;              // the container's first process
    uint32_t setns_flags = 0;    // its namespaces to join (not pid: the runtime did that)
    int console_socket = -1;
    std::vector<int> cgroup_tasks; // the container's v1 `tasks` files: joined first thing
};

[[noreturn]] void exec_init(const ExecConfig& cfg, Channel& channel);

// Runs OCI hooks with the state on stdin (config.md "POSIX-platform Hooks").
void run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* kind);

} // namespace ctk::container
