#include "image/source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>


#include "core/error.hpp"
#include "core/fs.hpp"
#include "image/docker_archive.hpp"
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

ImageSource ImageSource::from_docker_archive(const std::string& file, std::string_view ref,
                                             const std::optional<oci::Platform>& platform) {
    DockerArchive archive = DockerArchive::open(file);
    const auto& images = archive.images();
    const ArchivedImage* pick = nullptr;
    std::string reference;
    if (ref.empty()) {
        if (images.size() > 1)
            throw_invalid("archive " + quote(file) + " holds " + std::to_string(images.size()) +
                          " images: name one as ARCHIVE:TAG");
        pick = &images[0];
        if (!pick->repo_tags.empty()) reference = pick->repo_tags[0];
    } else {
        std::string want = oci::Reference::parse_normalized(ref).with_default_tag().str();
        for (const auto& img : images)
            for (const auto& tag : img.repo_tags)
                if (tag == ref || oci::Reference::parse_normalized(tag).with_default_tag().str() == want) {
                    pick = &img;
                    reference = tag;
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
    s.config_digest = pick->config_digest;
    s.config = pick->config;
    s.manifest_digest = pick->manifest_digest;
    if (platform && !s.config.os.empty() && !s.config.platform().satisfies(*platform))
        throw_not_found("archive " + quote(file) + ": image is for " + s.config.platform().str() + ", not " +
                        platform->str());
    for (const auto& l : pick->layers) {
        SourceLayer layer;
        layer.diff_id = l.diff_id;
        layer.descriptor.size = static_cast<int64_t>(l.member.size);
        if (l.named) layer.descriptor.digest = *l.named;
        layer.compression = l.compression;
        switch (l.compression) {
        case oci::Compression::gzip: layer.descriptor.media_type = oci::media::docker_layer_gzip; break;
        case oci::Compression::zstd: layer.descriptor.media_type = oci::media::docker_layer_zstd; break;
        case oci::Compression::none: layer.descriptor.media_type = oci::media::docker_layer; break;
        }
        s.layers.push_back(std::move(layer));
        s.member_ranges_.push_back({l.member.offset, l.member.size});
    }
    return s;
}

} // namespace ctk::image
