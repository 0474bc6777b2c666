// Disk usage and pruning of the store, answered once in the Engine API's
// shapes (GET /system/df, POST /images/prune, POST /build/prune) for ctld to
// serialize and for ctl (local or -H) to render as docker does.
//
// What an image holds on disk: its manifest, config and layer blobs in the
// layout, and its unpacked layers ($CTK_ROOT/layers/<chainid>). A part two
// images share counts in both images' Size and in their SharedSize;
// LayersSize is everything the image store holds, leftovers included (blobs
// of no image, unpacked layers of no image, partial downloads), so docker's
// RECLAIMABLE (LayersSize minus what running containers' images need) shows them.
#pragma once

#include <cstdint>
#include <string>

#include "core/json.hpp"
#include "engine/engine.hpp"

namespace ctk::engine {

// GET /system/df: {LayersSize, Images, Containers, Volumes, BuildCache}.
// `volumes`: vol-mount ls --json's objects (one a line) with "Users".
Json disk_usage(Engine& e, const std::string& vol_mount_listing);

// POST /images/prune: dangling images (all: every image no container uses),
// then the store's leftovers: unpacked layers no image or container uses,
// partial downloads and temporary blobs no live pull holds, layer staging
// directories of killed unpacks. {"ImagesDeleted": [...]|null, "SpaceReclaimed": n}.
Json prune_images(Engine& e, bool all);

// POST /build/prune: every build cache entry and the step images' blobs and
// layers no image uses. {"CachesDeleted": [...]|null, "SpaceReclaimed": n}.
Json prune_build_cache(Engine& e);

// POST /containers/prune: stopped containers (not one still being created).
// {"ContainersDeleted": [...]|null, "SpaceReclaimed": n}.
Json prune_containers(Engine& e);

// The bytes of a container's directory (record, log, bundle: a flat rootfs
// or an overlay's upper directory), not what is mounted in it: its SizeRw.
int64_t container_size(Engine& e, const std::string& id);

// docker's units.HumanSize: 4 significant digits, decimal units ("1.033MB").
std::string human_size4(int64_t bytes);

// `docker system df` output from a /system/df body: the summary table (or
// -v's sections), or `format` ("json", a template, "table …") per type row.
std::string render_disk_usage(const Json& df, bool verbose, const std::string& format);

// `docker system prune`'s report from the Engine API answers of each prune
// (null for one not done): the deleted objects by kind, then
// "Total reclaimed space: X".
std::string render_system_prune(const Json& containers, const Json& networks, const Json& volumes,
                                const Json& images, const Json& build_cache);

// "Deleted Images:\nuntagged: …\ndeleted: sha256:…\n\n" (empty when nothing was deleted).
std::string render_deleted_images(const Json& images_deleted);

} // namespace ctk::engine
