// reg-fetch pull: an image from a registry into an OCI image layout.
//
// Order of work, so that bad input never changes the layout: the manifest
// (or index, then the platform's manifest) and the config are fetched and
// verified in memory; the layers stream into resumable partial files, hashed
// as they arrive; only when every layer matched its digest and size do the
// blobs move into blobs/ (layers, config, manifest, index), and the tag in
// index.json comes last. Each layer's partial file is locked while it is
// written (Layout::resume_blob), taken in digest order, so two pulls of one
// image into one layout fetch each blob once and never deadlock.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "oci/image.hpp"
#include "registry/session.hpp"

namespace ctk::registry {

struct PullOptions {
    std::string layout;                    // "" = the store's ($CTK_ROOT/images)
    std::optional<oci::Platform> platform; // default: the host's
    bool all_platforms = false;            // every image of an index, tagged as the index
    std::string tag;                       // name in index.json; default: the full reference
    unsigned max_concurrent = 0;           // layers at once; 0 = settings
};

// Pulls `reference` and returns what it printed for each image, the object
// of CONTRACTS.md, reg-fetch "pull: standard output": {"reference","ref_name",
// "layout","digest","index_digest"?,"platform","manifest","config","layers"}.
std::vector<Json> pull(Session& session, std::string_view reference, const PullOptions& options);

} // namespace ctk::registry
