// Turning mount requests into OCI "mounts" entries, and merging them into a bundle.
//
// Entries, as Docker's daemon writes them (moby daemon/oci_linux.go):
//   bind    {"destination","type":"bind","source":<canonical host path>,
//            "options":["rbind"|"bind", "ro","rro" when read-only, <propagation>|"rprivate"]}
//   volume  the same with source $CTK_ROOT/volumes/<name>/_data and no propagation word
//   tmpfs   {"destination","type":"tmpfs","source":"tmpfs",
//            "options":["noexec","nosuid","nodev","rprivate", <the user's, merged>]}
// "rro" is the runtime's recursive read-only (mount_setattr MOUNT_ATTR_RDONLY with
// AT_RECURSIVE; runc 1.1+, crun, ns-run); "ro" beside it keeps older runtimes read-only
// at the top at least.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"
#include "oci/runtime_spec.hpp"
#include "volume/spec.hpp"
#include "volume/store.hpp"

namespace ctk::volume {

oci::Mount bind_entry(const std::string& source, const MountRequest& r);
oci::Mount tmpfs_entry(const MountRequest& r);

// Existing mounts with `added` merged in: an entry for the same destination is replaced,
// and each added entry goes before the first entry below its destination (a parent is
// mounted before its children, as Docker sorts them).
std::vector<oci::Mount> merge_mounts(std::vector<oci::Mount> existing, const std::vector<oci::Mount>& added);

// Docker's rule for container ids and names: [a-zA-Z0-9][a-zA-Z0-9_.-]*
void check_container_id(const std::string& id);

struct UsedVolume {
    std::string name;
    std::string mountpoint;
    bool created = false;
    bool copied_up = false;
};

struct Resolution {
    std::vector<oci::Mount> mounts;
    std::vector<UsedVolume> volumes;
    // One a mount, as `docker inspect` shows a container's "Mounts":
    // {"Type","Name"?,"Source","Destination","Driver"?,"Mode","RW","Propagation"}
    std::vector<Json> mount_points;
    Json to_json() const; // {"mounts": [...], "volumes": [...], "mount_points": [...]}
};

// Docker's MountPoint for one request and the entry it became.
Json docker_mount_point(const MountRequest& r, const oci::Mount& entry, const std::string& volume_name);

// `vol-mount spec`: makes what the requests need (missing named and anonymous volumes,
// missing -v host directories, mounts of volumes with driver options) and returns the
// entries. All or nothing: on error, what it made is undone.
Resolution resolve_mounts(VolumeStore& store, const std::vector<MountRequest>& requests);

struct ApplyResult {
    std::string bundle; // absolute
    std::string id;
    Resolution resolution;
    Json to_json() const;
};

// `vol-mount apply`: as resolve_mounts, plus copy-up from the bundle's rootfs, the merge
// into config.json (replaced atomically, last) and the record of `id` as a user of each
// volume the bundle now mounts. Any error leaves the bundle and the store as they were.
ApplyResult apply_to_bundle(VolumeStore& store, const std::string& bundle,
                            const std::vector<MountRequest>& requests, std::string id = "");

struct ReleaseResult {
    std::string id;
    std::vector<std::string> released; // volumes whose record of `id` was dropped
    std::vector<std::string> removed;  // anonymous volumes removed (remove_anonymous)
    Json to_json() const;
};

// `vol-mount release`: drops `id` (default: the bundle's basename) from every volume's
// users; unmounts volumes with driver options that no one uses any more; with
// remove_anonymous (docker rm -v) removes the anonymous volumes it used that are now unused.
ReleaseResult release_bundle(VolumeStore& store, const std::string& bundle, std::string id = "",
                             bool remove_anonymous = false);

} // namespace ctk::volume
