// What `docker cp` asks before it moves a tar (HEAD /containers/{id}/archive,
// and the X-Docker-Container-Path-Stat header of GET and PUT): the entry at a
// path of a container, resolved inside its root (openat2 RESOLVE_IN_ROOT).
// The tars themselves are img-pack's (`archive`, `extract`; CONTRACTS.md).
// docker diff and docker export of a container: img-pack's `diff` of its
// bundle and `archive --contents` of its rootfs.
#pragma once

#include <cstdint>
#include <string>

#include "core/json.hpp"
#include "engine/engine.hpp"

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

// The container's img-unpack bundle.
std::string container_bundle(const Engine& e, const ContainerRecord& r);

// docker diff: GET /containers/{id}/changes's answer, [{"Kind":0|1|2,"Path"}]
// (changed, added, deleted), by `img-pack diff` of the container's bundle.
Json container_changes(Engine& e, const std::string& ref);
// `C /etc`, `A /etc/motd`, `D /bin/true`: docker diff's lines.
std::string render_changes(const Json& changes);

// docker export: `img-pack archive --contents [-o FILE] ROOTFS /`, the
// container's root filesystem as it sees it (the mounted overlay; the
// container's own mounts are not in it) as a tar to `output` ("": stdout).
std::vector<std::string> export_argv(const Engine& e, const ContainerRecord& r, const std::string& output);
void export_container(Engine& e, const std::string& ref, const std::string& output);

} // namespace ctk::engine
