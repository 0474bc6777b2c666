// Named volumes in the store, as Docker's "local" driver keeps them:
//
//   $CTK_ROOT/volumes/<name>/_data         the data, bind-mounted into containers
//   $CTK_ROOT/volumes/<name>/volume.json   {"Name","Driver","CreatedAt","Labels","Options",
//                                           "Scope","Users":[{"Id","Bundle"}],"CopiedUp"}
//   $CTK_RUN/locks/volumes.lock            flock held by every change
//
// A volume's users are the containers (bundles) whose config.json mounts its _data;
// `apply` records them, `release` drops them. A recorded user whose bundle no longer
// has a config.json mounting the volume does not count (the bundle was removed).
// A volume made with driver options (type=tmpfs, or type=none with o=bind) is mounted
// on _data on the host while it has users, as Docker's local driver does.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/lock.hpp"
#include "store/paths.hpp"

namespace ctk::volume {

struct VolumeUser {
    std::string id;     // container id
    std::string bundle; // absolute bundle directory
    friend bool operator==(const VolumeUser&, const VolumeUser&) = default;
};

struct Volume {
    std::string name;
    std::string path; // $CTK_ROOT/volumes/<name>
    std::string created_at;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> options;
    std::vector<VolumeUser> users; // as recorded
    bool copied_up = false;
    Json extra = Json::object(); // fields of volume.json ctk does not know

    std::string mountpoint() const { return path + "/_data"; }
    bool anonymous() const;
    // The Docker Engine API Volume object (GET /volumes/{name}).
    Json docker_json() const;
    Json record_json() const;
};

// A volume with the containers that use it now (ls, ctl's `volume ls`).
struct VolumeListing {
    Volume volume;
    std::vector<VolumeUser> users;
    // docker_json() plus "Users": [{"Id","Bundle"}]
    Json to_json() const;
};

struct CreateOptions {
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> options; // type, device, o
};

// Docker's local driver option checks: keys type, device, o; device and type need each
// other, o needs both; size (quotas) is refused.
void check_driver_options(const std::map<std::string, std::string>& options);
// `--opt` values: "k=v" each; "type=tmpfs,device=tmpfs,o=size=64m,mode=1777" is split
// before ",type=", ",device=" and ",o=" (no mount option has those names).
std::map<std::string, std::string> parse_opt_args(const std::vector<std::string>& args);
std::map<std::string, std::string> parse_label_args(const std::vector<std::string>& args);

struct PruneResult {
    std::vector<std::string> deleted;
    uint64_t space_reclaimed = 0;
    Json docker_json() const; // {"VolumesDeleted": [...], "SpaceReclaimed": N}
};

struct RemoveResult {
    std::vector<std::string> removed;
    std::vector<std::pair<std::string, Error>> failed;
};

class VolumeStore {
public:
    explicit VolumeStore(store::Paths paths);
    static VolumeStore from_env() { return VolumeStore(store::Paths::from_env()); }

    const store::Paths& paths() const { return paths_; }
    std::string dir() const { return paths_.volumes(); }
    FileLock lock() const;

    // Reads (no lock needed: volume.json is replaced atomically).
    std::optional<Volume> find(const std::string& name) const;
    Volume get(const std::string& name) const; // ErrorKind::not_found
    std::vector<Volume> list() const;          // sorted by name
    std::vector<VolumeListing> list_with_users() const;
    // GET /volumes of the Docker Engine API: {"Volumes": [...], "Warnings": []}
    Json docker_list_json() const;
    // Users whose bundle still mounts the volume.
    std::vector<VolumeUser> live_users(const Volume& v) const;
    bool in_use(const Volume& v) const { return !live_users(v).empty(); }

    // Each takes the lock.
    Volume create(const std::string& name, const CreateOptions& options); // "" = generated
    RemoveResult remove(const std::vector<std::string>& names, bool force);
    PruneResult prune(bool all);

    // The caller holds lock() for these.
    Volume create_locked(const std::string& name, const CreateOptions& options);
    void save_locked(const Volume& v) const;
    void remove_locked(const Volume& v) const;
    // Mounts a volume with driver options on its _data (no-op when mounted or without options).
    void activate_locked(const Volume& v) const;
    void deactivate_locked(Volume& v) const;
    bool active(const Volume& v) const;

private:
    Volume load(const std::string& name) const;
    store::Paths paths_;
};

// Bytes of the regular files below a directory (hardlinks counted once, mounts not crossed).
uint64_t directory_size(const std::string& path);
// RFC 3339 UTC, second precision: "2026-01-02T03:04:05Z".
std::string now_rfc3339();

} // namespace ctk::volume
