#include "image/unpack.hpp"

#include <dirent.h>
#include <sys/file.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "image/layer_store.hpp"
#include "linux/mount.hpp"

namespace ctk::image {

BundleMode parse_bundle_mode(std::string_view s) {
    if (s == "flat") return BundleMode::flat;
    if (s == "overlay") return BundleMode::overlay;
    throw Error("unknown mode " + quote(s) + ": flat or overlay", ErrorKind::usage);
}

const char* bundle_mode_name(BundleMode m) { return m == BundleMode::flat ? "flat" : "overlay"; }

namespace {

std::string absolute_path(const std::string& p) {
    std::string s = std::filesystem::absolute(p).lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

bool exists_nofollow(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

// Docker names a container's host after its ID; a bundle's directory name is
// the nearest thing (ctl's bundles are containers/<id>).
std::string default_hostname(const std::string& bundle) {
    std::string base = bundle.substr(bundle.rfind('/') + 1), out;
    for (char c : base) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')
            out += c;
        if (out.size() == 63) break;
    }
    while (!out.empty() && out.front() == '-') out.erase(0, 1);
    return out.empty() ? "ctk" : out;
}

std::string layer_name(const SourceLayer& l) {
    return "layer " + (l.descriptor.digest.empty() ? l.diff_id : l.descriptor.digest).str();
}

using Apply = std::function<ExtractStats(LayerStream&, const std::string& what)>;

void check_digests(const SourceLayer& l, const std::string& what, const StreamDigests& d) {
    if (l.descriptor.size >= 0) verify_size(what, l.descriptor.size, d.blob_size);
    if (!l.descriptor.digest.empty()) verify_digest(what, l.descriptor.digest, d.blob);
    verify_digest(what + " (uncompressed)", l.diff_id, d.diff_id);
}

// Streams one layer through `apply` and checks both digests of what passed.
Json unpack_layer(const ImageSource& image, size_t i, const UnpackOptions& o, const Apply& apply) {
    const SourceLayer& l = image.layers[i];
    std::string what = layer_name(l);
    if (o.progress)
        o.progress("layer " + std::to_string(i + 1) + "/" + std::to_string(image.layers.size()) + " " +
                   (l.descriptor.digest.empty() ? l.diff_id : l.descriptor.digest).short_id() + " " +
                   human_size(static_cast<uint64_t>(std::max<int64_t>(l.descriptor.size, 0))) + ": unpacking");
    ImageSource::Blob blob = image.open_layer(i);
    StreamOptions so = o.stream;
    so.blob_algorithm = l.descriptor.digest.empty() ? "sha256" : l.descriptor.digest.algorithm();
    so.diff_algorithm = l.diff_id.algorithm();
    LayerStream stream(blob.range, l.compression, what, so);
    ExtractStats stats;
    try {
        stats = apply(stream, what);
    } catch (const Error&) {
        // A blob that is not what the manifest says is the better diagnosis
        // than whatever its content made the extraction stumble over.
        std::optional<StreamDigests> d;
        try {
            d = stream.finish();
        } catch (...) {
        }
        if (d) check_digests(l, what, *d);
        throw;
    }
    StreamDigests d = stream.finish();
    check_digests(l, what, d);
    Json r = {{"diff_id", l.diff_id.str()}, {"size", d.diff_size}, {"entries", stats.entries}};
    if (!l.descriptor.digest.empty()) r["blob"] = l.descriptor.digest.str();
    return r;
}

void write_spec(const ImageSource& image, const std::string& bundle, const UnpackOptions& o, int rootfd) {
    SpecOptions so = o.spec;
    if (so.hostname.empty()) so.hostname = default_hostname(bundle);
    // a CgroupParent without a name: the bundle's, as the hostname
    if (so.cgroup_name.empty() && !so.host.cgroup_parent.empty()) so.cgroup_name = default_hostname(bundle);
    oci::Spec spec = make_runtime_spec(image.config, so, rootfd);
    Json j = spec;
    // Indented as runc spec writes it: people read config.json.
    write_file_atomic(bundle + "/config.json", j.dump(2) + "\n", 0644);
}

// A flat unpack stages the rootfs in BUNDLE/.rootfs-XXXXXXXX and holds a
// lock on that directory while it writes: one whose lock is free was left by
// an unpack that was killed, and is removed (by the next unpack into the
// bundle, or by --release). Returns how many were removed.
constexpr const char* staging_prefix = ".rootfs-";

size_t remove_stale_staging(const std::string& bundle) {
    size_t removed = 0;
    DIR* d = ::opendir(bundle.c_str());
    if (!d) return 0;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).rfind(staging_prefix, 0) == 0) names.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& name : names) {
        std::string path = bundle + "/" + name;
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue; // still being written
        remove_tree(path);
        removed++;
    }
    return removed;
}

} // namespace

