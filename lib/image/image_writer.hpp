// New images in a layout: a base image (or nothing, FROM scratch) plus layers
// and configuration changes, written as an OCI image config and manifest
// (image-spec config.md, manifest.md). What `docker commit` and every step of
// `docker build` produce.
//
// The config keeps the base's fields, drops the per-image ones Docker writes
// ("container", "container_config", "docker_version", "id", "parent"), and
// gets one history entry per change: a layer's ("created_by", "comment"), or
// a configuration change's with "empty_layer": true. rootfs.diff_ids and the
// manifest's layers grow together. Docker media types of the base's layers
// become their OCI equivalents (the bytes, and so the digests, stay).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "image/layer_writer.hpp"
#include "oci/image.hpp"
#include "oci/layout.hpp"

namespace ctk::image {

struct WrittenImage {
    oci::Descriptor manifest; // application/vnd.oci.image.manifest.v1+json
    Digest config;            // the image ID
    std::string manifest_bytes;
    std::string config_bytes;
};

class ImageDraft {
public:
    // On top of `base` (its manifest and config).
    static ImageDraft from(const oci::Manifest& base_manifest, const oci::ImageConfig& base_config);
    // An empty image for `platform` (FROM scratch).
    static ImageDraft scratch(const oci::Platform& platform);

    oci::ImageConfig& config() { return config_; }
    const oci::ImageConfig& config() const { return config_; }
    const std::vector<oci::Descriptor>& layers() const { return layers_; }

    // Appends a layer with its history entry.
    void add_layer(const WrittenLayer& layer, oci::History history);
    // Appends a history entry of a change without a layer (empty_layer).
    void add_empty(oci::History history);

    // Writes the config and the manifest blobs (created time `created`,
    // RFC 3339, also set on the config). Does not tag anything.
    WrittenImage write(const oci::Layout& layout, const std::string& created);

private:
    oci::ImageConfig config_;
    std::vector<oci::Descriptor> layers_;
};

// The OCI media type of a layer descriptor's Docker one (unchanged when OCI already).
std::string oci_layer_media_type(const std::string& media_type);

// The image's manifest and config read back from a layout by manifest
// descriptor (no index.json entry needed).
struct StoredImage {
    oci::Descriptor manifest_descriptor;
    oci::Manifest manifest;
    oci::ImageConfig config;
    std::string config_bytes;
};
StoredImage read_stored_image(const oci::Layout& layout, const oci::Descriptor& manifest);
// Whether every blob of the image (manifest, config, layers) is in the layout.
bool image_complete(const oci::Layout& layout, const oci::Descriptor& manifest);

} // namespace ctk::image
