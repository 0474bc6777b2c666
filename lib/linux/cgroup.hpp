// Control groups for containers: cgroup v1 (one hierarchy per controller),
// v2 (unified) and the hybrid layout (v1 controllers plus a cgroup2 mount at
// /sys/fs/cgroup/unified). Every path is derived from a Layout, which is
// read from mountinfo and /proc/self/cgroup or built by hand over a fake tree,
// so the v2 code runs in unit tests against an ordinary directory.
//
// Placement (CONTRACTS.md, ns-run "cgroup placement"): a relative or missing
// cgroupsPath lands beneath the calling process's own cgroup, never at a
// hierarchy's root.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "core/json.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::linux::cgroup {

// One mounted hierarchy.
struct Hierarchy {
    std::string mount_point;              // /sys/fs/cgroup/memory
    std::string mount_root = "/";         // the hierarchy path seen at mount_point
    std::vector<std::string> controllers; // v1: {"cpu"} or {"name=systemd"}; v2: cgroup.controllers
    bool unified = false;                 // cgroup2
    std::string own;                      // the caller's cgroup in it, "/process_api/40af…"

    // Absolute directory of a hierarchy path ("/a/b").
    std::string dir(const std::string& path) const;
    bool has(const std::string& controller) const;
};

enum class Mode { v1, v2, hybrid };

struct Layout {
    Mode mode = Mode::v2;
    std::vector<Hierarchy> hierarchies;

    // From /proc/self/mountinfo and /proc/self/cgroup (or the given files).
    static Layout detect(const std::string& mountinfo = "/proc/self/mountinfo",
                         const std::string& self_cgroup = "/proc/self/cgroup");
    // A unified hierarchy at `root` (a real cgroup2 mount or a fake tree),
    // with the caller in `own`.
    static Layout unified_at(const std::string& root, const std::string& own);

    const Hierarchy* unified() const;
    // The hierarchy that holds `controller` (v1 first, then the unified one if it offers it).
    const Hierarchy* find(const std::string& controller) const;
};

const char* mode_name(Mode m);

// A container's cgroup: one directory per hierarchy.
class Cgroup {
public:
    struct Dir {
        std::string mount_point;
        std::string mount_root = "/";
        std::vector<std::string> controllers;
        bool unified = false;
        std::string path; // hierarchy path, "/process_api/x/ID"
        // v2, relative cgroupsPath: the caller's cgroup the path is beneath
        // (create() may move the caller's processes out of it); "" otherwise.
        std::string base;
        std::string dir() const;
        bool has(const std::string& c) const;
    };

    Cgroup() = default;
    // Where a container's cgroup goes: `cgroups_path` absolute -> as given in
    // every hierarchy; relative -> beneath the caller's own cgroup; empty ->
    // beneath the caller's own cgroup, named `id`. On v2 a caller in the leaf
    // that create() moved a cgroup's processes into (callers_leaf) counts as
    // being in that cgroup: its containers go beside the leaf.
    static Cgroup plan(const Layout& layout, const std::string& cgroups_path, const std::string& id);

    const std::vector<Dir>& dirs() const { return dirs_; }
    bool empty() const { return dirs_.empty(); }
    Mode mode() const { return mode_; }
    const Dir* unified() const;
    const Dir* find(const std::string& controller) const;

