#include "engine/image_archive.hpp"

#include "build/config_change.hpp"
#include "image/pack.hpp"

namespace ctk::engine {

std::string import_rootfs(const ImageStore& store, const ImportOptions& o) {
    image::ImportRequest r;
    r.source = o.source;
    r.changes = o.changes;
    r.message = o.message;
    r.reference = o.reference;
    r.platform = o.platform;
    return image::import_image(store, r)["id"].get<std::string>();
}

void apply_changes(Json& config, const std::vector<std::string>& changes) { build::apply_changes(config, changes); }

void save_images(const ImageStore& store, const std::vector<std::string>& refs, int out_fd) {
    image::save_images(store, refs, out_fd);
}

std::vector<LoadedImage> load_images(const ImageStore& store, int in_fd) { return image::load_images(store, in_fd); }

} // namespace ctk::engine
