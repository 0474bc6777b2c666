#include "image/source.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "oci/layout.hpp"
#include "oci/reference.hpp"

namespace ctk::image {

namespace {

ImageSource from_resolved(oci::ResolvedImage r, std::string reference) {
    ImageSource s;
    s.manifest_digest = r.manifest_descriptor.digest;
    s.config_digest = r.manifest.config.digest;
    s.config = std::move(r.config);
    s.reference = std::move(reference);
    for (size_t i = 0; i < r.manifest.layers.size(); i++) {
        const auto& d = r.manifest.layers[i];
        auto c = oci::layer_compression(d.media_type);
        if (!c)
            throw_invalid("manifest " + r.manifest_descriptor.digest.str() + ": layer " + d.digest.str() +
                          " has the unsupported media type " + quote(d.media_type));
        s.layers.push_back({d, *c, s.config.diff_ids[i]});
    }
    return s;
}

} // namespace

ImageSource ImageSource::from_layout(const std::string& layout, std::string_view ref,
                                     const std::optional<oci::Platform>& platform) {
    oci::Layout l = oci::Layout::open(layout);
    if (ref.empty()) {
        // "LAYOUT" alone: its only image.
        auto index = l.read_index();
        if (index.manifests.size() != 1)
            throw_invalid("image layout " + quote(layout) + " holds " +
                          std::to_string(index.manifests.size()) + " images: name one as LAYOUT:REF");
        ImageSource s = from_resolved(oci::resolve_image(l, index.manifests[0], platform),
                                      index.manifests[0].ref_name());
        s.layout_ = layout;
        return s;
    }
    ImageSource s = from_resolved(oci::resolve_image(l, ref, platform), std::string(ref));
    s.layout_ = layout;
    return s;
}

ImageSource ImageSource::from_store(const std::string& images, std::string_view ref,
                                    const std::optional<oci::Platform>& platform) {
    if (!oci::Layout::exists(images))
        throw_not_found("image " + quote(ref) + " not found: the store has no images (" + images + ")");
    oci::Layout l = oci::Layout::open(images);
    std::string name(ref);
    if (!Digest::valid(ref) && !l.find(ref)) {
        if (oci::is_hex_identifier(ref)) {
            name = "sha256:" + std::string(ref);
        } else {
            name = oci::Reference::parse_normalized(ref).with_default_tag().str();
        }
    }
    ImageSource s = from_resolved(oci::resolve_image(l, name, platform), name);
    s.layout_ = images;
    return s;
}

ImageSource ImageSource::from_argument(std::string_view arg, const std::string& images,
                                       const std::optional<oci::Platform>& platform) {
    if (arg.empty()) throw_invalid("empty image name");
    // "LAYOUT:REF" when a prefix up to a ':' is a layout directory, "LAYOUT"
    // alone, else a reference in the store.
    for (size_t pos = arg.find(':'); pos != std::string_view::npos; pos = arg.find(':', pos + 1)) {
        std::string dir(arg.substr(0, pos));
        if (oci::Layout::exists(dir)) return from_layout(dir, arg.substr(pos + 1), platform);
    }
    if (oci::Layout::exists(std::string(arg))) return from_layout(std::string(arg), "", platform);
    return from_store(images, arg, platform);
}

ImageSource ImageSource::from_archive_argument(std::string_view arg,
                                               const std::optional<oci::Platform>& platform) {
    auto is_file = [](const std::string& p) {
        struct stat st;
        return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    };
    std::string whole(arg);
    if (!is_file(whole))
        for (size_t pos = arg.find(':'); pos != std::string_view::npos; pos = arg.find(':', pos + 1))
            if (is_file(whole.substr(0, pos))) return from_docker_archive(whole.substr(0, pos), arg.substr(pos + 1), platform);
    return from_docker_archive(whole, "", platform);
}

ImageSource ImageSource::from_pull_json(const Json& pulled, const std::optional<oci::Platform>& platform) {
    if (!pulled.is_object()) throw_invalid("standard input: expected the JSON object that reg-fetch pull prints");
    std::string layout, reference;
    Digest digest;
    std::optional<oci::Descriptor> manifest;
    try {
        ObjectReader r(pulled, "standard input");
        r.required("layout", layout);
        r.required("digest", digest);
        r.optional("reference", reference);
        r.optional("manifest", manifest);
    } catch (const Error& e) {
        throw e.wrap("reg-fetch JSON");
    }
    oci::Layout l = oci::Layout::open(layout);
    oci::Descriptor d;
    if (manifest && manifest->digest == digest) {
        d = *manifest;
    } else {
        // Only the digest: the blob says what it is.
        UniqueFd fd = l.open_blob(digest);
        struct stat st;
        if (::fstat(fd.get(), &st) < 0) throw_errno("stat blob", digest.str());
        std::string bytes = read_fd(fd.get(), 4u << 20);
        Json j = parse_json(bytes, "manifest " + digest.str());
        d.digest = digest;
        d.size = static_cast<int64_t>(bytes.size());
        d.media_type = j.value("mediaType", std::string(oci::media::oci_manifest));
    }
    ImageSource s = from_resolved(oci::resolve_image(l, d, platform), reference);
    s.layout_ = layout;
    return s;
}

ImageSource ImageSource::from_pull_output(std::string_view text, const std::optional<oci::Platform>& platform) {
    std::vector<Json> objects;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        objects.push_back(parse_json(line, "standard input"));
    }
    if (objects.empty()) throw_invalid("standard input: no JSON (expected what reg-fetch pull prints)");
    if (objects.size() == 1) return from_pull_json(objects[0], platform);
    oci::Platform want = platform ? *platform : oci::Platform::host();
    for (const auto& o : objects) {
        if (!o.is_object() || !o.contains("platform") || !o["platform"].is_string()) continue;
        if (oci::Platform::parse(o["platform"].get<std::string>()).satisfies(want))
            return from_pull_json(o, std::nullopt);
    }
    throw_not_found("standard input: " + std::to_string(objects.size()) + " images, none for platform " +
                    want.str());
}

