#include "engine/disk_usage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/lock.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"
#include "engine/format.hpp"
#include "engine/timefmt.hpp"
#include "oci/media_types.hpp"
#include "engine/tools.hpp"

namespace ctk::engine {

namespace {

std::vector<std::string> dir_names(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) {
            std::string_view n = e->d_name;
            if (n != "." && n != "..") out.emplace_back(n);
        }
        ::closedir(d);
    }
    return out;
}

// Bytes of the files below dirfd, on its filesystem only (a container's
// mounted overlay rootfs shows its image's layers, counted there).
int64_t usage_at(int dirfd, dev_t dev, int depth) {
    if (depth > 256) return 0;
    int64_t total = 0;
    int fd = ::dup(dirfd);
    if (fd < 0) return 0;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return 0;
    }
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        struct statx st;
        if (::statx(::dirfd(d), e->d_name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_SIZE, &st) < 0 ||
            ::makedev(st.stx_dev_major, st.stx_dev_minor) != dev)
            continue;
        if (S_ISDIR(st.stx_mode)) {
            // a bind mount of the same filesystem (a volume in a running
            // container's rootfs, or -v /:/host) is not the container's bytes
            if (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT && st.stx_attributes & STATX_ATTR_MOUNT_ROOT) continue;
            UniqueFd sub(::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (sub) total += usage_at(sub.get(), dev, depth + 1);
        } else {
            total += static_cast<int64_t>(st.stx_size);
        }
    }
    ::closedir(d);
    return total;
}

int64_t tree_usage(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        struct stat st;
        return ::lstat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return 0;
    return usage_at(fd.get(), st.st_dev, 0);
}

int64_t file_size(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<int64_t>(st.st_size) : 0;
}

// Blobs reachable from `d` (an index, a manifest, a config, a layer).
void reachable(const oci::Layout& l, const oci::Descriptor& d, std::set<std::string>& out) {
    if (!out.insert(d.digest.str()).second) return;
    try {
        if (oci::is_index_type(d.media_type)) {
            for (const auto& m : oci::Index::parse(l.read_blob(d), d.digest.str()).manifests) reachable(l, m, out);
        } else if (oci::is_manifest_type(d.media_type)) {
            auto m = oci::Manifest::parse(l.read_blob(d), d.digest.str());
            out.insert(m.config.digest.str());
            for (const auto& layer : m.layers) out.insert(layer.digest.str());
        }
    } catch (const Error&) {
    }
}

// The unpacked layers (ChainIDs, hex) of the image manifest `d`.
std::vector<std::string> chains_of(const oci::Layout& l, const oci::Descriptor& d) {
    std::vector<std::string> out;
    try {
        if (!oci::is_manifest_type(d.media_type)) return out;
        auto m = oci::Manifest::parse(l.read_blob(d), d.digest.str());
        auto c = oci::ImageConfig::parse(l.read_blob(m.config), m.config.digest.str());
        for (const auto& id : oci::chain_ids(c.diff_ids)) out.push_back(id.encoded());
    } catch (const Error&) {
    }
    return out;
}

struct BuildCacheEntry {
    std::string key;
    oci::Descriptor manifest;
    int64_t created = 0;
};

std::vector<BuildCacheEntry> build_cache(const store::Paths& paths) {
    std::vector<BuildCacheEntry> out;
    std::string dir = paths.root + "/build-cache";
    for (const auto& name : dir_names(dir)) {
        if (!name.ends_with(".json")) continue;
        BuildCacheEntry e;
        e.key = name.substr(0, name.size() - 5);
        try {
            auto text = read_file_if_exists(dir + "/" + name, 1u << 20);
            if (!text) continue;
            e.manifest = parse_json(*text, "build cache").at("manifest").get<oci::Descriptor>();
        } catch (const std::exception&) {
            continue;
        }
        struct stat st;
        if (::stat((dir + "/" + name).c_str(), &st) == 0) e.created = st.st_mtime;
        out.push_back(std::move(e));
    }
    return out;
}

