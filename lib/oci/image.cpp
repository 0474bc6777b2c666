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

void to_json(Json& j, const Platform& v) {
    j = v.extra;
    j["architecture"] = v.architecture;
    j["os"] = v.os;
    put_if(j, "os.version", v.os_version);
    put_if(j, "os.features", v.os_features);
    put_if(j, "variant", v.variant);
}

void from_json(const Json& j, Platform& v) {
    ObjectReader r(j, "platform");
    r.required("architecture", v.architecture);
    r.required("os", v.os);
    r.optional("os.version", v.os_version);
    r.optional("os.features", v.os_features);
    r.optional("variant", v.variant);
    v.extra = r.rest();
}

void to_json(Json& j, const Descriptor& v) {
    j = v.extra;
    j["mediaType"] = v.media_type;
    j["digest"] = v.digest.str();
    j["size"] = v.size;
    put_if(j, "urls", v.urls);
    put_if(j, "annotations", v.annotations);
    put_if(j, "platform", v.platform);
    put_if(j, "artifactType", v.artifact_type);
}

void from_json(const Json& j, Descriptor& v) {
    ObjectReader r(j, "descriptor");
    r.required("mediaType", v.media_type);
    r.required("digest", v.digest);
    r.required("size", v.size);
    if (v.size < 0) throw_invalid("descriptor " + v.digest.str() + ": negative size");
    r.optional("urls", v.urls);
    r.optional("annotations", v.annotations);
    r.optional("platform", v.platform);
    r.optional("artifactType", v.artifact_type);
    v.extra = r.rest();
}

void to_json(Json& j, const Manifest& v) {
    j = v.extra;
    j["schemaVersion"] = v.schema_version;
    put_if(j, "mediaType", v.media_type);
    put_if(j, "artifactType", v.artifact_type);
    j["config"] = v.config;
    j["layers"] = v.layers;
    put_if(j, "subject", v.subject);
    put_if(j, "annotations", v.annotations);
}

void from_json(const Json& j, Manifest& v) {
    ObjectReader r(j, "manifest");
    r.required("schemaVersion", v.schema_version);
    r.optional("mediaType", v.media_type);
    r.optional("artifactType", v.artifact_type);
    r.required("config", v.config);
    r.required("layers", v.layers);
    r.optional("subject", v.subject);
    r.optional("annotations", v.annotations);
    v.extra = r.rest();
}

Manifest Manifest::parse(std::string_view bytes, std::string_view what) {
    Manifest m = parse_json(bytes, what).get<Manifest>();
    if (m.schema_version != 2)
        throw_invalid(std::string(what) + ": unsupported schemaVersion " +
                      std::to_string(m.schema_version));
    if (!m.media_type.empty() && !is_manifest_type(m.media_type))
        throw_invalid(std::string(what) + ": unsupported manifest media type " +
                      quote(m.media_type));
    if (!is_config_type(m.config.media_type) && m.artifact_type.empty())
        throw_invalid(std::string(what) + ": unsupported config media type " +
                      quote(m.config.media_type));
    for (const auto& l : m.layers)
        if (!layer_compression(l.media_type) && m.artifact_type.empty())
            throw_invalid(std::string(what) + ": layer " + l.digest.str() +
                          ": unsupported media type " + quote(l.media_type));
    return m;
}

void to_json(Json& j, const Index& v) {
    j = v.extra;
    j["schemaVersion"] = v.schema_version;
    put_if(j, "mediaType", v.media_type);
    j["manifests"] = v.manifests;
    put_if(j, "annotations", v.annotations);
}

void from_json(const Json& j, Index& v) {
    ObjectReader r(j, "index");
    r.required("schemaVersion", v.schema_version);
    r.optional("mediaType", v.media_type);
    r.required("manifests", v.manifests);
    r.optional("annotations", v.annotations);
    v.extra = r.rest();
}

