// The image object's write side (img-pack): layers from a bundle's or a
// directory's changes, new images from a base plus a layer and config
// changes (commit, each build step), import of a root filesystem, and the
// layout's names (tag, untag, rm). Every change of a layout holds its lock
// (LAYOUT/.ctk-lock) from start to end; the blobs it wrote that were not
// there before are removed again when it fails, and index.json is replaced
// once, at the end (temp name, fsync, rename).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/lock.hpp"
#include "image/image_store.hpp"
#include "image/layer_writer.hpp"
#include "oci/image.hpp"
#include "oci/layout.hpp"

namespace ctk::image {

// Paths a runtime creates in a rootfs as mount points (/proc, /sys, /dev,
// /etc/hosts, /etc/hostname, /etc/resolv.conf, /.dockerenv): left out of a
// bundle's layer, as Docker's init layer keeps them out of commits.
const std::set<std::string>& runtime_mount_points();

class LayoutChange {
public:
    explicit LayoutChange(oci::Layout layout);
    ~LayoutChange();
    LayoutChange(const LayoutChange&) = delete;
    LayoutChange& operator=(const LayoutChange&) = delete;

    const oci::Layout& layout() const { return layout_; }
    // index.json as read under the lock; commit() writes it back when changed.
    oci::Index& index();
    // A small blob (config, manifest), recorded for the roll-back.
    oci::Descriptor write_blob(std::string_view data, std::string media_type);
    // A blob written by another writer (layers): removed on failure when new.
    void wrote(const Digest& digest, bool new_blob);
    // Writes index.json (if it was read) and keeps the blobs.
    void commit();

private:
    oci::Layout layout_;
    FileLock lock_;
    std::optional<oci::Index> index_;
    std::vector<Digest> new_blobs_;
    bool done_ = false;
};

// Where a layer's changes come from (img-pack layer, commit).
struct LayerSource {
    std::string bundle;                // img-unpack's bundle: its overlay upper, or a diff of its flat rootfs
    std::string upper;                 // an overlay upper directory
    std::string lower, diff_upper;     // a directory diff
    std::optional<Digest> blob;        // a layer blob already in the layout (commit --layer)
    std::set<std::string> exclude;     // paths left out ("etc/x", no leading '/')
    bool empty() const { return bundle.empty() && upper.empty() && lower.empty() && !blob; }
};

// The bundle's record (BUNDLE/ctk-bundle.json) and how to diff a flat one:
// `unpack_flat(manifest digest, dir)` writes a fresh flat rootfs of the
// bundle's image into `dir` (img-pack runs img-unpack's library).
using FlatUnpacker = std::function<void(const oci::Layout&, const Digest& manifest, const std::string& dir)>;

// Writes the layer of `source` (not --layer) into the change's layout.
WrittenLayer write_layer(LayoutChange& change, const LayerSource& source, const FlatUnpacker& unpack_flat);

// docker diff of an img-unpack bundle: its changes (overlay: its upper
// directory over its image's layers in $CTK_ROOT/layers; flat: its rootfs
// against a fresh unpack of its image), runtime mount points left out.
std::vector<PathChange> bundle_diff(const oci::Layout& layout, const std::string& bundle,
                                    const FlatUnpacker& unpack_flat);

// A layer blob already in the layout: its descriptor and diff_id (the sha256
// of its decompressed bytes, computed here).
WrittenLayer existing_layer(const oci::Layout& layout, const Digest& blob);

// The created time of a new image: `created` (RFC 3339) when given, else
// SOURCE_DATE_EPOCH when set, else now.
std::string created_time(const std::string& created);

struct CommitRequest {
    std::string base;                      // IMAGE, or "scratch"
    std::optional<oci::Platform> platform; // scratch's platform, or the one picked from a base index
    LayerSource layer;                     // empty: no new layer
    std::optional<Json> config;            // a Docker Config object laid over the base's
    std::optional<Json> set_config;        // the whole new Config, replacing the base's (a build step's)
    std::vector<std::string> changes;      // Dockerfile instructions (--change)
    std::string author, message, created_by, created;
    std::vector<std::string> tags;         // references as typed
    bool index = true;                     // false: blobs only, no index.json entry (a build step's image)
};

struct CommitResult {
    Digest id; // config digest
    oci::Descriptor manifest;
    std::vector<std::string> tags; // full references
    std::optional<WrittenLayer> layer;
    Json json() const; // {"id","manifest","tags","layer"}
};

CommitResult commit_image(const ImageStore& store, const CommitRequest& request, const FlatUnpacker& unpack_flat);

struct ImportRequest {
    std::string source;               // a tar file (any compression), "-" for stdin, or a directory
    std::vector<std::string> changes; // Dockerfile instructions (--change)
    std::string message;              // the history comment
    std::string reference;            // REPO[:TAG]; "" leaves the image untagged
    std::optional<oci::Platform> platform;
    std::string created;              // as created_time()
};
// docker import: a root filesystem as a one-layer image. Returns {"id","manifest","tags"}.
Json import_image(const ImageStore& store, const ImportRequest& request);

// docker tag IMAGE TARGET...: {"id","tags":[full references]}; a name moves off another image.
Json tag_image(const ImageStore& store, const std::string& image, const std::vector<std::string>& targets);
// Removes names (never an ID: invalid): {"untagged":[full references]}.
Json untag_references(const ImageStore& store, const std::vector<std::string>& refs);
// docker rmi (containers are the caller's business): [{"Untagged":…},{"Deleted":…}].
Json remove_images(const ImageStore& store, const std::vector<std::string>& images, bool force);

} // namespace ctk::image
