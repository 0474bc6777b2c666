#include "image/image_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/lock.hpp"
#include "core/strings.hpp"
#include "core/time.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace ctk::image {

namespace {

bool is_hex_id(std::string_view s, size_t min, size_t max) {
    if (s.size() < min || s.size() > max) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

} // namespace

std::string normalize_reference(std::string_view ref) {
    return oci::Reference::parse_normalized(ref).with_default_tag().str();
}

std::string familiar_reference(std::string_view full) {
    try {
        return oci::Reference::parse_normalized(full).familiar();
    } catch (const Error&) {
        return std::string(full);
    }
}

std::vector<std::string> LocalImage::repo_tags() const {
    std::vector<std::string> out;
    for (const auto& r : ref_names)
        if (r.find('@') == std::string::npos) out.push_back(familiar_reference(r));
    return out;
}

std::vector<std::string> LocalImage::repo_digests() const {
    std::set<std::string> out;
    for (const auto& r : ref_names) {
        try {
            auto ref = oci::Reference::parse_normalized(r);
            out.insert(ref.familiar_name() + "@" + resolved.manifest_descriptor.digest.str());
        } catch (const Error&) {
        }
    }
    return {out.begin(), out.end()};
}

int64_t LocalImage::size() const {
    int64_t n = 0;
    for (const auto& l : resolved.manifest.layers) n += l.size;
    return n;
}

int64_t LocalImage::created_unix() const {
    auto t = parse_rfc3339(resolved.config.created);
    return t ? *t / 1000000000 : 0;
}

ImageStore::ImageStore(store::Paths paths) : paths_(std::move(paths)), images_(paths_.images()) {}

ImageStore ImageStore::at_layout(const std::string& layout) {
    ImageStore s(store::Paths::from_env());
    s.images_ = layout;
    return s;
}

oci::Layout ImageStore::layout() const {
    if (oci::Layout::exists(images_)) return oci::Layout::open(images_);
    auto slash = images_.find_last_of('/');
    if (slash != std::string::npos && slash > 0) make_dirs(images_.substr(0, slash));
    return oci::Layout::create(images_);
}

std::vector<LocalImage> ImageStore::list() const {
    std::vector<LocalImage> out;
    if (!oci::Layout::exists(images_)) return out;
    oci::Layout l = oci::Layout::open(images_);
    for (const auto& d : l.read_index().manifests) {
        oci::ResolvedImage r;
        try {
            r = oci::resolve_image(l, d);
        } catch (const Error&) {
            continue; // no image for this platform, or blobs missing: not usable here
        }
        std::string id = r.manifest.config.digest.str();
        auto it = std::find_if(out.begin(), out.end(), [&](const LocalImage& i) { return i.id == id; });
        if (it == out.end()) {
            LocalImage img;
            img.id = id;
            try {
                img.config = parse_json(r.config_bytes, "config " + id);
            } catch (const Error&) {
                img.config = Json::object();
            }
            img.resolved = std::move(r);
            out.push_back(std::move(img));
            it = out.end() - 1;
        }
        it->entries.push_back(d);
        std::string name = d.ref_name();
        if (!name.empty() && std::find(it->ref_names.begin(), it->ref_names.end(), name) == it->ref_names.end())
            it->ref_names.push_back(name);
    }
    return out;
}

namespace {

// "@sha256:<hex>": a manifest blob of the layout, listed in index.json or not.
std::optional<LocalImage> manifest_blob_image(const std::string& images, const std::string& digest,
                                              std::vector<LocalImage>& listed) {
    for (auto& i : listed)
        if (i.resolved.manifest_descriptor.digest.str() == digest) return i;
    if (!oci::Layout::exists(images)) return std::nullopt;
    oci::Layout l = oci::Layout::open(images);
    Digest d = Digest::parse(digest);
    if (!l.has_blob(d)) return std::nullopt;
    UniqueFd fd = l.open_blob(d);
    std::string bytes = read_fd(fd.get(), 4u << 20);
    if (Digest::sha256_of(bytes) != d) throw_invalid("blob " + digest + " does not match its digest");
    Json j = parse_json(bytes, "manifest " + digest);
    oci::Descriptor desc;
    desc.digest = d;
    desc.size = static_cast<int64_t>(bytes.size());
    desc.media_type = j.value("mediaType", std::string(oci::media::oci_manifest));
    if (!oci::is_manifest_type(desc.media_type) && !oci::is_index_type(desc.media_type))
        throw_invalid("blob " + digest + " is not an image manifest");
    LocalImage img;
    img.resolved = oci::resolve_image(l, desc);
    img.id = img.resolved.manifest.config.digest.str();
    try {
        img.config = parse_json(img.resolved.config_bytes, "config " + img.id);
    } catch (const Error&) {
        img.config = Json::object();
    }
    return img;
}

} // namespace

std::optional<LocalImage> ImageStore::find(std::string_view ref_in) const {
    std::string ref(ref_in);
    if (ref.empty()) return std::nullopt;
    auto images = list();
    if (ref[0] == '@') {
        if (!Digest::valid(ref.substr(1))) throw_invalid("invalid manifest digest " + quote(ref));
        return manifest_blob_image(images_, ref.substr(1), images);
    }
    auto by = [&](auto pred) -> std::optional<LocalImage> {
        for (auto& i : images)
            if (pred(i)) return i;
        return std::nullopt;
    };
    if (Digest::valid(ref)) {
        if (auto hit = by([&](const LocalImage& i) {
                if (i.id == ref || i.resolved.manifest_descriptor.digest.str() == ref) return true;
                for (const auto& e : i.entries)
                    if (e.digest.str() == ref) return true;
                return false;
            }))
            return hit;
        // an untagged manifest no index entry lists (a build's intermediate image)
        try {
            oci::Layout l = oci::Layout::open(images_);
            if (!l.has_blob(Digest::parse(ref))) return std::nullopt;
            UniqueFd fd = l.open_blob(Digest::parse(ref));
            char head[512];
            ssize_t n = ::read(fd.get(), head, sizeof head);
            if (n <= 0 || std::string_view(head, static_cast<size_t>(n)).find("\"layers\"") == std::string_view::npos)
                return std::nullopt;
        } catch (const Error&) {
            return std::nullopt;
        }
        return manifest_blob_image(images_, ref, images);
    }
    if (is_hex_id(ref, 64, 64)) return by([&](const LocalImage& i) { return i.id == "sha256:" + ref; });
    try {
        auto parsed = oci::Reference::parse_normalized(ref);
        std::string full = parsed.with_default_tag().str();
        if (auto hit = by([&](const LocalImage& i) {
                return std::find(i.ref_names.begin(), i.ref_names.end(), full) != i.ref_names.end();
            }))
            return hit;
        if (!parsed.digest.empty()) {
            if (auto hit = by([&](const LocalImage& i) {
                    if (i.resolved.manifest_descriptor.digest.str() == parsed.digest) return true;
                    for (const auto& e : i.entries)
                        if (e.digest.str() == parsed.digest) return true;
                    return false;
                }))
                return hit;
        }
    } catch (const Error&) {
    }
    std::string prefix = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
    if (is_hex_id(prefix, 1, 64)) {
        std::optional<LocalImage> found;
        for (auto& i : images) {
            if (i.id.compare(7, prefix.size(), prefix) == 0) {
                if (found && found->id != i.id) throw_invalid("multiple images found with provided prefix: " + prefix);
                found = i;
            }
        }
        return found;
    }
    return std::nullopt;
}

LocalImage ImageStore::get(std::string_view ref) const {
    auto i = find(ref);
    if (!i) throw_not_found("No such image: " + std::string(ref));
    return std::move(*i);
}

std::string ImageStore::unpack_ref(const LocalImage& image, std::string_view asked) const {
    try {
        std::string full = normalize_reference(asked);
        if (std::find(image.ref_names.begin(), image.ref_names.end(), full) != image.ref_names.end()) return full;
    } catch (const Error&) {
    }
    return image.entries.empty() ? image.resolved.manifest_descriptor.digest.str() : image.entries[0].digest.str();
}

void ImageStore::tag(std::string_view source, std::string_view target) const {
    LocalImage img = get(source);
    std::string full = normalize_reference(target);
    oci::Descriptor d = img.entries.empty() ? img.resolved.manifest_descriptor : img.entries[0];
    d.annotations.erase(oci::annotation_ref_name);
    layout().tag(full, d);
}

void index_add(oci::Index& index, const oci::Descriptor& manifest, const std::vector<std::string>& refs) {
    if (refs.empty()) {
        for (const auto& e : index.manifests)
            if (e.digest == manifest.digest) return;
        oci::Descriptor d = manifest;
        d.annotations.erase(oci::annotation_ref_name);
        index.manifests.push_back(d);
        return;
    }
    for (const auto& r : refs) {
        std::erase_if(index.manifests, [&](const oci::Descriptor& old) { return old.ref_name() == r; });
        oci::Descriptor d = manifest;
        d.annotations[oci::annotation_ref_name] = r;
        index.manifests.push_back(d);
    }
    // an untagged entry of the same image is now redundant
    std::erase_if(index.manifests, [&](const oci::Descriptor& old) {
        return old.ref_name().empty() && old.digest == manifest.digest;
    });
}

bool index_untag(oci::Index& index, std::string_view ref_name) {
    return std::erase_if(index.manifests, [&](const oci::Descriptor& d) { return d.ref_name() == ref_name; }) > 0;
}

void index_remove(oci::Index& index, const std::vector<oci::Descriptor>& entries) {
    std::set<std::string> digests;
    for (const auto& e : entries) digests.insert(e.digest.str());
    std::erase_if(index.manifests, [&](const oci::Descriptor& d) { return digests.count(d.digest.str()) > 0; });
}

void ImageStore::add(const oci::Descriptor& manifest, const std::vector<std::string>& refs) const {
    layout().update_index([&](oci::Index& index) { index_add(index, manifest, refs); });
}

namespace {

void collect_blobs(const oci::Layout& l, const oci::Descriptor& d, std::set<std::string>& out) {
    if (!out.insert(d.digest.str()).second) return;
    try {
        if (oci::is_index_type(d.media_type)) {
            auto idx = oci::Index::parse(l.read_blob(d), d.digest.str());
            for (const auto& m : idx.manifests) collect_blobs(l, m, out);
        } else if (oci::is_manifest_type(d.media_type)) {
            auto m = oci::Manifest::parse(l.read_blob(d), d.digest.str());
            out.insert(m.config.digest.str());
            for (const auto& layer : m.layers) out.insert(layer.digest.str());
        }
    } catch (const Error&) {
        // a missing or broken blob references nothing more
    }
}

} // namespace

void ImageStore::delete_unreferenced(const std::vector<oci::Descriptor>& removed) const {
    oci::Layout l = layout();
    FileLock lock(l.lock_path());
    std::set<std::string> keep, drop;
    for (const auto& d : l.read_index().manifests) collect_blobs(l, d, keep);
    for (const auto& d : removed) collect_blobs(l, d, drop);
    for (const auto& digest : drop) {
        if (keep.count(digest)) continue;
        ::unlink(l.blob_path(Digest::parse(digest)).c_str());
    }
}

ImageStore::Removal ImageStore::removal(std::string_view ref_in, bool force,
                                        const std::function<std::string(const std::string&)>& in_use) const {
    std::string ref(ref_in);
    LocalImage img = get(ref);
    Removal out;
    oci::Layout l = layout();
    std::string user = in_use ? in_use(img.id) : "";
    std::string short_id = img.id.substr(7, 12);

    std::string full;
    try {
        full = normalize_reference(ref);
    } catch (const Error&) {
    }
    bool by_tag = !full.empty() && std::find(img.ref_names.begin(), img.ref_names.end(), full) != img.ref_names.end();
    if (by_tag) {
        if (img.ref_names.size() == 1 && !user.empty() && !force)
            throw_conflict("conflict: unable to remove repository reference \"" + ref +
                           "\" (must force) - container " + user.substr(0, 12) +
                           " is using its referenced image " + short_id);
        out.untag.push_back(full);
    } else {
        if (img.ref_names.size() > 1 && !force)
            throw_conflict("conflict: unable to delete " + short_id +
                           " (must be forced) - image is referenced in multiple repositories");
        if (!user.empty() && !force)
            throw_conflict("conflict: unable to delete " + short_id + " (must be forced) - image is being used by container " +
                           user.substr(0, 12));
        out.untag = img.ref_names;
    }
    for (const auto& r : out.untag) {
        out.result.push_back(Json{{"Untagged", familiar_reference(r)}});
        if (r.find('@') == std::string::npos)
            out.result.push_back(Json{{"Untagged", oci::Reference::parse_normalized(r).familiar_name() + "@" +
                                                       img.resolved.manifest_descriptor.digest.str()}});
    }
    if (out.untag.size() != img.ref_names.size()) return out;
    // No name left: the image goes, with every blob no other image uses.
    out.entries = img.entries;
    std::set<std::string> digests, keep, drop;
    for (const auto& e : img.entries) digests.insert(e.digest.str());
    for (const auto& d : l.read_index().manifests)
        if (!digests.count(d.digest.str()) &&
            std::find(out.untag.begin(), out.untag.end(), d.ref_name()) == out.untag.end())
            collect_blobs(l, d, keep);
    // an image only a manifest blob holds (no index entry): its own blobs
    std::vector<oci::Descriptor> roots = img.entries;
    if (roots.empty()) roots.push_back(img.resolved.manifest_descriptor);
    for (const auto& d : roots) collect_blobs(l, d, drop);
    for (const auto& d : drop)
        if (!keep.count(d)) out.blobs.push_back(d);
    out.result.push_back(Json{{"Deleted", img.id}});
    return out;
}

Json ImageStore::remove(std::string_view ref, bool force,
                        const std::function<std::string(const std::string&)>& in_use) const {
    Removal r = removal(ref, force, in_use);
    oci::Layout l = layout();
    for (const auto& name : r.untag) l.untag(name);
    if (r.entries.empty()) return r.result;
    l.update_index([&](oci::Index& index) { index_remove(index, r.entries); });
    delete_unreferenced(r.entries);
    return r.result;
}

} // namespace ctk::image
