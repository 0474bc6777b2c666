// What `docker cp` asks before it moves a tar (HEAD /containers/{id}/archive,
// and the X-Docker-Container-Path-Stat header of GET and PUT): the entry at a
// path of a container, resolved inside its root (openat2 RESOLVE_IN_ROOT).
// The tars themselves are img-pack's (`archive`, `extract`; CONTRACTS.md).
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

} // namespace ctk::engine
