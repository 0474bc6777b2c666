// Docker's copy-up: the first time an empty volume is mounted over a directory that
// holds files in the image, those files are copied into the volume (owners, modes,
// times, xattrs, symlinks as they are, hardlinks kept as hardlinks).
//
// The image side is opened with openat2(RESOLVE_IN_ROOT) and walked with O_NOFOLLOW
// below that fd, so a symlink in the image ("/data -> /etc" or "../../../../etc")
// resolves inside the rootfs and can never make the copy read from or write to the host.
#pragma once

#include <cstdint>
#include <string>

namespace ctk::volume {

struct CopyStats {
    uint64_t files = 0, dirs = 0, symlinks = 0, hardlinks = 0, specials = 0, bytes = 0;
};

// Copies everything below src_dir into dst_dir (expected empty). Both are directory fds.
CopyStats copy_tree(int src_dir, int dst_dir);
// Owner, mode, xattrs and times of one directory onto another.
void copy_dir_attributes(int src_dir, int dst_dir);

enum class CopyUpSource { directory, missing, not_directory };
// Opens `target` inside the rootfs (RESOLVE_IN_ROOT); fills `fd` when it is a directory.
CopyUpSource open_copy_up_source(int rootfs, const std::string& target, int& fd);

// Whether a directory holds nothing (beyond "." and "..").
bool directory_empty(int dir);

} // namespace ctk::volume
