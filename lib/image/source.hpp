// Where an image to unpack comes from: an OCI image layout (a directory given
// as LAYOUT:REF, or the store's), the JSON that `reg-fetch pull` prints, or a
// `docker save` archive. Each gives the same thing: the image's config, its
// layers in order with their digests, and each layer's bytes as a range of
// an open file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"
#include "core/json.hpp"
#include "image/layer_stream.hpp"
#include "oci/image.hpp"
#include "oci/media_types.hpp"

namespace ctk::image {

struct SourceLayer {
    oci::Descriptor descriptor; // digest empty when the source names none (legacy docker save)
    oci::Compression compression = oci::Compression::none;
    Digest diff_id;
};

class ImageSource {
public:
    // An image in a layout: `ref` is a ref name of index.json, or a manifest
    // or index digest; an index is resolved for `platform` (default: this host).
    static ImageSource from_layout(const std::string& layout, std::string_view ref,
                                   const std::optional<oci::Platform>& platform);
    // An image in the store's layout: `ref` as the user typed it ("busybox"
    // finds docker.io/library/busybox:latest, CONTRACTS "Store image layout").
    static ImageSource from_store(const std::string& images, std::string_view ref,
                                  const std::optional<oci::Platform>& platform);
    // `--image ARG`: "LAYOUT:REF", "LAYOUT" (its only image), or a reference
    // in the store's layout `images`.
    static ImageSource from_argument(std::string_view arg, const std::string& images,
                                     const std::optional<oci::Platform>& platform);
    // The JSON object `reg-fetch pull` prints: "layout" and "digest" (the
    // manifest), optional "manifest" descriptor and "reference".
    static ImageSource from_pull_json(const Json& pulled, const std::optional<oci::Platform>& platform);
    // What `reg-fetch pull` printed: one object, or one per line with
    // --all-platforms, of which the one for `platform` (default: this host) is taken.
    static ImageSource from_pull_output(std::string_view text, const std::optional<oci::Platform>& platform);
    // A `docker save` tar (legacy layout with manifest.json, or Docker 25+
    // with an OCI layout inside). `ref` picks one of several images by tag.
    static ImageSource from_docker_archive(const std::string& file, std::string_view ref,
                                           const std::optional<oci::Platform>& platform);
    // `--archive ARG`: "FILE" or "FILE:TAG" (split where the prefix is a file
    // and the whole is not).
    static ImageSource from_archive_argument(std::string_view arg,
                                             const std::optional<oci::Platform>& platform);

    std::optional<Digest> manifest_digest; // the image's manifest (absent for legacy archives)
    Digest config_digest;                  // the image ID
    oci::ImageConfig config;
    std::vector<SourceLayer> layers;
    std::string reference; // the name it was found under, "" when unknown

    // The bytes of layer i; the fd stays owned by the returned object.
    struct Blob {
        UniqueFd fd;
        BlobRange range;
    };
    Blob open_layer(size_t i) const;

private:
    std::string layout_;               // for layout sources
    std::string archive_;              // for archive sources
    std::vector<std::pair<uint64_t, uint64_t>> member_ranges_; // archive: offset, size per layer
};

} // namespace ctk::image