Json unpack_image(const ImageSource& image, const std::string& bundle_arg, const UnpackOptions& o,
                  const store::Paths& paths) {
    const std::string bundle = absolute_path(bundle_arg);
    const std::string rootfs = bundle + "/rootfs", config = bundle + "/config.json",
                      record_path = bundle + "/" + bundle_record_name;

    // The bundle directory: made here (0700, like umoci: a rootfs holds the
    // image's setuid files) or an existing one without a bundle in it.
    bool made_bundle = false;
    struct stat st;
    if (::stat(bundle.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw_conflict("bundle " + quote(bundle) + " is not a directory");
        remove_stale_staging(bundle);
        for (const auto& p : {rootfs, config, record_path})
            if (exists_nofollow(p))
                throw_conflict("bundle " + quote(bundle) + " already has " +
                               p.substr(bundle.size() + 1) + " (img-unpack --release it first)");
    } else {
        std::string parent = bundle.substr(0, bundle.rfind('/'));
        if (!parent.empty()) make_dirs(parent);
        if (::mkdir(bundle.c_str(), 0700) < 0) throw_errno("mkdir", bundle);
        made_bundle = true;
    }
    bool committed = false;
    std::vector<std::string> made; // removed again on failure, last first
    bool mounted = false;
    ScopeGuard rollback([&] {
        if (committed) return;
        if (mounted) ::umount2(rootfs.c_str(), MNT_DETACH);
        for (auto it = made.rbegin(); it != made.rend(); ++it) {
            try {
                remove_tree(*it);
            } catch (...) {
            }
        }
        if (made_bundle) ::rmdir(bundle.c_str());
    });

    std::vector<Digest> diff_ids;
    for (const auto& l : image.layers) diff_ids.push_back(l.diff_id);
    std::vector<Digest> chains = oci::chain_ids(diff_ids);
    Json record = {{"bundle", bundle}, {"config", config}, {"rootfs", rootfs}, {"mode", bundle_mode_name(o.mode)}};

    if (o.mode == BundleMode::flat) {
        std::string staging = bundle + "/" + staging_prefix + random_hex(4);
        if (::mkdir(staging.c_str(), 0755) < 0) throw_errno("mkdir", staging);
        made.push_back(staging);
        if (::chmod(staging.c_str(), 0755) < 0) throw_errno("chmod", staging);
        UniqueFd root = open_dir(staging);
        // held until this process ends: a staging directory without it was abandoned
        if (::flock(root.get(), LOCK_EX) < 0) throw_errno("lock", staging);
        for (size_t i = 0; i < image.layers.size(); i++)
            unpack_layer(image, i, o, [&](LayerStream& s, const std::string& what) {
                return extract_flat(s, root.get(), what, o.extract);
            });
        if (o.sync && ::syncfs(root.get()) < 0) throw_errno("syncfs", staging);
        write_spec(image, bundle, o, root.get());
        made.push_back(config);
        if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, rootfs.c_str(), RENAME_NOREPLACE) < 0)
            throw_errno("rename rootfs to", rootfs);
        made.front() = rootfs;
    } else {
        LayerStore store(paths.layers());
        std::vector<std::string> lowers; // top first
        for (size_t i = 0; i < image.layers.size(); i++) {
            std::vector<Digest> below(chains.begin(), chains.begin() + static_cast<long>(i));
            std::reverse(below.begin(), below.end());
            bool unpacked = store.ensure(
                chains[i], below,
                [&](int difffd, const std::vector<int>& lower_fds) {
                    return unpack_layer(image, i, o, [&](LayerStream& s, const std::string& what) {
                        return extract_overlay(s, difffd, lower_fds, what, o.extract);
                    });
                },
                o.sync);
            if (!unpacked && o.progress)
                o.progress("layer " + std::to_string(i + 1) + "/" + std::to_string(image.layers.size()) + " " +
                           chains[i].short_id() + ": already in the store");
            lowers.insert(lowers.begin(), store.diff_dir(chains[i]));
        }
        std::string overlay = bundle + "/overlay", upper = overlay + "/upper", work = overlay + "/work";
        if (::mkdir(overlay.c_str(), 0700) < 0) throw_errno("mkdir", overlay);
        made.push_back(overlay);
        if (::mkdir(upper.c_str(), 0755) < 0) throw_errno("mkdir", upper);
        if (::mkdir(work.c_str(), 0700) < 0) throw_errno("mkdir", work);
        if (lowers.empty()) {
            // overlayfs needs a lower layer: an image without layers gets an empty one.
            std::string empty = overlay + "/empty";
            if (::mkdir(empty.c_str(), 0755) < 0) throw_errno("mkdir", empty);
            lowers.push_back(empty);
        }
        // The merged root shows the upper directory's owner and mode.
        struct stat top;
        if (::stat(lowers.front().c_str(), &top) < 0) throw_errno("stat", lowers.front());
        if (::chown(upper.c_str(), top.st_uid, top.st_gid) < 0) throw_errno("chown", upper);
        if (::chmod(upper.c_str(), top.st_mode & 07777) < 0) throw_errno("chmod", upper);
        if (::mkdir(rootfs.c_str(), 0755) < 0) throw_errno("mkdir", rootfs);
        made.push_back(rootfs);
        linux::mount_overlay(rootfs, lowers, upper, work);
        mounted = true;
        UniqueFd root = open_dir(rootfs);
        write_spec(image, bundle, o, root.get());
        made.push_back(config);
        record["upper"] = upper;
        record["work"] = work;
    }

    if (image.manifest_digest) record["image"] = image.manifest_digest->str();
    record["image_id"] = image.config_digest.str();
    if (!chains.empty()) record["chain_id"] = chains.back().str();
    Json layers = Json::array();
    for (const auto& c : chains) layers.push_back(c.str());
    record["layers"] = layers;
    if (!image.reference.empty()) record["reference"] = image.reference;
    if (!image.config.os.empty()) record["platform"] = image.config.platform().str();
    if (!image.config.config.volumes.empty()) {
        Json v = Json::array();
        for (const auto& [path, _] : image.config.config.volumes) v.push_back(path);
        record["volumes"] = v;
    }
    write_json_file(record_path, record);
    committed = true;
    return record;
}

