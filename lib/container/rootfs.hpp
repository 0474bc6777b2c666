// The container's filesystem, prepared by its first process inside its new
// mount namespace: propagation, the rootfs bind, the spec's mounts in order,
// devices, masked and read-only paths, then pivot_root.
//
// Every target inside the rootfs is resolved relative to the rootfs fd with
// openat2(RESOLVE_IN_ROOT) and mounted through that fd (mount(2) on
// /proc/self/fd/N or move_mount(2)), never by a path looked up again, so a
// symlink swapped into a volume cannot redirect a mount to the host
// (CVE-2021-30465). The /dev/null used to mask files is checked to be the real
// device through the fd it is bound from (CVE-2025-31133). /proc must be a
// plain directory of the rootfs and anything mounted over /proc must be procfs
// (CVE-2019-16884).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "linux/cgroup.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::container {

using Warn = std::function<void(const std::string&)>;

struct RootfsPlan {
    const oci::Spec* spec = nullptr;
    std::string rootfs;  // absolute host path
    std::string bundle;  // absolute; relative bind sources are relative to it
    bool user_namespace = false;   // devices are bound from the host instead of made with mknod
    bool cgroup_namespace = false; // /sys/fs/cgroup is mounted fresh instead of bound
    const linux::cgroup::Cgroup* cgroup = nullptr;
    std::string cwd;     // process.cwd: created when missing (as runc does)
};

// Before pivot_root. Returns the rootfs directory fd (the bind mount's root).
UniqueFd prepare_rootfs(const RootfsPlan& plan);
// Masked and read-only paths (before pivot_root, resolved in the rootfs).
void protect_paths(int rootfd, const oci::Spec& spec);
// pivot_root(".", ".") into rootfd and detach the old root.
void pivot_into(int rootfd, bool propagate_private);
// --no-pivot: MS_MOVE of the rootfs (at `rootfs`, its path) onto / and chroot.
void move_root_into(int rootfd, const std::string& rootfs);
// After pivot_root: root.readonly.
void finish_rootfs(const oci::Spec& spec);

// In-root helpers, exposed for the console and for tests.
// mkdir -p of `path` inside the root; returns the directory (O_PATH).
UniqueFd make_dirs_in_root(int rootfd, const std::string& path, mode_t mode = 0755);
// Makes an empty file at `path` when nothing is there; returns it (O_PATH).
UniqueFd make_file_in_root(int rootfd, const std::string& path, mode_t mode = 0644);
// "/proc/self/fd/N", the path through which mount(2) reaches an fd.
std::string fd_path(int fd);

// Sysctls a container may set: the ones its own namespaces scope (runc's list).
void check_sysctl(const std::string& key, const oci::Spec& spec);
// Writes the spec's sysctls through the host's /proc (before pivot_root).
void apply_sysctls(const oci::Spec& spec);

} // namespace ctk::container
