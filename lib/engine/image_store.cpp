#include "engine/image_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/lock.hpp"
#include "engine/names.hpp"
#include "engine/timefmt.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace ctk::engine {

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

ImageStore::ImageStore(store::Paths paths) : paths_(std::move(paths)) {}

oci::Layout ImageStore::layout() const {
    if (oci::Layout::exists(paths_.images())) return oci::Layout::open(paths_.images());
    make_dirs(paths_.root);
    return oci::Layout::create(paths_.images());
}

std::vector<LocalImage> ImageStore::list() const {
    std::vector<LocalImage> out;
    if (!oci::Layout::exists(paths_.images())) return out;
    oci::Layout l = oci::Layout::open(paths_.images());
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

std::optional<LocalImage> ImageStore::find(std::string_view ref_in) const {
    std::string ref(ref_in);
    if (ref.empty()) return std::nullopt;
    auto images = list();
    auto by = [&](auto pred) -> std::optional<LocalImage> {
        for (auto& i : images)
            if (pred(i)) return i;
        return std::nullopt;
    };
    if (Digest::valid(ref)) {
        return by([&](const LocalImage& i) {
            if (i.id == ref || i.resolved.manifest_descriptor.digest.str() == ref) return true;
            for (const auto& e : i.entries)
                if (e.digest.str() == ref) return true;
            return false;
        });
    }
    if (is_full_id(ref)) return by([&](const LocalImage& i) { return i.id == "sha256:" + ref; });
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
    if (is_id_prefix(prefix)) {
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

void ImageStore::add(const oci::Descriptor& manifest, const std::vector<std::string>& refs) const {
    oci::Layout l = layout();
    l.update_index([&](oci::Index& index) {
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
    });
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
    for (const auto& d : img.entries) collect_blobs(l, d, drop);
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
    std::set<std::string> digests;
    for (const auto& e : r.entries) digests.insert(e.digest.str());
    l.update_index([&](oci::Index& index) {
        std::erase_if(index.manifests, [&](const oci::Descriptor& d) { return digests.count(d.digest.str()) > 0; });
    });
    delete_unreferenced(r.entries);
    return r.result;
}

Json docker_container_config(const Json& c) {
    auto get = [&](const char* k, Json fallback) {
        auto it = c.find(k);
        return it != c.end() && !it->is_null() ? *it : fallback;
    };
    Json out = Json::object();
    out["Hostname"] = "";
    out["Domainname"] = "";
    out["User"] = get("User", "");
    out["AttachStdin"] = false;
    out["AttachStdout"] = false;
    out["AttachStderr"] = false;
    if (c.contains("ExposedPorts")) out["ExposedPorts"] = c["ExposedPorts"];
    out["Tty"] = false;
    out["OpenStdin"] = false;
    out["StdinOnce"] = false;
    out["Env"] = get("Env", nullptr);
    out["Cmd"] = get("Cmd", nullptr);
    if (c.contains("Healthcheck")) out["Healthcheck"] = c["Healthcheck"];
    if (c.contains("ArgsEscaped")) out["ArgsEscaped"] = c["ArgsEscaped"];
    out["Image"] = "";
    out["Volumes"] = get("Volumes", nullptr);
    out["WorkingDir"] = get("WorkingDir", "");
    out["Entrypoint"] = get("Entrypoint", nullptr);
    out["OnBuild"] = get("OnBuild", nullptr);
    out["Labels"] = get("Labels", nullptr);
    if (c.contains("StopSignal")) out["StopSignal"] = c["StopSignal"];
    if (c.contains("Shell")) out["Shell"] = c["Shell"];
    return out;
}

Json ImageStore::list_json(const LocalImage& i) const {
    Json labels = i.config.contains("config") ? i.config["config"].value("Labels", Json()) : Json();
    return Json{{"Containers", -1},
                {"Created", i.created_unix()},
                {"Id", i.id},
                {"Labels", labels},
                {"ParentId", ""},
                {"RepoDigests", i.repo_digests()},
                {"RepoTags", i.repo_tags()},
                {"SharedSize", -1},
                {"Size", i.size()},
                {"VirtualSize", i.size()}};
}

Json ImageStore::inspect_json(const LocalImage& i) const {
    const Json& cfg = i.config;
    Json c = cfg.contains("config") && cfg["config"].is_object() ? cfg["config"] : Json::object();
    Json diff_ids = cfg.contains("rootfs") ? cfg["rootfs"].value("diff_ids", Json::array()) : Json::array();
    std::string comment = cfg.value("comment", "");
    if (comment.empty() && cfg.contains("history") && cfg["history"].is_array() && !cfg["history"].empty())
        comment = cfg["history"].back().value("comment", "");
    Json out = Json::object();
    out["Id"] = i.id;
    out["RepoTags"] = i.repo_tags();
    out["RepoDigests"] = i.repo_digests();
    out["Parent"] = "";
    out["Comment"] = comment;
    out["Created"] = cfg.value("created", std::string(zero_time));
    out["Container"] = "";
    out["ContainerConfig"] = docker_container_config(Json::object());
    out["DockerVersion"] = "";
    out["Author"] = cfg.value("author", "");
    out["Config"] = docker_container_config(c);
    out["Architecture"] = cfg.value("architecture", "");
    if (cfg.contains("variant")) out["Variant"] = cfg["variant"];
    out["Os"] = cfg.value("os", "");
    out["Size"] = i.size();
    out["VirtualSize"] = i.size();
    std::vector<std::string> lowers;
    auto chains = oci::chain_ids(i.resolved.config.diff_ids);
    for (auto it = chains.rbegin(); it != chains.rend(); ++it) lowers.push_back(paths_.layer(it->encoded()));
    std::string lower;
    for (size_t k = 0; k < lowers.size(); k++) lower += (k ? ":" : "") + lowers[k];
    out["GraphDriver"] = Json{{"Data", Json{{"LowerDir", lower}}}, {"Name", "overlay"}};
    out["RootFS"] = Json{{"Type", "layers"}, {"Layers", diff_ids}};
    out["Metadata"] = Json{{"LastTagTime", zero_time}};
    out["Descriptor"] = i.resolved.manifest_descriptor;
    return out;
}

} // namespace ctk::engine
