// OCI image-spec types: descriptor, platform, manifest, index, image config.
// Every struct keeps the fields it does not model in `extra`, so a
// read-modify-write of a document written by another tool loses nothing.
// Manifests and indexes are content-addressed: their bytes are kept as read
// and never re-serialised to compute a digest.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.hpp"
#include "core/json.hpp"

namespace ctk::oci {

using Annotations = std::map<std::string, std::string>;

// Standard annotation keys (annotations.md).
inline constexpr const char* annotation_ref_name = "org.opencontainers.image.ref.name";
inline constexpr const char* annotation_created = "org.opencontainers.image.created";

struct Platform {
    std::string architecture;
    std::string os;
    std::string os_version;
    std::vector<std::string> os_features;
    std::string variant;
    Json extra = Json::object();

    // "linux/arm64/v8", "linux/amd64"; architecture names normalised as Docker does
    // (x86_64 -> amd64, aarch64 -> arm64).
    static Platform parse(std::string_view s);
    // The machine this runs on (uname), e.g. linux/amd64, linux/arm64/v8.
    static Platform host();
    std::string str() const;
    // True when an image for `this` runs on a host asking for `wanted` (os and
    // architecture equal, variant equal or unspecified in `wanted`; arm64's
    // default variant v8 matches an empty one).
    bool satisfies(const Platform& wanted) const;
};

struct Descriptor {
    std::string media_type;
    Digest digest;
    int64_t size = 0;
    std::vector<std::string> urls;
    Annotations annotations;
    std::optional<Platform> platform;
    std::string artifact_type;
    Json extra = Json::object();

    // The annotation org.opencontainers.image.ref.name, "" when absent.
    std::string ref_name() const;
};

struct Manifest {
    int schema_version = 2;
    std::string media_type;
    std::string artifact_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::optional<Descriptor> subject;
    Annotations annotations;
    Json extra = Json::object();

    // Parses and checks a manifest: schemaVersion 2, known config and layer types.
    static Manifest parse(std::string_view bytes, std::string_view what);
};

struct Index {
    int schema_version = 2;
    std::string media_type;
    std::vector<Descriptor> manifests;
    Annotations annotations;
    Json extra = Json::object();

    static Index parse(std::string_view bytes, std::string_view what);
    // The entry for `platform` (exact variant first, then a compatible one);
    // nullptr when none fits.
    const Descriptor* select(const Platform& platform) const;
};

struct HealthConfig {
    std::vector<std::string> test;
    int64_t interval = 0, timeout = 0, start_period = 0;
    int retries = 0;
    Json extra = Json::object();
};

// The "config" object of an image config (the defaults for a container).
struct ContainerConfig {
    std::string user;
    std::map<std::string, Json> exposed_ports; // "80/tcp" -> {}
    std::vector<std::string> env;
    std::optional<std::vector<std::string>> entrypoint;
    std::optional<std::vector<std::string>> cmd;
    std::map<std::string, Json> volumes; // "/data" -> {}
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    std::optional<bool> args_escaped;
    std::optional<std::vector<std::string>> shell;
    std::optional<std::vector<std::string>> on_build;
    std::optional<HealthConfig> healthcheck;
    Json extra = Json::object();
};

struct History {
    std::string created;
    std::string created_by;
    std::string author;
    std::string comment;
    bool empty_layer = false;
    Json extra = Json::object();
};

struct ImageConfig {
    std::string created;
    std::string author;
    std::string architecture;
    std::string os;
    std::string os_version;
    std::string variant;
    ContainerConfig config;
    std::string rootfs_type = "layers";
    std::vector<Digest> diff_ids;
    std::vector<History> history;
    Json extra = Json::object();

    static ImageConfig parse(std::string_view bytes, std::string_view what);
    Platform platform() const;
};

// ChainID of the layers so far (image-spec config.md "Layer ChainID"):
// ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
Digest chain_id(const std::vector<Digest>& diff_ids);
// The ChainIDs of every prefix: result[i] = ChainID(L0..Li).
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

void to_json(Json& j, const Platform& v);
void from_json(const Json& j, Platform& v);
void to_json(Json& j, const Descriptor& v);
void from_json(const Json& j, Descriptor& v);
void to_json(Json& j, const Manifest& v);
void from_json(const Json& j, Manifest& v);
void to_json(Json& j, const Index& v);
void from_json(const Json& j, Index& v);
void to_json(Json& j, const HealthConfig& v);
void from_json(const Json& j, HealthConfig& v);
void to_json(Json& j, const ContainerConfig& v);
void from_json(const Json& j, ContainerConfig& v);
void to_json(Json& j, const History& v);
void from_json(const Json& j, History& v);
void to_json(Json& j, const ImageConfig& v);
void from_json(const Json& j, ImageConfig& v);

} // namespace ctk::oci

namespace ctk {
void to_json(Json& j, const Digest& d);
void from_json(const Json& j, Digest& d);
} // namespace ctk