Json release_bundle(const std::string& bundle_arg) {
    const std::string bundle = absolute_path(bundle_arg);
    const std::string rootfs = bundle + "/rootfs", overlay = bundle + "/overlay",
                      record_path = bundle + "/" + bundle_record_name;
    bool has_record = exists_nofollow(record_path);
    bool is_mount = linux::is_mount_point(rootfs);
    size_t stale = remove_stale_staging(bundle);
    if (!has_record && !is_mount && !exists_nofollow(overlay) && !stale)
        throw_not_found("bundle " + quote(bundle) + " was not made by img-unpack (no " +
                        std::string(bundle_record_name) + ")");
    if (is_mount && ::umount2(rootfs.c_str(), 0) < 0) {
        if (errno == EBUSY) throw_conflict("bundle " + quote(bundle) + ": rootfs is in use");
        throw_errno("unmount", rootfs);
    }
    // remove_tree does not cross mount points: a rootfs still mounted (by
    // someone else, meanwhile) fails here instead of emptying the layers.
    remove_tree(rootfs);
    remove_tree(overlay);
    for (const char* f : {"/config.json", "/ctk-bundle.json"})
        if (::unlink((bundle + f).c_str()) < 0 && errno != ENOENT) throw_errno("remove", bundle + f);
    ::rmdir(bundle.c_str()); // only when nothing else is in it
    return {{"bundle", bundle}, {"released", true}};
}

} // namespace ctk::image