// What the store's images are made of, measured once.
struct StoreParts {
    std::map<std::string, int64_t> blobs;  // "sha256:…" -> bytes in blobs/
    std::map<std::string, int64_t> layers; // chain hex -> unpacked bytes
    int64_t partials = 0;                  // partial downloads, temporary blobs
};

StoreParts measure_store(Engine& e) {
    StoreParts p;
    std::string blobs = e.images().layout_path() + "/blobs/sha256";
    for (const auto& n : dir_names(blobs)) p.blobs["sha256:" + n] = file_size(blobs + "/" + n);
    std::string layers = e.paths().layers();
    for (const auto& n : dir_names(layers))
        if (!n.starts_with(".")) p.layers[n] = tree_usage(layers + "/" + n);
    if (oci::Layout::exists(e.images().layout_path()))
        p.partials = static_cast<int64_t>(oci::Layout::open(e.images().layout_path()).partial_bytes());
    for (const auto& n : dir_names(layers))
        if (n.starts_with(".tmp-")) p.partials += tree_usage(layers + "/" + n);
    return p;
}

int64_t parts_total(const StoreParts& p) {
    int64_t t = p.partials;
    for (const auto& [_, n] : p.blobs) t += n;
    for (const auto& [_, n] : p.layers) t += n;
    return t;
}

// An image's parts: its blobs ("sha256:…") and unpacked layers ("layer:<hex>").
std::set<std::string> image_parts(const oci::Layout& l, const LocalImage& img) {
    std::set<std::string> parts, blobs;
    for (const auto& d : img.entries) reachable(l, d, blobs);
    blobs.insert(img.resolved.manifest_descriptor.digest.str());
    blobs.insert(img.resolved.manifest.config.digest.str());
    for (const auto& layer : img.resolved.manifest.layers) blobs.insert(layer.digest.str());
    parts = blobs;
    for (const auto& c : oci::chain_ids(img.resolved.config.diff_ids)) parts.insert("layer:" + c.encoded());
    return parts;
}

int64_t part_size(const StoreParts& p, const std::string& part) {
    if (part.starts_with("layer:")) {
        auto it = p.layers.find(part.substr(6));
        return it == p.layers.end() ? 0 : it->second;
    }
    auto it = p.blobs.find(part);
    return it == p.blobs.end() ? 0 : it->second;
}

// Unpacked layers the containers' bundles are made of (ctk-bundle.json "layers").
std::set<std::string> container_layers(Engine& e) {
    std::set<std::string> out;
    for (const auto& id : e.containers().ids()) {
        std::string dir = e.containers().dir(id);
        auto text = read_file_if_exists(dir + "/bundle/ctk-bundle.json", 1u << 20);
        if (!text) text = read_file_if_exists(dir + "/ctk-bundle.json", 1u << 20);
        if (!text) continue;
        try {
            Json j = parse_json(*text, "bundle record");
            for (const auto& c : j.value("layers", Json::array()))
                if (c.is_string() && Digest::valid(c.get<std::string>())) out.insert(Digest::parse(c.get<std::string>()).encoded());
        } catch (const std::exception&) {
        }
    }
    return out;
}

