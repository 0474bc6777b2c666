// Media types of the OCI image-spec (media-types.md) and of Docker's image
// manifest v2 schema 2, which registries still serve.
#pragma once

#include <optional>
#include <string_view>

namespace ctk::oci {

namespace media {
inline constexpr std::string_view oci_layout_version = "1.0.0";
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view oci_layer_nondist =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view oci_layer_nondist_gzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view oci_layer_nondist_zstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view docker_layer_gzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view docker_layer_foreign_gzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view docker_layer_zstd =
    "application/vnd.docker.image.rootfs.diff.tar.zstd";
} // namespace media

enum class Compression { none, gzip, zstd };

// The compression of a layer media type; nullopt when it is not a layer type ctk knows.
std::optional<Compression> layer_compression(std::string_view media_type);
bool is_manifest_type(std::string_view media_type); // OCI or Docker image manifest
bool is_index_type(std::string_view media_type);    // OCI index or Docker manifest list
bool is_config_type(std::string_view media_type);

} // namespace ctk::oci
