// Images in and out of a layout as docker-archive tars: save writes what
// `docker save` writes (manifest.json, repositories, <config hex>.json,
// <v1 id>/layer.tar with VERSION and json); load reads one (docker save's,
// skopeo's docker-archive:, ctl save's) through the one reader,
// docker_archive.hpp, and adds its images to the layout.
#pragma once

#include <string>
#include <vector>

#include "image/image_store.hpp"

namespace ctk::image {

// Writes the images named by `refs` to `out_fd` as one docker-archive tar.
void save_images(const ImageStore& store, const std::vector<std::string>& refs, int out_fd);

struct LoadedImage {
    std::string id;                // "sha256:…"
    std::vector<std::string> tags; // familiar names
};
// Reads a docker-archive tar (gzip, bzip2, xz or zstd compressed too) from
// `in_fd` into the layout: every layer checked against its diff_id before
// anything is added; on failure the blobs it wrote are removed again.
std::vector<LoadedImage> load_images(const ImageStore& store, int in_fd);

} // namespace ctk::image
