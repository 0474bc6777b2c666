// Mounts: thin, throwing wrappers over mount(2)/umount2(2) and the mount table.
// The new mount API (open_tree, move_mount, mount_setattr) lives here too as
// the runtime needs it.
#pragma once

#include <sys/mount.h>

#include <cstdint>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "core/fd.hpp"

namespace ctk::linux {

// mount(2); throws: mount <type> "<source>" on "<target>": EPERM (...)
void mount(const std::string& source, const std::string& target, const std::string& fstype,
           unsigned long flags = 0, const std::string& data = "");
// umount2(2); ENOENT/EINVAL (not mounted) are ignored when `missing_ok`.
void unmount(const std::string& target, int flags = 0, bool missing_ok = false);

struct MountInfo {
    int id = 0;
    int parent = 0;
    std::string root;        // the mount's root within its filesystem
    std::string mount_point; // unescaped
    std::string options;
    std::string optional;    // optional fields, space-separated: "shared:12 master:1"
    std::string fstype;
    std::string source;
    std::string super_options;
};

// /proc/self/mountinfo (or the given file), in kernel order.
std::vector<MountInfo> read_mountinfo(const std::string& path = "/proc/self/mountinfo");
// The mounts of this namespace of these filesystem types, each given as its
// magic number (statfs(2) f_type) and name, with root, mount_point, fstype and
// super_options filled in. Through listmount(2)/statmount(2) (Linux 6.11) when the kernel has them:
// reading mountinfo makes the kernel format every mount's options, which with
// a thousand containers' overlay mounts costs a container start 15 ms. Else
// read_mountinfo(), filtered by fstype name.
std::vector<MountInfo> read_mounts_of(const std::vector<std::pair<uint64_t, std::string>>& magic_and_fstype);
bool is_mount_point(const std::string& path);
// Unmounts every mount at or below `prefix`, deepest first (MNT_DETACH).
// Returns how many it unmounted. Used by cleanup paths and tests.
int unmount_below(const std::string& prefix);

// An overlay on `target` with `lowers` top first, as overlayfs.rst describes.
// automatic: the new mount API with one "lowerdir+" per layer (kernel 6.8+),
// which has no length limit; on older kernels mount(2) with "lowerdir=a:b:…",
// whose options must fit in a page: when the absolute paths do not, they are
// given relative to their common parent (the mount is made from there).
// index=off: the layers are shared by many overlays (as Docker's overlay2).
enum class OverlayApi { automatic, fsconfig, legacy };
void mount_overlay(const std::string& target, const std::vector<std::string>& lowers,
                   const std::string& upper, const std::string& work,
                   OverlayApi api = OverlayApi::automatic);

// RAII: unmounts (MNT_DETACH) on destruction unless released.
class MountGuard {
public:
    MountGuard() = default;
    explicit MountGuard(std::string target) : target_(std::move(target)) {}
    MountGuard(MountGuard&& o) noexcept : target_(std::exchange(o.target_, {})) {}
    MountGuard& operator=(MountGuard&&) = delete;
    MountGuard(const MountGuard&) = delete;
    MountGuard& operator=(const MountGuard&) = delete;
    ~MountGuard();
    std::string release() noexcept { return std::exchange(target_, {}); }

private:
    std::string target_;
};

// ---------------------------------------------------------------------------
// The new mount API (Linux 5.2+, mount_setattr 5.12+): mounts handled as file
// descriptors, so a mount lands on the very directory that was resolved (no
// path is looked up twice) and recursive attributes ("rro") exist.

// open_tree(2); with OPEN_TREE_CLONE the result is a detached copy of the mount
// (tree, with AT_RECURSIVE) at `path` relative to `dirfd` ("" + AT_EMPTY_PATH: dirfd itself).
UniqueFd open_tree(int dirfd, const std::string& path, unsigned flags);
// move_mount(2) of the detached or attached mount `from` onto the directory or
// file `to` (both fds, empty paths).
void move_mount(int from, int to, const std::string& what);

// What mount_setattr(2) changes. Propagation is one of MS_SHARED, MS_SLAVE,
// MS_PRIVATE, MS_UNBINDABLE or 0.
struct MountAttr {
    uint64_t set = 0;   // MOUNT_ATTR_RDONLY, NOSUID, NODEV, NOEXEC, NOATIME, ...
    uint64_t clear = 0;
    uint64_t propagation = 0;
    bool empty() const { return set == 0 && clear == 0 && propagation == 0; }
};
void mount_setattr(int fd, const MountAttr& attr, bool recursive, const std::string& what);

// fsopen + fsconfig + fsmount: a new, detached filesystem instance.
// `options` are "key=value" or "flag" strings as mount(8) takes them.
UniqueFd fs_mount(const std::string& fstype, const std::string& source,
                  const std::vector<std::string>& options, uint64_t attr_flags);

// ---------------------------------------------------------------------------
// mount(8)-style option lists as the OCI runtime-spec "mounts" use them.

struct MountOptions {
    unsigned long flags = 0;          // MS_* to set (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ...)
    unsigned long clear = 0;          // MS_* the options switched off ("rw", "suid", "dev", ...)
    std::vector<unsigned long> propagation; // MS_SHARED|MS_REC ..., in the order given
    MountAttr recursive;              // "rro", "rnosuid", ... (mount_setattr with AT_RECURSIVE)
    std::vector<std::string> data;    // filesystem options ("size=64k", "mode=755")
    std::vector<std::string> unknown; // runtime extensions this runtime ignores (with a warning)
    bool bind() const { return (flags & MS_BIND) != 0; }
    bool rbind() const { return (flags & (MS_BIND | MS_REC)) == (MS_BIND | MS_REC); }
    std::string data_string() const;  // data joined with ','
    // The per-mount attributes (MOUNT_ATTR_*) the MS_* flags stand for.
    MountAttr attr() const;
};

// Parses options; unknown options become filesystem data (as mount(8) does),
// except the recognised runtime extensions (tmpcopyup, idmap, ...) which go to `unknown`.
MountOptions parse_mount_options(const std::vector<std::string>& options);

// The MS_* flags of a mount (statfs f_flags mapped back), used to keep the
// "locked" flags (nosuid, nodev, noexec, ro, atime) of a bind mount's source
// when remounting it under a user namespace.
unsigned long mount_flags_of(int fd);

} // namespace ctk::linux
