// Images in and out of the store without a registry: import, save, load and
// the --change instructions. The work is img-pack's (lib/image/pack.hpp,
// lib/image/docker_save.hpp, lib/build/config_change.hpp); these are the
// engine's callers of it until ctl and ctld run the tool.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/image_store.hpp"
#include "image/docker_save.hpp"
#include "oci/image.hpp"

namespace ctk::engine {

struct ImportOptions {
    std::string source;               // a tar file (any compression), "-" for stdin, or a directory
    std::vector<std::string> changes; // Dockerfile instructions, -c 'CMD ["sh"]'
    std::string message;              // -m, the history comment
    std::string reference;            // REPO[:TAG]; "" leaves the image untagged
    std::optional<oci::Platform> platform;
};

// Returns the image ID ("sha256:…").
std::string import_rootfs(const ImageStore& store, const ImportOptions& options);

// Applies Dockerfile-style changes to an image config's "config" object:
// CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
void apply_changes(Json& config, const std::vector<std::string>& changes);

// Writes the images named by `refs` to `out_fd` as one docker-archive tar.
void save_images(const ImageStore& store, const std::vector<std::string>& refs, int out_fd);

using image::LoadedImage;
// Reads a docker-archive tar (possibly compressed) from `in_fd` into the store.
std::vector<LoadedImage> load_images(const ImageStore& store, int in_fd);

} // namespace ctk::engine
