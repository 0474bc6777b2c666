// Files and directories, opened relative to directory fds.
//
// Paths that come from untrusted places (an image layer, a volume, a container's
// rootfs) are resolved with openat2(RESOLVE_IN_ROOT): ".." and absolute symlinks
// stop at the root fd, as if chrooted, so nothing can reach outside it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"

namespace ctk {

// open(2) that throws: <op> "<path>": ENOENT (...)
UniqueFd open_path(const std::string& path, int flags, mode_t mode = 0);
UniqueFd open_dir(const std::string& path);
// pipe2(2) with O_CLOEXEC into two owners; throws.
void make_pipe(UniqueFd& read_end, UniqueFd& write_end);

// openat2(dirfd, path, flags, resolve) with RESOLVE_IN_ROOT (plus
// RESOLVE_NO_MAGICLINKS): the path is resolved as if dirfd were "/".
// Returns an empty fd with errno set instead of throwing when `must` is false.
UniqueFd open_in_root(int rootfd, std::string_view path, int flags, mode_t mode = 0);
UniqueFd try_open_in_root(int rootfd, std::string_view path, int flags, mode_t mode = 0);
// Whether the kernel has openat2 (5.6+). Probed once.
bool have_openat2();

// Reads a whole file; throws on error or when it is larger than max_size.
std::string read_file(const std::string& path, size_t max_size = 64u << 20);
std::string read_fd(int fd, size_t max_size = 64u << 20);
// nullopt when the file does not exist, or is a /proc file of a process that
// exited meanwhile (ESRCH on read).
std::optional<std::string> read_file_if_exists(const std::string& path,
                                               size_t max_size = 64u << 20);
// Writes all of data, retrying on short writes and EINTR.
// The target of the symlink `path`; "" when it is not a symlink or does not exist.
std::string read_link(const std::string& path);

void write_all(int fd, std::string_view data, std::string_view what = "file");

// Replaces `path` atomically: writes a temporary file in the same directory,
// fsyncs it, renames it over `path`, fsyncs the directory. A crash at any point
// leaves either the old or the new file whole.
void write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// mkdir -p; existing directories are fine.
void make_dirs(const std::string& path, mode_t mode = 0755);

// rm -rf that does not follow symlinks and does not cross mount points
// (a mount below it is an error, not something to delete through).
void remove_tree(const std::string& path);
// The same, below an open directory fd.
void remove_tree_at(int dirfd, const std::string& name);
// The names in the directory open at `dirfd`, from its start ("." and ".."
// left out); `shown` names the directory in errors.
std::vector<std::string> entry_names(int dirfd, const std::string& shown);

// fsync of the directory holding `path`.
void sync_parent_dir(const std::string& path);

// Random lowercase hex, for temporary names and IDs.
std::string random_hex(size_t bytes);

// A directory made with mkdtemp and removed (with everything in it) by the
// destructor, unless released.
class TempDir {
public:
    // Made under `parent` (default: $TMPDIR or /tmp), named prefix.XXXXXX.
    explicit TempDir(const std::string& prefix = "ctk", const std::string& parent = "");
    TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::string& path() const noexcept { return path_; }
    // Keeps the directory: the caller now owns it.
    std::string release() noexcept { return std::exchange(path_, {}); }

private:
    std::string path_;
};

bool is_terminal(int fd);

} // namespace ctk
