// Mounts: thin, throwing wrappers over mount(2)/umount2(2) and the mount table.
// The new mount API (open_tree, move_mount, mount_setattr) lives here too as
// the runtime needs it.
#pragma once

#include <sys/mount.h>

#include <string>
#include <utility>
#include <string_view>
#include <vector>

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

} // namespace ctk::linux
