// `docker images` written once, as `docker ps` is (container_list.hpp): the
// engine answers GET /images/json (the Engine API's entries, filtered as
// dockerd filters them), ctld sends that list as it is, and one renderer turns
// it into ctl's table, --format or -q output, whether the list came from the
// local store or from a daemon (`ctl -H`).
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/container_list.hpp"

namespace ctk::engine {

class ImageStore;
struct ListOptions;

// dockerd's reference filter: `pattern` against the familiar reference
// ("other:1") and, for a tagged one, its name ("other"), as path.Match does
// ('*' and '?' never match '/').
bool reference_match(const std::string& pattern, const std::string& familiar_ref);

// The store's images passing `filters` (dangling, label, reference, before,
// since), in the Engine API's shape; with a reference filter an entry's
// RepoTags keep only the matching names, and an image with none is left out.
// An unknown key is an ErrorKind::invalid error (ctld: 400).
std::vector<Json> list_images(const ImageStore& store, const FilterMap& filters);

// ListOptions as the filters: --filter, and `docker images REPOSITORY[:TAG]`,
// which the docker CLI sends as a reference filter.
FilterMap image_list_filters(const ListOptions& o, const std::string& repository);

// ctl images's output from list entries: a row per name (<none> for an
// untagged image), -q (each ID once), --no-trunc, --digests, --format.
std::string render_images(const std::vector<Json>& entries, const ListOptions& o);

} // namespace ctk::engine