// Removes unpacked layers no image, build cache entry (unless `keep_build_cache`
// is false) or container uses, and the staging directories killed unpacks
// left; each under the layer's lock, which an unpack holds while it writes.
void collect_layers(Engine& e, bool keep_build_cache) {
    std::string layers = e.paths().layers();
    struct stat st;
    if (::stat(layers.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return;
    oci::Layout l = e.images().layout();
    std::set<std::string> keep = container_layers(e);
    for (const auto& img : e.images().list())
        for (const auto& c : oci::chain_ids(img.resolved.config.diff_ids)) keep.insert(c.encoded());
    // An index entry of another platform, or one list() could not resolve, keeps its layers too.
    for (const auto& d : l.read_index().manifests) {
        std::set<std::string> blobs;
        reachable(l, d, blobs);
        for (const auto& c : chains_of(l, d)) keep.insert(c);
        if (oci::is_index_type(d.media_type))
            try {
                for (const auto& m : oci::Index::parse(l.read_blob(d), d.digest.str()).manifests)
                    for (const auto& c : chains_of(l, m)) keep.insert(c);
            } catch (const Error&) {
            }
    }
    if (keep_build_cache)
        for (const auto& b : build_cache(e.paths()))
            for (const auto& c : chains_of(l, b.manifest)) keep.insert(c);
    for (const auto& n : dir_names(layers)) {
        std::string hex = n;
        bool staging = n.starts_with(".tmp-");
        if (staging) hex = n.substr(5, n.find('-', 5) == std::string::npos ? std::string::npos : n.find('-', 5) - 5);
        else if (n.starts_with(".") || keep.count(n)) continue;
        if (hex.size() != 64) continue;
        FileLock lock = FileLock::try_lock(layers + "/.locks/" + hex);
        if (!lock.locked()) continue; // being unpacked now
        try {
            remove_tree(layers + "/" + n);
        } catch (const Error&) {
        }
        ::unlink((layers + "/.locks/" + hex).c_str());
    }
}

// A flat unpack's staging rootfs (BUNDLE/.rootfs-*) whose lock is free was
// left by a killed img-unpack (lib/image/unpack.cpp holds it while writing).
int64_t collect_bundle_staging(Engine& e) {
    int64_t freed = 0;
    for (const auto& id : e.containers().ids()) {
        std::string dir = e.containers().dir(id) + "/bundle";
        for (const auto& n : dir_names(dir)) {
            if (!n.starts_with(".rootfs-")) continue;
            std::string path = dir + "/" + n;
            UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;
            int64_t size = tree_usage(path);
            try {
                remove_tree(path);
                freed += size;
            } catch (const Error&) {
            }
        }
    }
    return freed;
}

// Removes what no object owns (partials, stale staging, orphan layers) and
// returns the bytes the image store shrank by since `before`.
int64_t collect_leftovers(Engine& e, int64_t before, bool keep_build_cache) {
    if (oci::Layout::exists(e.images().layout_path()))
        oci::Layout::open(e.images().layout_path()).collect_partials(std::chrono::seconds(0));
    collect_layers(e, keep_build_cache);
    int64_t freed = collect_bundle_staging(e);
    int64_t after = parts_total(measure_store(e));
    return freed + std::max<int64_t>(0, before - after);
}

Json null_if_empty(Json a) { return a.empty() ? Json(nullptr) : a; }

} // namespace

std::string human_size4(int64_t bytes) { return human_size_decimal(bytes, 4); }

Json disk_usage(Engine& e, const std::string& vol_mount_listing) {
    StoreParts parts = measure_store(e);
    oci::Layout l = e.images().layout();
    auto images = e.images().list();
    auto records = e.containers().list();

    std::map<std::string, int> containers_of; // image ID -> containers
    for (const auto& r : records) containers_of[r.doc.value("Image", "")]++;
    std::vector<std::set<std::string>> image_parts_list;
    std::map<std::string, int> users; // part -> images using it
    for (const auto& img : images) {
        image_parts_list.push_back(image_parts(l, img));
        for (const auto& p : image_parts_list.back()) users[p]++;
    }
    Json images_json = Json::array();
    std::map<std::string, int64_t> image_size;
    for (size_t i = 0; i < images.size(); i++) {
        int64_t size = 0, shared = 0;
        for (const auto& p : image_parts_list[i]) {
            int64_t n = part_size(parts, p);
            size += n;
            if (users[p] > 1) shared += n;
        }
        Json j = e.images().list_json(images[i]);
        j["Size"] = size;
        j["VirtualSize"] = size;
        j["SharedSize"] = shared;
        j["Containers"] = containers_of[images[i].id];
        image_size[images[i].id] = size;
        images_json.push_back(std::move(j));
    }

    auto states = e.runtime_states();
    Json containers = Json::array();
    for (const auto& r : records) {
        auto it = states.find(r.id);
        Json j = e.list_entry(r, it == states.end() ? e.state(r) : e.state(r, it->second));
        int64_t rw = tree_usage(e.containers().dir(r.id));
        j["SizeRw"] = rw;
        auto is = image_size.find(r.doc.value("Image", ""));
        j["SizeRootFs"] = rw + (is == image_size.end() ? 0 : is->second);
        containers.push_back(std::move(j));
    }

    Json volumes = Json::array();
    for (const auto& line : split(vol_mount_listing, '\n')) {
        if (trim(line).empty()) continue;
        try {
            Json j = parse_json_text(line, "vol-mount output");
            std::string mp = j.value("Mountpoint", "");
            j["UsageData"] = {{"Size", mp.empty() ? -1 : tree_usage(mp)},
                              {"RefCount", j.value("Users", Json::array()).size()}};
            j.erase("Users");
            volumes.push_back(std::move(j));
        } catch (const std::exception&) {
        }
    }

    // Build cache: each step image's parts that no listed image has, counted once.
    Json cache = Json::array();
    std::set<std::string> counted;
    for (const auto& [p, _] : users) counted.insert(p);
    for (const auto& b : build_cache(e.paths())) {
        std::set<std::string> mine;
        reachable(l, b.manifest, mine);
        for (const auto& c : chains_of(l, b.manifest)) mine.insert("layer:" + c);
        int64_t size = 0;
        bool shared = false;
        for (const auto& p : mine) {
            if (users.count(p)) {
                shared = true;
                continue;
            }
            if (!counted.insert(p).second) continue;
            size += part_size(parts, p);
        }
        std::string at = format_rfc3339_nano(b.created * 1000000000LL);
        cache.push_back(Json{{"ID", b.key.substr(0, 25)},
                             {"Parent", ""},
                             {"Parents", Json::array()},
                             {"Type", "regular"},
                             {"Description", "step image " + b.manifest.digest.str()},
                             {"InUse", false},
                             {"Shared", shared && size == 0},
                             {"Size", size},
                             {"CreatedAt", at},
                             {"LastUsedAt", at},
                             {"UsageCount", 1}});
    }
    return Json{{"LayersSize", parts_total(parts)},
                {"Images", images_json},
                {"Containers", containers},
                {"Volumes", volumes},
                {"BuildCache", cache},
                {"BuilderSize", 0}};
}

Json prune_images(Engine& e, bool all) {
    int64_t before = parts_total(measure_store(e));
    Json deleted = Json::array();
    for (const auto& img : e.images().list()) {
        if (!all && !img.ref_names.empty()) continue;
        if (!e.image_user(img.id).empty()) continue;
        try {
            for (const auto& x : e.images().remove(img.id, true, nullptr)) deleted.push_back(x);
        } catch (const Error&) {
            // removed meanwhile, or its blobs are shared with an image another call removed
        }
    }
    int64_t reclaimed = collect_leftovers(e, before, true);
    return Json{{"ImagesDeleted", null_if_empty(deleted)}, {"SpaceReclaimed", reclaimed}};
}

Json prune_build_cache(Engine& e) {
    int64_t before = parts_total(measure_store(e));
    Json deleted = Json::array();
    std::vector<oci::Descriptor> manifests;
    std::string dir = e.paths().root + "/build-cache";
    for (const auto& b : build_cache(e.paths())) {
        if (::unlink((dir + "/" + b.key + ".json").c_str()) < 0) continue;
        deleted.push_back(b.key.substr(0, 25));
        manifests.push_back(b.manifest);
    }
    if (!manifests.empty()) e.images().delete_unreferenced(manifests);
    int64_t reclaimed = collect_leftovers(e, before, false);
    return Json{{"CachesDeleted", null_if_empty(deleted)}, {"SpaceReclaimed", reclaimed}};
}

namespace {

// docker/cli formatter/disk_usage.go: "1.033MB (52%)".
std::string with_percent(int64_t part, int64_t total) {
    if (total <= 0) return human_size4(part);
    return human_size4(part) + " (" + std::to_string(part * 100 / total) + "%)";
}

int64_t num(const Json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

std::vector<Json> summary_rows(const Json& df) {
    std::vector<Json> rows;
    const Json empty = Json::array();
    const Json& images = df.contains("Images") && df["Images"].is_array() ? df["Images"] : empty;
    const Json& containers = df.contains("Containers") && df["Containers"].is_array() ? df["Containers"] : empty;
    const Json& volumes = df.contains("Volumes") && df["Volumes"].is_array() ? df["Volumes"] : empty;
    const Json& cache = df.contains("BuildCache") && df["BuildCache"].is_array() ? df["BuildCache"] : empty;

    int64_t total = num(df, "LayersSize"), used = 0, active = 0;
    for (const auto& i : images)
        if (num(i, "Containers") > 0) {
            active++;
            if (num(i, "Size") >= 0 && num(i, "SharedSize") >= 0) used += num(i, "Size") - num(i, "SharedSize");
        }
    rows.push_back(Json{{"Type", "Images"}, {"TotalCount", std::to_string(images.size())}, {"Active", std::to_string(active)},
                        {"Size", human_size4(total)}, {"Reclaimable", with_percent(std::max<int64_t>(0, total - used), total)}});

    int64_t csize = 0, creclaim = 0;
    active = 0;
    for (const auto& c : containers) {
        csize += num(c, "SizeRw");
        if (c.value("State", "") == "running") active++;
        else creclaim += num(c, "SizeRw");
    }
    rows.push_back(Json{{"Type", "Containers"}, {"TotalCount", std::to_string(containers.size())}, {"Active", std::to_string(active)},
                        {"Size", human_size4(csize)}, {"Reclaimable", with_percent(creclaim, csize)}});

    int64_t vsize = 0, vreclaim = 0;
    active = 0;
    for (const auto& v : volumes) {
        Json u = v.value("UsageData", Json::object());
        int64_t s = num(u, "Size");
        if (s < 0) continue;
        vsize += s;
        if (num(u, "RefCount") > 0) active++;
        else vreclaim += s;
    }
    rows.push_back(Json{{"Type", "Local Volumes"}, {"TotalCount", std::to_string(volumes.size())}, {"Active", std::to_string(active)},
                        {"Size", human_size4(vsize)}, {"Reclaimable", with_percent(vreclaim, vsize)}});

    int64_t bsize = 0, breclaim = 0;
    active = 0;
    for (const auto& b : cache) {
        if (b.value("InUse", false)) active++;
        if (b.value("Shared", false)) continue;
        bsize += num(b, "Size");
        if (!b.value("InUse", false)) breclaim += num(b, "Size");
    }
    rows.push_back(Json{{"Type", "Build Cache"}, {"TotalCount", std::to_string(cache.size())}, {"Active", std::to_string(active)},
                        {"Size", human_size4(bsize)}, {"Reclaimable", human_size4(breclaim)}});
    return rows;
}

std::string ago(const Json& created) {
    int64_t t = created.is_number() ? created.get<int64_t>() : 0;
    int64_t now = now_ns() / 1000000000LL;
    return human_duration(now - t) + " ago";
}

std::string verbose_usage(const Json& df) {
    std::string out = "Images space usage:\n\n";
    std::vector<std::string> lines = {"REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"};
    for (const auto& i : df.value("Images", Json::array())) {
        std::string repo = "<none>", tag = "<none>";
        Json tags = i.value("RepoTags", Json::array());
        if (tags.is_array() && !tags.empty()) {
            std::string t = tags[0];
            repo = t.substr(0, t.rfind(':'));
            tag = t.substr(t.rfind(':') + 1);
        }
        lines.push_back(repo + "\t" + tag + "\t" + short_id(i.value("Id", "")) + "\t" + ago(i.value("Created", Json(0))) +
                        "\t" + human_size_decimal(num(i, "Size")) + "\t" + human_size4(num(i, "SharedSize")) + "\t" +
                        human_size4(num(i, "Size") - num(i, "SharedSize")) + "\t" + std::to_string(num(i, "Containers")));
    }
    out += tabulate(lines) + "\nContainers space usage:\n\n";
    lines = {"CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES"};
    for (const auto& c : df.value("Containers", Json::array())) {
        int volumes = 0;
        for (const auto& m : c.value("Mounts", Json::array()))
            if (m.value("Type", "") == "volume") volumes++;
        std::string name;
        Json names = c.value("Names", Json::array());
        if (names.is_array() && !names.empty()) name = names[0].get<std::string>();
        if (name.starts_with("/")) name.erase(0, 1);
        lines.push_back(short_id(c.value("Id", "")) + "\t" + c.value("Image", "") + "\t\"" +
                        ellipsis(c.value("Command", ""), 20) + "\"\t" + std::to_string(volumes) + "\t" +
                        human_size4(num(c, "SizeRw")) + "\t" + ago(c.value("Created", Json(0))) + "\t" +
                        c.value("Status", "") + "\t" + name);
    }
    out += tabulate(lines) + "\nLocal Volumes space usage:\n\n";
    lines = {"VOLUME NAME\tLINKS\tSIZE"};
    for (const auto& v : df.value("Volumes", Json::array())) {
        Json u = v.value("UsageData", Json::object());
        lines.push_back(v.value("Name", "") + "\t" + std::to_string(num(u, "RefCount")) + "\t" +
                        (num(u, "Size") < 0 ? std::string("N/A") : human_size4(num(u, "Size"))));
    }
    int64_t bsize = 0;
    for (const auto& b : df.value("BuildCache", Json::array()))
        if (!b.value("Shared", false)) bsize += num(b, "Size");
    out += tabulate(lines) + "\nBuild cache usage: " + human_size4(bsize) + "\n\n";
    lines = {"CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED"};
    for (const auto& b : df.value("BuildCache", Json::array()))
        lines.push_back(b.value("ID", "") + "\t" + b.value("Type", "") + "\t" + human_size4(num(b, "Size")) + "\t\t\t" +
                        std::to_string(num(b, "UsageCount")) + "\t" + (b.value("Shared", false) ? "true" : "false"));
    out += tabulate(lines);
    return out;
}

} // namespace

std::string render_disk_usage(const Json& df, bool verbose, const std::string& format) {
    if (verbose && format.empty()) return verbose_usage(df);
    static const Listing listing{"table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                                 {{"Type", "TYPE"}, {"TotalCount", "TOTAL"}, {"Active", "ACTIVE"}, {"Size", "SIZE"},
                                  {"Reclaimable", "RECLAIMABLE"}}};
    return render_listing(listing, format, summary_rows(df));
}

std::string render_deleted_images(const Json& deleted) {
    if (!deleted.is_array() || deleted.empty()) return "";
    std::string out = "Deleted Images:\n";
    for (const auto& d : deleted) {
        if (d.contains("Untagged")) out += "untagged: " + d["Untagged"].get<std::string>() + "\n";
        if (d.contains("Deleted")) out += "deleted: " + d["Deleted"].get<std::string>() + "\n";
    }
    return out + "\n";
}

} // namespace ctk::engine

