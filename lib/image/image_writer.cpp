#include "image/image_writer.hpp"

#include "core/error.hpp"
#include "oci/media_types.hpp"

namespace ctk::image {

std::string oci_layer_media_type(const std::string& t) {
    namespace m = oci::media;
    if (t == m::docker_layer_gzip) return std::string(m::oci_layer_gzip);
    if (t == m::docker_layer) return std::string(m::oci_layer);
    if (t == m::docker_layer_zstd) return std::string(m::oci_layer_zstd);
    if (t == m::docker_layer_foreign_gzip) return std::string(m::oci_layer_nondist_gzip);
    return t;
}

ImageDraft ImageDraft::from(const oci::Manifest& base_manifest, const oci::ImageConfig& base_config) {
    ImageDraft d;
    d.config_ = base_config;
    for (const char* k : {"container", "container_config", "docker_version", "id", "parent", "comment"})
        d.config_.extra.erase(k);
    d.layers_ = base_manifest.layers;
    for (auto& l : d.layers_) l.media_type = oci_layer_media_type(l.media_type);
    if (d.config_.diff_ids.size() != d.layers_.size())
        throw_invalid("base image: " + std::to_string(d.layers_.size()) + " layers but " +
                      std::to_string(d.config_.diff_ids.size()) + " diff_ids");
    return d;
}

ImageDraft ImageDraft::scratch(const oci::Platform& platform) {
    ImageDraft d;
    d.config_.architecture = platform.architecture;
    d.config_.os = platform.os;
    d.config_.variant = platform.variant;
    return d;
}

void ImageDraft::add_layer(const WrittenLayer& layer, oci::History history) {
    if (layer.empty()) {
        add_empty(std::move(history));
        return;
    }
    history.empty_layer = false;
    layers_.push_back(layer.descriptor);
    config_.diff_ids.push_back(layer.diff_id);
    config_.history.push_back(std::move(history));
}

void ImageDraft::add_empty(oci::History history) {
    history.empty_layer = true;
    config_.history.push_back(std::move(history));
}

WrittenImage ImageDraft::write(const oci::Layout& layout, const std::string& created) {
    config_.created = created;
    for (auto& h : config_.history)
        if (h.created.empty()) h.created = created;
    WrittenImage out;
    Json cj = config_;
    out.config_bytes = cj.dump();
    oci::Descriptor cd = layout.write_blob(out.config_bytes, std::string(oci::media::oci_config));
    out.config = cd.digest;
    oci::Manifest m;
    m.media_type = std::string(oci::media::oci_manifest);
    m.config = cd;
    m.layers = layers_;
    Json mj = m;
    out.manifest_bytes = mj.dump();
    out.manifest = layout.write_blob(out.manifest_bytes, std::string(oci::media::oci_manifest));
    return out;
}

StoredImage read_stored_image(const oci::Layout& layout, const oci::Descriptor& manifest) {
    StoredImage s;
    s.manifest_descriptor = manifest;
    std::string what = "manifest " + manifest.digest.str();
    s.manifest = oci::Manifest::parse(layout.read_blob(manifest), what);
    s.config_bytes = layout.read_blob(s.manifest.config);
    s.config = oci::ImageConfig::parse(s.config_bytes, "config " + s.manifest.config.digest.str());
    if (s.config.diff_ids.size() != s.manifest.layers.size())
        throw_invalid(what + ": " + std::to_string(s.manifest.layers.size()) + " layers but the config lists " +
                      std::to_string(s.config.diff_ids.size()) + " diff_ids");
    return s;
}

bool image_complete(const oci::Layout& layout, const oci::Descriptor& manifest) {
    if (!layout.has_blob(manifest.digest)) return false;
    try {
        auto m = oci::Manifest::parse(layout.read_blob(manifest), manifest.digest.str());
        if (!layout.has_blob(m.config.digest)) return false;
        for (const auto& l : m.layers)
            if (!layout.has_blob(l.digest)) return false;
        return true;
    } catch (const Error&) {
        return false;
    }
}

} // namespace ctk::image