ImageSource::Blob ImageSource::open_layer(size_t i) const {
    Blob b;
    const SourceLayer& layer = layers.at(i);
    if (!archive_.empty()) {
        b.fd = open_path(archive_, O_RDONLY);
        b.range = {b.fd.get(), member_ranges_[i].first, member_ranges_[i].second};
        return b;
    }
    oci::Layout l = oci::Layout::open(layout_);
    b.fd = l.open_blob(layer.descriptor.digest);
    if (layer.descriptor.size < 0) throw_invalid("layer " + layer.descriptor.digest.str() + ": negative size");
    b.range = {b.fd.get(), 0, static_cast<uint64_t>(layer.descriptor.size)};
    return b;
}

// ---- docker save archives

namespace {

struct Member {
    uint64_t offset = 0;
    uint64_t size = 0;
};

// The regular files of an uncompressed tar and where their data lie. An
// entry occupies [header, next header); its data are the last
// round_up(size, 512) bytes of that span (after any PAX or GNU long-name
// headers of its own).
std::map<std::string, Member> index_tar(const std::string& file) {
    UniqueFd fd = open_path(file, O_RDONLY);
    unsigned char magic[6] = {};
    ssize_t got = ::pread(fd.get(), magic, sizeof magic, 0);
    if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        throw_invalid("archive " + quote(file) + " is gzip-compressed: decompress it first (gunzip)");
    if (got >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        throw_invalid("archive " + quote(file) + " is zstd-compressed: decompress it first (unzstd)");
    struct archive* a = archive_read_new();
    ScopeGuard free_archive([&] { archive_read_free(a); });
    archive_read_support_format_tar(a);
    if (archive_read_open_fd(a, fd.get(), 1 << 16) != ARCHIVE_OK)
        throw_invalid("archive " + quote(file) + ": " + archive_error_string(a));
    std::map<std::string, Member> members;
    std::string pending_name;
    uint64_t pending_size = 0;
    bool pending = false;
    auto close_pending = [&](uint64_t next_header) {
        if (!pending) return;
        uint64_t padded = (pending_size + 511) / 512 * 512;
        if (next_header < padded) throw_invalid("archive " + quote(file) + ": malformed tar");
        members[pending_name] = {next_header - padded, pending_size};
        pending = false;
    };
    for (;;) {
        archive_entry* e;
        int r = archive_read_next_header(a, &e);
        close_pending(static_cast<uint64_t>(archive_read_header_position(a)));
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) throw_invalid("archive " + quote(file) + ": " + archive_error_string(a));
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) continue;
        const char* name = archive_entry_pathname(e);
        if (!name) continue;
        std::string n = name;
        while (n.rfind("./", 0) == 0) n.erase(0, 2);
        pending_name = n;
        pending_size = static_cast<uint64_t>(archive_entry_size(e));
        pending = true;
    }
    return members;
}

std::string read_member(const std::string& file, const Member& m, const std::string& name) {
    if (m.size > (16u << 20)) throw_invalid("archive member " + quote(name) + " is too large");
    UniqueFd fd = open_path(file, O_RDONLY);
    std::string out(m.size, '\0');
    size_t done = 0;
    while (done < m.size) {
        ssize_t n = ::pread(fd.get(), out.data() + done, m.size - done, static_cast<off_t>(m.offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", file);
        }
        if (n == 0) throw_invalid("archive " + quote(file) + ": member " + quote(name) + " is truncated");
        done += static_cast<size_t>(n);
    }
    return out;
}

// A member named by its digest ("blobs/sha256/<hex>", "<hex>.json") is checked against it.
std::optional<Digest> digest_of_member_name(const std::string& name) {
    std::string s = name;
    if (s.rfind("blobs/", 0) == 0) {
        s = s.substr(6);
        auto slash = s.find('/');
        if (slash == std::string::npos) return std::nullopt;
        std::string d = s.substr(0, slash) + ":" + s.substr(slash + 1);
        if (Digest::valid(d)) return Digest::parse(d);
        return std::nullopt;
    }
    auto dot = s.find('.');
    std::string hex = s.substr(0, dot);
    if (hex.find('/') == std::string::npos && oci::is_hex_identifier(hex)) return Digest::parse("sha256:" + hex);
    return std::nullopt;
}

} // namespace

