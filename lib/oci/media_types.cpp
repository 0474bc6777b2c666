#include "oci/media_types.hpp"

namespace ctk::oci {

std::optional<Compression> layer_compression(std::string_view t) {
    using namespace media;
    if (t == oci_layer || t == oci_layer_nondist || t == docker_layer) return Compression::none;
    if (t == oci_layer_gzip || t == oci_layer_nondist_gzip || t == docker_layer_gzip ||
        t == docker_layer_foreign_gzip)
        return Compression::gzip;
    if (t == oci_layer_zstd || t == oci_layer_nondist_zstd || t == docker_layer_zstd)
        return Compression::zstd;
    return std::nullopt;
}

bool is_manifest_type(std::string_view t) {
    return t == media::oci_manifest || t == media::docker_manifest;
}

bool is_index_type(std::string_view t) {
    return t == media::oci_index || t == media::docker_manifest_list;
}

bool is_config_type(std::string_view t) {
    return t == media::oci_config || t == media::docker_config;
}

} // namespace ctk::oci