Index Index::parse(std::string_view bytes, std::string_view what) {
    Index i = parse_json(bytes, what).get<Index>();
    if (i.schema_version != 2)
        throw_invalid(std::string(what) + ": unsupported schemaVersion " +
                      std::to_string(i.schema_version));
    if (!i.media_type.empty() && !is_index_type(i.media_type))
        throw_invalid(std::string(what) + ": unsupported index media type " + quote(i.media_type));
    return i;
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

void to_json(Json& j, const HealthConfig& v) {
    j = v.extra;
    put_if(j, "Test", v.test);
    if (v.interval) j["Interval"] = v.interval;
    if (v.timeout) j["Timeout"] = v.timeout;
    if (v.start_period) j["StartPeriod"] = v.start_period;
    if (v.retries) j["Retries"] = v.retries;
}

void from_json(const Json& j, HealthConfig& v) {
    ObjectReader r(j, "Healthcheck");
    r.optional("Test", v.test);
    r.optional("Interval", v.interval);
    r.optional("Timeout", v.timeout);
    r.optional("StartPeriod", v.start_period);
    r.optional("Retries", v.retries);
    v.extra = r.rest();
}

void to_json(Json& j, const ContainerConfig& v) {
    j = v.extra;
    put_if(j, "User", v.user);
    put_if(j, "ExposedPorts", v.exposed_ports);
    put_if(j, "Env", v.env);
    put_if(j, "Entrypoint", v.entrypoint);
    put_if(j, "Cmd", v.cmd);
    put_if(j, "Volumes", v.volumes);
    put_if(j, "WorkingDir", v.working_dir);
    put_if(j, "Labels", v.labels);
    put_if(j, "StopSignal", v.stop_signal);
    put_if(j, "ArgsEscaped", v.args_escaped);
    put_if(j, "Shell", v.shell);
    put_if(j, "OnBuild", v.on_build);
    put_if(j, "Healthcheck", v.healthcheck);
}

void from_json(const Json& j, ContainerConfig& v) {
    ObjectReader r(j, "image config \"config\"");
    r.optional("User", v.user);
    r.optional("ExposedPorts", v.exposed_ports);
    r.optional("Env", v.env);
    r.optional("Entrypoint", v.entrypoint);
    r.optional("Cmd", v.cmd);
    r.optional("Volumes", v.volumes);
    r.optional("WorkingDir", v.working_dir);
    r.optional("Labels", v.labels);
    r.optional("StopSignal", v.stop_signal);
    r.optional("ArgsEscaped", v.args_escaped);
    r.optional("Shell", v.shell);
    r.optional("OnBuild", v.on_build);
    r.optional("Healthcheck", v.healthcheck);
    v.extra = r.rest();
}

void to_json(Json& j, const History& v) {
    j = v.extra;
    put_if(j, "created", v.created);
    put_if(j, "created_by", v.created_by);
    put_if(j, "author", v.author);
    put_if(j, "comment", v.comment);
    if (v.empty_layer) j["empty_layer"] = true;
}

void from_json(const Json& j, History& v) {
    ObjectReader r(j, "history");
    r.optional("created", v.created);
    r.optional("created_by", v.created_by);
    r.optional("author", v.author);
    r.optional("comment", v.comment);
    r.optional("empty_layer", v.empty_layer);
    v.extra = r.rest();
}

void to_json(Json& j, const ImageConfig& v) {
    j = v.extra;
    put_if(j, "created", v.created);
    put_if(j, "author", v.author);
    j["architecture"] = v.architecture;
    j["os"] = v.os;
    put_if(j, "os.version", v.os_version);
    put_if(j, "variant", v.variant);
    j["config"] = v.config;
    j["rootfs"] = {{"type", v.rootfs_type}, {"diff_ids", v.diff_ids}};
    put_if(j, "history", v.history);
}

void from_json(const Json& j, ImageConfig& v) {
    ObjectReader r(j, "image config");
    r.optional("created", v.created);
    r.optional("author", v.author);
    r.optional("architecture", v.architecture);
    r.optional("os", v.os);
    r.optional("os.version", v.os_version);
    r.optional("variant", v.variant);
    r.optional("config", v.config);
    Json rootfs = Json::object();
    r.optional("rootfs", rootfs);
    ObjectReader rr(rootfs, "image config \"rootfs\"");
    rr.optional("type", v.rootfs_type);
    rr.optional("diff_ids", v.diff_ids);
    r.optional("history", v.history);
    v.extra = r.rest();
}

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