ImageSource ImageSource::from_docker_archive(const std::string& file, std::string_view ref,
                                             const std::optional<oci::Platform>& platform) {
    auto members = index_tar(file);
    auto member = [&](const std::string& name) -> const Member& {
        auto it = members.find(name);
        if (it == members.end()) throw_invalid("archive " + quote(file) + " has no " + quote(name));
        return it->second;
    };
    Json manifest = parse_json(read_member(file, member("manifest.json"), "manifest.json"),
                               file + ": manifest.json");
    if (!manifest.is_array() || manifest.empty())
        throw_invalid("archive " + quote(file) + ": manifest.json lists no image");
    const Json* pick = nullptr;
    std::string reference;
    if (ref.empty()) {
        if (manifest.size() > 1)
            throw_invalid("archive " + quote(file) + " holds " + std::to_string(manifest.size()) +
                          " images: name one as ARCHIVE:TAG");
        pick = &manifest[0];
        if (manifest[0].contains("RepoTags") && manifest[0]["RepoTags"].is_array() &&
            !manifest[0]["RepoTags"].empty())
            reference = manifest[0]["RepoTags"][0].get<std::string>();
    } else {
        std::string want = oci::Reference::parse_normalized(ref).with_default_tag().str();
        for (const auto& m : manifest) {
            if (!m.contains("RepoTags") || !m["RepoTags"].is_array()) continue;
            for (const auto& t : m["RepoTags"]) {
                std::string tag = t.get<std::string>();
                if (tag == ref || oci::Reference::parse_normalized(tag).with_default_tag().str() == want) {
                    pick = &m;
                    reference = tag;
                }
            }
        }
        if (!pick) throw_not_found("archive " + quote(file) + " has no image tagged " + quote(ref));
    }
    if (!reference.empty()) {
        try {
            reference = oci::Reference::parse_normalized(reference).with_default_tag().str();
        } catch (const Error&) {
        }
    }
    ImageSource s;
    s.archive_ = file;
    s.reference = reference;
    std::string config_name = pick->value("Config", "");
    std::string config_bytes = read_member(file, member(config_name), config_name);
    s.config_digest = Digest::sha256_of(config_bytes);
    if (auto named = digest_of_member_name(config_name))
        verify_digest("archive " + file + ": config " + config_name, *named, s.config_digest);
    s.config = oci::ImageConfig::parse(config_bytes, "config " + s.config_digest.str());
    if (platform && !s.config.os.empty() && !s.config.platform().satisfies(*platform))
        throw_not_found("archive " + quote(file) + ": image is for " + s.config.platform().str() + ", not " +
                        platform->str());
    std::vector<std::string> layer_names = pick->value("Layers", std::vector<std::string>{});
    if (layer_names.size() != s.config.diff_ids.size())
        throw_invalid("archive " + quote(file) + ": " + std::to_string(layer_names.size()) +
                      " layers but the config lists " + std::to_string(s.config.diff_ids.size()) +
                      " diff_ids");
    UniqueFd fd = open_path(file, O_RDONLY);
    for (size_t i = 0; i < layer_names.size(); i++) {
        const Member& m = member(layer_names[i]);
        SourceLayer layer;
        layer.diff_id = s.config.diff_ids[i];
        layer.descriptor.size = static_cast<int64_t>(m.size);
        if (auto named = digest_of_member_name(layer_names[i])) layer.descriptor.digest = *named;
        // The archive does not say how a layer is compressed: its first bytes do.
        unsigned char magic[4] = {};
        ssize_t got = ::pread(fd.get(), magic, sizeof magic, static_cast<off_t>(m.offset));
        if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            layer.compression = oci::Compression::gzip;
            layer.descriptor.media_type = oci::media::docker_layer_gzip;
        } else if (got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
            layer.compression = oci::Compression::zstd;
            layer.descriptor.media_type = oci::media::docker_layer_zstd;
        } else {
            layer.compression = oci::Compression::none;
            layer.descriptor.media_type = oci::media::docker_layer;
        }
        s.layers.push_back(std::move(layer));
        s.member_ranges_.push_back({m.offset, m.size});
    }
    // Docker 25+ puts an OCI layout beside manifest.json: its index names the manifest.
    if (members.count("index.json")) {
        try {
            Json index = parse_json(read_member(file, members["index.json"], "index.json"), "index.json");
            for (const auto& d : index.value("manifests", Json::array())) {
                Digest md = Digest::parse(d.value("digest", ""));
                std::string blob = "blobs/" + md.algorithm() + "/" + md.encoded();
                if (!members.count(blob)) continue;
                std::string bytes = read_member(file, members[blob], blob);
                if (Digest::sha256_of(bytes) != md) continue;
                Json m = parse_json(bytes, blob);
                if (m.contains("config") && m["config"].value("digest", "") == s.config_digest.str()) {
                    s.manifest_digest = md;
                    break;
                }
            }
        } catch (const Error&) {
            // The index is a convenience: without it the image has no manifest digest.
        }
    }
    return s;
}

} // namespace ctk::image
