// Tar archives in and out of a root filesystem: what `docker cp` moves
// through the Engine API (GET/PUT /containers/{id}/archive). Every path is
// resolved inside the root (openat2 RESOLVE_IN_ROOT) and every entry is made
// with *at calls on directory fds and O_NOFOLLOW, so neither a symlink in the
// container nor a hostile tar entry ("../../etc/x", a link to /etc/shadow)
// reaches outside it. The same functions serve the client side of
// `ctl -H … cp`, with the host's "/" as the root.
#pragma once

#include <cstdint>
#include <string>

#include "core/json.hpp"

namespace ctk::engine {

// What Docker's X-Docker-Container-Path-Stat header carries.
struct PathStat {
    std::string name;        // the last path component
    int64_t size = 0;
    uint32_t mode = 0;       // Go's os.FileMode: type bits (dir 1<<31, symlink 1<<27 …) + permissions
    std::string mtime;       // RFC 3339
    std::string link_target; // for a symlink
    bool is_dir() const { return (mode & (1u << 31)) != 0; }
    Json to_json() const;
};

// A Unix st_mode as Go's os.FileMode.
uint32_t go_file_mode(uint32_t st_mode);

// The entry at `path` (absolute, inside the root at `root_fd`), not following a
// final symlink. not_found: "Could not find the file PATH in container NAME"
// is the caller's wording; this throws ErrorKind::not_found with the path.
PathStat stat_in_root(int root_fd, const std::string& path);

// Writes `path` (a file, or a directory with everything below it) to `out_fd`
// as a tar stream, its entries named from `name` ("d", "d/y" …). Type bits are
// kept in the headers' mode (0100644, 040755) as the engine writes them.
void write_tar(int root_fd, const std::string& path, const std::string& name, int out_fd);

struct ExtractOptions {
    bool no_overwrite_dir_non_dir = false; // a directory is never replaced by a non-directory, nor the reverse
    bool keep_owner = true;                // the headers' uid/gid (else the caller's)
};

// Extracts the tar stream from `in_fd` into the directory `dest` (absolute,
// inside the root). Throws ErrorKind::not_found when `dest` is missing,
// ErrorKind::invalid for a malformed archive or an entry that leaves `dest`.
void extract_tar(int root_fd, const std::string& dest, int in_fd, const ExtractOptions& options = {});

} // namespace ctk::engine
