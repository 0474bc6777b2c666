#include "oci/image.hpp"

#include <sys/utsname.h>

#include "core/strings.hpp"
#include "oci/media_types.hpp"

namespace ctk {
void to_json(Json& j, const Digest& d) { j = d.str(); }
void from_json(const Json& j, Digest& d) { d = Digest::parse(j.get<std::string>()); }
} // namespace ctk

namespace ctk::oci {

static std::string normalise_arch(std::string arch, std::string& variant) {
    if (arch == "x86_64" || arch == "x86-64") return "amd64";
    if (arch == "aarch64" || arch == "arm64") {
        if (variant.empty()) variant = "v8";
        return "arm64";
    }
    if (arch == "armhf") {
        variant = "v7";
        return "arm";
    }
    if (arch == "armel") {
        variant = "v6";
        return "arm";
    }
    if (arch == "i386" || arch == "i686") return "386";
    return arch;
}

Platform Platform::parse(std::string_view s) {
    auto parts = split(s, '/');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
        throw_invalid("invalid platform " + quote(s) + ": expected os/arch[/variant]");
    Platform p;
    p.os = to_lower(parts[0]);
    p.variant = parts.size() == 3 ? to_lower(parts[2]) : "";
    p.architecture = normalise_arch(to_lower(parts[1]), p.variant);
    return p;
}

Platform Platform::host() {
    struct utsname u;
    ::uname(&u);
    Platform p;
    p.os = "linux";
    p.architecture = normalise_arch(u.machine, p.variant);
    return p;
}

std::string Platform::str() const {
    std::string s = os + "/" + architecture;
    if (!variant.empty()) s += "/" + variant;
    return s;
}

bool Platform::satisfies(const Platform& wanted) const {
    if (os != wanted.os) return false;
    std::string v1 = variant, v2 = wanted.variant;
    std::string a1 = normalise_arch(architecture, v1);
    std::string a2 = normalise_arch(wanted.architecture, v2);
    if (a1 != a2) return false;
    return v2.empty() || v1.empty() || v1 == v2;
}

std::string Descriptor::ref_name() const {
    auto it = annotations.find(annotation_ref_name);
    return it == annotations.end() ? "" : it->second;
}

// Each type's fields, listed once for both directions (core/json.hpp's
// ObjectReader and ObjectWriter).

constexpr auto platform_fields = [](auto& io, auto& v) {
    io.required("architecture", v.architecture);
    io.required("os", v.os);
    io.optional("os.version", v.os_version);
    io.optional("os.features", v.os_features);
    io.optional("variant", v.variant);
};
void to_json(Json& j, const Platform& v) { write_fields(j, v, platform_fields); }
void from_json(const Json& j, Platform& v) { read_fields(j, v, "platform", platform_fields); }

constexpr auto descriptor_fields = [](auto& io, auto& v) {
    io.required("mediaType", v.media_type);
    io.required("digest", v.digest);
    io.required("size", v.size);
    io.optional("urls", v.urls);
    io.optional("annotations", v.annotations);
    io.optional("platform", v.platform);
    io.optional("artifactType", v.artifact_type);
};
void to_json(Json& j, const Descriptor& v) { write_fields(j, v, descriptor_fields); }
void from_json(const Json& j, Descriptor& v) {
    read_fields(j, v, "descriptor", descriptor_fields);
    if (v.size < 0) throw_invalid("descriptor " + v.digest.str() + ": negative size");
}

constexpr auto manifest_fields = [](auto& io, auto& v) {
    io.required("schemaVersion", v.schema_version);
    io.optional("mediaType", v.media_type);
    io.optional("artifactType", v.artifact_type);
    io.required("config", v.config);
    io.required("layers", v.layers);
    io.optional("subject", v.subject);
    io.optional("annotations", v.annotations);
};
void to_json(Json& j, const Manifest& v) { write_fields(j, v, manifest_fields); }
void from_json(const Json& j, Manifest& v) { read_fields(j, v, "manifest", manifest_fields); }

// An image manifest or index: schemaVersion 2, and a media type, when it
// names one, of that kind.
template <typename T>
static T parse_versioned(std::string_view bytes, std::string_view what, bool (*is_kind)(std::string_view),
                         const char* kind) {
    T t = parse_json(bytes, what).get<T>();
    if (t.schema_version != 2)
        throw_invalid(std::string(what) + ": unsupported schemaVersion " + std::to_string(t.schema_version));
    if (!t.media_type.empty() && !is_kind(t.media_type))
        throw_invalid(std::string(what) + ": unsupported " + kind + " media type " + quote(t.media_type));
    return t;
}

Manifest Manifest::parse(std::string_view bytes, std::string_view what) {
    Manifest m = parse_versioned<Manifest>(bytes, what, is_manifest_type, "manifest");
    if (!is_config_type(m.config.media_type) && m.artifact_type.empty())
        throw_invalid(std::string(what) + ": unsupported config media type " +
                      quote(m.config.media_type));
    for (const auto& l : m.layers)
        if (!layer_compression(l.media_type) && m.artifact_type.empty())
            throw_invalid(std::string(what) + ": layer " + l.digest.str() +
                          ": unsupported media type " + quote(l.media_type));
    return m;
}

constexpr auto index_fields = [](auto& io, auto& v) {
    io.required("schemaVersion", v.schema_version);
    io.optional("mediaType", v.media_type);
    io.required("manifests", v.manifests);
    io.optional("annotations", v.annotations);
};
void to_json(Json& j, const Index& v) { write_fields(j, v, index_fields); }
void from_json(const Json& j, Index& v) { read_fields(j, v, "index", index_fields); }

Index Index::parse(std::string_view bytes, std::string_view what) {
    return parse_versioned<Index>(bytes, what, is_index_type, "index");
}

const Descriptor* Index::select(const Platform& wanted) const {
    std::string wanted_variant = wanted.variant;
    std::string wanted_arch = normalise_arch(wanted.architecture, wanted_variant);
    const Descriptor* compatible = nullptr;
    for (const auto& d : manifests) {
        if (!d.platform || !is_manifest_type(d.media_type) || !d.platform->satisfies(wanted))
            continue;
        std::string variant = d.platform->variant;
        normalise_arch(d.platform->architecture, variant);
        if (variant == wanted_variant) return &d;
        if (!compatible) compatible = &d;
    }
    return compatible;
}

constexpr auto health_fields = [](auto& io, auto& v) {
    io.optional("Test", v.test);
    io.optional("Interval", v.interval);
    io.optional("Timeout", v.timeout);
    io.optional("StartPeriod", v.start_period);
    io.optional("Retries", v.retries);
};
void to_json(Json& j, const HealthConfig& v) { write_fields(j, v, health_fields); }
void from_json(const Json& j, HealthConfig& v) { read_fields(j, v, "Healthcheck", health_fields); }

constexpr auto container_config_fields = [](auto& io, auto& v) {
    io.optional("User", v.user);
    io.optional("ExposedPorts", v.exposed_ports);
    io.optional("Env", v.env);
    io.optional("Entrypoint", v.entrypoint);
    io.optional("Cmd", v.cmd);
    io.optional("Volumes", v.volumes);
    io.optional("WorkingDir", v.working_dir);
    io.optional("Labels", v.labels);
    io.optional("StopSignal", v.stop_signal);
    io.optional("ArgsEscaped", v.args_escaped);
    io.optional("Shell", v.shell);
    io.optional("OnBuild", v.on_build);
    io.optional("Healthcheck", v.healthcheck);
};
void to_json(Json& j, const ContainerConfig& v) { write_fields(j, v, container_config_fields); }
void from_json(const Json& j, ContainerConfig& v) {
    read_fields(j, v, "image config \"config\"", container_config_fields);
}

constexpr auto history_fields = [](auto& io, auto& v) {
    io.optional("created", v.created);
    io.optional("created_by", v.created_by);
    io.optional("author", v.author);
    io.optional("comment", v.comment);
    io.optional("empty_layer", v.empty_layer);
};
void to_json(Json& j, const History& v) { write_fields(j, v, history_fields); }
void from_json(const Json& j, History& v) { read_fields(j, v, "history", history_fields); }

constexpr auto image_config_fields = [](auto& io, auto& v) {
    io.optional("created", v.created);
    io.optional("author", v.author);
    io.defaulted("architecture", v.architecture);
    io.defaulted("os", v.os);
    io.optional("os.version", v.os_version);
    io.optional("variant", v.variant);
    io.defaulted("config", v.config);
    io.nested("rootfs", "image config \"rootfs\"", [&](auto& rootfs) {
        rootfs.defaulted("type", v.rootfs_type);
        rootfs.defaulted("diff_ids", v.diff_ids);
    });
    io.optional("history", v.history);
};
void to_json(Json& j, const ImageConfig& v) { write_fields(j, v, image_config_fields); }
void from_json(const Json& j, ImageConfig& v) { read_fields(j, v, "image config", image_config_fields); }

ImageConfig ImageConfig::parse(std::string_view bytes, std::string_view what) {
    ImageConfig c = parse_json(bytes, what).get<ImageConfig>();
    if (c.rootfs_type != "layers")
        throw_invalid(std::string(what) + ": unsupported rootfs type " + quote(c.rootfs_type));
    return c;
}

Platform ImageConfig::platform() const {
    Platform p;
    p.os = os;
    p.architecture = architecture;
    p.variant = variant;
    p.os_version = os_version;
    return p;
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
    std::vector<Digest> out;
    out.reserve(diff_ids.size());
    for (const auto& d : diff_ids) {
        if (out.empty()) out.push_back(d);
        else out.push_back(Digest::sha256_of(out.back().str() + " " + d.str()));
    }
    return out;
}

Digest chain_id(const std::vector<Digest>& diff_ids) {
    if (diff_ids.empty()) throw_invalid("chain id of an image without layers");
    return chain_ids(diff_ids).back();
}

} // namespace ctk::oci