namespace ctk::engine {

int64_t container_size(Engine& e, const std::string& id) { return tree_usage(e.containers().dir(id)); }

Json prune_containers(Engine& e) {
    Json deleted = Json::array();
    int64_t reclaimed = 0;
    auto states = e.runtime_states();
    for (const auto& r : e.containers().list()) {
        auto it = states.find(r.id);
        ContainerState st = it == states.end() ? e.state(r) : e.state(r, it->second);
        if (st.status != "exited" && st.status != "created" && st.status != "dead") continue;
        if (r.setup_phase() == setup::creating) continue;
        int64_t size = tree_usage(e.containers().dir(r.id));
        try {
            e.remove(r.id, false, false);
        } catch (const Error&) {
            continue; // started or removed meanwhile
        }
        deleted.push_back(r.id);
        reclaimed += size;
    }
    return Json{{"ContainersDeleted", null_if_empty(deleted)}, {"SpaceReclaimed", reclaimed}};
}

std::string render_system_prune(const Json& containers, const Json& networks, const Json& volumes,
                                const Json& images, const Json& build_cache) {
    std::string out;
    int64_t total = 0;
    auto section = [&](const Json& answer, const char* key, const char* title) {
        if (!answer.is_object()) return;
        total += num(answer, "SpaceReclaimed");
        auto it = answer.find(key);
        if (it == answer.end() || !it->is_array() || it->empty()) return;
        out += std::string(title) + ":\n";
        for (const auto& x : *it) out += (x.is_string() ? x.get<std::string>() : dump_compact(x)) + "\n";
        out += "\n";
    };
    section(containers, "ContainersDeleted", "Deleted Containers");
    section(networks, "NetworksDeleted", "Deleted Networks");
    section(volumes, "VolumesDeleted", "Deleted Volumes");
    if (images.is_object()) {
        total += num(images, "SpaceReclaimed");
        out += render_deleted_images(images.value("ImagesDeleted", Json()));
    }
    section(build_cache, "CachesDeleted", "Deleted build cache objects");
    return out + "Total reclaimed space: " + human_size4(total) + "\n";
}

static void refuse_explain(const Engine& e, const char* verb) {
    if (e.explaining())
        throw Error(std::string("ctl ") + verb + " edits the store directly: there is no tool pipeline to explain",
                    ErrorKind::usage);
}

static std::string vol_mount_listing() {
    ProcessResult v = run_process(tools::vol_ls());
    return v.ok() ? v.out : "";
}

void Commands::system_df(bool verbose, const std::string& format) {
    print(render_disk_usage(disk_usage(e_, vol_mount_listing()), verbose, format));
}

void Commands::image_prune(bool all) {
    refuse_explain(e_, "image prune");
    Json j = prune_images(e_, all);
    print(render_deleted_images(j["ImagesDeleted"]) + "Total reclaimed space: " +
          human_size4(j.value("SpaceReclaimed", 0)) + "\n");
}

void Commands::system_prune(bool all, bool volumes) {
    refuse_explain(e_, "system prune");
    Json containers = prune_containers(e_);
    Json networks = Json{{"NetworksDeleted", Json::array()}};
    ProcessResult n = tool(tools::net_prune(), "ctl system prune");
    try {
        for (const auto& x : parse_json_text(n.out, "net-bridge output").value("removed", Json::array()))
            networks["NetworksDeleted"].push_back(x.is_string() ? x.get<std::string>() : x.value("name", ""));
    } catch (const std::exception&) {
    }
    Json vols;
    if (volumes) {
        ProcessResult v = tool(tools::vol_prune(false), "ctl system prune");
        try {
            vols = parse_json_text(v.out, "vol-mount output");
        } catch (const std::exception&) {
        }
    }
    Json images = prune_images(e_, all);
    Json cache = prune_build_cache(e_);
    print(render_system_prune(containers, networks, vols, images, cache));
}

} // namespace ctk::engine
