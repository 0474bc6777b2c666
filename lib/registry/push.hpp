// reg-fetch push: an image of an OCI image layout to a registry
// (distribution-spec "Push"). For each blob: HEAD first (the registry may
// have it); else a cross-repository mount from another repository of the
// same registry that the layout's index names an image of (the blob came
// from there); else an upload: one PUT for blobs up to chunk_size, PATCH
// chunks and a closing PUT for larger ones. Manifests go last: an index's
// images by digest, then the top manifest or index under the tag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "registry/session.hpp"

namespace ctk::registry {

inline constexpr uint64_t default_chunk_size = 32u << 20;

struct PushOptions {
    uint64_t chunk_size = default_chunk_size;
    unsigned max_concurrent = 0; // blobs at once; 0 = settings
};

// `source`: "LAYOUT:NAME" (NAME as tagged in the layout, or its digest), or
// an image name in the store's layout. `destination`: a reference; "" = the
// source's name (store images only). Returns {"reference","digest",
// "media_type","size","blobs":{"pushed","mounted","existing"}}.
Json push(Session& session, std::string_view source, std::string_view destination,
          const PushOptions& options);

} // namespace ctk::registry
