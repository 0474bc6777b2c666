// Linux namespaces by their OCI runtime-spec names (config-linux.md
// "Namespaces"), their clone flags and their /proc/<pid>/ns names.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"

namespace ctk::linux {

enum class Namespace { mount, uts, ipc, network, pid, user, cgroup, time };

inline constexpr Namespace all_namespaces[] = {Namespace::user, Namespace::mount, Namespace::uts,
                                               Namespace::ipc, Namespace::network, Namespace::pid,
                                               Namespace::cgroup, Namespace::time};

// "network" -> Namespace::network; nullopt for an unknown type.
std::optional<Namespace> parse_namespace(std::string_view spec_name);
const char* spec_name(Namespace ns);  // "network"
const char* proc_name(Namespace ns);  // "net" (/proc/<pid>/ns/net)
uint64_t clone_flag(Namespace ns);    // CLONE_NEWNET

// Opens a namespace file (/proc/<pid>/ns/net, /var/run/netns/x) and checks
// that it is one of type `ns` (NS_GET_NSTYPE), so a wrong path is refused
// before anything joins it.
UniqueFd open_namespace(const std::string& path, Namespace ns);
void set_namespace(int fd, Namespace ns, const std::string& what);

// Whether the two namespace files name the same namespace (same inode).
bool same_namespace(const std::string& a, const std::string& b);

struct IdMap {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};
// Writes /proc/<pid>/uid_map and gid_map (the caller is outside the new user
// namespace and privileged in its parent).
void write_id_maps(pid_t pid, const std::vector<IdMap>& uids, const std::vector<IdMap>& gids);
// Maps an id in the container to the host through `maps`; nullopt when unmapped.
std::optional<uint32_t> map_to_host(const std::vector<IdMap>& maps, uint32_t id);

} // namespace ctk::linux
