// Local images as the Engine API shows them. The store itself (lookups, tag,
// rmi, index entries) is lib/image/image_store.hpp, which img-pack runs on;
// this adds Docker's list and inspect documents.
#pragma once

#include "core/json.hpp"
#include "image/image_store.hpp"

namespace ctk::engine {

using image::familiar_reference;
using image::LocalImage;
using image::normalize_reference;

class ImageStore : public image::ImageStore {
public:
    using image::ImageStore::ImageStore;

    // Docker's GET /images/json entry and GET /images/{name}/json body.
    Json list_json(const LocalImage& image) const;
    Json inspect_json(const LocalImage& image) const;
};

// Docker's image Config object ("Hostname" … "Labels") from an OCI image config's "config".
Json docker_container_config(const Json& oci_config_config);

} // namespace ctk::engine
