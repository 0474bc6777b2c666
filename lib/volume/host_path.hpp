// Host paths for bind mounts and bind volumes. The path a user names is resolved once,
// here, to its canonical form (no symlinks left), so the runtime mounts what was checked;
// missing directories are made one component at a time below an fd (O_NOFOLLOW), never
// through a symlink planted in their place.
#pragma once

#include <string>
#include <vector>

namespace ctk::volume {

struct HostPath {
    std::string path;                 // canonical, absolute
    bool is_dir = false;
    std::vector<std::string> created; // directories made, outermost first
};

// `create`: make a missing path as directories (docker run -v); else a missing path is
// ErrorKind::not_found "bind source path does not exist: /x".
HostPath resolve_host_path(const std::string& path, bool create);
// Undoes what resolve_host_path created (rmdir, innermost first, only when still empty).
void remove_created(const HostPath& p) noexcept;

// The propagation of the mount that holds `path`: "shared", "slave" or "private".
std::string mount_propagation_of(const std::string& path);
// Docker's ensureShared / ensureSharedOrSlave for [r]shared and [r]slave binds.
void check_source_propagation(const std::string& path, const std::string& propagation);

} // namespace ctk::volume