    // mkdir -p in every hierarchy; v1 cpuset copies cpus/mems from the parent,
    // v2 enables the controllers `resources` needs along the path. v2's
    // no-internal-process rule: when the caller's own cgroup (the base of a
    // relative path) holds processes and must enable a controller, they are
    // moved into its leaf child callers_leaf first (docker's dind entrypoint
    // and systemd's Delegate= convention do the same), unless it is a
    // systemd unit that is not delegated (no trusted.delegate xattr): that is
    // a conflict error naming Delegate=yes, systemd owns that cgroup.
    void create(const oci::Resources* resources);
    // Writes the limits; v1 device rules too. `warn` receives what could not
    // be honoured but is not an error (a controller file the kernel lacks).
    void apply(const oci::Resources& resources, const std::vector<oci::Device>& devices,
               const std::function<void(const std::string&)>& warn);
    // The same without the device rules: what `update` changes on a running container.
    void apply_limits(const oci::Resources& resources, const std::function<void(const std::string&)>& warn);
    // Usage figures in runc's `events --stats` shape (libcontainer's types.Stats:
    // cpu, memory, pids, blkio, hugetlb), from v1 or v2 files.
    Json stats() const;
    // How many times the kernel's OOM killer killed a process in this cgroup
    // (v1 memory.oom_control oom_kill, v2 memory.events oom_kill).
    uint64_t oom_kills() const;
    // The file to watch for OOM (v1 memory.oom_control, v2 memory.events); "" when none.
    std::string oom_file() const;
    // v2: loads the eBPF device filter for the rules and attaches it.
    void apply_device_filter(const std::vector<oci::DeviceCgroup>& rules,
                             const std::vector<oci::Device>& devices);
    // Moves pid into every hierarchy (v1 and hybrid; skip_unified when it was
    // cloned into the unified one already).
    void add_process(pid_t pid, bool skip_unified = false) const;
    // Moves pid into the unified hierarchy only (when it was not cloned into
    // it); the process joins the v1 ones itself through open_v1_tasks().
    void add_process_unified(pid_t pid) const;
    // The `tasks` file of every v1 hierarchy, opened for writing, for a
    // single-threaded process to join them itself with join_v1_tasks():
    // moving one thread that writes "0" (itself) takes no global lock, while
    // writing a pid to cgroup.procs takes cgroup_threadgroup_rwsem for
    // writing, which waits for an RCU grace period (~10-20 ms here) and holds
    // cgroup_mutex meanwhile.
    std::vector<UniqueFd> open_v1_tasks() const;
    // The unified directory, opened for CLONE_INTO_CGROUP; empty when none.
    UniqueFd open_unified() const;

    void freeze() const;
    void thaw() const;
    bool frozen() const;
    // The file that says whether the cgroup is frozen, and what it holds then:
    // v1's freezer.state "FROZEN", v2's cgroup.freeze "1"; nullopt without a freezer.
    struct FreezeProbe {
        std::string path, frozen;
    };
    std::optional<FreezeProbe> freeze_probe() const;
    // Every process in the container's cgroup (v2, or the freezer/pids/first v1 hierarchy).
    std::vector<pid_t> pids() const;
    // Signals every process; SIGKILL uses cgroup.kill where the kernel has it.
    void signal_all(int sig) const;
    // rmdir in every hierarchy (children first); waits briefly for exiting tasks.
    void remove() const;

    Json to_json() const;
    static Cgroup from_json(const Json& j);

private:
    Mode mode_ = Mode::v2;
    std::vector<Dir> dirs_;
};

// The leaf child of a cgroup that create() moves that cgroup's processes into.
inline constexpr const char* callers_leaf = "ctk-callers";

// runc's conversions between the v1 values in the spec and the v2 files.
uint64_t cpu_shares_to_weight(uint64_t shares);
// memory.swap.max from the spec's swap (memory+swap) and limit; "" = leave unset.
std::string swap_to_v2(int64_t swap, std::optional<int64_t> limit);
uint64_t blkio_weight_to_io_weight(uint64_t weight);

// The default device rules every container gets after the spec's own (as runc
// and crun add them): mknod of anything, and the standard /dev nodes.
std::vector<oci::DeviceCgroup> default_device_rules();

// Writes "0" into each fd from Cgroup::open_v1_tasks(): the calling thread
// joins those cgroups. Call it while the process has one thread only.
void join_v1_tasks(const std::vector<int>& tasks_fds);

} // namespace ctk::linux::cgroup
